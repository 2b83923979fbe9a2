// The standalone monitor (`driftgate monitor`, a child process) on the real Kafka broker: it detects a
// shift and a performance drop from the streams and publishes its decisions on the model-events topic;
// its /metrics shows live accuracy and drift; bad events are dead-lettered while it keeps going; and a
// monitor killed with SIGKILL mid-stream and restarted on the same store and group makes the same
// decisions as one that ran straight through.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  DEAD_LETTER_HEADERS,
  MANIFEST_FILE,
  createEventBus,
  eventTopicSpecs,
  silentLogger,
  toLabelMessages,
  toPredictionMessages,
  topicNames,
} from '../../src/core/index.js';
import type { BusMessage, EventBus, Manifest, ModelEvent } from '../../src/core/index.js';
import { MonitorStore } from '../../src/monitor/store.js';
import { generateStream, syntheticManifest } from '../helpers/drift-scenario.js';
import type { Stream } from '../helpers/drift-scenario.js';
import { sampleValue } from '../helpers/gateway.js';
import { kafkaBrokers, testKafka } from '../helpers/kafka.js';
import { freePort, waitFor } from '../helpers/private-broker.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const T0 = Date.parse('2026-02-01T00:00:00Z');

interface Setup {
  brokers: string[];
  prefix: string;
  repo: string;
  bus: EventBus;
  partitions: number;
}

function writeRepo(manifests: Manifest[]): string {
  const repo = mkdtempSync(join(tmpdir(), 'dg-monitor-repo-'));
  for (const m of manifests) {
    const dir = join(repo, m.name, String(m.version));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, MANIFEST_FILE), JSON.stringify(m));
  }
  return repo;
}

async function setup(brokers: string[], manifests: Manifest[], partitions: number): Promise<Setup> {
  const prefix = `mon${randomUUID().slice(0, 8)}.`;
  const busConfig = {
    kafkaBrokers: brokers,
    topicPrefix: prefix,
    topicPartitions: partitions,
    topicReplicationFactor: 1,
    kafkaClientId: 'monitor-test',
    kafkaConnectionTimeoutMs: 3000,
    kafkaRequestTimeoutMs: 10000,
    kafkaRetries: 5,
    embeddedRetention: 1000,
    consumerMaxAttempts: 5,
  };
  const bus = createEventBus(busConfig, silentLogger);
  await bus.ensureTopics(eventTopicSpecs(busConfig));
  return { brokers, prefix, repo: writeRepo(manifests), bus, partitions };
}

class MonitorProcess {
  child: ChildProcess | undefined;
  stderr = '';
  constructor(
    readonly s: Setup,
    readonly store: string,
    readonly group: string,
    readonly port: number,
    readonly policy: unknown,
  ) {}

  start(): void {
    this.child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'monitor'], {
      env: {
        ...process.env,
        KAFKA_BROKERS: this.s.brokers.join(','),
        DRIFTGATE_TOPIC_PREFIX: this.s.prefix,
        DRIFTGATE_TOPIC_PARTITIONS: String(this.s.partitions),
        DRIFTGATE_MODEL_REPO: this.s.repo,
        DRIFTGATE_MONITOR_STORE: this.store,
        DRIFTGATE_MONITOR_GROUP: this.group,
        DRIFTGATE_MONITOR_PORT: String(this.port),
        DRIFTGATE_MONITOR_POLICY: JSON.stringify(this.policy),
        DRIFTGATE_HOST: '127.0.0.1',
        DRIFTGATE_LOG_LEVEL: 'warn',
        DRIFTGATE_MONITOR_LAG_INTERVAL_MS: '200',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  async get<T>(path: string): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.port}${path}`);
    return (path === '/metrics' ? await res.text() : await res.json()) as T;
  }

  async ready(): Promise<void> {
    await waitFor('monitor HTTP endpoint', 60_000, async () => {
      try {
        return (await fetch(`http://127.0.0.1:${this.port}/healthz`)).ok;
      } catch {
        return false;
      }
    });
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }
}

async function publish(bus: EventBus, prefix: string, stream: Stream): Promise<void> {
  const topics = topicNames(prefix);
  for (let i = 0; i < stream.predictions.length; i += 1000) {
    await bus.publish(topics.predictions, toPredictionMessages(stream.predictions.slice(i, i + 1000)));
  }
  for (let i = 0; i < stream.labels.length; i += 1000) {
    await bus.publish(topics.labels, toLabelMessages(stream.labels.slice(i, i + 1000)));
  }
}

