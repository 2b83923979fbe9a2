// A model worker that crashes or hangs is replaced without restarting the gateway. Under a steady
// stream of requests a worker is made to crash (WorkerRuntime.crash, reached through the registry):
// requests fail fast with 503 and recover within seconds from a fresh worker; readiness is off
// meanwhile only when no other loaded version can answer, and otherwise the previous version answers.
// A version whose worker cannot be restarted stays failed until the admin API loads it again or its
// files change, and it can be unloaded. A worker stuck in a long onnxruntime call is given up after
// the inference timeout and the version answers again from a fresh worker.
import assert from 'node:assert/strict';
import { cpSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ModelStatus, WorkerRuntime } from '../../src/serve/index.js';
import { IRIS_ROW, get, metricValue, post, startGateway, tempRepo } from '../helpers/gateway.js';
import type { RunningGateway } from '../helpers/gateway.js';
import { startLoad } from '../helpers/load.js';
import type { LoadRun, LoadSample, LoadSummary, LoadTarget } from '../helpers/load.js';
import { writeSlowModel } from '../helpers/slow-model.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'worker-recovery-test-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const WORKERS = 4;
const STEP_MS = 20_000;
/** Recovery must take seconds, not a restart of the gateway. */
const RECOVERY_LIMIT_MS = 10_000;
const PREDICT = { instances: [IRIS_ROW] };

function targetsFor(url: string, model: string): LoadTarget[] {
  return [
    { url: `${url}/v1/models/${model}:predict`, body: PREDICT },
    { url: `${url}/v2/models/${model}/infer`, body: { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: Object.values(IRIS_ROW) }] } },
  ];
}

/** The loaded version that answers (or the one asked for), as the registry holds it. */
function servedOf(gw: RunningGateway, model: string, version?: number) {
  const { served, release } = gw.gateway.context.registry.acquire(model, version);
  release();
  return served;
}

function workerOf(served: ReturnType<typeof servedOf>): WorkerRuntime {
  return served.runtime.current as WorkerRuntime;
}

/** Adds `<model>/<to>/` as a copy of version `from`. */
function copyVersion(repo: string, model: string, from: number, to: number): void {
  const dir = join(repo, model, String(to));
  cpSync(join(repo, model, String(from)), dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'driftgate.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'driftgate.json'), JSON.stringify({ ...manifest, version: to }, null, 2));
}

async function modelStatus(gw: RunningGateway, model: string): Promise<ModelStatus> {
  const res = await get(`${gw.url}/admin/models`, AUTH);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body as unknown as { models: ModelStatus[] }).models.find((m) => m.name === model)!;
}

const versionState = (m: ModelStatus, v: number) => m.versions.find((x) => x.version === v);

async function admin(gw: RunningGateway, path: string): Promise<ModelStatus> {
  const res = await post(`${gw.url}${path}`, {}, AUTH);
  assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
  return res.body as unknown as ModelStatus;
}

/** Asks for readiness every 20 ms until stopped; returns each answer's status and time. */
function watchReadiness(url: string): { stop: () => Promise<{ at: number; status: number }[]> } {
  const seen: { at: number; status: number }[] = [];
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const at = performance.now();
      seen.push({ at, status: (await fetch(`${url}/v2/health/ready`)).status });
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await loop;
      return seen;
    },
  };
}

async function duringLoad(load: LoadRun, scenario: () => Promise<void>): Promise<LoadSummary> {
  try {
    await scenario();
  } finally {
    await load.stop();
  }
  return load.done;
}

/** Every failure is a fast, retriable 503 naming the broken worker; nothing else failed. */
function assertOnlyUnavailable(summary: LoadSummary): void {
  for (const f of summary.failures) {
    assert.equal(f.status, 503, `unexpected failure: ${f.status} ${f.error ?? ''}`);
    assert.match(f.error ?? '', /cannot answer now: (its worker broke|model worker crashed)/);
  }
}

const ok = (s: LoadSample) => s.status === 200;

