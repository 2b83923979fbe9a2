// The publisher's promise on a real broker: events enqueued while Kafka is down are spooled to
// disk and delivered once it is back, across a publisher restart too, and past the spool bound
// the oldest are dropped and counted.
//
// The shared development broker stays untouched (other tests use it): this file starts a second
// broker of its own (deploy/kafka/kafka.sh with its own run dir and ports) and stops and starts
// that one. A proxy in front of the shared broker would not do: Kafka advertises 127.0.0.1:9092
// in its metadata, so clients bypass a proxy after their first metadata request.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { KafkaBus } from '../../src/core/bus/kafka.js';
import type { KafkaBusOptions } from '../../src/core/bus/kafka.js';
import { EventPublisher } from '../../src/core/bus/publisher.js';
import type { PublisherOptions } from '../../src/core/bus/publisher.js';
import { DiskSpool } from '../../src/core/bus/spool.js';
import type { DiskSpoolOptions } from '../../src/core/bus/spool.js';
import type { EventBus, Subscription } from '../../src/core/bus/types.js';
import { decodeEvent, predictionEventSchema, toPredictionMessages } from '../../src/core/events.js';
import { createLogger, silentLogger } from '../../src/core/logger.js';
import { uniqueTopic } from '../helpers/kafka.js';
import { keyPerPartition } from '../helpers/partition-markers.js';
import { PrivateBroker, freePort, waitFor } from '../helpers/private-broker.js';

const STEP = { timeout: 120_000 };

/** `prefix-from..to` ranges of the ids in [0, n) that `ids` lacks, for failure messages. */
function missing(ids: Set<string>, prefix: string, n: number): string {
  const gaps: string[] = [];
  for (let i = 0; i < n; i++) {
    if (ids.has(`${prefix}-${i}`)) continue;
    let j = i;
    while (j + 1 < n && !ids.has(`${prefix}-${j + 1}`)) j++;
    gaps.push(i === j ? String(i) : `${i}..${j}`);
    i = j;
  }
  return `${prefix} ids missing: ${gaps.join(', ') || 'none'}`;
}

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const values = (await registry.getSingleMetric(name)!.get()).values;
  return values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((sum, v) => sum + v.value, 0);
}

/** Prediction events with ids `prefix-from` .. `prefix-(to - 1)`. */
function predictions(prefix: string, from: number, to: number) {
  return predictionsWithIds(Array.from({ length: to - from }, (_, i) => `${prefix}-${from + i}`));
}

/** Prediction events with the given ids (which are also their keys). */
function predictionsWithIds(ids: string[]) {
  return toPredictionMessages(
    ids.map((id) => ({
      id,
      model: 'iris',
      version: 1,
      ts: new Date().toISOString(),
      features: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
      output: { label: 'setosa', probabilities: { setosa: 0.97, versicolor: 0.02, virginica: 0.01 } },
      latency_ms: 0.4,
    })),
    '/driftgate/test',
  );
}

const testLogger = process.env.DRIFTGATE_TEST_KAFKA_LOG ? createLogger('warn') : silentLogger;

// Short timeouts and few retries: a send to a stopped broker should fail in about a second.
const busOptions: Omit<KafkaBusOptions, 'brokers'> = {
  clientId: 'driftgate-spool-test',
  connectionTimeoutMs: 1_000,
  requestTimeoutMs: 5_000,
  retry: { retries: 2, initialRetryTimeMs: 100, maxRetryTimeMs: 500 },
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 1_000,
  maxWaitTimeMs: 250,
  // DRIFTGATE_TEST_KAFKA_LOG=warn shows kafkajs' and the publisher's warnings on stderr.
  kafkaLogLevel: process.env.DRIFTGATE_TEST_KAFKA_LOG ? 'warn' : 'nothing',
  logger: testLogger,
};
const publisherOptions: PublisherOptions = {
  lingerMs: 10,
  maxBatchSize: 100,
  sendTimeoutMs: 5_000,
  breakerResetMs: 1_000,
  retryDelayMs: 200,
};

