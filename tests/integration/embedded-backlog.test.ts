// The `npm start` default under a backlog: gateway and drift monitor in one process on the embedded
// bus. While the monitor drains tens of thousands of events, the gateway must keep answering: a
// liveness probe that waits for the drain would get the pod restarted.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { toLabelMessages, toPredictionMessages, topicNames } from '../../src/core/index.js';
import type { OutgoingMessage, PredictionOutput, PredictionRecordLike } from '../../src/core/index.js';
import type { Driftgate } from '../../src/cli/stack.js';
import { metricValue, post } from '../helpers/gateway.js';
import { startTestStack } from '../helpers/test-stack.js';
import type { TestStack } from '../helpers/test-stack.js';
import { waitFor } from '../helpers/wait.js';

const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'] as const;
const IRIS = readFileSync(join(import.meta.dirname, '../../examples/iris.csv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => {
    const cells = line.split(',');
    return { row: Object.fromEntries(FEATURES.map((f, i) => [f, Number(cells[i])])), species: cells[4]! };
  });

const PREDICTIONS = 150_000;
const LABELS = 100_000;

interface Probe {
  /** When the probe was sent, ms since the epoch (performance.timeOrigin-based, comparable across threads). */
  sent: number;
  ms: number;
  status: number;
}

/**
 * Polls `url` from its own thread, like a kubelet outside the process: one probe, then `everyMs` of
 * pause, until told to stop; posts 'started' after the first probe and every probe at the end. A
 * prober on the gateway's own event loop would not even send while that loop is blocked.
 */
const PROBER = `
const { parentPort, workerData } = require('node:worker_threads');
const now = () => performance.timeOrigin + performance.now();
const probes = [];
let stopped = false;
parentPort.once('message', () => { stopped = true; });
(async () => {
  while (!stopped) {
    const sent = now();
    try {
      const res = await fetch(workerData.url, { signal: AbortSignal.timeout(120000) });
      await res.arrayBuffer();
      probes.push({ sent, ms: now() - sent, status: res.status });
    } catch {
      probes.push({ sent, ms: now() - sent, status: 0 });
    }
    if (probes.length === 1) parentPort.postMessage('started');
    await new Promise((resolve) => setTimeout(resolve, workerData.everyMs));
  }
  parentPort.postMessage(probes);
})();
`;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

describe('gateway with the embedded monitor draining a backlog', () => {
  let stack: TestStack;
  let dg: Driftgate;
  let url: string;

  before(async () => {
    stack = await startTestStack('embedded-backlog', ['iris-onnx'], {}, { monitorPort: null });
    ({ dg, url } = stack);
  });
  after(() => stack?.close());

  /**
   * The backlog: the model's real outputs for the Iris rows, replayed under new ids. Built in a
   * function of its own so that once it is published only the bus holds it, as it holds the
   * gateway's events.
   */
  function backlogMessages(outputs: PredictionOutput[]): { predictions: OutgoingMessage[]; labels: OutgoingMessage[] } {
    const ts = new Date().toISOString();
    const records: PredictionRecordLike[] = Array.from({ length: PREDICTIONS }, (_, i) => ({
      id: `backlog-${i}`,
      model: 'iris-onnx',
      version: 1,
      ts,
      features: IRIS[i % IRIS.length]!.row,
      output: outputs[i % outputs.length]!,
      latency_ms: 1,
    }));
    const labels = records.slice(0, LABELS).map((r, i) => ({ id: r.id, model: 'iris-onnx', label: IRIS[i % IRIS.length]!.species, ts }));
    return { predictions: toPredictionMessages(records), labels: toLabelMessages(labels) };
  }

  it('keeps /v2/health/live under 200 ms at p99 while the monitor drains 250k events', async () => {
    const topics = topicNames(dg.config.topicPrefix);
    const lag = async () => (await dg.bus.consumerLag(dg.config.monitorGroup, [topics.predictions, topics.labels])).reduce((sum, row) => sum + row.lag, 0);
    const consumed = async () =>
      (await metricValue(url, 'driftgate_events_consumed_total', { topic: topics.predictions })) +
      (await metricValue(url, 'driftgate_events_consumed_total', { topic: topics.labels }));
    // A first request through the gateway: real outputs for the backlog, and the monitor has
    // loaded the model's manifest before the drain.
    const res = await post(`${url}/v1/models/iris-onnx:predict`, { instances: IRIS.map((x) => x.row) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const outputs = (res.body['predictions'] as { label: string; probabilities: Record<string, number> }[]).map((p) => ({
      label: p.label,
      probabilities: p.probabilities,
    }));
    await waitFor('the first predictions to reach the monitor', 20_000, async () => (await consumed()) >= IRIS.length);
    const consumedBefore = await consumed();

    const prober = new Worker(PROBER, { eval: true, workerData: { url: `${url}/v2/health/live`, everyMs: 20 } });
    const fromProber = <T>() =>
      new Promise<T>((resolve, reject) => {
        prober.once('message', resolve);
        prober.once('error', reject);
      });
    await fromProber<'started'>();
    // One synchronous append per topic: the whole backlog is there before the monitor sees any of
    // it. The append of 250k messages holds the loop itself (the gateway's publisher appends 2000
    // at a time), so the drain, and the probes that count, start once it is done.
    const backlog = backlogMessages(outputs);
    await Promise.all([dg.bus.publish(topics.predictions, backlog.predictions), dg.bus.publish(topics.labels, backlog.labels)]);
    backlog.predictions = backlog.labels = [];
    const drainStarted = performance.timeOrigin + performance.now();
    const waiting = await lag();
    assert.ok(waiting >= 50_000, `backlog at the start: ${waiting}`);
    let left = waiting;
    await waitFor(() => `the monitor to drain the backlog (${left} left)`, 300_000, async () => (left = await lag()) === 0);
    const drainEnded = performance.timeOrigin + performance.now();
    const probes = fromProber<Probe[]>();
    prober.postMessage('stop');
    const all = await probes;
    await prober.terminate();

    assert.equal((await consumed()) - consumedBefore, PREDICTIONS + LABELS, 'the monitor consumed the whole backlog');
    // Every probe in flight during the drain, timed from the drain's start at the earliest: the
    // probe sent during the append waited for the test's own work before that.
    const during = all.filter((p) => p.sent + p.ms >= drainStarted && p.sent <= drainEnded);
    assert.ok(during.every((p) => p.status === 200), `failed probes: ${JSON.stringify(during.filter((p) => p.status !== 200).slice(0, 3))}`);
    const sorted = during.map((p) => p.sent + p.ms - Math.max(p.sent, drainStarted)).sort((a, b) => a - b);
    const summary =
      `${sorted.length} probes over a ${Math.round(drainEnded - drainStarted)} ms drain of ${waiting} events: ` +
      `p50 ${quantile(sorted, 0.5).toFixed(1)} ms, p99 ${quantile(sorted, 0.99).toFixed(1)} ms, max ${sorted[sorted.length - 1]!.toFixed(1)} ms`;
    console.log(`health during the drain: ${summary}`);
    assert.ok(quantile(sorted, 0.99) < 200, `health p99 while draining: ${summary}`);
    // Enough probes fell inside the drain for the p99 to describe it, not an idle gateway.
    assert.ok(sorted.length >= 50, `too few probes during the drain: ${summary}`);
  });
});
