// Seeded drift scenarios through the whole monitor (join, windows, statistics, policy, durable store),
// fed batch by batch as the bus would. The statistics do not depend on the transport, so these run
// without a broker; tests/integration/monitor-kafka.test.ts runs the monitor on Kafka.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { EmbeddedBus, eventTopicSpecs, topicNames } from '../../src/core/index.js';
import type { EventBus, Manifest, ModelEvent } from '../../src/core/index.js';
import { DriftMonitor, ModelCatalog, MonitorStore, parsePolicyDocument } from '../../src/monitor/index.js';
import type { DecisionRecord } from '../../src/monitor/index.js';
import { silentLogger } from '../../src/core/index.js';
import { generateStream, manifestSource, syntheticManifest } from '../helpers/drift-scenario.js';
import { waitFor } from '../helpers/wait.js';
import type { Stream, StreamOptions } from '../helpers/drift-scenario.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Harness {
  monitor: DriftMonitor;
  store: MonitorStore;
  registry: Registry;
  path: string;
  close(): void;
}

async function embeddedBus(): Promise<EmbeddedBus> {
  const bus = new EmbeddedBus();
  await bus.ensureTopics(eventTopicSpecs({ kafkaBrokers: [], topicPrefix: 'driftgate.' }));
  return bus;
}

async function harness(manifests: Manifest[], policy: unknown = {}, path?: string, given?: EventBus): Promise<Harness> {
  const bus = given ?? (await embeddedBus());
  const dbPath = path ?? join(mkdtempSync(join(tmpdir(), 'dg-scenario-')), 'monitor.db');
  if (!path) dirs.push(join(dbPath, '..'));
  const store = new MonitorStore({ path: dbPath });
  const catalog = new ModelCatalog(manifestSource(manifests), silentLogger);
  for (const m of manifests) catalog.add(m);
  const registry = new Registry();
  const monitor = new DriftMonitor({
    bus,
    topics: topicNames(),
    store,
    catalog,
    policy: parsePolicyDocument(JSON.stringify(policy)),
    registry,
    logger: silentLogger,
    lagIntervalMs: 0,
  });
  return {
    monitor,
    store,
    registry,
    path: dbPath,
    close: () => {
      store.close();
      void bus.close();
    },
  };
}

/** Feeds a stream as bus batches: predictions with the labels that are due by then. */
async function feed(monitor: DriftMonitor, stream: Stream, batchSize = 250): Promise<void> {
  const labels = [...stream.labels].sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
  let nextLabel = 0;
  for (let i = 0; i < stream.predictions.length; i += batchSize) {
    const predictions = stream.predictions.slice(i, i + batchSize);
    const until = Date.parse(predictions[predictions.length - 1]!.ts);
    const due = [];
    while (nextLabel < labels.length && Date.parse(labels[nextLabel]!.ts) <= until) due.push(labels[nextLabel++]!);
    await monitor.apply({ predictions, labels: due });
  }
  if (nextLabel < labels.length) await monitor.apply({ predictions: [], labels: labels.slice(nextLabel) });
}

const noLabels = (s: Stream): Stream => ({ predictions: s.predictions, labels: [] });

async function windowCounts(registry: Registry, model: string): Promise<{ drift: number; clean: number }> {
  const metric = await registry.getSingleMetric('driftgate_drift_windows_total')!.get();
  let drift = 0;
  let clean = 0;
  for (const v of metric.values) {
    if (v.labels['model'] !== model || v.labels['kind'] !== 'data') continue;
    if (v.labels['result'] === 'drift') drift += v.value;
    else clean += v.value;
  }
  return { drift, clean };
}

function decisionsOf(h: Harness, model: string): DecisionRecord[] {
  return h.monitor.decisions(model, 1000);
}

const T0 = Date.parse('2026-01-01T00:00:00Z');

describe('monitor scenarios: no shift', () => {
  for (const rows of [800, 5000]) {
    it(`raises dataset drift in at most 5% of 500-row windows over a long clean stream (reference of ${rows} rows)`, async () => {
      const m = syntheticManifest({ name: 'clean', rows, seed: 11 });
      const h = await harness([m]);
      const windows = 120;
      await feed(h.monitor, noLabels(generateStream({ model: 'clean', count: windows * 500, seed: rows, startTs: T0 })), 1000);
      const counts = await windowCounts(h.registry, 'clean');
      assert.equal(counts.drift + counts.clean, windows);
      const rate = counts.drift / windows;
      assert.ok(rate <= 0.05, `false alarms in ${counts.drift} of ${windows} windows`);
      assert.equal(decisionsOf(h, 'clean').filter((d) => d.type === 'retrain.requested').length, 0);
      h.close();
    });
  }
});

