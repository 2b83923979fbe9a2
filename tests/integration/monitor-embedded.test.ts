// The single-process default (`npm start`): gateway and monitor on the embedded bus. Predictions and
// labels sent over HTTP reach the monitor, and the gateway's own /metrics shows live accuracy and
// drift; the monitor's endpoints show its view of each version.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEAD_LETTER_HEADERS } from '../../src/core/index.js';
import type { BusMessage } from '../../src/core/index.js';
import type { Driftgate } from '../../src/cli/stack.js';
import { MonitorStore } from '../../src/monitor/index.js';
import { get, IRIS_ROW, metricValue, post } from '../helpers/gateway.js';
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

describe('gateway with the embedded monitor', () => {
  let stack: TestStack;
  let dg: Driftgate;
  let url: string;
  let monitorUrl: string;

  before(async () => {
    const policy = { default: { window: { size: 150, minSamples: 50 }, performance: { window: 150, minLabels: 100 } } };
    stack = await startTestStack('embedded-monitor', ['iris-onnx'], { monitorPolicy: JSON.stringify(policy) }, { monitorPort: 0 });
    ({ dg, url } = stack);
    monitorUrl = `http://127.0.0.1:${dg.monitor!.port}`;
  });
  after(() => stack?.close());

  async function predict(rows: Record<string, number>[]): Promise<string[]> {
    const res = await post(`${url}/v1/models/iris-onnx:predict`, { instances: rows });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body['ids'] as string[];
  }

  it('shows live accuracy from labels sent over HTTP on the gateway /metrics', async () => {
    const ids = await predict(IRIS.map((x) => x.row));
    const res = await post(`${url}/v2/models/iris-onnx/labels`, { labels: ids.map((id, i) => ({ id, label: IRIS[i]!.species })) });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    await waitFor('labels joined', 20_000, async () => (await metricValue(url, 'driftgate_labels_joined_total', { model: 'iris-onnx' })) >= 150);
    await waitFor('accuracy judged', 20_000, async () => (await metricValue(url, 'driftgate_model_accuracy', { model: 'iris-onnx', version: '1' })) > 0);
    const accuracy = await metricValue(url, 'driftgate_model_accuracy', { model: 'iris-onnx', version: '1' });
    assert.ok(accuracy > 0.9, `live accuracy on the Iris data: ${accuracy}`);
    // the whole Iris set is the training distribution: no dataset drift in its window
    assert.equal(await metricValue(url, 'driftgate_drift_detected', { model: 'iris-onnx', version: '1' }), 0);
    assert.equal(await metricValue(url, 'driftgate_label_coverage', { model: 'iris-onnx' }), 1);
  });

  it('flags drift when the inputs move, and shows it on the monitor endpoints', async () => {
    const moved = IRIS.map((x) => ({ ...x.row, petal_length: x.row['petal_length']! + 2, sepal_width: x.row['sepal_width']! - 1 }));
    await predict(moved);
    await waitFor('drift in the second window', 20_000, async () => (await metricValue(url, 'driftgate_drift_detected', { model: 'iris-onnx', version: '1' })) === 1);
    assert.equal(await metricValue(url, 'driftgate_drift_feature_drifted', { model: 'iris-onnx', version: '1', feature: 'petal_length' }), 1);
    assert.equal(await metricValue(url, 'driftgate_drift_feature_drifted', { model: 'iris-onnx', version: '1', feature: 'sepal_length' }), 0);
    const p = await metricValue(url, 'driftgate_drift_p_value', { model: 'iris-onnx', version: '1', feature: 'petal_length', test: 'ks' });
    assert.ok(p < 1e-6, `KS p-value of the moved feature: ${p}`);

    const status = await get(`${monitorUrl}/monitor/models`);
    assert.equal(status.status, 200);
    const versions = status.body['versions'] as { model: string; version: number; reference: string; lastWindow: { datasetDrift: boolean } }[];
    const iris = versions.find((v) => v.model === 'iris-onnx');
    assert.equal(iris?.reference, 'manifest');
    assert.equal(iris?.lastWindow.datasetDrift, true);
    const monitorMetrics = await get(`${monitorUrl}/metrics`);
    assert.match(String(monitorMetrics.body), /driftgate_drift_share\{model="iris-onnx",version="1"\} 0\.5/);
    const bad = await get(`${monitorUrl}/monitor/models/iris-onnx/decisions?limit=0`);
    assert.equal(bad.status, 400);
    assert.match(String(bad.body.error), /limit/);
    assert.equal(bad.body.code, 'INVALID_INPUT');
    const unknown = await get(`${monitorUrl}/monitor/models/no-such-model/timeline`);
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.body, { error: 'the monitor knows no version of model "no-such-model"', code: 'MODEL_NOT_FOUND' });
  });
});

