// Hot swap under load: a real gateway answers a steady stream of requests while a new version is
// promoted, dropped into the repository, dropped in broken and then repaired, and while the version
// it replaces still has a slow request in flight. Not one request may fail, and once a worker has
// been answered by the new version it is never answered by the old one again.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ModelRepository, loadConfig, silentLogger, toModelEventMessage, topicNames } from '../../src/core/index.js';
import { startDriftgate } from '../../src/cli/stack.js';
import type { ModelStatus } from '../../src/serve/index.js';
import { EXAMPLES, IRIS_ROW, get, metricValue, post, startGateway, tempRepo } from '../helpers/gateway.js';
import { waitFor } from '../helpers/wait.js';
import type { RunningGateway } from '../helpers/gateway.js';
import { startLoad } from '../helpers/load.js';
import type { LoadRun, LoadSample, LoadSummary, LoadTarget } from '../helpers/load.js';
import { writeSlowModel } from '../helpers/slow-model.js';

const TOKEN = 'hot-swap-test-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const WORKERS = 8;
/** Hard limit of one load run; the tests stop it much earlier, once they have seen what they need. */
const LOAD_LIMIT_MS = 60_000;
const STEP_MS = 20_000;

/** Both HTTP APIs for one model: workers alternate between row-oriented predict and V2 infer. */
function targetsFor(url: string, model: string): LoadTarget[] {
  return [
    { url: `${url}/v1/models/${model}:predict`, body: { instances: [IRIS_ROW] } },
    {
      url: `${url}/v2/models/${model}/infer`,
      body: { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: Object.values(IRIS_ROW) }] },
    },
  ];
}

/**
 * Adds `<model>/<to>/` as a copy of version `from` with the manifest's version changed. The copy is
 * assembled under a hidden name and renamed into place, as a trainer publishes a version, so a poll
 * never sees half a directory. `damage` may break the staged files before they are published.
 */
function publishCopy(repo: string, model: string, from: number, to: number, damage?: (dir: string) => void): string {
  const staging = mkdtempSync(join(repo, model, '.staging-'));
  cpSync(join(repo, model, String(from)), staging, { recursive: true });
  const manifestPath = join(staging, 'driftgate.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
  writeFileSync(manifestPath, JSON.stringify({ ...manifest, version: to }, null, 2));
  damage?.(staging);
  const dir = join(repo, model, String(to));
  renameSync(staging, dir);
  return dir;
}

/** Replaces one file of a published version atomically (written beside the repository, then renamed). */
function replaceFile(repo: string, target: string, content: Buffer): void {
  const tmp = join(repo, `.replace-${process.pid}-${Date.now()}`);
  writeFileSync(tmp, content);
  renameSync(tmp, target);
}

/** Runs a scenario while the load runs, then stops the load (also when the scenario fails). */
async function duringLoad(load: LoadRun, scenario: () => Promise<void>): Promise<LoadSummary> {
  try {
    await scenario();
  } finally {
    await load.stop();
  }
  return load.done;
}

function assertNoFailures(summary: LoadSummary): void {
  const shown = summary.failures.slice(0, 5).map((s) => `${s.status} ${s.error ?? ''}`);
  assert.equal(summary.failures.length, 0, `${summary.failures.length} of ${summary.samples.length} requests failed: ${shown.join(' | ')}`);
  assert.ok(summary.samples.length > 0, 'the load sent no requests');
}

/** Each worker sends one request at a time, so once it sees `newer` it must never see an older version. */
function assertNeverBack(summary: LoadSummary, newer: string): void {
  summary.versionsByWorker.forEach((versions, worker) => {
    const first = versions.indexOf(newer);
    if (first < 0) return;
    const later = versions.slice(first).filter((v) => v !== newer);
    assert.equal(later.length, 0, `worker ${worker} went back to version(s) ${later.join(',')} after version ${newer}: ${versions.join(',')}`);
  });
}

function versionsOf(samples: readonly LoadSample[], target?: (s: LoadSample) => boolean): Set<string | undefined> {
  return new Set(samples.filter((s) => !target || target(s)).map((s) => s.modelVersion));
}

async function adminModels(gw: RunningGateway): Promise<ModelStatus[]> {
  const res = await get(`${gw.url}/admin/models`, AUTH);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body as unknown as { models: ModelStatus[] }).models;
}

