// The closed loop on the single-process default (`npm start`): gateway, monitor and retrainer on the
// embedded bus, driven over HTTP like a client would. Iris traffic with labels; midway the labels start
// to follow a new boundary on petal length (a concept change). The monitor sees live accuracy drop and
// requests a retrain, the retrainer fine-tunes the ONNX champion on labels since the change, the gate
// promotes the challenger, and the gateway swaps to it: accuracy comes back without anybody touching
// it and without a failed request. A challenger fine-tuned on shuffled labels is rejected and the
// champion keeps serving; a retrainer stopped mid-training retries the job once after a restart and
// promotes it once.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig, seededRandom, silentLogger } from '../../src/core/index.js';
import type { Config } from '../../src/core/index.js';
import { startDriftgate } from '../../src/cli/stack.js';
import type { Driftgate } from '../../src/cli/stack.js';
import { get, metricValue, post, tempRepo } from '../helpers/gateway.js';
import { loopConfigOverrides } from '../helpers/loop-stack.js';
import { IRIS_CLASSES, LOOP_TOKEN, LabelingClient, irisTraffic } from '../helpers/loop-traffic.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = LOOP_TOKEN;
const auth = { authorization: `Bearer ${TOKEN}` };

function loopConfig(repo: string, dir: string): Config {
  return loadConfig({}, loopConfigOverrides(repo, dir));
}

async function jobs(url: string, model: string): Promise<Record<string, unknown>[]> {
  const res = await get(`${url}/admin/models/${model}/retrains`, auth);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body['jobs'] as Record<string, unknown>[];
}

