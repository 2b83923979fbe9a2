// The event pipeline end to end: the gateway publishes every prediction and label through the bus
// (embedded, and a real Kafka broker), with schema-1 values, prediction-id keys and CloudEvents
// headers; poison messages are dead-lettered without stalling the consumer; and a broker outage
// costs no HTTP request and no event (spool, replay, restart with a non-empty spool).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEAD_LETTER_HEADERS, consumeEvents, loadConfig, silentLogger, topicNames } from '../../src/core/index.js';
import type { Config, LabelEvent, PredictionEvent } from '../../src/core/index.js';
import { startDriftgate } from '../../src/cli/stack.js';
import type { Driftgate } from '../../src/cli/stack.js';
import { IRIS_ROW, post, tempRepo } from '../helpers/gateway.js';
import { kafkaBrokers, testKafka } from '../helpers/kafka.js';
import { PrivateBroker, waitFor } from '../helpers/private-broker.js';

const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
  [5.9, 3.0, 4.2, 1.5],
];

function stackConfig(overrides: Partial<Config> = {}): Config {
  return loadConfig(
    {},
    {
      modelRepo: tempRepo(['iris-onnx']),
      spoolDir: mkdtempSync(join(tmpdir(), 'dg-spool-')),
      port: 0,
      host: '127.0.0.1',
      pollIntervalMs: 0,
      warmupRuns: 1,
      logLevel: 'silent',
      monitor: false,
      topicPrefix: `t${randomUUID().slice(0, 8)}.`,
      publishLingerMs: 5,
      ...overrides,
    },
  );
}

function cleanup(config: Config): void {
  rmSync(config.modelRepo, { recursive: true, force: true });
  rmSync(config.spoolDir, { recursive: true, force: true });
}

async function predictAndLabel(dg: Driftgate, prefix: string): Promise<string[]> {
  const url = `http://127.0.0.1:${dg.port}`;
  const ids = ROWS.map((_, i) => `${prefix}-${i}`);
  const res = await post(`${url}/v1/models/iris-onnx:predict`, { instances: ROWS, ids });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const labels = await post(`${url}/v2/models/iris-onnx/labels`, { labels: ids.map((id, i) => ({ id, label: i === 1 ? 2 : 'setosa' })) });
  assert.equal(labels.status, 202, JSON.stringify(labels.body));
  return ids;
}

function checkPrediction(e: PredictionEvent, id: string, row: number[]): void {
  assert.equal(e.schema, 1);
  assert.equal(e.id, id);
  assert.equal(e.model, 'iris-onnx');
  assert.equal(e.version, 1);
  assert.deepEqual(Object.values(e.features), row);
  assert.deepEqual(Object.keys(e.features), Object.keys(IRIS_ROW));
  assert.ok('label' in e.output && typeof e.output.label === 'string');
  assert.ok(typeof e.latency_ms === 'number' && e.latency_ms >= 0);
  assert.ok(!Number.isNaN(Date.parse(e.ts)));
}

