// The join through the whole monitor on the embedded bus: pairs are keyed by (model, prediction id),
// a label that cannot join its model's prediction is dead-lettered on its own while the rest of its
// batch goes on, a second label for a pair never replaces the first, and early labels are bounded per
// model.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { DEAD_LETTER_HEADERS, EmbeddedBus, manifestSchema, silentLogger, toLabelMessages, toPredictionMessages, topicNames } from '../../src/core/index.js';
import type { BusMessage, LabelRecordLike, Manifest, PredictionRecordLike, SubscribeOptions } from '../../src/core/index.js';
import { DriftMonitor, ModelCatalog, MonitorStore, parsePolicyDocument } from '../../src/monitor/index.js';
import { FEATURES, manifestSource, syntheticManifest } from '../helpers/drift-scenario.js';
import { waitFor } from '../helpers/wait.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type DeliveryFailure = Parameters<NonNullable<SubscribeOptions['onError']>>[0];

const topics = topicNames();
const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const features = Object.fromEntries(FEATURES.map((f) => [f, 0.5]));

function regressor(name: string): Manifest {
  return manifestSchema.parse({
    name,
    version: 1,
    format: 'onnx',
    task: 'regression',
    features: FEATURES.map((f) => ({ name: f, type: 'numeric' })),
    input: 'input',
    output: 'value',
    metrics: { validation: { rmse: 1 } },
  });
}

const classified = (id: string, model: string, label: string, ms: number, version = 1): PredictionRecordLike => ({
  id,
  model,
  version,
  ts: at(ms),
  features,
  output: { label, probabilities: { a: label === 'a' ? 0.9 : 0.1, b: label === 'a' ? 0.1 : 0.9 } },
  latency_ms: 1,
});