describe('monitor scenarios: mean shift', () => {
  for (const rows of [800, 5000]) {
    it(`flags a 0.5-std shift of one feature of four within 2 windows of 500 (reference of ${rows} rows)`, async () => {
      const m = syntheticManifest({ name: 'shift', rows, seed: 12 });
      // share 0.25: one drifted feature of four is dataset drift, so the policy sees it too; Bonferroni
      // keeps the four tests' joint false-alarm rate near 5%
      const h = await harness([m], { default: { datasetDriftShare: 0.25, bonferroni: true } });
      await feed(h.monitor, noLabels(generateStream({ model: 'shift', count: 1000, seed: 1, startTs: T0, idPrefix: 'before' })));
      assert.equal(decisionsOf(h, 'shift').length, 0, 'nothing decided before the shift');

      let detectedAt: number | undefined;
      for (let w = 0; w < 2 && detectedAt === undefined; w++) {
        const s = generateStream({ model: 'shift', count: 500, seed: 100 + w, startTs: T0 + (1000 + w * 500) * 100, shift: { f2: 0.5 }, idPrefix: `after${w}` });
        await feed(h.monitor, noLabels(s), 500);
        const last = h.monitor.summaries().find((x) => x.model === 'shift')?.lastWindow;
        if (last?.features.find((f) => f.column === 'f2')?.drifted) detectedAt = w + 1;
      }
      assert.ok(detectedAt !== undefined, 'the shifted feature was not flagged within 2 windows');
      const last = h.monitor.summaries().find((x) => x.model === 'shift')!.lastWindow!;
      assert.equal(last.features.find((f) => f.column === 'f2')?.test, rows <= 1000 ? 'ks' : 'wasserstein');
      // the policy (K = 2 consecutive windows) reports it once the second shifted window is in
      await feed(h.monitor, noLabels(generateStream({ model: 'shift', count: 500, seed: 300, startTs: T0 + 2000 * 100, shift: { f2: 0.5 }, idPrefix: 'third' })), 500);
      const detected = decisionsOf(h, 'shift').filter((d) => d.type === 'drift.detected');
      assert.equal(detected.length, 1);
      assert.equal(detected[0]!.details['kind'], 'data');
      assert.ok(JSON.stringify(detected[0]!.details).includes('f2'), 'evidence names the drifted feature');
      h.close();
    });
  }
});

