// Fault handling of a real gateway: a model slower than the inference timeout (504, then an open
// circuit breaker), a full batch queue (503 at once), versions that fail to load (wrong output width,
// missing model file, unreadable manifest), and graceful shutdown, in process and through the CLI.
//
// onnxruntime-node runs a session synchronously on the event-loop thread (microsoft/onnxruntime#19611),
// so nothing else in the process, this test included, runs while the slow model computes. Where a test
// needs a request to be "in flight" while it acts, the slow model's manifest sets a batch queue delay:
// the request then waits in the version's queue with the event loop free.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import type { ModelStatus } from '../../src/serve/index.js';
import { EXAMPLES, IRIS_ROW, get, metricValue, post, startGateway, tempRepo } from '../helpers/gateway.js';
import { waitFor } from '../helpers/wait.js';
import { writeSlowModel } from '../helpers/slow-model.js';

const ROOT = resolve(import.meta.dirname, '../..');
const TOKEN = 'faults-test-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const STEP_MS = 30_000;
const PREDICT = { instances: [IRIS_ROW] };

async function adminModels(url: string): Promise<ModelStatus[]> {
  const res = await get(`${url}/admin/models`, AUTH);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body as unknown as { models: ModelStatus[] }).models;
}

/** Copies an example model under another name, letting `edit` change its manifest or files. */
function variant(repo: string, from: string, name: string, edit: (manifest: Record<string, unknown>, dir: string) => void): void {
  const dir = join(repo, name, '1');
  cpSync(join(EXAMPLES, from, '1'), dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'driftgate.json'), 'utf8')) as Record<string, unknown>;
  manifest.name = name;
  edit(manifest, dir);
  writeFileSync(join(dir, 'driftgate.json'), JSON.stringify(manifest, null, 2));
}