/** Collects every model event (and dead letter) of the run. */
async function collect(bus: EventBus, prefix: string): Promise<{ events: ModelEvent[]; dead: BusMessage[]; stop(): Promise<void> }> {
  const topics = topicNames(prefix);
  const events: ModelEvent[] = [];
  const dead: BusMessage[] = [];
  const sub = await bus.subscribe({
    groupId: `observer-${randomUUID()}`,
    topics: [topics.modelEvents, topics.deadLetter],
    fromBeginning: true,
    handle: async (messages) => {
      for (const m of messages) {
        if (m.topic === topics.modelEvents) events.push(JSON.parse(m.value.toString()) as ModelEvent);
        else dead.push(m);
      }
    },
  });
  return { events, dead, stop: () => sub.stop() };
}

/** Predictions without drift, then a shift of two features with half the labels flipped. */
function driftingStream(model: string, tag: string, half = 1500): Stream {
  const before = generateStream({ model, count: half, seed: 41, startTs: T0, idPrefix: `${tag}-a` });
  const afterShift = generateStream({ model, count: half, seed: 42, startTs: T0 + half * 100, shift: { f0: 1, f1: 1 }, flipLabels: 0.5, idPrefix: `${tag}-b` });
  return { predictions: [...before.predictions, ...afterShift.predictions], labels: [...before.labels, ...afterShift.labels] };
}