describe('hot swap under load', { timeout: 240_000 }, () => {
  for (const model of ['iris-onnx', 'iris-tfjs']) {
    it(`${model}: promoting version 2 fails no request and no worker goes back to version 1`, async () => {
      const gw = await startGateway({ models: [model], config: { adminToken: TOKEN } });
      try {
        publishCopy(gw.repo, model, 1, 2);
        let promoteSentAt = 0;
        let promotedAt = 0;
        const load = startLoad({ targets: targetsFor(gw.url, model), concurrency: WORKERS, durationMs: LOAD_LIMIT_MS });
        const summary = await duringLoad(load, async () => {
          await load.until('40 answers before the promote', (s) => s.length >= 40, STEP_MS);
          promoteSentAt = performance.now();
          const res = await post(`${gw.url}/admin/models/${model}/promote/2`, {}, AUTH);
          assert.equal(res.status, 200, JSON.stringify(res.body));
          assert.equal(res.body.servingVersion, 2);
          promotedAt = performance.now();
          await load.until('40 answers to requests sent after the promote', (s) => s.filter((x) => x.startedAt > promotedAt).length >= 40, STEP_MS);
        });

        assertNoFailures(summary);
        assert.deepEqual(versionsOf(summary.samples, (s) => s.endedAt < promoteSentAt), new Set(['1']), 'only version 1 answered before the promote');
        assert.deepEqual(versionsOf(summary.samples, (s) => s.startedAt > promotedAt), new Set(['2']), 'every request sent after the promote returned is answered by version 2');
        assertNeverBack(summary, '2');
      } finally {
        await gw.close();
      }
    });
  }

  it('picks up a version dropped into the repository by polling, for ONNX and tfjs at once', async () => {
    const models = ['iris-onnx', 'iris-tfjs'];
    const gw = await startGateway({ models, config: { pollIntervalMs: 200 } });
    try {
      const targets = models.flatMap((m) => targetsFor(gw.url, m));
      const modelOf = (s: LoadSample) => models[Math.floor(s.target / 2)]!;
      const load = startLoad({ targets, concurrency: WORKERS, durationMs: LOAD_LIMIT_MS });
      let droppedAt = 0;
      const summary = await duringLoad(load, async () => {
        await load.until('40 answers before the drop', (s) => s.length >= 40, STEP_MS);
        for (const m of models) publishCopy(gw.repo, m, 1, 2);
        droppedAt = performance.now();
        // every worker (both models, both APIs) has been answered by version 2 at least twice
        await load.until(
          'every worker to be answered by version 2',
          (s) => Array.from({ length: WORKERS }, (_, w) => s.filter((x) => x.worker === w && x.modelVersion === '2').length >= 2).every(Boolean),
          STEP_MS,
        );
      });

      assertNoFailures(summary);
      for (const m of models) {
        assert.ok(versionsOf(summary.samples, (s) => modelOf(s) === m && s.endedAt < droppedAt).has('1'), `${m} answered with version 1 before the drop`);
        assert.equal(gw.gateway.context.registry.status().find((s) => s.name === m)?.servingVersion, 2, `${m} serves version 2`);
      }
      assertNeverBack(summary, '2');
    } finally {
      await gw.close();
    }
  });

  it('keeps serving version 1 while a broken version 2 is dropped in, and takes version 2 once it is repaired', async () => {
    const models = ['iris-onnx', 'iris-tfjs'];
    const gw = await startGateway({ models, config: { pollIntervalMs: 200, adminToken: TOKEN } });
    try {
      const failuresBefore = await Promise.all(models.map((m) => metricValue(gw.url, 'driftgate_model_loads_total', { model: m, outcome: 'failure' })));
      const successesBefore = await Promise.all(models.map((m) => metricValue(gw.url, 'driftgate_model_loads_total', { model: m, outcome: 'success' })));
      const targets = models.flatMap((m) => targetsFor(gw.url, m));
      const load = startLoad({ targets, concurrency: WORKERS, durationMs: LOAD_LIMIT_MS });
      let repairedAt = 0;
      let statusWhileBroken: ModelStatus[] = [];
      let failuresWhileBroken: number[] = [];
      const summary = await duringLoad(load, async () => {
        await load.until('40 answers before the drop', (s) => s.length >= 40, STEP_MS);
        // ONNX: bytes that are no protobuf model; tfjs: weights cut in half.
        publishCopy(gw.repo, 'iris-onnx', 1, 2, (dir) => writeFileSync(join(dir, 'model.onnx'), Buffer.from('this is not an ONNX model\n'.repeat(40))));
        publishCopy(gw.repo, 'iris-tfjs', 1, 2, (dir) => {
          const weights = readFileSync(join(dir, 'weights.bin'));
          writeFileSync(join(dir, 'weights.bin'), weights.subarray(0, weights.length >> 1));
        });
        await waitFor('both broken versions to be recorded as failed', STEP_MS, async () => {
          statusWhileBroken = await adminModels(gw);
          return models.every((m) => statusWhileBroken.find((s) => s.name === m)?.versions.find((v) => v.version === 2)?.state === 'failed');
        });
        // More passes over the unchanged files must not retry the load (nor count more failures).
        // Three passes run here, beside the poll timer's, rather than a sleep that hopes for some.
        const sent = load.samples.length;
        await load.until('40 more answers while version 2 is broken', (s) => s.length >= sent + 40, STEP_MS);
        for (let pass = 0; pass < 3; pass++) await gw.gateway.context.registry.refresh();
        failuresWhileBroken = await Promise.all(models.map((m) => metricValue(gw.url, 'driftgate_model_loads_total', { model: m, outcome: 'failure' })));

        // Repair: put valid files in place of the broken ones; the changed files make polling retry.
        replaceFile(gw.repo, join(gw.repo, 'iris-onnx', '2', 'model.onnx'), readFileSync(join(EXAMPLES, 'iris-onnx', '1', 'model.onnx')));
        replaceFile(gw.repo, join(gw.repo, 'iris-tfjs', '2', 'weights.bin'), readFileSync(join(EXAMPLES, 'iris-tfjs', '1', 'weights.bin')));
        repairedAt = performance.now();
        await load.until(
          'both models to answer with the repaired version 2',
          (s) => models.every((_, i) => s.some((x) => Math.floor(x.target / 2) === i && x.modelVersion === '2')),
          STEP_MS,
        );
      });

      assertNoFailures(summary);
      assert.deepEqual(versionsOf(summary.samples, (s) => s.endedAt < repairedAt), new Set(['1']), 'only version 1 answered while version 2 was broken');
      for (const [i, m] of models.entries()) {
        const status = statusWhileBroken.find((s) => s.name === m)!;
        assert.equal(status.servingVersion, 1, `${m} kept serving version 1`);
        const broken = status.versions.find((v) => v.version === 2)!;
        assert.equal(broken.state, 'failed');
        const expected = m === 'iris-tfjs' ? /weights\.bin is too short/ : /model\.onnx failed:.*Protobuf parsing failed/;
        assert.match(broken.error ?? '', expected, `${m} load error: ${broken.error}`);
        assert.equal(failuresWhileBroken[i], failuresBefore[i]! + 1, `${m}: exactly one failed load counted while the files stayed the same`);
      }
      const after = await adminModels(gw);
      for (const [i, m] of models.entries()) {
        const status = after.find((s) => s.name === m)!;
        assert.equal(status.servingVersion, 2, `${m} serves the repaired version 2`);
        assert.equal(status.versions.find((v) => v.version === 2)?.error, undefined);
        assert.ok((await metricValue(gw.url, 'driftgate_model_loads_total', { model: m, outcome: 'success' })) > successesBefore[i]!);
      }
      assertNeverBack(summary, '2');
    } finally {
      await gw.close();
    }
  });

  it('frees a replaced version only after its in-flight request has finished', async () => {
    const repo = tempRepo();
    // Version 1 is the slow model with a 1.5 s batch queue delay: its request waits in version 1's
    // queue with the event loop free (onnxruntime-node computes on the event-loop thread, so nothing
    // could be promoted while the model itself runs). Version 2 is the fast iris network.
    writeSlowModel(repo, { name: 'slow', version: 1, batching: { max_queue_delay_us: 1_500_000 } });
    const gw = await startGateway({ repo, config: { adminToken: TOKEN, versionsLoaded: 1, inferTimeoutMs: 60_000 } });
    try {
      const registry = gw.gateway.context.registry;
      const { served: v1, release } = registry.acquire('slow', 1);
      release();

      let settled = false;
      const slow = post(`${gw.url}/v1/models/slow:predict`, { instances: [IRIS_ROW] }).finally(() => (settled = true));
      await waitFor('the slow request to be in flight', STEP_MS, () => v1.inFlight === 1);

      publishCopy(repo, 'slow', 1, 2, (dir) => {
        cpSync(join(EXAMPLES, 'iris-onnx', '1', 'model.onnx'), join(dir, 'model.onnx'));
        const manifest = JSON.parse(readFileSync(join(dir, 'driftgate.json'), 'utf8')) as Record<string, unknown>;
        writeFileSync(join(dir, 'driftgate.json'), JSON.stringify({ ...manifest, batching: { max_queue_delay_us: 0 } }));
      });
      const promote = await post(`${gw.url}/admin/models/slow/promote/2`, {}, AUTH);
      assert.equal(promote.status, 200, JSON.stringify(promote.body));
      assert.equal(settled, false, 'precondition: the slow request is still waiting when the promote returns');
      // Version 1 is out of service (neither loaded nor serving) but not freed while its request runs.
      const status = (await adminModels(gw)).find((s) => s.name === 'slow')!;
      assert.equal(status.servingVersion, 2);
      assert.equal(status.versions.find((v) => v.version === 1)?.state, 'available');
      assert.equal(v1.isDisposed, false, 'version 1 is not freed while its request runs');
      assert.equal(v1.inFlight, 1);

      const fresh = await post(`${gw.url}/v1/models/slow:predict`, { instances: [IRIS_ROW] });
      assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
      assert.equal(fresh.body.model_version, '2', 'a request sent after the promote is answered by version 2');

      const answer = await slow;
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.model_version, '1', 'the in-flight request is answered by the version it started on');
      const predictions = answer.body.predictions as { probabilities: Record<string, number> }[];
      assert.equal(Object.keys(predictions[0]!.probabilities).length, 3);
      await waitFor('version 1 to be freed after its request finished', STEP_MS, () => v1.isDisposed);
    } finally {
      await gw.close();
      rmSync(repo, { recursive: true, force: true });
    }
  });
});