describe('EventPublisher over KafkaBus: broker outage, restart and spool bound', () => {
  let skipReason: string | undefined;
  let broker: PrivateBroker | undefined;
  const spoolDirs: string[] = [];
  // Everything to close in after(), whatever a failing step left open.
  const buses: EventBus[] = [];
  const subscriptions: Subscription[] = [];
  const publishers: EventPublisher[] = [];

  const spoolDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'driftgate-kafka-spool-'));
    spoolDirs.push(dir);
    return dir;
  };
  const kafkaBus = (brokers: string[]) => {
    const bus = new KafkaBus({ ...busOptions, brokers });
    buses.push(bus);
    return bus;
  };
  const publisher = (bus: EventBus, registry: Registry, spool: DiskSpoolOptions) => {
    const p = new EventPublisher({ bus, registry, spool: new DiskSpool({ ...spool, logger: testLogger }), logger: testLogger, ...publisherOptions });
    publishers.push(p);
    return p;
  };

  /** Reads every prediction on `topic` from the start (a fresh group) and collects the distinct ids. */
  async function consumeIds(topic: string) {
    const bus = kafkaBus(broker!.brokers);
    const ids = new Set<string>();
    const problems: string[] = [];
    let total = 0;
    const subscription = await bus.subscribe({
      groupId: uniqueTopic('driftgate-spool-check'),
      topics: [topic],
      fromBeginning: true,
      // Problems are collected, not thrown: a throwing handler would only be retried and skipped.
      handle: async (batch) => {
        for (const m of batch) {
          total++;
          const decoded = decodeEvent(predictionEventSchema, m.value);
          if (!decoded.ok) problems.push(decoded.reason);
          else if (m.headers.ce_id !== decoded.event.id) problems.push(`ce_id ${m.headers.ce_id} for ${decoded.event.id}`);
          else ids.add(decoded.event.id);
        }
      },
    });
    subscriptions.push(subscription);
    return {
      ids,
      total: () => total,
      /** Checks what was read and closes the consumer, so none runs into the next test's outage. */
      finish: async () => {
        await bus.close();
        assert.deepEqual(problems, [], 'every message is a valid prediction event with its CloudEvents id');
      },
    };
  }

  before(
    async () => {
      broker = await PrivateBroker.create();
      // The shared broker is not needed here, so kafkaBrokers() is not asked; the skip rule is the
      // same: a broker that cannot start fails the run in CI and skips it elsewhere, with the reason.
      try {
        await broker.run('start');
      } catch (err) {
        if (process.env.CI === 'true') throw err;
        skipReason = `a second Kafka broker could not start: ${(err as Error).message}`;
      }
    },
    { timeout: 360_000 },
  );

  after(
    async () => {
      for (const s of subscriptions) await s.stop().catch(() => undefined);
      for (const p of publishers) await p.close({ timeoutMs: 1_000 }).catch(() => undefined);
      for (const b of buses) await b.close().catch(() => undefined);
      await broker?.destroy();
      for (const dir of spoolDirs) rmSync(dir, { recursive: true, force: true });
    },
    { timeout: 120_000 },
  );

  it('delivers every event enqueued before, during and after an outage', STEP, async (t) => {
    if (skipReason !== undefined) return t.skip(skipReason);
    const b = broker!;
    const topic = uniqueTopic('driftgate.spool-outage');
    const bus = kafkaBus(b.brokers);
    await bus.ensureTopics([{ name: topic, partitions: 3, replicationFactor: 1 }]);
    const registry = new Registry();
    const p = publisher(bus, registry, { dir: spoolDir() });
    const N = 200;
    const M = 300;
    // This consumer runs through the outage: it must get going again by itself once the broker is back.
    const seen = await consumeIds(topic);

    for (let i = 0; i < N; i += 20) {
      p.enqueue(topic, predictions('outage', i, i + 20));
      await new Promise((r) => setTimeout(r, 5)); // paced like live traffic: several batches, not one
    }
    await waitFor(`${N} published`, 30_000, async () => (await metric(registry, 'driftgate_events_published_total')) >= N);

    const stoppedAt = Date.now();
    await b.run('stop');
    let slowest = 0;
    for (let i = N; i < N + M; i += 10) {
      const started = performance.now();
      p.enqueue(topic, predictions('outage', i, i + 10)); // must neither throw nor wait
      slowest = Math.max(slowest, performance.now() - started);
      await new Promise((r) => setTimeout(r, 10)); // traffic that goes on through the outage
    }
    await waitFor('the breaker to open', 30_000, () => p.breakerState === 'open');
    await waitFor('the outage events in the spool', 30_000, () => p.buffered === 0 && p.spooled > 0);
    t.diagnostic(`breaker open ${Date.now() - stoppedAt} ms after the stop; slowest enqueue ${slowest.toFixed(2)} ms; spooled ${p.spooled}`);
    assert.ok(slowest < 50, `enqueue took ${slowest} ms`);
    assert.equal(await metric(registry, 'driftgate_event_breaker_state'), 2);
    assert.ok((await metric(registry, 'driftgate_events_spooled')) > 0);
    assert.ok((await metric(registry, 'driftgate_events_spool_bytes')) > 0);

    const restartAt = Date.now();
    await b.run('start');
    await waitFor('the spool to drain', 60_000, () => p.spooled === 0 && p.buffered === 0);
    t.diagnostic(`spool drained ${Date.now() - restartAt} ms after the restart began`);
    assert.equal(p.breakerState, 'closed');

    await waitFor(() => `${N + M} distinct ids (${missing(seen.ids, 'outage', N + M)})`, 60_000, () => seen.ids.size >= N + M);
    t.diagnostic(`${seen.total()} messages for ${seen.ids.size} ids (${seen.total() - seen.ids.size} duplicates)`);
    for (let i = 0; i < N + M; i++) assert.ok(seen.ids.has(`outage-${i}`), `outage-${i} delivered`);
    assert.equal(await metric(registry, 'driftgate_events_dropped_total'), 0);
    await seen.finish();
    await p.close();
    await bus.close();
  });

  it('a publisher closed during an outage leaves its events in the spool; the next one delivers them', STEP, async (t) => {
    if (skipReason !== undefined) return t.skip(skipReason);
    const b = broker!;
    const topic = uniqueTopic('driftgate.spool-restart');
    const dir = spoolDir();
    const firstBus = kafkaBus(b.brokers);
    await firstBus.ensureTopics([{ name: topic, partitions: 3, replicationFactor: 1 }]);
    const K = 150;

    await b.run('stop');
    const first = publisher(firstBus, new Registry(), { dir });
    first.enqueue(topic, predictions('restart', 0, K));
    await first.close({ timeoutMs: 3_000 });
    await firstBus.close();
    const left = new DiskSpool({ dir });
    assert.equal(left.size, K, 'every event is in the spool after close()');
    left.close();

    await b.run('start');
    const registry = new Registry();
    const second = publisher(kafkaBus(b.brokers), registry, { dir });
    await waitFor('the spool to drain', 60_000, () => second.spooled === 0);
    const seen = await consumeIds(topic);
    await waitFor(() => `${K} distinct ids (${missing(seen.ids, 'restart', K)})`, 60_000, () => seen.ids.size >= K);
    for (let i = 0; i < K; i++) assert.ok(seen.ids.has(`restart-${i}`), `restart-${i} delivered`);
    assert.ok((await metric(registry, 'driftgate_events_published_total', { topic })) >= K);
    await seen.finish();
    await second.close();
  });

  it('past the spool bound the oldest events are dropped and counted; the newest are delivered', STEP, async (t) => {
    if (skipReason !== undefined) return t.skip(skipReason);
    const topic = uniqueTopic('driftgate.spool-bound');
    await kafkaBus(broker!.brokers).ensureTopics([{ name: topic, partitions: 3, replicationFactor: 1 }]);
    // A broker address where nothing listens: the same failure as a broker that is down.
    const nowhere = kafkaBus([`127.0.0.1:${await freePort()}`]);
    const dir = spoolDir();
    const registry = new Registry();
    const spoolBound = { dir, maxBytes: 16 * 1024, segmentBytes: 2 * 1024 };
    const failing = publisher(nowhere, registry, spoolBound);
    const total = 400; // about 130 KB of events for a 16 KB spool
    for (let i = 0; i < total; i += 50) {
      failing.enqueue(topic, predictions('bound', i, i + 50));
      await new Promise((r) => setTimeout(r, 20)); // paced like live traffic, so failed sends and spooling interleave
    }
    await waitFor('everything spooled or dropped', 30_000, () => failing.buffered === 0 && failing.breakerState === 'open');
    await waitFor('the drops', 30_000, async () => (await metric(registry, 'driftgate_events_dropped_total', { reason: 'spool_full' })) > 0);
    const dropped = await metric(registry, 'driftgate_events_dropped_total', { reason: 'spool_full' });
    assert.ok((await metric(registry, 'driftgate_events_spool_bytes')) <= spoolBound.maxBytes);
    await failing.close({ timeoutMs: 500 });
    t.diagnostic(`${dropped} of ${total} dropped`);

    // The same spool, now in front of a reachable broker: what is left is the newest events.
    const replay = publisher(kafkaBus(broker!.brokers), new Registry(), spoolBound);
    const left = replay.spooled;
    assert.equal(left + dropped, total, 'every event is either kept or counted as dropped');
    await waitFor('the spool to drain', 60_000, () => replay.spooled === 0);
    const seen = await consumeIds(topic);
    await waitFor(`${left} ids`, 60_000, () => seen.ids.size >= left);
    // A marker on every partition, published after the spool drained: a partition delivers in
    // order, so a dropped event that had been published anyway would have come before its marker.
    const markers = keyPerPartition('bound-marker-', 3);
    replay.enqueue(topic, predictionsWithIds(markers));
    await waitFor('a marker from every partition', 60_000, () => markers.every((id) => seen.ids.has(id)));
    const expected = Array.from({ length: left }, (_, i) => `bound-${total - left + i}`);
    const delivered = [...seen.ids].filter((id) => !markers.includes(id));
    assert.deepEqual(delivered.sort(), expected.sort(), 'exactly the newest events, the oldest dropped');
    await seen.finish();
    await replay.close();
  });
});