describe('event pipeline on the embedded bus', () => {
  let config: Config;
  let dg: Driftgate;
  before(async () => {
    config = stackConfig();
    dg = await startDriftgate(config, silentLogger);
  });
  after(async () => {
    await dg?.close();
    cleanup(config);
  });

  it('delivers every prediction and label, with labels normalised to class names', async () => {
    const predictions: PredictionEvent[] = [];
    const labels: LabelEvent[] = [];
    const sub = await consumeEvents({
      bus: dg.bus,
      groupId: 'embedded-test',
      topics: topicNames(config.topicPrefix),
      handlers: { predictions: async (e) => void predictions.push(...e), labels: async (e) => void labels.push(...e) },
    });
    try {
      const ids = await predictAndLabel(dg, 'emb');
      await waitFor('events', 10_000, () => predictions.length >= 3 && labels.length >= 3);
      ids.forEach((id, i) => checkPrediction(predictions.find((p) => p.id === id)!, id, ROWS[i]!));
      assert.deepEqual(
        labels.map((l) => [l.id, l.label]).sort(),
        [
          ['emb-0', 'setosa'],
          ['emb-1', 'virginica'],
          ['emb-2', 'setosa'],
        ],
      );
    } finally {
      await sub.stop();
    }
  });

  it('dead-letters poison messages on the labels topic and keeps consuming', async () => {
    const topics = topicNames(config.topicPrefix);
    const labels: LabelEvent[] = [];
    const dead: { key: string; reason: string; source: string }[] = [];
    const sub = await consumeEvents({
      bus: dg.bus,
      groupId: 'poison-test',
      topics,
      fromBeginning: false,
      handlers: { labels: async (e) => void labels.push(...e) },
      checks: { label: (e) => (e.model === 'iris-onnx' ? undefined : `unknown model "${e.model}"`) },
    });
    const dlq = await dg.bus.subscribe({
      groupId: 'dlq-reader',
      topics: [topics.deadLetter],
      fromBeginning: true,
      handle: async (messages) => {
        for (const m of messages) dead.push({ key: m.key ?? '', reason: m.headers[DEAD_LETTER_HEADERS.reason] ?? '', source: m.headers[DEAD_LETTER_HEADERS.topic] ?? '' });
      },
    });
    try {
      await dg.bus.publish(topics.labels, [
        { key: 'x1', value: 'this is not json' },
        { key: 'x2', value: JSON.stringify({ schema: 2, id: 'x2', model: 'iris-onnx', label: 'setosa', ts: new Date().toISOString() }) },
        { key: 'x3', value: JSON.stringify({ schema: 1, id: 'x3', model: 'iris-onnx', ts: new Date().toISOString() }) },
        { key: 'x4', value: JSON.stringify({ schema: 1, id: 'x4', model: 'nope', label: 'a', ts: new Date().toISOString() }) },
      ]);
      await post(`http://127.0.0.1:${dg.port}/v2/models/iris-onnx/labels`, { labels: [{ id: 'after-poison', label: 'versicolor' }] });
      await waitFor('the good label after the poison', 10_000, () => labels.some((l) => l.id === 'after-poison'));
      await waitFor('four dead letters', 10_000, () => dead.length >= 4);
      assert.deepEqual(
        dead.map((d) => d.source),
        Array(4).fill(topics.labels),
      );
      // Keys spread over partitions, so dead letters arrive in no fixed order across keys.
      const reason = (key: string) => dead.find((d) => d.key === key)?.reason ?? '';
      assert.match(reason('x1'), /not JSON/);
      assert.match(reason('x2'), /unsupported schema version 2/);
      assert.match(reason('x3'), /schema mismatch: label/);
      assert.match(reason('x4'), /unknown model "nope"/);
      assert.deepEqual(labels.map((l) => l.id), ['after-poison']);
    } finally {
      await sub.stop();
      await dlq.stop();
    }
  });
});