describe('the closed retrain loop on the embedded default', () => {
  let dg: Driftgate;
  let url: string;
  let repo: string;
  let dir: string;

  before(async () => {
    repo = tempRepo(['iris-onnx', 'iris-tfjs']);
    dir = mkdtempSync(join(tmpdir(), 'dg-loop-'));
    dg = await startDriftgate(loopConfig(repo, dir), silentLogger, { monitorPort: null });
    url = `http://127.0.0.1:${dg.port}`;
  });
  after(async () => {
    await dg?.close();
    rmSync(repo, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('recovers from a concept change by itself: retrain, gate, promotion, swap, accuracy back', async (t) => {
    const client = new LabelingClient(url);
    const next = irisTraffic(7);
    const before = await client.accuracy('iris-onnx', next, 'species', 15);
    assert.ok(before.accuracy > 0.85, `pre-drift accuracy ${before.accuracy}`);

    // The concept changes; keep sending until the gateway answers from a new version.
    const during = await client.untilVersionChanges('iris-onnx', next, 'petal-length', '1', 240_000);
    // Usually version 2; on a loaded machine a first challenger may be rejected and the next promoted.
    const served = during.version;
    assert.ok(Number(served) >= 2, `a retrained version serves: ${served}`);
    const after = await client.accuracy('iris-onnx', next, 'petal-length', 10);
    assert.deepEqual([...after.versions], [served]);
    t.diagnostic(
      `accuracy before ${before.accuracy.toFixed(3)}, during ${during.accuracy.toFixed(3)} (${during.rows} rows), after ${after.accuracy.toFixed(3)}; new version served ${during.seconds.toFixed(1)} s after the change`,
    );
    assert.ok(during.accuracy < before.accuracy - 0.05, `the change lowered accuracy: ${during.accuracy} against ${before.accuracy}`);
    assert.ok(after.accuracy >= 0.95 * before.accuracy, `accuracy after the swap ${after.accuracy} is below 95% of ${before.accuracy}`);
    assert.equal(client.failed, 0, 'no request failed during the loop');

    // The evidence: a promoted job with both models' scores, an ONNX candidate, the pointer, the metrics.
    const job = (await jobs(url, 'iris-onnx')).find((j) => j['state'] === 'promoted');
    assert.ok(job);
    assert.equal(job['champion'], 1);
    assert.equal(String(job['challenger']), served);
    assert.equal((job['trigger'] as { reason: string }).reason, 'performance');
    const gate = job['gate'] as { holdout: { champion: { value: number }; challenger: { value: number } }; promote: boolean };
    assert.equal(gate.promote, true);
    assert.ok(gate.holdout.challenger.value > gate.holdout.champion.value);
    t.diagnostic(`job ${JSON.stringify({ trigger: job['trigger'], data: job['data'], phases: job['phases'], gate: job['gate'] })}`);
    const manifest = JSON.parse(readFileSync(join(repo, 'iris-onnx', served, 'driftgate.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(manifest['format'], 'onnx');
    assert.equal(manifest['stage'], 'candidate');
    const pointer = JSON.parse(readFileSync(join(repo, 'iris-onnx', 'serving.json'), 'utf8')) as { version: number; log: { job?: string }[] };
    assert.equal(pointer.version, Number(served));
    assert.equal(pointer.log.at(-1)!.job, job['id']);
    assert.equal(await metricValue(url, 'driftgate_promotions_total', { model: 'iris-onnx' }), 1);
    assert.equal(await metricValue(url, 'driftgate_retrains_total', { model: 'iris-onnx', outcome: 'promoted' }), 1);
    assert.ok((await metricValue(url, 'driftgate_last_recovery_seconds', { model: 'iris-onnx' })) > 0);
  });

  it('rejects a challenger fine-tuned on shuffled labels and keeps the champion serving', async () => {
    const client = new LabelingClient(url);
    const next = irisTraffic(11);
    const random = seededRandom(3);
    // Older labels shuffled (what the challenger trains on), the newest ones true (the gate's holdout).
    for (let i = 0; i < 12; i++) await client.round('iris-tfjs', next(20, 'species'), () => IRIS_CLASSES[Math.floor(random() * 3)]!);
    for (let i = 0; i < 4; i++) await client.round('iris-tfjs', next(20, 'species'));
    await waitFor('the retrainer to hold the window', 30_000, async () => (await metricValue(url, 'driftgate_retrain_window_examples', { model: 'iris-tfjs' })) >= 320);
    const asked = await post(`${url}/admin/models/iris-tfjs/retrain`, {}, auth);
    assert.equal(asked.status, 202, JSON.stringify(asked.body));
    let job: Record<string, unknown> | undefined;
    await waitFor(() => `the job to end (${JSON.stringify(job)})`, 120_000, async () => {
      job = (await jobs(url, 'iris-tfjs'))[0];
      return job !== undefined && ['promoted', 'rejected', 'failed'].includes(String(job['state']));
    });
    assert.equal(job!['state'], 'rejected', JSON.stringify(job));
    assert.match(String(job!['error']), /below the margin/);
    const served = await post(`${url}/v1/models/iris-tfjs:predict`, { instances: [next(1, 'species')[0]!.row] });
    assert.equal(served.body['model_version'], '1', 'the champion still serves');
    assert.equal(await metricValue(url, 'driftgate_rejections_total', { model: 'iris-tfjs' }), 1);
    assert.equal(client.failed, 0);
  });
});

describe('a manual retrain while the monitor\'s job waits for labels', () => {
  it('wakes that job: it runs at once, on the window when the labels since the change are too few', async () => {
    const repo = tempRepo(['iris-tfjs']);
    const dir = mkdtempSync(join(tmpdir(), 'dg-loop-manual-'));
    const dg = await startDriftgate(loopConfig(repo, dir), silentLogger, { monitorPort: null });
    const url = `http://127.0.0.1:${dg.port}`;
    try {
      const client = new LabelingClient(url);
      const next = irisTraffic(13);
      const random = seededRandom(5);
      for (let i = 0; i < 8; i++) await client.round('iris-tfjs', next(20, 'species'));
      // Shuffled labels: the monitor sees accuracy fall and asks for a retrain on labels since the
      // change, of which there are too few yet (the retrain needs 190), so its job waits for more.
      for (let i = 0; i < 6; i++) await client.round('iris-tfjs', next(20, 'species'), () => IRIS_CLASSES[Math.floor(random() * 3)]!);
      const waiting = () => dg.retrainer!.retrainer.jobs('iris-tfjs').find((j) => j.waiting !== undefined);
      await waitFor('the monitor\'s job to wait for labels', 60_000, () => waiting() !== undefined);
      // Every label sent is in the retrainer's window before the operator asks.
      await waitFor('the window', 30_000, async () => (await metricValue(url, 'driftgate_retrain_window_examples', { model: 'iris-tfjs' })) >= 280);
      const job = waiting()!;
      assert.equal(job.trigger.reason, 'performance');
      assert.match(job.waiting!, /a retrain needs 190/);
      assert.equal((await post(`${url}/admin/models/iris-tfjs/retrain`, {}, auth)).status, 202);
      // No label arrives any more; the folded manual request alone must get the job going.
      let ended = job;
      await waitFor(() => `the job to end (${JSON.stringify(ended)})`, 60_000, () => {
        ended = dg.retrainer!.retrainer.jobs('iris-tfjs').find((j) => j.id === job.id)!;
        return ['promoted', 'rejected', 'failed'].includes(ended.state);
      });
      assert.equal(ended.trigger.manual, true);
      assert.ok(ended.trigger.coalesced >= 1);
      assert.notEqual(ended.state, 'failed', `a manual retrain trains on the whole window: ${JSON.stringify(ended)}`);
      // Too few labels since the change for a retrain of its own: it trained on the window instead.
      assert.ok(ended.data!.train >= 150, `trained on the window, not only the labels since the change: ${JSON.stringify(ended.data)}`);
    } finally {
      await dg.close();
      rmSync(repo, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a retrainer stopped mid-training', () => {
  it('retries the job once after the restart and promotes it exactly once', async () => {
    const repo = tempRepo(['iris-tfjs']);
    const dir = mkdtempSync(join(tmpdir(), 'dg-loop-restart-'));
    const config = loopConfig(repo, dir);
    let dg = await startDriftgate(config, silentLogger, { monitorPort: null });
    try {
      const client = new LabelingClient(`http://127.0.0.1:${dg.port}`);
      const next = irisTraffic(5);
      // A new concept from the start: a retrain by hand has something to learn and passes the gate.
      for (let i = 0; i < 20; i++) await client.round('iris-tfjs', next(20, 'petal-length'));
      await waitFor('the window', 30_000, async () => (await metricValue(`http://127.0.0.1:${dg.port}`, 'driftgate_retrain_window_examples', { model: 'iris-tfjs' })) >= 400);
      assert.equal((await post(`http://127.0.0.1:${dg.port}/admin/models/iris-tfjs/retrain`, {}, auth)).status, 202);
      await waitFor('training to start', 60_000, () => dg.retrainer!.retrainer.jobs('iris-tfjs').some((j) => j.state === 'training'));
      await dg.close(); // stops the retrainer mid-training: the job stays open
      dg = await startDriftgate(config, silentLogger, { monitorPort: null });
      let job = dg.retrainer!.retrainer.jobs('iris-tfjs')[0]!;
      await waitFor('the retried job to end', 120_000, () => {
        job = dg.retrainer!.retrainer.jobs('iris-tfjs')[0]!;
        return ['promoted', 'rejected', 'failed'].includes(job.state);
      });
      assert.equal(job.state, 'promoted', JSON.stringify(job));
      assert.equal(job.attempts, 2, 'interrupted once, retried once');
      assert.equal(dg.retrainer!.retrainer.jobs('iris-tfjs').length, 1, 'one job, not a second one');
      const pointer = JSON.parse(readFileSync(join(repo, 'iris-tfjs', 'serving.json'), 'utf8')) as { version: number; log: { action: string; job?: string }[] };
      assert.deepEqual(
        pointer.log.filter((c) => c.action === 'promote').map((c) => c.job),
        [job.id],
        'promoted once',
      );
      await waitFor('the gateway to serve it', 30_000, async () => {
        const res = await post(`http://127.0.0.1:${dg.port}/v1/models/iris-tfjs:predict`, { instances: [next(1, 'species')[0]!.row] });
        return res.body['model_version'] === String(pointer.version);
      });
    } finally {
      await dg.close();
      rmSync(repo, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a training that throws', () => {
  it('fails its job with the reason and leaves serving and monitoring running', async () => {
    const repo = tempRepo(['iris-tfjs']);
    const dir = mkdtempSync(join(tmpdir(), 'dg-loop-crash-'));
    const dg = await startDriftgate(loopConfig(repo, dir), silentLogger, { monitorPort: null });
    const url = `http://127.0.0.1:${dg.port}`;
    try {
      const client = new LabelingClient(url);
      const next = irisTraffic(9);
      for (let i = 0; i < 16; i++) await client.round('iris-tfjs', next(20, 'petal-length'));
      await waitFor('the window', 30_000, async () => (await metricValue(url, 'driftgate_retrain_window_examples', { model: 'iris-tfjs' })) >= 320);
      // The served copy is in memory; the files a retrain starts from are now damaged, so the training
      // worker throws while loading its base model.
      writeFileSync(join(repo, 'iris-tfjs', '1', 'weights.bin'), Buffer.alloc(10));
      assert.equal((await post(`${url}/admin/models/iris-tfjs/retrain`, {}, auth)).status, 202);
      let job: Record<string, unknown> | undefined;
      await waitFor(() => `the job to fail (jobs: ${JSON.stringify(job)})`, 60_000, async () => {
        job = (await jobs(url, 'iris-tfjs'))[0];
        return job?.['state'] === 'failed';
      });
      assert.match(String(job!['error']), /training failed: /);
      // The monitor may have asked for a retrain of its own meanwhile (the labels changed concept): each fails alike.
      assert.ok((await metricValue(url, 'driftgate_retrains_total', { model: 'iris-tfjs', outcome: 'failed' })) >= 1);
      // Serving and the monitor carry on.
      const joined = await metricValue(url, 'driftgate_labels_joined_total', { model: 'iris-tfjs' });
      const after = await client.accuracy('iris-tfjs', next, 'species', 5);
      assert.deepEqual([...after.versions], ['1']);
      assert.equal(client.failed, 0);
      await waitFor('the monitor to join the new labels', 30_000, async () => (await metricValue(url, 'driftgate_labels_joined_total', { model: 'iris-tfjs' })) >= joined + 100);
      assert.equal((await get(`${url}/v2/health/ready`)).status, 200);
    } finally {
      await dg.close();
      rmSync(repo, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the loop on a regressor', () => {
  it('recovers the ONNX delivery-time model after deliveries get slower', async (t) => {
    const repo = tempRepo(['delivery-onnx']);
    const dir = mkdtempSync(join(tmpdir(), 'dg-loop-reg-'));
    const dg = await startDriftgate(loopConfig(repo, dir), silentLogger, { monitorPort: null });
    const url = `http://127.0.0.1:${dg.port}`;
    const rows = readFileSync(join(repo, 'delivery-onnx', '1', 'training-sample.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { split: string; features: Record<string, number | string>; label: number });
    const random = seededRandom(17);
    // The new concept: every delivery takes 30% longer plus 8 minutes.
    const batch = (n: number, slower: boolean) =>
      Array.from({ length: n }, () => {
        const r = rows[Math.floor(random() * rows.length)]!;
        return { features: r.features, label: slower ? r.label * 1.3 + 8 : r.label };
      });
    const round = async (samples: { features: Record<string, number | string>; label: number }[]) => {
      const res = await post(`${url}/v1/models/delivery-onnx:predict`, { instances: samples.map((s) => s.features) });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const ids = res.body['ids'] as string[];
      assert.equal((await post(`${url}/v2/models/delivery-onnx/labels`, { labels: ids.map((id, i) => ({ id, label: samples[i]!.label })) })).status, 202);
      const predictions = res.body['predictions'] as { value: number }[];
      return { error: predictions.reduce((sum, p, i) => sum + Math.abs(p.value - samples[i]!.label), 0), version: String(res.body['model_version']) };
    };
    try {
      let error = 0;
      for (let i = 0; i < 10; i++) error += (await round(batch(20, false))).error;
      const before = error / 200;
      const started = Date.now();
      let version = '1';
      let during = 0;
      let n = 0;
      while (version === '1') {
        assert.ok(Date.now() - started < 240_000, 'no new version within 240 s');
        const r = await round(batch(20, true));
        during += r.error;
        n += 20;
        version = r.version;
      }
      error = 0;
      for (let i = 0; i < 10; i++) error += (await round(batch(20, true))).error;
      const after = error / 200;
      t.diagnostic(`MAE before ${before.toFixed(2)} min, during ${(during / n).toFixed(2)}, after ${after.toFixed(2)}; version ${version} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      assert.ok(Number(version) >= 2, `a retrained version serves: ${version}`);
      const promoted = (await jobs(url, 'delivery-onnx')).filter((j) => j['state'] === 'promoted');
      assert.ok(after < 0.5 * (during / n), `the new version fixed most of the error: ${after} against ${during / n}; ${JSON.stringify(promoted.map((j) => ({ trigger: j['trigger'], data: j['data'], gate: j['gate'] })))}`);
      const manifest = JSON.parse(readFileSync(join(repo, 'delivery-onnx', version, 'driftgate.json'), 'utf8')) as Record<string, unknown>;
      assert.equal(manifest['format'], 'onnx');
      const job = (await jobs(url, 'delivery-onnx')).find((j) => j['state'] === 'promoted')!;
      t.diagnostic(`job ${JSON.stringify({ trigger: job['trigger'], data: job['data'], gate: job['gate'] })}`);
      assert.equal((job['gate'] as { metric: string }).metric, 'mae');
    } finally {
      await dg.close();
      rmSync(repo, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