describe('a promotion announced on the model events, under load', { timeout: 240_000 }, () => {
  it('never serves an unpromoted candidate, then swaps at once on model.promoted at 64 connections, failing no request', async () => {
    const repo = tempRepo(['iris-onnx']);
    const dir = mkdtempSync(join(tmpdir(), 'dg-swap-events-'));
    const config = loadConfig(
      {},
      {
        modelRepo: repo,
        spoolDir: join(dir, 'spool'),
        monitor: false,
        retrain: false,
        port: 0,
        host: '127.0.0.1',
        pollIntervalMs: 0,
        warmupRuns: 1,
        logLevel: 'silent',
      },
    );
    const dg = await startDriftgate(config, silentLogger);
    const url = `http://127.0.0.1:${dg.port}`;
    try {
      // What the retrain loop writes: a candidate version. A repository scan must leave it unserved.
      const candidate = publishCopy(repo, 'iris-onnx', 1, 2);
      const manifestPath = join(candidate, 'driftgate.json');
      writeFileSync(manifestPath, JSON.stringify({ ...JSON.parse(readFileSync(manifestPath, 'utf8')), stage: 'candidate' }));
      await dg.gateway.context.registry.refresh();
      assert.equal(dg.gateway.context.registry.status()[0]!.servingVersion, 1, 'a candidate does not serve by being written');

      let promotedAt = 0;
      const load = startLoad({ targets: targetsFor(url, 'iris-onnx'), concurrency: 64, durationMs: LOAD_LIMIT_MS });
      const summary = await duringLoad(load, async () => {
        await load.until('200 answers before the promotion', (s) => s.length >= 200, STEP_MS);
        // What the retrainer does: move the pointer, then announce it. No poll runs in this gateway.
        await new ModelRepository(repo).promote('iris-onnx', 2, { reason: 'test', job: 'job-1' });
        promotedAt = performance.now();
        await dg.bus.publish(topicNames(config.topicPrefix).modelEvents, [
          toModelEventMessage({ type: 'model.promoted', model: 'iris-onnx', version: 2, ts: new Date().toISOString(), details: { by: 'retrainer', from: 1, job: 'job-1' } }),
        ]);
        await load.until('200 answers from version 2', (s) => s.filter((x) => x.modelVersion === '2').length >= 200, STEP_MS);
      });
      assertNoFailures(summary);
      assertNeverBack(summary, '2');
      const first = summary.samples.filter((s) => s.modelVersion === '2').reduce((min, s) => Math.min(min, s.endedAt), Infinity);
      assert.ok(first - promotedAt < 10_000, `swapped ${Math.round(first - promotedAt)} ms after the event`);
    } finally {
      await dg.close();
      rmSync(repo, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