async function expectServes(url: string, model: string): Promise<void> {
  const res = await post(`${url}/v1/models/${model}:predict`, PREDICT);
  assert.equal(res.status, 200, `${model}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.model_version, '1');
}

/** A port that was free a moment ago, for a child process that takes its port from PORT. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((ok) => server.close(() => ok()));
  return port;
}

/** Starts `driftgate serve` (the TypeScript source through tsx) with only the given driftgate settings. */
function startCli(env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('DRIFTGATE_') && k !== 'PORT' && k !== 'KAFKA_BROKERS'),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
    cwd: ROOT,
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  return { child, output: () => output, exited };
}

async function within<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

describe('gateway faults', { timeout: 300_000 }, () => {
  it('answers 504 when the model overruns the inference timeout, then opens the breaker; other models keep serving', async () => {
    const repo = tempRepo(['iris-onnx']);
    writeSlowModel(repo);
    const gw = await startGateway({
      repo,
      config: { adminToken: TOKEN, inferTimeoutMs: 100, breakerVolumeThreshold: 2, breakerErrorPercent: 50, breakerResetMs: 120_000 },
    });
    try {
      const { served: slowVersion, release } = gw.gateway.context.registry.acquire('slow');
      release();
      // Two timed-out calls, each sent together with a request for iris-onnx. A worker that overran
      // the timeout is given up and replaced; the next call waits for the fresh one.
      for (let i = 0; i < 2; i++) {
        await waitFor('the slow model to have a worker that answers', STEP_MS, () => slowVersion.canServe);
        const [slow, iris] = await Promise.all([post(`${gw.url}/v1/models/slow:predict`, PREDICT), post(`${gw.url}/v1/models/iris-onnx:predict`, PREDICT)]);
        assert.equal(slow.status, 504, JSON.stringify(slow.body));
        assert.match(slow.body.error ?? '', /model "slow" version 1 did not answer within the inference timeout/);
        assert.equal(slow.body.code, 'INFERENCE_TIMEOUT');
        assert.equal(iris.status, 200, JSON.stringify(iris.body));
      }
      assert.equal(await metricValue(gw.url, 'driftgate_model_worker_restarts_total', { model: 'slow', version: '1', reason: 'timeout' }), 2);
      await waitFor('the slow model to have a worker that answers', STEP_MS, () => slowVersion.canServe);
      // Each call ends when its worker is given up, and is counted then.
      let callsBefore = 0;
      const counted = async () => (callsBefore = await metricValue(gw.url, 'driftgate_inference_duration_seconds_count', { model: 'slow', version: '1' })) >= 2;
      await waitFor(() => `two runtime calls counted (${callsBefore} so far)`, 20_000, counted, 100);
      assert.equal(callsBefore, 2, 'two runtime calls were made');

      const open = await post(`${gw.url}/v2/models/slow/infer`, { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: Object.values(IRIS_ROW) }] });
      assert.equal(open.status, 503, JSON.stringify(open.body));
      assert.match(open.body.error ?? '', /circuit breaker is open/);
      assert.equal(open.body.code, 'BREAKER_OPEN');
      assert.equal(open.headers.get('retry-after'), '5');
      assert.equal(await metricValue(gw.url, 'driftgate_inference_duration_seconds_count', { model: 'slow', version: '1' }), callsBefore, 'an open breaker does not call the model');
      assert.equal(await metricValue(gw.url, 'driftgate_breaker_state', { model: 'slow', version: '1' }), 2);
      assert.equal(await metricValue(gw.url, 'driftgate_breaker_state', { model: 'iris-onnx', version: '1' }), 0);
      const slowStatus = (await adminModels(gw.url)).find((m) => m.name === 'slow')!;
      assert.equal(slowStatus.versions[0]?.breakerOpen, true);

      await expectServes(gw.url, 'iris-onnx');
    } finally {
      await gw.close();
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it('refuses requests beyond the queue limit at once with 503 and Retry-After; the accepted ones complete', async () => {
    const repo = tempRepo();
    // A 2 s queue delay holds the first requests in the queue (event loop free) while the rest arrive.
    writeSlowModel(repo, { batching: { max_queue_delay_us: 2_000_000 } });
    const gw = await startGateway({ repo, config: { maxQueueSize: 2, batching: true, inferTimeoutMs: 120_000 } });
    try {
      const started = performance.now();
      const answers = await Promise.all(
        Array.from({ length: 10 }, async () => {
          const res = await post(`${gw.url}/v1/models/slow:predict`, PREDICT);
          return { ...res, at: performance.now() - started };
        }),
      );
      const ok = answers.filter((a) => a.status === 200);
      const refused = answers.filter((a) => a.status === 503);
      assert.equal(ok.length + refused.length, 10, `statuses: ${answers.map((a) => a.status).join(',')}`);
      assert.equal(ok.length, 2, 'exactly maxQueueSize single-row requests fit in the queue');
      for (const r of refused) {
        assert.match(r.body.error ?? '', /model "slow" version 1 is overloaded: 2 rows are waiting \(limit 2\)/);
        assert.equal(r.body.code, 'QUEUE_FULL');
        assert.equal(r.headers.get('retry-after'), '1');
      }
      for (const a of ok) assert.equal(a.body.model_version, '1');
      const lastRefusal = Math.max(...refused.map((r) => r.at));
      const firstAnswer = Math.min(...ok.map((a) => a.at));
      assert.ok(lastRefusal < firstAnswer, `every refusal (last at ${lastRefusal.toFixed(0)} ms) came before the accepted requests were answered (${firstAnswer.toFixed(0)} ms)`);
      // The two accepted rows ran as one batch: one runtime call of two rows.
      assert.equal(await metricValue(gw.url, 'driftgate_batch_size_count', { model: 'slow', version: '1' }), 1);
      assert.equal(await metricValue(gw.url, 'driftgate_batch_size_sum', { model: 'slow', version: '1' }), 2);
    } finally {
      await gw.close();
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it('refuses to load a version whose manifest declares more outputs than the model has, and serves the others', async () => {
    const repo = tempRepo(['iris-onnx', 'iris-tfjs']);
    const fourLabels = (m: Record<string, unknown>) => {
      m.labels = ['setosa', 'versicolor', 'virginica', 'unknown'];
    };
    variant(repo, 'iris-onnx', 'iris-onnx-wide', fourLabels);
    variant(repo, 'iris-tfjs', 'iris-tfjs-wide', fourLabels);
    const gw = await startGateway({ repo, config: { adminToken: TOKEN } });
    try {
      const status = await adminModels(gw.url);
      for (const name of ['iris-onnx-wide', 'iris-tfjs-wide']) {
        const model = status.find((m) => m.name === name)!;
        assert.equal(model.servingVersion, null);
        assert.equal(model.versions[0]?.state, 'failed');
        assert.match(model.versions[0]?.error ?? '', /the model returns 3 values per row; the manifest expects 4 \(one per label\)/, `${name}: ${model.versions[0]?.error}`);
        assert.equal(await metricValue(gw.url, 'driftgate_model_loads_total', { model: name, outcome: 'failure' }), 1);
        const res = await post(`${gw.url}/v1/models/${name}:predict`, PREDICT);
        assert.equal(res.status, 503, JSON.stringify(res.body));
        assert.match(res.body.error ?? '', /has no loaded version/);
        assert.equal(res.body.code, 'MODEL_NOT_READY');
      }
      await expectServes(gw.url, 'iris-onnx');
      await expectServes(gw.url, 'iris-tfjs');
      assert.equal((await get(`${gw.url}/v2/health/ready`)).status, 200, 'the gateway is ready: it was not told to require the broken models');
    } finally {
      await gw.close();
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it('records a missing model file and an unreadable manifest as load failures, and serves the others', async () => {
    const repo = tempRepo(['iris-onnx', 'iris-tfjs']);
    variant(repo, 'iris-onnx', 'no-model-file', (_m, dir) => rmSync(join(dir, 'model.onnx')));
    variant(repo, 'iris-onnx', 'bad-manifest', () => undefined);
    writeFileSync(join(repo, 'bad-manifest', '1', 'driftgate.json'), '{"name": "bad-manifest", "version": 1,');
    const gw = await startGateway({ repo, config: { adminToken: TOKEN } });
    try {
      const status = await adminModels(gw.url);
      const failure = (name: string) => {
        const v = status.find((m) => m.name === name)?.versions[0];
        assert.equal(v?.state, 'failed', `${name}: ${JSON.stringify(v)}`);
        return v?.error ?? '';
      };
      assert.match(failure('no-model-file'), /model\.onnx/);
      assert.match(failure('bad-manifest'), /driftgate\.json is not valid JSON/);
      for (const name of ['no-model-file', 'bad-manifest']) {
        assert.equal(await metricValue(gw.url, 'driftgate_model_loads_total', { model: name, outcome: 'failure' }), 1, name);
      }
      await expectServes(gw.url, 'iris-onnx');
      await expectServes(gw.url, 'iris-tfjs');
    } finally {
      await gw.close();
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it('close(): readiness off at once, the in-flight request completes, then close() resolves without waiting out the grace period', async () => {
    const repo = tempRepo(['iris-onnx']);
    writeSlowModel(repo, { batching: { max_queue_delay_us: 1_000_000 } });
    const graceMs = 20_000;
    const gw = await startGateway({ repo, config: { shutdownGraceMs: graceMs, inferTimeoutMs: 120_000 } });
    // A second listener on the same app, still open after the gateway's own server stops listening,
    // shows what a request arriving during shutdown is told.
    const probe = createServer(gw.gateway.app);
    await new Promise<void>((ok) => probe.listen(0, '127.0.0.1', ok));
    const probeUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    try {
      assert.equal((await get(`${probeUrl}/v2/health/ready`)).status, 200);
      const { served, release } = gw.gateway.context.registry.acquire('slow');
      release();
      // The first request opens a keep-alive connection; the in-flight one reuses it.
      await expectServes(gw.url, 'iris-onnx');
      let answeredAt = 0;
      const inFlight = post(`${gw.url}/v1/models/slow:predict`, PREDICT).finally(() => (answeredAt = performance.now()));
      await waitFor('the slow request to be in flight', STEP_MS, () => served.inFlight === 1);

      const closeStarted = performance.now();
      let closedAt = 0;
      const closing = gw.gateway.close().then(() => (closedAt = performance.now()));
      assert.equal(gw.gateway.context.lifecycle.shuttingDown, true, 'shutdown is flagged synchronously');

      const ready = await get(`${probeUrl}/v2/health/ready`);
      assert.equal(ready.status, 503);
      assert.deepEqual(ready.body, { ready: false });
      assert.equal((await get(`${probeUrl}/v2/health/live`)).status, 200, 'still live while draining');
      const refused = await post(`${probeUrl}/v1/models/iris-onnx:predict`, PREDICT);
      assert.equal(refused.status, 503);
      assert.match(refused.body.error ?? '', /shutting down/);
      assert.equal(refused.body.code, 'SHUTTING_DOWN');
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.equal(closedAt, 0, 'close() waits for the in-flight request');

      const answer = await inFlight;
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.model_version, '1');
      await within('close()', STEP_MS, closing);
      assert.ok(closedAt >= closeStarted);
      assert.ok(closedAt - closeStarted < graceMs / 2, `close() took ${(closedAt - closeStarted).toFixed(0)} ms; it should not wait out the ${graceMs} ms grace period`);
      assert.ok(answeredAt > 0);
      assert.equal(served.isDisposed, true, 'the model is freed once close() resolves');
    } finally {
      await gw.close();
      await new Promise<void>((ok) => probe.close(() => ok()));
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it('the CLI finishes an in-flight request on SIGTERM and exits 0', async () => {
    const repo = tempRepo(['iris-onnx']);
    writeSlowModel(repo, { batching: { max_queue_delay_us: 1_000_000 } });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const cli = startCli({
      PORT: String(port),
      DRIFTGATE_HOST: '127.0.0.1',
      DRIFTGATE_MODEL_REPO: repo,
      DRIFTGATE_ADMIN_TOKEN: TOKEN,
      DRIFTGATE_POLL_INTERVAL_MS: '0',
      DRIFTGATE_WARMUP_RUNS: '1',
      DRIFTGATE_INFER_TIMEOUT_MS: '120000',
      DRIFTGATE_SHUTDOWN_GRACE_MS: '20000',
      DRIFTGATE_LOG_LEVEL: 'info',
    });
    let exitCode: number | null | undefined;
    void cli.exited.then((code) => (exitCode = code));
    try {
      await waitFor('the CLI gateway to be ready', 90_000, async () => {
        if (exitCode !== undefined) throw new Error(`the CLI exited with ${exitCode}:\n${cli.output()}`);
        try {
          return (await fetch(`${url}/v2/health/ready`)).status === 200;
        } catch {
          return false;
        }
      });
      const inFlight = post(`${url}/v1/models/slow:predict`, PREDICT);
      await waitFor('the slow request to be in flight', STEP_MS, async () => {
        const slow = (await adminModels(url)).find((m) => m.name === 'slow');
        return slow?.versions[0]?.inFlight === 1;
      });
      assert.ok(cli.child.kill('SIGTERM'));
      const answer = await inFlight;
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.model_version, '1');
      assert.equal(await within('the CLI exit', STEP_MS, cli.exited), 0, cli.output());
      assert.match(cli.output(), /shutting down/);
    } finally {
      if (exitCode === undefined) cli.child.kill('SIGKILL');
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it('the CLI exits 2 naming PORT when PORT is not a number', async () => {
    const cli = startCli({ PORT: 'abc', DRIFTGATE_LOG_LEVEL: 'silent' });
    try {
      const code = await within('the CLI exit', STEP_MS, cli.exited);
      assert.equal(code, 2, cli.output());
      assert.match(cli.output(), /invalid configuration/);
      assert.match(cli.output(), /PORT="abc"/);
    } finally {
      if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
    }
  });
});
