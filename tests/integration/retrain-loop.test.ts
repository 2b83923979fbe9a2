// The closed loop on the single-process default (`npm start`): gateway, monitor and retrainer on the
// embedded bus, driven over HTTP like a client would. Iris traffic with delayed labels; midway the
// labels start to follow a new boundary on petal length (a concept change). The monitor sees live
// accuracy drop and requests a retrain, the retrainer fine-tunes the ONNX champion on labels since the
// change, the gate promotes the challenger, and the gateway swaps to it: accuracy comes back without
// anybody touching it and without a failed request. A challenger fine-tuned on shuffled labels is
// rejected and the champion keeps serving.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig, seededRandom, silentLogger } from '../../src/core/index.js';
import { startDriftgate } from '../../src/cli/stack.js';
import type { Driftgate } from '../../src/cli/stack.js';
import { get, metricValue, post, tempRepo } from '../helpers/gateway.js';
import { waitFor } from '../helpers/wait.js';

const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'] as const;
const IRIS = readFileSync(join(import.meta.dirname, '../../examples/iris.csv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => {
    const cells = line.split(',');
    return { row: FEATURES.map((_, i) => Number(cells[i])), species: cells[4]! };
  });
const TOKEN = 'loop-test-token';
const auth = { authorization: `Bearer ${TOKEN}` };

type Concept = 'old' | 'new';
interface Sample {
  row: Record<string, number>;
  label: string;
}

/** Iris rows with a little noise; labelled by the species (old) or by petal length alone (new). */
function traffic(seed: number) {
  const random = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return (n: number, concept: Concept): Sample[] =>
    Array.from({ length: n }, () => {
      const base = IRIS[Math.floor(random() * IRIS.length)]!;
      const values = base.row.map((v) => Math.round((v + 0.05 * gauss()) * 100) / 100);
      const petal = values[2]!;
      const label = concept === 'old' ? base.species : petal < 2.5 ? 'setosa' : petal < 4.2 ? 'versicolor' : 'virginica';
      return { row: Object.fromEntries(FEATURES.map((f, i) => [f, values[i]!])), label };
    });
}

