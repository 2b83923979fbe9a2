// The embedded monitor in its own worker thread (the default): its metrics on the gateway's /metrics,
// and a worker that dies takes only the monitor down, for a moment: serving answers throughout, the
// thread comes back, and the events published meanwhile are applied from the committed offsets.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { topicNames } from '../../src/core/index.js';
import type { Driftgate } from '../../src/cli/stack.js';
import { MonitorStore } from '../../src/monitor/index.js';
import { IRIS_ROW, get, metricValue, post } from '../helpers/gateway.js';
import { startTestStack } from '../helpers/test-stack.js';
import type { TestStack } from '../helpers/test-stack.js';
import { waitFor } from '../helpers/wait.js';

describe('the embedded monitor in its worker thread', () => {
  let stack: TestStack;
  let dg: Driftgate;
  let url: string;
  let dir: string;

  before(async () => {
    stack = await startTestStack('monitor-thread', ['iris-onnx'], {}, { monitorPort: 0 });
    ({ dg, url, dir } = stack);
  });
  after(() => stack?.close());

  const predict = async (): Promise<string> => {
    const res = await post(`${url}/v1/models/iris-onnx:predict`, { instances: [IRIS_ROW] });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body['ids'] as string[])[0]!;
  };
  const lag = async () => {
    const topics = topicNames(dg.config.topicPrefix);
    return (await dg.bus.consumerLag(dg.config.monitorGroup, [topics.predictions, topics.labels])).reduce((sum, row) => sum + row.lag, 0);
  };
  /** Whether the monitor's store holds the prediction, read through a second connection to its file. */
  const stored = (id: string): boolean => {
    const store = new MonitorStore({ path: join(dir, 'monitor.db') });
    try {
      return store.featuresOf(id, 'iris-onnx') !== undefined;
    } finally {
      store.close();
    }
  };

  it('runs in a thread and shows its metrics and the thread\'s health on the gateway /metrics', async () => {
    assert.ok(dg.monitor?.thread, 'the default runs the monitor in a worker thread');
    const id = await predict();
    await waitFor('the prediction applied', 20_000, async () => (await metricValue(url, 'driftgate_monitor_batch_duration_seconds_count', {})) >= 1);
    assert.equal(await metricValue(url, 'driftgate_monitor_thread_up', {}), 1);
    await waitFor('nothing left to consume', 20_000, async () => (await lag()) === 0);
    assert.ok(stored(id));
    // The gateway's own series are still there beside the worker's.
    assert.ok((await metricValue(url, 'driftgate_requests_total', { protocol: 'http', model: 'iris-onnx', version: '1', endpoint: '/v1/models/{model}:predict', status: '2xx' })) >= 1);
    const status = await get(`${url}/status/models`);
    assert.equal(status.status, 200);
    assert.deepEqual(status.body['monitor'], { source: 'embedded' });
  });

  it('keeps serving while the thread is down, restarts it, and applies what was published meanwhile', async () => {
    await waitFor('nothing left to consume', 20_000, async () => (await lag()) === 0);
    await dg.monitor!.thread!.abort();
    await waitFor('the thread seen down', 5_000, async () => (await metricValue(url, 'driftgate_monitor_thread_up', {})) === 0);
    assert.match(dg.monitor!.thread!.problem() ?? '', /exited.*restarting it/);
    const status = await get(`${url}/status/models`);
    assert.match((status.body['monitor'] as { problem?: string }).problem ?? '', /the monitor thread exited/, 'the status page says why it has no live numbers');
    // Serving does not notice; its events wait on the bus.
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await predict());
    await waitFor('the thread back', 20_000, async () => (await metricValue(url, 'driftgate_monitor_thread_up', {})) === 1);
    assert.equal(await metricValue(url, 'driftgate_monitor_thread_restarts_total', {}), 1);
    assert.equal(dg.monitor!.thread!.problem(), undefined);
    await waitFor('the backlog applied', 20_000, async () => (await lag()) === 0);
    assert.deepEqual(ids.filter((id) => !stored(id)), [], 'every prediction made while the thread was down reached the store');
  });
});