describe('labels on the embedded stack, joined by (model, id)', () => {
  let stack: TestStack;
  let dg: Driftgate;
  let url: string;
  let dir: string;
  const deadLetters: BusMessage[] = [];

  before(async () => {
    // one partition: the two labels of one request reach the monitor in one batch
    stack = await startTestStack('embedded-join', ['iris-onnx', 'delivery-onnx'], { topicPartitions: 1, consumerMaxAttempts: 2 }, { monitorPort: 0 });
    ({ dg, url, dir } = stack);
    await dg.bus.subscribe({ groupId: 'dead-letter-reader', topics: ['driftgate.dead-letter'], fromBeginning: true, handle: async (m) => void deadLetters.push(...m) });
  });
  after(() => stack?.close());

  it("dead-letters a label sent to one model for another model's prediction, and joins the good label of the same request", async () => {
    const delivery = await post(`${url}/v1/models/delivery-onnx:predict`, { instances: [{ distance_km: 4.2, weight_kg: 2.5, hour: 18, weather: 'rain' }] });
    assert.equal(delivery.status, 200, JSON.stringify(delivery.body));
    const iris = await post(`${url}/v1/models/iris-onnx:predict`, { instances: [IRIS_ROW] });
    assert.equal(iris.status, 200, JSON.stringify(iris.body));
    const [deliveryId] = delivery.body['ids'] as string[];
    const [irisId] = iris.body['ids'] as string[];
    await waitFor('both predictions applied', 20_000, async () => (await metricValue(url, 'driftgate_events_consumed_total', { topic: 'driftgate.predictions' })) >= 2);

    const res = await post(`${url}/v2/models/iris-onnx/labels`, { labels: [{ id: deliveryId, label: 'setosa' }, { id: irisId, label: 'setosa' }] });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    await waitFor('the iris label joined', 20_000, async () => (await metricValue(url, 'driftgate_labels_joined_total', { model: 'iris-onnx' })) === 1);
    await waitFor('the dead letter', 20_000, () => deadLetters.length === 1);
    assert.equal(deadLetters[0]!.key, deliveryId);
    assert.match(deadLetters[0]!.headers[DEAD_LETTER_HEADERS.reason]!, /of model "iris-onnx": that id is a prediction of model "delivery-onnx"/);
    assert.equal(await metricValue(url, 'driftgate_events_dead_lettered_total', { topic: 'driftgate.labels', reason: 'rejected' }), 1);
    assert.equal(await metricValue(url, 'driftgate_labels_joined_total', { model: 'delivery-onnx' }), 0);
    // The monitor runs in its own thread: read what it stored through a second connection to its file.
    const store = new MonitorStore({ path: join(dir, 'monitor.db') });
    try {
      assert.deepEqual(store.labeledExamples('iris-onnx').map((e) => [e.id, e.label]), [[irisId, 'setosa']]);
    } finally {
      store.close();
    }
  });
});

describe('driftgate monitor without Kafka', () => {
  it('exits 2 and says why: the embedded bus lives inside driftgate serve', () => {
    const main = join(import.meta.dirname, '../../src/cli/main.ts');
    const run = spawnSync(process.execPath, ['--import', 'tsx', main, 'monitor'], {
      env: { ...process.env, KAFKA_BROKERS: '', DRIFTGATE_LOG_LEVEL: 'silent' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /KAFKA_BROKERS: `driftgate monitor` reads the event streams from Kafka/);
  });

  it('exits 2 on a policy that does not parse, naming the field', () => {
    const main = join(import.meta.dirname, '../../src/cli/main.ts');
    const run = spawnSync(process.execPath, ['--import', 'tsx', main, 'monitor'], {
      env: { ...process.env, KAFKA_BROKERS: '127.0.0.1:1', DRIFTGATE_MONITOR_POLICY: '{"default":{"window":{"size":0}}}', DRIFTGATE_LOG_LEVEL: 'silent' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /DRIFTGATE_MONITOR_POLICY: default\.window\.size: Too small/);
  });
});