describe('event pipeline on Kafka', () => {
  let brokers: string[] | undefined;
  let skip: string | undefined;
  let config: Config;
  let dg: Driftgate;
  before(async () => {
    const found = await kafkaBrokers();
    if ('skip' in found) {
      skip = found.skip;
      return;
    }
    brokers = found;
    config = stackConfig({ kafkaBrokers: brokers });
    dg = await startDriftgate(config, silentLogger);
  });
  after(async () => {
    await dg?.close();
    if (config) cleanup(config);
  });

  it('publishes schema-1 events keyed by prediction id with CloudEvents headers', async (t) => {
    if (skip) return t.skip(skip);
    const topics = topicNames(config.topicPrefix);
    const ids = await predictAndLabel(dg, 'kfk');
    const kafka = testKafka(brokers!, 'event-pipeline-test');
    const consumer = kafka.consumer({ groupId: `raw-${randomUUID()}`, allowAutoTopicCreation: false });
    const seen: { topic: string; partition: number; key: string; value: Record<string, unknown>; headers: Record<string, string> }[] = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topics.predictions, topics.labels], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ topic, partition, message }) => {
          const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
          seen.push({ topic, partition, key: String(message.key), value: JSON.parse(String(message.value)) as Record<string, unknown>, headers });
        },
      });
      await waitFor('3 predictions and 3 labels on Kafka', 30_000, () => seen.length >= 6);
    } finally {
      await consumer.disconnect();
    }
    for (const [i, id] of ids.entries()) {
      const p = seen.find((s) => s.topic === topics.predictions && s.key === id)!;
      const l = seen.find((s) => s.topic === topics.labels && s.key === id)!;
      assert.ok(p && l, `prediction and label for ${id}`);
      checkPrediction(p.value as unknown as PredictionEvent, id, ROWS[i]!);
      assert.deepEqual({ ...l.value, ts: undefined }, { schema: 1, id, model: 'iris-onnx', label: i === 1 ? 'virginica' : 'setosa', ts: undefined });
      assert.equal(p.partition, l.partition, 'a prediction and its label share a partition');
      for (const [m, type] of [
        [p, 'io.driftgate.prediction'],
        [l, 'io.driftgate.label'],
      ] as const) {
        assert.equal(m.headers.ce_specversion, '1.0');
        assert.equal(m.headers.ce_type, type);
        assert.ok(m.headers.ce_id && m.headers.ce_source && !Number.isNaN(Date.parse(m.headers.ce_time ?? '')), JSON.stringify(m.headers));
      }
    }
  });
});

describe('event pipeline through a broker outage', () => {
  let broker: PrivateBroker | undefined;
  let skip: string | undefined;
  before(async () => {
    const found = await kafkaBrokers();
    if ('skip' in found) {
      skip = found.skip;
      return;
    }
    broker = await PrivateBroker.create();
    await broker.run('start');
  });
  after(async () => broker?.destroy());

  it('loses no request and no event while the broker is down, nor across a gateway restart', { timeout: 240_000 }, async (t) => {
    if (skip) return t.skip(skip);
    const config = stackConfig({ kafkaBrokers: broker!.brokers });
    const topics = topicNames(config.topicPrefix);
    let dg = await startDriftgate(config, silentLogger);
    const statuses: number[] = [];
    const send = async (from: number, to: number) => {
      const url = `http://127.0.0.1:${dg.port}/v1/models/iris-onnx:predict`;
      for (let i = from; i < to; i += 10) {
        const ids = Array.from({ length: Math.min(10, to - i) }, (_, k) => `out-${i + k}`);
        const res = await post(url, { instances: ids.map(() => ROWS[0]), ids });
        statuses.push(res.status);
      }
    };
    const spooled = async () => {
      const text = String((await fetch(`http://127.0.0.1:${dg.port}/metrics`).then((r) => r.text())));
      return Number(/^driftgate_events_spooled (\d+)/m.exec(text)?.[1] ?? 0);
    };
    try {
      await send(0, 100);
      await broker!.run('stop');
      await send(100, 300);
      await waitFor('events to reach the spool', 60_000, async () => (await spooled()) > 0);
      // Restart the gateway while the broker is still down: the spool survives on disk.
      await dg.close();
      dg = await startDriftgate(config, silentLogger);
      await send(300, 400);
      await broker!.run('start');
      const ids = new Set<string>();
      const kafka = testKafka(broker!.brokers, 'outage-test');
      const consumer = kafka.consumer({ groupId: `outage-${randomUUID()}`, allowAutoTopicCreation: false });
      await consumer.connect();
      await consumer.subscribe({ topics: [topics.predictions], fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void ids.add(String(message.key)) });
      try {
        await waitFor(() => `all 400 ids (have ${ids.size})`, 150_000, () => ids.size >= 400);
      } finally {
        await consumer.disconnect();
      }
      assert.deepEqual([...new Set(statuses)], [200], 'every HTTP request succeeded');
      for (let i = 0; i < 400; i++) assert.ok(ids.has(`out-${i}`), `out-${i} delivered`);
      await waitFor('the spool to drain', 30_000, async () => (await spooled()) === 0);
    } finally {
      await dg.close();
      cleanup(config);
    }
  });
});