describe('driftgate monitor on Kafka', () => {
  let brokers: string[] | undefined;
  let skip: string | undefined;
  const cleanups: (() => Promise<void> | void)[] = [];

  before(async () => {
    const found = await kafkaBrokers();
    if ('skip' in found) skip = found.skip;
    else brokers = found;
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('detects drift and a performance drop, publishes its decisions and shows them in /metrics; bad events are dead-lettered', async (t) => {
    if (skip || !brokers) return t.skip(skip);
    const model = 'mon-kafka';
    const s = await setup(brokers, [syntheticManifest({ name: model, rows: 800, seed: 3 })], 3);
    const dir = mkdtempSync(join(tmpdir(), 'dg-monitor-'));
    const observer = await collect(s.bus, s.prefix);
    const proc = new MonitorProcess(s, join(dir, 'monitor.db'), `group-${randomUUID()}`, await freePort(), {});
    cleanups.push(async () => {
      await proc.stop('SIGKILL');
      await observer.stop();
      await s.bus.close();
      rmSync(dir, { recursive: true, force: true });
      rmSync(s.repo, { recursive: true, force: true });
    });
    proc.start();
    await proc.ready();

    const topics = topicNames(s.prefix);
    const good = generateStream({ model, count: 10, seed: 1, startTs: T0 - 60_000, idPrefix: 'warm' });
    const bad = [
      { key: 'x1', value: JSON.stringify({ ...good.predictions[0], id: 'bad-model', model: 'nope' }) },
      { key: 'x2', value: JSON.stringify({ ...good.predictions[0], id: 'bad-missing', features: { f0: 1, f1: 2, f2: 3 } }) },
      { key: 'x3', value: JSON.stringify({ ...good.predictions[0], id: 'bad-type', features: { f0: 'high', f1: 2, f2: 3, f3: 4 } }) },
      { key: 'x4', value: 'not json' },
    ];
    await s.bus.publish(topics.predictions, bad);
    await s.bus.publish(topics.labels, [
      { key: 'warm-0', value: JSON.stringify({ ...good.labels[0], label: 'zebra' }) },
      { key: 'x5', value: JSON.stringify({ ...good.labels[1], model: 'nope' }) },
    ]);
    await publish(s.bus, s.prefix, driftingStream(model, 'run'));

    // Whichever of the two the monitor judges first (the data drift or the performance drop: it depends
    // on how the consumer's batches of the two topics interleave, and the monitor gathers them into
    // larger transactions) asks for the retrain and starts the cooldown; the other is reported without
    // a second request.
    await waitFor('retrain.requested', 120_000, () => observer.events.some((e) => e.type === 'retrain.requested'));
    await waitFor('the performance drop reported', 120_000, () =>
      observer.events.some((e) => e.type === 'drift.detected' && e.details['kind'] === 'performance'),
    );
    await waitFor('data drift reported', 60_000, () => observer.events.some((e) => e.type === 'drift.detected' && e.details['kind'] === 'data'));
    const requests = observer.events.filter((e) => e.type === 'retrain.requested').map((e) => e.details['reason']);
    assert.equal(requests.length, 1, `one retrain request, got ${JSON.stringify(requests)}`);
    assert.ok(['data_drift', 'performance'].includes(String(requests[0])), `reason ${String(requests[0])}`);
    const detected = observer.events.find((e) => e.type === 'drift.detected' && e.details['kind'] === 'data')!;
    assert.equal(detected.model, model);
    assert.equal(detected.version, 1);
    assert.ok(JSON.stringify(detected.details).includes('f0'), 'evidence names a drifted feature');

    await waitFor('six dead letters', 30_000, () => observer.dead.length >= 6);
    const reasons = observer.dead.map((m) => m.headers[DEAD_LETTER_HEADERS.reason] ?? '');
    for (const expected of ['unknown model "nope"', 'feature "f3" is missing', 'feature "f0" must be a number', 'not JSON', 'label "zebra" is not one of the classes']) {
      assert.ok(reasons.some((r) => r.includes(expected)), `a dead letter says ${expected}; got ${reasons.join(' | ')}`);
    }

    await waitFor('every label joined', 60_000, async () => (sampleValue(await proc.get<string>('/metrics'), 'driftgate_labels_joined_total', { model }) ?? 0) >= 3000);
    const metrics = await proc.get<string>('/metrics');
    const accuracy = sampleValue(metrics, 'driftgate_model_accuracy', { model, version: '1' });
    assert.ok(accuracy !== undefined && accuracy > 0.3 && accuracy < 0.8, `live accuracy after the flip: ${accuracy}`);
    assert.ok(sampleValue(metrics, 'driftgate_drift_score', { model, version: '1', feature: 'f0', test: 'ks' }) !== undefined);
    assert.ok((sampleValue(metrics, 'driftgate_labels_joined_total', { model }) ?? 0) >= 3000);
    assert.ok((sampleValue(metrics, 'driftgate_events_dead_lettered_total', { topic: topics.predictions }) ?? 0) >= 1);
    await waitFor('consumer lag read back as 0', 30_000, async () => {
      const text = await proc.get<string>('/metrics');
      return [topics.predictions, topics.labels].every((topic) => sampleValue(text, 'driftgate_monitor_consumer_lag', { topic }) === 0);
    });
    assert.match(proc.stderr, /^$|level/, 'only log lines on stderr');
  });

  it('scales by partition: two monitors in one group share the work and still join every pair', async (t) => {
    if (skip || !brokers) return t.skip(skip);
    const model = 'mon-scale';
    const s = await setup(brokers, [syntheticManifest({ name: model, rows: 800, seed: 5 })], 4);
    const dir = mkdtempSync(join(tmpdir(), 'dg-monitor-'));
    const group = `scale-${randomUUID()}`;
    const monitors = [0, 1].map(async (i) => new MonitorProcess(s, join(dir, `m${i}.db`), group, await freePort(), {}));
    const [a, b] = await Promise.all(monitors);
    cleanups.push(async () => {
      await a!.stop('SIGKILL');
      await b!.stop('SIGKILL');
      await s.bus.close();
      rmSync(dir, { recursive: true, force: true });
      rmSync(s.repo, { recursive: true, force: true });
    });
    a!.start();
    b!.start();
    await a!.ready();
    await b!.ready();
    const topics = topicNames(s.prefix);
    const joined = async (p: MonitorProcess) => sampleValue(await p.get<string>('/metrics'), 'driftgate_labels_joined_total', { model }) ?? 0;
    // Publish once the group is stable with both members: pairs consumed across a rebalance can be
    // split between the old and the new owner of a partition (docs/monitoring.md, scaling).
    const admin = testKafka(brokers, 'monitor-scale-test').admin();
    await admin.connect();
    try {
      await waitFor('a stable group of two', 60_000, async () => {
        const { groups } = await admin.describeGroups([group]);
        return groups[0]?.state === 'Stable' && groups[0].members.length === 2;
      });
    } finally {
      await admin.disconnect();
    }
    const stream = generateStream({ model, count: 4000, seed: 7, startTs: T0, idPrefix: 'scale' });
    await publish(s.bus, s.prefix, stream);
    await waitFor('the group to drain', 60_000, async () => {
      const lag = await s.bus.consumerLag(group, [topics.predictions, topics.labels]);
      return lag.length === 8 && lag.every((row) => row.lag === 0);
    });
    const counts = [await joined(a!), await joined(b!)];
    assert.equal(counts[0]! + counts[1]!, stream.labels.length, `joined ${counts.join(' + ')}`);
    for (const p of [a!, b!]) {
      assert.equal(sampleValue(await p.get<string>('/metrics'), 'driftgate_monitor_pending', { kind: 'label' }), 0, 'no label waits for a prediction another monitor has');
    }
  });

  it('makes the same decisions after a SIGKILL mid-stream and a restart, counting nothing twice', async (t) => {
    if (skip || !brokers) return t.skip(skip);
    const model = 'mon-restart';
    const policy = { default: { cooldownMs: 60_000 } };
    // one partition per topic, so both runs see the events in the same order
    const s = await setup(brokers, [syntheticManifest({ name: model, rows: 800, seed: 4 })], 1);
    const dir = mkdtempSync(join(tmpdir(), 'dg-monitor-'));
    cleanups.push(async () => {
      await s.bus.close();
      rmSync(dir, { recursive: true, force: true });
      rmSync(s.repo, { recursive: true, force: true });
    });
    // long enough that the kill lands while the monitor is busy with it (it applies about 15k events/s)
    const stream = driftingStream(model, 'restart', 10_000);
    const topics = topicNames(s.prefix);
    // committed offsets reach the end only after every event has been durably applied
    const drained = async (p: MonitorProcess) => {
      const lag = await s.bus.consumerLag(p.group, [topics.predictions, topics.labels]);
      return lag.length === 2 && lag.every((row) => row.lag === 0);
    };
    const consumed = async (p: MonitorProcess, topic: string) => sampleValue(await p.get<string>('/metrics'), 'driftgate_events_consumed_total', { topic }) ?? 0;

    // Two monitors side by side: one runs straight through, the other is killed with SIGKILL in the
    // middle of the predictions and again in the middle of the labels, and restarted each time.
    const straight = new MonitorProcess(s, join(dir, 'straight.db'), `straight-${randomUUID()}`, await freePort(), policy);
    const crashing = new MonitorProcess(s, join(dir, 'crash.db'), `crash-${randomUUID()}`, await freePort(), policy);
    cleanups.push(() => straight.stop('SIGKILL'));
    cleanups.push(() => crashing.stop('SIGKILL'));
    straight.start();
    crashing.start();
    await straight.ready();
    await crashing.ready();

    // Predictions first, labels once every prediction is in: the two topics are consumed side by
    // side, so only this keeps the join order (and with it the decisions) the same in both runs.
    const phases: [string, string, Stream][] = [
      ['predictions', topics.predictions, { predictions: stream.predictions, labels: [] }],
      ['labels', topics.labels, { predictions: [], labels: stream.labels }],
    ];
    for (const [name, topic, events] of phases) {
      await publish(s.bus, s.prefix, events);
      await waitFor(`progress on the ${name} before the kill`, 120_000, async () => (await consumed(crashing, topic)) >= 4000);
      await crashing.stop('SIGKILL');
      assert.ok(!(await drained(crashing)), `the kill came before the ${name} were all applied`);
      crashing.start();
      await crashing.ready();
      await waitFor(`both runs through the ${name}`, 120_000, async () => (await drained(straight)) && (await drained(crashing)));
    }

    type Decisions = { decisions: { type: string; time: number; details: Record<string, unknown> }[] };
    const keyOf = (d: Decisions['decisions'][number]) => `${d.type}/${String(d.details['kind'] ?? d.details['reason'])}@${d.time}`;
    const expected = (await straight.get<Decisions>(`/monitor/models/${model}/decisions`)).decisions;
    assert.ok(expected.length >= 2, 'the stream provokes decisions');
    const got = (await crashing.get<Decisions>(`/monitor/models/${model}/decisions`)).decisions;
    assert.deepEqual(got.map(keyOf), expected.map(keyOf));
    const performance = async (p: MonitorProcess) =>
      (await p.get<{ versions: { model: string; performance: unknown }[] }>('/monitor/models')).versions.find((v) => v.model === model)?.performance;
    assert.deepEqual(await performance(crashing), await performance(straight), 'the same rolling performance');
    await straight.stop();
    await crashing.stop();
    const stores = [new MonitorStore({ path: join(dir, 'straight.db') }), new MonitorStore({ path: join(dir, 'crash.db') })] as const;
    try {
      const [a, b] = stores;
      assert.equal(b.labeledCount(model), 10_000, 'the labeled window is full');
      assert.equal(b.labeledCount(model), a.labeledCount(model), 'the same labeled window: nothing joined twice, nothing lost');
      assert.deepEqual(
        b.labeledExamples(model, 200).map((e) => e.id),
        a.labeledExamples(model, 200).map((e) => e.id),
      );
      assert.deepEqual(b.pendingCounts(), { predictions: 0, labels: 0 });
    } finally {
      for (const store of stores) store.close();
    }
  });
});