interface Running {
  bus: EmbeddedBus;
  store: MonitorStore;
  monitor: DriftMonitor;
  registry: Registry;
  deadLetters: BusMessage[];
  skipped: DeliveryFailure[];
  counter(name: string, labels: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

/** A monitor on an embedded bus with one partition per topic, so the labels of one publish reach it in one batch. */
async function running(manifests: Manifest[], options: { maxEarlyLabels?: number } = {}): Promise<Running> {
  const skipped: DeliveryFailure[] = [];
  const bus = new EmbeddedBus({ maxAttempts: 2, retryBackoffMs: 10, onError: (f) => skipped.push(f) });
  await bus.ensureTopics(Object.values(topics).map((name) => ({ name, partitions: 1, replicationFactor: 1 })));
  const dir = mkdtempSync(join(tmpdir(), 'dg-join-'));
  dirs.push(dir);
  const store = new MonitorStore({ path: join(dir, 'monitor.db') });
  const catalog = new ModelCatalog(manifestSource(manifests), silentLogger);
  const registry = new Registry();
  const monitor = new DriftMonitor({ bus, topics, store, catalog, policy: parsePolicyDocument('{}'), registry, logger: silentLogger, lagIntervalMs: 0, ...options });
  await monitor.start();
  const deadLetters: BusMessage[] = [];
  await bus.subscribe({ groupId: 'dead-letter-reader', topics: [topics.deadLetter], fromBeginning: true, handle: async (m) => void deadLetters.push(...m) });
  return {
    bus,
    store,
    monitor,
    registry,
    deadLetters,
    skipped,
    counter: async (name, labels) => {
      const metric = await registry.getSingleMetric(name)?.get();
      return metric?.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;
    },
    close: async () => {
      await monitor.stop();
      await bus.close();
      store.close();
    },
  };
}

const predict = (r: Running, records: PredictionRecordLike[]) => r.bus.publish(topics.predictions, toPredictionMessages(records));
const label = (r: Running, labels: LabelRecordLike[]) => r.bus.publish(topics.labels, toLabelMessages(labels));

async function consumed(r: Running, topic: string, n: number): Promise<void> {
  await waitFor(`${n} events of ${topic} applied`, 10_000, async () => (await r.counter('driftgate_events_consumed_total', { topic })) + (await r.counter('driftgate_events_dead_lettered_total', { topic, reason: 'rejected' })) >= n);
}

describe('monitor join by (model, id)', () => {
  it('dead-letters a label sent for another model\'s prediction on its own; the good label of the same batch joins', async () => {
    const r = await running([syntheticManifest({ name: 'clf', rows: 200 }), regressor('reg')]);
    await predict(r, [classified('c-1', 'clf', 'a', 0)]);
    await predict(r, [{ id: 'r-1', model: 'reg', version: 1, ts: at(10), features, output: { value: 31 }, latency_ms: 1 }]);
    await consumed(r, topics.predictions, 2);
    // one request to the classifier's labels endpoint: one id is the regressor's prediction
    await label(r, [
      { id: 'r-1', model: 'clf', label: 'a', ts: at(1000) },
      { id: 'c-1', model: 'clf', label: 'a', ts: at(1000) },
    ]);
    await waitFor('the good label joined', 10_000, async () => (await r.counter('driftgate_labels_joined_total', { model: 'clf' })) === 1);
    await waitFor('the dead letter', 10_000, () => r.deadLetters.length === 1);
    const dead = r.deadLetters[0]!;
    assert.equal(dead.key, 'r-1');
    assert.equal(dead.headers[DEAD_LETTER_HEADERS.topic], topics.labels);
    assert.match(dead.headers[DEAD_LETTER_HEADERS.reason]!, /no prediction "r-1" of model "clf": that id is a prediction of model "reg"/);
    assert.equal(JSON.parse(dead.value.toString()).model, 'clf');
    assert.equal(await r.counter('driftgate_labels_joined_total', { model: 'reg' }), 0);
    assert.deepEqual(r.store.pendingCounts(), { predictions: 1, labels: 0 }, "the regressor's prediction still waits for its own label");
    assert.deepEqual(r.skipped, [], 'no batch was skipped');
    assert.deepEqual(r.store.labeledExamples('clf').map((e) => [e.id, e.label]), [['c-1', 'a']]);

    await label(r, [{ id: 'r-1', model: 'reg', label: 29.5, ts: at(2000) }]);
    await waitFor('the regressor label joined', 10_000, async () => (await r.counter('driftgate_labels_joined_total', { model: 'reg' })) === 1);
    await r.close();
  });

  it('joins each model\'s label to its own prediction when two classifiers with the same classes share an id', async () => {
    const r = await running([syntheticManifest({ name: 'left', rows: 200 }), syntheticManifest({ name: 'right', rows: 200 })]);
    await predict(r, [classified('order-7', 'left', 'a', 0), classified('order-7', 'right', 'b', 5)]);
    await consumed(r, topics.predictions, 2);
    await label(r, [
      { id: 'order-7', model: 'right', label: 'b', ts: at(1000) },
      { id: 'order-7', model: 'left', label: 'b', ts: at(1000) },
    ]);
    await waitFor('both joined', 10_000, () => r.store.labeledCount('left') + r.store.labeledCount('right') === 2);
    const left = r.store.labeledExamples('left')[0]!;
    const right = r.store.labeledExamples('right')[0]!;
    assert.deepEqual([left.label, (left.output as { label: string }).label], ['b', 'a'], 'left predicted a, its label says b');
    assert.deepEqual([right.label, (right.output as { label: string }).label], ['b', 'b']);
    assert.equal(r.deadLetters.length, 0);
    await r.close();
  });

  it('dead-letters a label the version that made the prediction cannot judge, before or after the prediction arrived', async () => {
    // version 2 added a class: labels are checked against the newest version, predictions of version 1 cannot take it
    const v1 = syntheticManifest({ name: 'grow', rows: 200 });
    const v2 = manifestSchema.parse({ ...v1, version: 2, labels: ['a', 'b', 'c'] });
    const r = await running([v1, v2]);
    await predict(r, [classified('g-1', 'grow', 'a', 0)]);
    await consumed(r, topics.predictions, 1);
    await label(r, [
      { id: 'g-1', model: 'grow', label: 'c', ts: at(1000) },
      { id: 'g-2', model: 'grow', label: 'c', ts: at(1000) },
    ]);
    await consumed(r, topics.labels, 2);
    await waitFor('the first dead letter', 10_000, () => r.deadLetters.length === 1);
    assert.match(r.deadLetters[0]!.headers[DEAD_LETTER_HEADERS.reason]!, /the prediction was made by version 1: label "c" is not one of the classes of "grow" \(a, b\)/);
    // g-2's label came first and waits; its prediction, made by version 1, cannot take it
    await predict(r, [classified('g-2', 'grow', 'b', 2000)]);
    await waitFor('the held label dead-lettered', 10_000, () => r.deadLetters.length === 2);
    const held = r.deadLetters[1]!;
    assert.equal(held.key, 'g-2');
    assert.equal(held.headers[DEAD_LETTER_HEADERS.topic], topics.labels);
    assert.match(held.headers[DEAD_LETTER_HEADERS.reason]!, /the prediction was made by version 1: label "c" is not one of the classes/);
    assert.deepEqual(JSON.parse(held.value.toString()), { schema: 1, id: 'g-2', model: 'grow', label: 'c', ts: at(1000) });
    assert.deepEqual(r.store.pendingCounts(), { predictions: 2, labels: 0 }, 'both predictions wait for a label they can take');
    await label(r, [{ id: 'g-2', model: 'grow', label: 'b', ts: at(3000) }]);
    await waitFor('a good label joins', 10_000, () => r.store.labeledCount('grow') === 1);
    assert.deepEqual(r.skipped, []);
    await r.close();
  });
});

describe('monitor: second labels and early labels', () => {
  it('keeps the first label of a pair and counts repeats and contradictions per model', async () => {
    const r = await running([syntheticManifest({ name: 'clf', rows: 200 })]);
    await predict(r, [classified('c-1', 'clf', 'a', 0)]);
    await consumed(r, topics.predictions, 1);
    await label(r, [{ id: 'c-1', model: 'clf', label: 'a', ts: at(1000) }]);
    await waitFor('joined', 10_000, () => r.store.labeledCount('clf') === 1);
    // a contradicting label, then a repeat of the first (a client retry)
    await label(r, [{ id: 'c-1', model: 'clf', label: 'b', ts: at(2000) }]);
    await label(r, [{ id: 'c-1', model: 'clf', label: 'a', ts: at(3000) }]);
    await consumed(r, topics.labels, 3);
    assert.equal(await r.counter('driftgate_label_duplicates_total', { model: 'clf', value: 'different' }), 1);
    assert.equal(await r.counter('driftgate_label_duplicates_total', { model: 'clf', value: 'same' }), 1);
    const [example] = r.store.labeledExamples('clf');
    assert.deepEqual([example?.label, example?.labeledTs], ['a', T0 + 1000], 'the first label stays, as the monitor judged it');
    assert.equal(r.monitor.summaries().find((v) => v.model === 'clf')?.performance.count, 1, 'the pair counted once in the live performance');
    assert.equal(r.deadLetters.length, 0);
    await r.close();
  });

  it('bounds early labels per model: a flood for one model evicts only its own oldest, counted per model', async () => {
    const r = await running([syntheticManifest({ name: 'clf', rows: 200 }), regressor('reg')], { maxEarlyLabels: 5 });
    await label(r, [{ id: 'r-early', model: 'reg', label: 12, ts: at(0) }]);
    await consumed(r, topics.labels, 1);
    await label(
      r,
      Array.from({ length: 20 }, (_, i) => ({ id: `guess-${i}`, model: 'clf', label: 'a', ts: at(10 + i) })),
    );
    await consumed(r, topics.labels, 21);
    assert.equal(await r.counter('driftgate_join_expired_total', { model: 'clf', kind: 'label', reason: 'capacity' }), 15);
    assert.equal(await r.counter('driftgate_join_expired_total', { model: 'reg', kind: 'label', reason: 'capacity' }), 0);
    assert.equal(await r.counter('driftgate_monitor_early_labels', { model: 'clf' }), 5);
    assert.equal(await r.counter('driftgate_monitor_early_labels', { model: 'reg' }), 1);
    // the newest guesses are the ones kept; the regressor's early label still joins its prediction
    assert.deepEqual(r.store.pairsOf('guess-19'), [{ model: 'clf', hasPrediction: false, hasLabel: true }]);
    assert.deepEqual(r.store.pairsOf('guess-0'), []);
    await predict(r, [{ id: 'r-early', model: 'reg', version: 1, ts: at(100), features, output: { value: 11 }, latency_ms: 1 }]);
    await waitFor('the regressor pair joined', 10_000, () => r.store.labeledCount('reg') === 1);
    assert.equal(await r.counter('driftgate_monitor_early_labels', { model: 'reg' }), 0);
    await r.close();
  });
});