describe('monitor scenarios: performance', () => {
  const base: Omit<StreamOptions, 'seed' | 'startTs' | 'count'> = { model: 'perf' };

  it('stays quiet while live accuracy matches the validation accuracy', async () => {
    const h = await harness([syntheticManifest({ name: 'perf', rows: 800, seed: 13 })]);
    await feed(h.monitor, generateStream({ ...base, count: 3000, seed: 5, startTs: T0 }));
    const summary = h.monitor.summaries().find((s) => s.model === 'perf')!;
    assert.equal(summary.performance.task, 'classification');
    assert.ok(summary.performance.task === 'classification' && Math.abs(summary.performance.accuracy - 0.9) < 0.05);
    assert.equal(decisionsOf(h, 'perf').length, 0);
    h.close();
  });

  it('requests a retrain on concept shift: the same inputs get other labels', async () => {
    const h = await harness([syntheticManifest({ name: 'perf', rows: 800, seed: 13 })]);
    await feed(h.monitor, generateStream({ ...base, count: 1000, seed: 6, startTs: T0, idPrefix: 'pre' }));
    assert.equal(decisionsOf(h, 'perf').length, 0);
    await feed(h.monitor, generateStream({ ...base, count: 1500, seed: 7, startTs: T0 + 1000 * 100, flipLabels: 0.5, idPrefix: 'post' }));
    const decisions = decisionsOf(h, 'perf');
    const retrain = decisions.find((d) => d.type === 'retrain.requested');
    assert.equal(retrain?.details['reason'], 'performance');
    assert.ok(decisions.some((d) => d.type === 'drift.detected' && d.details['kind'] === 'performance'));
    // inputs did not move, so no data drift was reported
    assert.ok(!decisions.some((d) => d.type === 'drift.detected' && d.details['kind'] === 'data'));
    h.close();
  });

  it('requests a retrain on label shift and reports the label drift', async () => {
    const h = await harness([syntheticManifest({ name: 'perf', rows: 800, seed: 13 })]);
    await feed(h.monitor, generateStream({ ...base, count: 1000, seed: 8, startTs: T0, idPrefix: 'pre' }));
    await feed(h.monitor, generateStream({ ...base, count: 1500, seed: 9, startTs: T0 + 1000 * 100, labelShiftToB: 0.7, idPrefix: 'post' }));
    const retrain = decisionsOf(h, 'perf').find((d) => d.type === 'retrain.requested');
    assert.equal(retrain?.details['reason'], 'performance');
    const summary = h.monitor.summaries().find((s) => s.model === 'perf')!;
    assert.equal(summary.lastLabelDrift?.drifted, true);
    h.close();
  });

  for (const action of ['report', 'retrain'] as const) {
    it(`reports input drift without a performance drop, and retrains on it only when the policy says so (action ${action})`, async () => {
      const h = await harness([syntheticManifest({ name: 'perf', rows: 800, seed: 13 })], { default: { drift: { action } } });
      await feed(h.monitor, generateStream({ ...base, count: 1000, seed: 10, startTs: T0, idPrefix: 'pre' }));
      await feed(h.monitor, generateStream({ ...base, count: 2000, seed: 11, startTs: T0 + 1000 * 100, shift: { f2: 1, f3: 1 }, idPrefix: 'post' }));
      const decisions = decisionsOf(h, 'perf');
      assert.ok(decisions.some((d) => d.type === 'drift.detected' && d.details['kind'] === 'data'), 'data drift reported');
      assert.ok(!decisions.some((d) => d.details['kind'] === 'performance' || d.details['reason'] === 'performance'), 'no performance drop');
      const retrains = decisions.filter((d) => d.type === 'retrain.requested');
      if (action === 'report') assert.equal(retrains.length, 0);
      else assert.deepEqual(retrains.map((d) => d.details['reason']), ['data_drift']);
      h.close();
    });
  }
});

describe('monitor scenarios: versions without a profile', () => {
  it('uses the first live predictions as the reference, then detects a shift against them', async () => {
    const m = syntheticManifest({ name: 'live', rows: 800, seed: 14, profile: false });
    const h = await harness([m], { default: { reference: { liveSize: 500 }, datasetDriftShare: 0.25 } });
    await feed(h.monitor, noLabels(generateStream({ model: 'live', count: 500, seed: 20, startTs: T0, idPrefix: 'ref' })));
    assert.equal(h.monitor.summaries()[0]?.reference, 'live');
    await feed(h.monitor, noLabels(generateStream({ model: 'live', count: 500, seed: 21, startTs: T0 + 500 * 100, idPrefix: 'same' })));
    assert.equal(h.monitor.summaries()[0]?.lastWindow?.datasetDrift, false);
    await feed(h.monitor, noLabels(generateStream({ model: 'live', count: 500, seed: 22, startTs: T0 + 1000 * 100, shift: { f0: 1 }, idPrefix: 'moved' })));
    assert.equal(h.monitor.summaries()[0]?.lastWindow?.datasetDrift, true);
    h.close();
  });
});

describe('monitor scenarios: restart', () => {
  it('makes the same decisions when restarted mid-stream and handed the last batch again', async () => {
    const m = syntheticManifest({ name: 'restart', rows: 800, seed: 15 });
    const policy = { default: { datasetDriftShare: 0.25, cooldownMs: 60_000 } };
    const stream: Stream = {
      predictions: [],
      labels: [],
    };
    for (const [i, part] of [
      generateStream({ model: 'restart', count: 1500, seed: 30, startTs: T0, idPrefix: 'a' }),
      generateStream({ model: 'restart', count: 1500, seed: 31, startTs: T0 + 1500 * 100, shift: { f1: 0.7 }, flipLabels: 0.4, idPrefix: 'b' }),
    ].entries()) {
      void i;
      stream.predictions.push(...part.predictions);
      stream.labels.push(...part.labels);
    }
    const batches = splitBatches(stream, 200);

    const straight = await harness([m], policy);
    for (const b of batches) await straight.monitor.apply(b);
    const expected = decisionsOf(straight, 'restart').map(decisionKey);
    assert.ok(expected.length >= 2, `the stream should provoke decisions, got ${expected.join(', ')}`);
    const expectedJoined = straight.store.labeledCount('restart');
    straight.close();

    const first = await harness([m], policy);
    const cut = Math.floor(batches.length / 2);
    for (const b of batches.slice(0, cut)) await first.monitor.apply(b);
    first.close();
    // a new monitor on the same store; the bus redelivers the batch whose offsets were not committed
    const second = await harness([m], policy, first.path);
    for (const b of batches.slice(cut - 1)) await second.monitor.apply(b);
    assert.deepEqual(decisionsOf(second, 'restart').map(decisionKey), expected);
    assert.ok(second.monitor.summaries()[0]?.lastWindow, 'the last window report survives the restart');
    assert.equal(second.store.labeledCount('restart'), expectedJoined, 'no example counted twice');
    second.close();
  });
});