describe('model worker recovery', { timeout: 300_000 }, () => {
  it('replaces a crashed worker of the only version under load: readiness is off until a fresh worker answers, within seconds', async (t) => {
    const gw = await startGateway({ models: ['iris-onnx'], config: { models: ['iris-onnx'], adminToken: TOKEN } });
    const registry = gw.gateway.context.registry;
    try {
      const served = servedOf(gw, 'iris-onnx');
      const old = workerOf(served);
      const load = startLoad({ targets: targetsFor(gw.url, 'iris-onnx'), concurrency: WORKERS, durationMs: 60_000 });
      const readiness = watchReadiness(gw.url);
      let crashAt = 0;
      let recoveredAt = 0;
      const summary = await duringLoad(load, async () => {
        await load.until('answers before the crash', (s) => s.filter(ok).length >= 20, STEP_MS);
        crashAt = performance.now();
        old.crash('crash drill');
        // Looked at in the same tick the worker is found broken: no version answers, so not ready.
        await waitFor('the crash to be noticed', STEP_MS, () => !served.canServe);
        assert.equal(registry.ready(), false);
        assert.equal(registry.isReady('iris-onnx'), false);
        await waitFor('a fresh worker', RECOVERY_LIMIT_MS, () => served.canServe);
        recoveredAt = performance.now();
        await load.until('answers from the fresh worker', (s) => s.filter((x) => ok(x) && x.startedAt > recoveredAt).length >= 20, STEP_MS);
      });
      const ready = await readiness.stop();

      assert.equal(await old.exited, 1);
      assert.notEqual(workerOf(served).threadId, old.threadId);
      assertOnlyUnavailable(summary);
      for (const f of summary.failures) assert.ok(f.startedAt < recoveredAt, 'no request failed once the fresh worker answered');
      t.diagnostic(`crash to fresh worker: ${(recoveredAt - crashAt).toFixed(0)} ms; ${summary.failures.length} of ${summary.samples.length} requests answered 503`);
      assert.ok(recoveredAt - crashAt < RECOVERY_LIMIT_MS);
      for (const r of ready.filter((x) => x.status !== 200)) {
        assert.equal(r.status, 503);
        assert.ok(r.at >= crashAt && r.at <= recoveredAt, 'readiness was off only between the crash and the fresh worker');
      }
      assert.equal((await get(`${gw.url}/v2/health/ready`)).status, 200);
      assert.equal(await metricValue(gw.url, 'driftgate_model_worker_restarts_total', { model: 'iris-onnx', version: '1', reason: 'exit' }), 1);
      assert.equal(await metricValue(gw.url, 'driftgate_model_worker_up', { model: 'iris-onnx', version: '1' }), 1);
      assert.equal(versionState(await modelStatus(gw, 'iris-onnx'), 1)?.state, 'serving');
    } finally {
      await gw.close();
    }
  });

  it('while the serving version restarts its worker, the previous loaded version answers and readiness stays on', async () => {
    const repo = tempRepo(['iris-onnx']);
    copyVersion(repo, 'iris-onnx', 1, 2);
    const gw = await startGateway({ repo, config: { models: ['iris-onnx'], adminToken: TOKEN, workerRestartAttempts: 20 } });
    const modelFile = join(repo, 'iris-onnx', '2', 'model.onnx');
    try {
      const v2 = servedOf(gw, 'iris-onnx');
      assert.equal(v2.version, 2);
      const load = startLoad({ targets: targetsFor(gw.url, 'iris-onnx'), concurrency: WORKERS, durationMs: 60_000 });
      const readiness = watchReadiness(gw.url);
      let brokenAt = 0;
      let restoredAt = 0;
      let recoveredAt = 0;
      const summary = await duringLoad(load, async () => {
        await load.until('answers from version 2', (s) => s.filter((x) => x.modelVersion === '2').length >= 20, STEP_MS);
        // Without its model file the fresh worker cannot open it: version 2 stays broken until it is back.
        renameSync(modelFile, `${modelFile}.away`);
        workerOf(v2).crash('crash drill');
        await waitFor('the crash to be noticed', STEP_MS, () => !v2.canServe);
        brokenAt = performance.now();
        await load.until('answers from version 1', (s) => s.filter((x) => x.startedAt > brokenAt && x.modelVersion === '1').length >= 20, STEP_MS);

        const status = await modelStatus(gw, 'iris-onnx');
        assert.equal(status.servingVersion, 2);
        assert.equal(versionState(status, 2)?.state, 'failed');
        assert.match(versionState(status, 2)?.error ?? '', /its worker broke \(model worker crashed: crash drill\); restarting it \(attempt \d+ of 20/);
        assert.equal(versionState(status, 1)?.state, 'loaded');
        assert.equal(await metricValue(gw.url, 'driftgate_model_worker_up', { model: 'iris-onnx', version: '2' }), 0);
        assert.equal(await metricValue(gw.url, 'driftgate_model_worker_restarts_total', { model: 'iris-onnx', version: '2', reason: 'exit' }), 1);
        assert.equal((await get(`${gw.url}/v2/health/ready`)).status, 200);
        assert.equal((await get(`${gw.url}/v2/models/iris-onnx/ready`)).status, 200);
        assert.equal((await get(`${gw.url}/v2/models/iris-onnx/versions/2/ready`)).status, 503);
        assert.equal((await get(`${gw.url}/v2/models/iris-onnx/versions/1/ready`)).status, 200);
        const pinned = await post(`${gw.url}/v1/models/iris-onnx/versions/2:predict`, PREDICT);
        assert.equal(pinned.status, 503, JSON.stringify(pinned.body));
        assert.match(pinned.body.error ?? '', /model "iris-onnx" version 2 cannot answer now: its worker broke/);
        assert.equal(pinned.headers.get('retry-after'), '1');

        renameSync(`${modelFile}.away`, modelFile);
        restoredAt = performance.now();
        await waitFor('version 2 to restart its worker', RECOVERY_LIMIT_MS, () => v2.canServe);
        recoveredAt = performance.now();
        await load.until('answers from version 2 again', (s) => s.filter((x) => x.startedAt > recoveredAt && x.modelVersion === '2').length >= 20, STEP_MS);
      });
      const ready = await readiness.stop();

      assert.deepEqual(
        ready.filter((r) => r.status !== 200),
        [],
        'readiness stayed on: version 1 could answer',
      );
      // Only requests already handed to version 2's worker when it crashed failed.
      assertOnlyUnavailable(summary);
      assert.ok(summary.failures.length <= WORKERS, `${summary.failures.length} requests failed`);
      for (const f of summary.failures) assert.ok(f.startedAt < brokenAt);
      const after = summary.samples.filter((s) => s.startedAt > recoveredAt);
      assert.ok(after.length > 0 && after.every((s) => s.modelVersion === '2'), 'version 2 answers again once its worker is back');
      assert.ok(recoveredAt - restoredAt < RECOVERY_LIMIT_MS);
      assert.equal(versionState(await modelStatus(gw, 'iris-onnx'), 2)?.state, 'serving');
      assert.equal(await metricValue(gw.url, 'driftgate_model_worker_up', { model: 'iris-onnx', version: '2' }), 1);
    } finally {
      await gw.close();
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it('a version whose worker was not restarted stays failed until the admin API loads it or its files change, and can be unloaded', async () => {
    const repo = tempRepo(['iris-onnx']);
    copyVersion(repo, 'iris-onnx', 1, 2);
    const gw = await startGateway({ repo, config: { models: ['iris-onnx'], adminToken: TOKEN, workerRestartAttempts: 0 } });
    const registry = gw.gateway.context.registry;
    const answeredBy = async () => {
      const res = await post(`${gw.url}/v1/models/iris-onnx:predict`, PREDICT);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.model_version;
    };
    const crash = async () => {
      const served = servedOf(gw, 'iris-onnx', 2);
      workerOf(served).crash('crash drill');
      await waitFor('the crash to be noticed', STEP_MS, () => !served.canServe);
      const v2 = versionState(await modelStatus(gw, 'iris-onnx'), 2);
      assert.equal(v2?.state, 'failed');
      assert.match(v2?.error ?? '', /its worker broke \(model worker crashed: crash drill\) and it was not restarted/);
      return served;
    };
    try {
      assert.equal(await answeredBy(), '2');
      const broken = await crash();
      assert.equal(await answeredBy(), '1');
      assert.equal((await get(`${gw.url}/v2/health/ready`)).status, 200);
      await registry.refresh();
      assert.equal(servedOf(gw, 'iris-onnx', 2), broken, 'a poll leaves it alone while its files are unchanged');

      // load reloads a broken version in a fresh worker; it takes its place as the serving version.
      const loaded = await admin(gw, '/admin/models/iris-onnx/versions/2/load');
      assert.equal(loaded.servingVersion, 2);
      assert.equal(versionState(loaded, 2)?.state, 'serving');
      assert.notEqual(servedOf(gw, 'iris-onnx', 2), broken);
      assert.equal(broken.isDisposed, true);
      assert.equal(await metricValue(gw.url, 'driftgate_model_worker_up', { model: 'iris-onnx', version: '2' }), 1, 'freeing the broken one leaves the fresh one\'s gauges');
      assert.equal(await metricValue(gw.url, 'driftgate_breaker_state', { model: 'iris-onnx', version: '2' }), 0);
      assert.equal(await answeredBy(), '2');

      // unload takes a broken serving version out; the version answering in its place serves.
      await crash();
      const unloaded = await admin(gw, '/admin/models/iris-onnx/versions/2/unload');
      assert.equal(unloaded.servingVersion, 1);
      assert.equal(versionState(unloaded, 1)?.state, 'serving');
      assert.equal(await answeredBy(), '1');
      await waitFor('the give-up to be recorded as a failed load', STEP_MS, async () => versionState(await modelStatus(gw, 'iris-onnx'), 2)?.state === 'failed');
      await registry.refresh();
      assert.equal(await answeredBy(), '1', 'a poll does not reload it while its files are unchanged');

      // Once its files change, a poll loads it again (the newest version serves).
      const future = new Date(Date.now() + 60_000);
      utimesSync(join(repo, 'iris-onnx', '2', 'model.onnx'), future, future);
      await registry.refresh();
      assert.equal(await answeredBy(), '2');
      assert.equal(versionState(await modelStatus(gw, 'iris-onnx'), 2)?.state, 'serving');
      assert.equal(await metricValue(gw.url, 'driftgate_model_worker_restarts_total', { model: 'iris-onnx', version: '2', reason: 'exit' }), 2);
    } finally {
      await gw.close();
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it('gives up a worker stuck in a call past the inference timeout (504) and answers again from a fresh one', async (t) => {
    const repo = tempRepo();
    // About 3 s per call on a quiet core: far past the 1 s timeout.
    writeSlowModel(repo, { iterations: 900 });
    const gw = await startGateway({ repo, config: { models: ['slow'], adminToken: TOKEN, inferTimeoutMs: 1000, breakerVolumeThreshold: 100 } });
    try {
      const served = servedOf(gw, 'slow');
      const old = workerOf(served);
      let oldEnded = false;
      void old.exited.then(() => (oldEnded = true));

      const started = performance.now();
      const hung = await post(`${gw.url}/v1/models/slow:predict`, PREDICT);
      const hungMs = performance.now() - started;
      assert.equal(hung.status, 504, JSON.stringify(hung.body));
      assert.match(hung.body.error ?? '', /model "slow" version 1 did not answer within the inference timeout/);
      assert.ok(hungMs < 2500, `answered after ${hungMs.toFixed(0)} ms`);
      assert.equal(await metricValue(gw.url, 'driftgate_model_worker_restarts_total', { model: 'slow', version: '1', reason: 'timeout' }), 1);

      await waitFor('a fresh worker', RECOVERY_LIMIT_MS, () => served.canServe);
      const recoveredMs = performance.now() - started;
      assert.notEqual(workerOf(served).threadId, old.threadId);
      // The row of the scalers' means encodes to zeros, which the slow model answers at once.
      const manifest = JSON.parse(readFileSync(join(repo, 'slow', '1', 'driftgate.json'), 'utf8')) as { preprocessing: { scalers: Record<string, { mean: number }> } };
      const means = Object.fromEntries(Object.entries(manifest.preprocessing.scalers).map(([name, s]) => [name, s.mean]));
      const answer = await post(`${gw.url}/v1/models/slow:predict`, { instances: [means] });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.model_version, '1');
      t.diagnostic(`timeout to fresh worker: ${(recoveredMs - hungMs).toFixed(0)} ms; old thread still computing then: ${!oldEnded}`);

      // The old thread was inside onnxruntime's native code: it ends once that call returns.
      await old.exited;
      assert.equal((await get(`${gw.url}/v2/health/ready`)).status, 200);
      assert.equal(versionState(await modelStatus(gw, 'slow'), 1)?.state, 'serving');
    } finally {
      await gw.close();
      rmSync(repo, { recursive: true, force: true });
    }
  });
});