describe('the closed retrain loop on the embedded default', () => {
  let dg: Driftgate;
  let url: string;
  let repo: string;
  let dir: string;
  let failed = 0;

  before(async () => {
    repo = tempRepo(['iris-onnx', 'iris-tfjs']);
    dir = mkdtempSync(join(tmpdir(), 'dg-loop-'));
    const policy = {
      default: {
        window: { size: 150, minSamples: 50 },
        drift: { action: 'report' },
        performance: { window: 100, minLabels: 60, maxDrop: 0.1 },
        cooldownMs: 0,
      },
    };
    const config = loadConfig(
      {},
      {
        modelRepo: repo,
        spoolDir: join(dir, 'spool'),
        monitorStore: join(dir, 'monitor.db'),
        retrainStore: join(dir, 'retrain.db'),
        monitorPolicy: JSON.stringify(policy),
        adminToken: TOKEN,
        retrainMinTrain: 100,
        retrainMinHoldout: 40,
        watchLabels: 100,
        port: 0,
        host: '127.0.0.1',
        pollIntervalMs: 0,
        warmupRuns: 1,
        logLevel: 'silent',
        publishLingerMs: 1,
      },
    );
    dg = await startDriftgate(config, silentLogger, { monitorPort: null });
    url = `http://127.0.0.1:${dg.port}`;
  });
  after(async () => {
    await dg?.close();
    rmSync(repo, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  /** Predicts a batch, sends its labels, and returns how many predictions were right and the version. */
  async function round(model: string, samples: Sample[], labels: (s: Sample, i: number) => string = (s) => s.label) {
    const res = await post(`${url}/v1/models/${model}:predict`, { instances: samples.map((s) => s.row) });
    if (res.status !== 200) {
      failed++;
      return { correct: 0, version: '' };
    }
    const predictions = res.body['predictions'] as { label: string }[];
    const ids = res.body['ids'] as string[];
    const sent = await post(`${url}/v2/models/${model}/labels`, { labels: ids.map((id, i) => ({ id, label: labels(samples[i]!, i) })) });
    if (sent.status !== 202) failed++;
    const correct = predictions.filter((p, i) => p.label === samples[i]!.label).length;
    return { correct, version: String(res.body['model_version']) };
  }

  it('recovers from a concept change by itself: retrain, gate, promotion, swap, accuracy back', async (t) => {
    const next = traffic(7);
    let right = 0;
    let total = 0;
    for (let i = 0; i < 15; i++) {
      const r = await round('iris-onnx', next(20, 'old'));
      right += r.correct;
      total += 20;
    }
    const before = right / total;
    assert.ok(before > 0.85, `pre-drift accuracy ${before}`);

    // The concept changes; keep sending until the gateway answers from a new version.
    const drift = Date.now();
    let during = { right: 0, total: 0 };
    let version = '1';
    while (version === '1') {
      assert.ok(Date.now() - drift < 240_000, 'no new version served within 240 s of the change');
      const r = await round('iris-onnx', next(20, 'new'));
      during = { right: during.right + r.correct, total: during.total + 20 };
      if (r.version) version = r.version;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const recovery = (Date.now() - drift) / 1000;
    assert.equal(version, '2');

    right = 0;
    total = 0;
    for (let i = 0; i < 10; i++) {
      const r = await round('iris-onnx', next(20, 'new'));
      assert.equal(r.version, '2');
      right += r.correct;
      total += 20;
    }
    const afterAccuracy = right / total;
    const duringAccuracy = during.right / during.total;
    t.diagnostic(`accuracy before ${before.toFixed(3)}, during ${duringAccuracy.toFixed(3)} (${during.total} rows), after ${afterAccuracy.toFixed(3)}; new version served ${recovery.toFixed(1)} s after the change`);
    assert.ok(duringAccuracy < before - 0.05, `the change lowered accuracy: ${duringAccuracy} against ${before}`);
    assert.ok(afterAccuracy >= 0.95 * before, `accuracy after the swap ${afterAccuracy} is below 95% of ${before} (recovered in ${recovery} s)`);
    assert.equal(failed, 0, 'no request failed during the loop');

    // The evidence: a promoted job with both models' scores, an ONNX candidate, the pointer, the metrics.
    const jobs = await get(`${url}/admin/models/iris-onnx/retrains`, auth);
    assert.equal(jobs.status, 200);
    const job = (jobs.body['jobs'] as Record<string, unknown>[]).find((j) => j['state'] === 'promoted');
    assert.ok(job, JSON.stringify(jobs.body));
    assert.equal(job['champion'], 1);
    assert.equal(job['challenger'], 2);
    assert.equal((job['trigger'] as { reason: string }).reason, 'performance');
    const gate = job['gate'] as { holdout: { champion: { value: number }; challenger: { value: number } }; promote: boolean };
    assert.equal(gate.promote, true);
    t.diagnostic(`job ${JSON.stringify({ trigger: job['trigger'], data: job['data'], phases: job['phases'], gate: job['gate'] })}`);
    assert.ok(gate.holdout.challenger.value > gate.holdout.champion.value);
    const manifest = JSON.parse(readFileSync(join(repo, 'iris-onnx', '2', 'driftgate.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(manifest['format'], 'onnx');
    assert.equal(manifest['stage'], 'candidate');
    const pointer = JSON.parse(readFileSync(join(repo, 'iris-onnx', 'serving.json'), 'utf8')) as { version: number; log: { job?: string }[] };
    assert.equal(pointer.version, 2);
    assert.equal(pointer.log.at(-1)!.job, job['id']);
    assert.equal(await metricValue(url, 'driftgate_promotions_total', { model: 'iris-onnx' }), 1);
    assert.equal(await metricValue(url, 'driftgate_retrains_total', { model: 'iris-onnx', outcome: 'promoted' }), 1);
    assert.ok((await metricValue(url, 'driftgate_last_recovery_seconds', { model: 'iris-onnx' })) > 0);
  });

  it('rejects a challenger fine-tuned on shuffled labels and keeps the champion serving', async () => {
    const next = traffic(11);
    const random = seededRandom(3);
    const classes = ['setosa', 'versicolor', 'virginica'];
    // Older labels shuffled (what the challenger trains on), the newest ones true (the gate's holdout).
    for (let i = 0; i < 12; i++) await round('iris-tfjs', next(20, 'old'), () => classes[Math.floor(random() * 3)]!);
    for (let i = 0; i < 4; i++) await round('iris-tfjs', next(20, 'old'));
    await waitFor('the retrainer to hold the window', 30_000, async () => (await metricValue(url, 'driftgate_retrain_window_examples', { model: 'iris-tfjs' })) >= 320);
    const asked = await post(`${url}/admin/models/iris-tfjs/retrain`, {}, auth);
    assert.equal(asked.status, 202, JSON.stringify(asked.body));
    let job: Record<string, unknown> | undefined;
    await waitFor('the job to end', 120_000, async () => {
      const res = await get(`${url}/admin/models/iris-tfjs/retrains`, auth);
      job = (res.body['jobs'] as Record<string, unknown>[])[0];
      return job !== undefined && ['promoted', 'rejected', 'failed'].includes(String(job['state']));
    });
    assert.equal(job!['state'], 'rejected', JSON.stringify(job));
    assert.match(String(job!['error']), /below the margin/);
    const served = await post(`${url}/v1/models/iris-tfjs:predict`, { instances: [next(1, 'old')[0]!.row] });
    assert.equal(served.body['model_version'], '1', 'the champion still serves');
    assert.equal(await metricValue(url, 'driftgate_rejections_total', { model: 'iris-tfjs' }), 1);
  });
});