function splitBatches(stream: Stream, size: number) {
  const batches = [];
  for (let i = 0; i < stream.predictions.length; i += size) {
    batches.push({ predictions: stream.predictions.slice(i, i + size), labels: stream.labels.slice(i, i + size) });
  }
  return batches;
}

function decisionKey(d: DecisionRecord): string {
  return `${d.type}/${String(d.details['kind'] ?? d.details['reason'])}@${d.time}`;
}

describe('monitor scenarios: publishing decisions', () => {
  it('keeps decisions in the outbox while the bus refuses them and publishes them with a later batch', async () => {
    const inner = await embeddedBus();
    let refuse = true;
    const bus: EventBus = Object.assign(Object.create(inner) as EventBus, {
      publish: (topic: string, messages: Parameters<EventBus['publish']>[1]) => (refuse ? Promise.reject(new Error('bus down')) : inner.publish(topic, messages)),
    });
    const events: ModelEvent[] = [];
    await inner.subscribe({
      groupId: 'observer',
      topics: [topicNames().modelEvents],
      fromBeginning: true,
      handle: async (messages) => void events.push(...messages.map((m) => JSON.parse(m.value.toString()) as ModelEvent)),
    });
    const m = syntheticManifest({ name: 'outbox', rows: 800, seed: 16 });
    const h = await harness([m], { default: { datasetDriftShare: 0.25, bonferroni: true } }, undefined, bus);
    await feed(h.monitor, noLabels(generateStream({ model: 'outbox', count: 1500, seed: 40, startTs: T0, shift: { f0: 1 }, idPrefix: 'down' })), 500);
    assert.ok(decisionsOf(h, 'outbox').some((d) => d.type === 'drift.detected'), 'decided while the bus was down');
    assert.equal(events.length, 0);
    refuse = false;
    await feed(h.monitor, noLabels(generateStream({ model: 'outbox', count: 10, seed: 41, startTs: T0 + 1500 * 100, idPrefix: 'up' })));
    await waitFor('the held decisions', 5000, () => events.some((e) => e.type === 'drift.detected'));
    assert.deepEqual(
      events.map((e) => e.type),
      decisionsOf(h, 'outbox')
        .filter((d) => d.type !== 'drift.cleared')
        .map((d) => d.type),
    );
    h.close();
  });
});

describe('monitor scenarios: a batch that fails mid-way', () => {
  it('rolls back, and the redelivered batch is applied and counted once', async () => {
    const m = syntheticManifest({ name: 'rollback', rows: 800, seed: 17 });
    const h = await harness([m]);
    const stream = generateStream({ model: 'rollback', count: 600, seed: 50, startTs: T0, idPrefix: 'rb' });
    const batch = { predictions: stream.predictions, labels: stream.labels };
    const putState = h.store.putState.bind(h.store);
    let fail = true;
    h.store.putState = (key, value) => {
      if (fail && key === 'watermark') throw new Error('disk full');
      putState(key, value);
    };
    await assert.rejects(h.monitor.apply(batch), /disk full/);
    assert.equal(h.store.labeledCount('rollback'), 0, 'nothing of the failed batch stayed');
    fail = false;
    await h.monitor.apply(batch);
    assert.equal(h.store.labeledCount('rollback'), 600);
    const joined = (await h.registry.getSingleMetric('driftgate_labels_joined_total')!.get()).values.reduce((a, v) => a + v.value, 0);
    assert.equal(joined, 600, 'labels joined counted once');
    const windows = await windowCounts(h.registry, 'rollback');
    assert.equal(windows.drift + windows.clean, 1, 'the one window counted once');
    h.close();
  });
});
