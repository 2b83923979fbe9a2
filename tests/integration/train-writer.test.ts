// The version writer against a real model repository on disk: what a version holds, how the next
// number is chosen (also under concurrent writers), that the gateway's own runtime serves what it
// wrote, and that a failure leaves the repository exactly as it was.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FeatureEncoder, MANIFEST_FILE, TEMP_PREFIX, readManifestAt } from '../../src/core/index.js';
import { initTf, tf } from '../../src/core/tfjs.js';
import { ModelRepository } from '../../src/core/index.js';
import { openRuntime } from '../../src/serve/index.js';
import { loadBaseModel, readTrainingSample } from '../../src/train/index.js';
import type { RuntimeOptions } from '../../src/serve/index.js';
import { lineageChain } from '../../src/train/lineage.js';
import type { TrainResult } from '../../src/train/types.js';
import { REPORT_FILE, writeVersion } from '../../src/train/version-writer.js';
import { handmadeTrainResult } from '../helpers/train-result.js';

const RUNTIME: RuntimeOptions = { thread: 'inline', tfjsBackend: 'cpu', onnx: { intraOpThreads: 1, interOpThreads: 1, graphOptimization: 'all' } };
const NOW = () => new Date('2025-05-01T12:00:00.000Z');

let result: TrainResult;
let work: string;
let baseline = 0;

async function freshRepo(): Promise<string> {
  return mkdtemp(join(work, 'repo-'));
}

async function entries(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort();
}

/** Encoded rows for the handmade result's features: a few raw rows as a client would send them. */
function sampleInput(r: TrainResult): { x: Float32Array; rows: number } {
  const encoder = new FeatureEncoder({ features: r.features, preprocessing: r.preprocessing });
  const categorical = r.features.find((f) => f.type === 'categorical');
  const raw = [0, 1, 2, 3].map((i) =>
    Object.fromEntries(r.features.map((f) => [f.name, f.type === 'numeric' ? i * 0.7 - 1 : (categorical?.type === 'categorical' ? categorical.categories[i % categorical.categories.length]! : '')])),
  );
  return { x: encoder.encodeRows(raw), rows: raw.length };
}

function predictTfjs(model: tf.LayersModel, x: Float32Array, rows: number): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor2d(x, [rows, x.length / rows])) as tf.Tensor).dataSync() as Float32Array);
}

void describe('writeVersion', () => {
  before(async () => {
    await initTf('cpu');
    baseline = tf.memory().numTensors;
    work = await mkdtemp(join(tmpdir(), 'dg-writer-'));
    result = await handmadeTrainResult({ baseline: true, trials: 4, twoPhase: true });
  });

  after(async () => {
    result.model.dispose();
    assert.equal(tf.memory().numTensors, baseline, 'tensors leaked');
    await rm(work, { recursive: true, force: true });
  });

  test('writes tfjs files, ONNX copy, a valid manifest and the report, as version 1', async () => {
    const repo = await freshRepo();
    const written = await writeVersion(repo, result, { model: 'clf', onnx: true, now: NOW });
    assert.equal(written.version, 1);
    assert.equal(written.dir, join(repo, 'clf', '1'));
    assert.deepEqual(await entries(written.dir), ['driftgate.json', 'model.json', 'model.onnx', 'report.html', 'training-sample.jsonl', 'weights.bin']);
    assert.deepEqual(await entries(join(repo, 'clf')), ['1'], 'no temporary directory is left behind');
    assert.equal(((await stat(written.dir)).mode & 0o777).toString(8), '755');

    const manifest = await readManifestAt(written.dir);
    assert.equal(manifest.name, 'clf');
    assert.equal(manifest.version, 1);
    assert.equal(manifest.format, 'tfjs-layers');
    assert.deepEqual(manifest.labels, result.labels);
    assert.deepEqual(manifest.features, result.features);
    assert.deepEqual(manifest.preprocessing, result.preprocessing);
    assert.equal(manifest.input, 'features');
    assert.equal(manifest.output, 'probabilities');
    assert.deepEqual(Object.keys(manifest.metrics).sort(), ['baseline', 'bestEpoch', 'epochs', 'test', 'validation']);
    assert.equal((manifest.metrics['test'] as { accuracy: number }).accuracy, (result.test as { accuracy: number }).accuracy);
    const lineage = manifest.lineage as Record<string, unknown>;
    assert.equal(lineage['parent'], null);
    assert.equal(lineage['createdAt'], '2025-05-01T12:00:00.000Z');
    assert.equal(lineage['dataFingerprint'], result.dataFingerprint);
    assert.equal(lineage['seed'], result.seed);
    assert.equal(lineage['target'], 'target');
    assert.deepEqual(lineage['rows'], result.rows);
    assert.equal((lineage['cleaning'] as { rowsIn: number }).rowsIn, result.cleaning.rowsIn);
    assert.equal((lineage['hyperparameters'] as { learningRate: number }).learningRate, result.hyperparameters.learningRate);
    assert.deepEqual((manifest as Record<string, unknown>)['artifacts'], {
      onnx: 'model.onnx',
      report: REPORT_FILE,
      trainingSample: 'training-sample.jsonl',
      trainingSampleRows: { train: result.splitRows!.train.length, holdout: result.splitRows!.test.length },
    });
    assert.equal(manifest.format, 'tfjs-layers');
    assert.equal(manifest.stage, undefined);
    assert.ok(manifest.reference && manifest.reference.rows === result.reference.rows);

    const html = await readFile(join(written.dir, REPORT_FILE), 'utf8');
    assert.match(html, /<title>clf version 1: training report<\/title>/);
  });

  test('the gateway repository and both runtimes serve the written version like the trained model', async () => {
    const repo = await freshRepo();
    const written = await writeVersion(repo, result, { model: 'clf', onnx: true });
    const { dir, manifest } = await new ModelRepository(repo).readManifest('clf', written.version);
    const { x, rows } = sampleInput(result);
    const want = predictTfjs(result.model, x, rows);
    for (const format of ['tfjs-layers', 'onnx'] as const) {
      const runtime = await openRuntime(dir, { ...manifest, format }, RUNTIME);
      try {
        const got = await runtime.run(x, rows);
        assert.equal(got.length, want.length);
        for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-5, `${format} output ${i}: ${got[i]} vs ${want[i]}`);
      } finally {
        await runtime.dispose();
      }
    }
  });

  test('the next version is the highest existing one plus one; other entries are ignored', async () => {
    const repo = await freshRepo();
    for (const name of ['1', '3', '.tmp-other-writer', 'notes', '007x']) await mkdir(join(repo, 'clf', name), { recursive: true });
    await writeFile(join(repo, 'clf', 'serving.json'), '{"version": 1}');
    assert.equal(await new ModelRepository(repo).highestVersion('clf'), 3);
    const written = await writeVersion(repo, result, { model: 'clf', report: false });
    assert.equal(written.version, 4);
    assert.deepEqual(await entries(written.dir), ['driftgate.json', 'model.json', 'training-sample.jsonl', 'weights.bin']);
    assert.deepEqual((await readManifestAt(written.dir)).version, 4);
    // A recent temporary directory may belong to a writer at work: it is left alone.
    assert.ok((await entries(join(repo, 'clf'))).includes('.tmp-other-writer'));
  });

  test('concurrent writers get distinct versions, each with a manifest that matches its directory', async () => {
    const repo = await freshRepo();
    const all = await Promise.all([1, 2, 3, 4].map(() => writeVersion(repo, result, { model: 'clf', report: false })));
    assert.deepEqual(all.map((w) => w.version).sort(), [1, 2, 3, 4]);
    for (const w of all) assert.equal((await readManifestAt(w.dir)).version, w.version);
    assert.deepEqual(await entries(join(repo, 'clf')), ['1', '2', '3', '4']);
  });

  test('a failure while writing leaves no version and no temporary directory', async () => {
    const repo = await freshRepo();
    await writeVersion(repo, result, { model: 'clf', report: false });
    const broken = await handmadeTrainResult({ epochs: 1, seed: 3 });
    broken.model.dispose(); // saving a disposed model fails after the temporary directory exists
    await assert.rejects(writeVersion(repo, broken, { model: 'clf' }));
    assert.deepEqual(await entries(join(repo, 'clf')), ['1']);
  });

  test('a result that makes an invalid manifest is refused before anything is created', async () => {
    const repo = await freshRepo();
    const duplicate = { ...result, features: [...result.features, result.features[0]!] };
    await assert.rejects(writeVersion(repo, duplicate, { model: 'clf' }), /duplicate feature/);
    await assert.rejects(writeVersion(repo, result, { model: '../escape' }));
    assert.deepEqual(await entries(repo), []);
  });

  test('a stale temporary directory from a crashed writer is removed', async () => {
    const repo = await freshRepo();
    const stale = join(repo, 'clf', `${TEMP_PREFIX}crashed`);
    await mkdir(stale, { recursive: true });
    await writeFile(join(stale, 'model.json'), '{}');
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(stale, old, old);
    await writeVersion(repo, result, { model: 'clf', report: false });
    assert.deepEqual(await entries(join(repo, 'clf')), ['1']);
  });

  test('an ONNX export that fails still writes the tfjs version and records why', async () => {
    const repo = await freshRepo();
    const width = result.model.inputs[0]!.shape[1]!;
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [width], units: 4, activation: 'relu', name: 'hidden_1' }),
        tf.layers.layerNormalization({ name: 'norm' }),
        tf.layers.dense({ units: 3, activation: 'softmax', name: 'output' }),
      ],
    });
    try {
      const written = await writeVersion(repo, { ...result, model }, { model: 'clf', onnx: true, report: true });
      assert.match(written.onnxError ?? '', /cannot export layer "norm" \(LayerNormalization\)/);
      assert.deepEqual(await entries(written.dir), ['driftgate.json', 'model.json', 'report.html', 'training-sample.jsonl', 'weights.bin']);
      const artifacts = (await readManifestAt(written.dir) as Record<string, unknown>)['artifacts'] as Record<string, string>;
      assert.equal(artifacts['onnx'], undefined);
      assert.match(artifacts['onnxError']!, /LayerNormalization/);
      assert.match(await readFile(join(written.dir, REPORT_FILE), 'utf8'), /ONNX export skipped/);
    } finally {
      model.dispose();
    }
  });

  test('a fine-tuned version names its parent, and its report shows the lineage chain', async () => {
    const repo = await freshRepo();
    const v1 = await writeVersion(repo, result, { model: 'clf', report: false });
    const child = { ...result, parent: { name: 'clf', version: 1, dir: v1.dir }, trigger: 'drift' };
    const v2 = await writeVersion(repo, child, { model: 'clf' });
    const grandchild = { ...result, parent: { name: 'clf', version: 2, dir: v2.dir } };
    const v3 = await writeVersion(repo, grandchild, { model: 'clf' });

    const lineage = (await readManifestAt(v3.dir)).lineage as Record<string, unknown>;
    assert.equal(lineage['parent'], 2);
    assert.deepEqual(lineage['from'], { model: 'clf', version: 2 });
    const chain = await lineageChain(repo, 'clf', 2);
    assert.deepEqual(
      chain.map((e) => [e.model, e.version, e.trigger, e.found]),
      [
        ['clf', 2, 'drift', true],
        ['clf', 1, 'manual', true],
      ],
    );
    const html = await readFile(join(v3.dir, REPORT_FILE), 'utf8');
    assert.match(html, /<b>clf version 2<\/b> · drift/);
    assert.match(html, /<b>clf version 1<\/b> · manual/);

    // A base from another model: no same-model parent, but `from` names it.
    const other = await writeVersion(repo, { ...result, parent: { name: 'clf', version: 3, dir: v3.dir } }, { model: 'clf-small', report: false });
    const otherLineage = (await readManifestAt(other.dir)).lineage as Record<string, unknown>;
    assert.equal(otherLineage['parent'], null);
    assert.deepEqual(otherLineage['from'], { model: 'clf', version: 3 });
  });

  test('lineageChain stops at a missing version and at a loop', async () => {
    const repo = await freshRepo();
    const v1 = await writeVersion(repo, { ...result, parent: { name: 'gone', version: 7, dir: join(repo, 'gone', '7') } }, { model: 'clf', report: false });
    const chain = await lineageChain(repo, 'clf', v1.version);
    assert.deepEqual(
      chain.map((e) => [e.model, e.version, e.found]),
      [
        ['clf', 1, true],
        ['gone', 7, false],
      ],
    );
    // Hand-edit version 1 to name itself as its parent.
    const path = join(v1.dir, MANIFEST_FILE);
    const json = JSON.parse(await readFile(path, 'utf8')) as { lineage: Record<string, unknown> };
    json.lineage['from'] = { model: 'clf', version: 1 };
    await writeFile(path, JSON.stringify(json));
    const looped = await lineageChain(repo, 'clf', 1);
    assert.equal(looped.length, 2);
    assert.match(looped[1]!.note ?? '', /loops/);
  });

  test('the training sample: seeded, bounded, train rows from the train split and holdout rows from the test split', async () => {
    const repo = await freshRepo();
    const a = await writeVersion(repo, result, { model: 'clf', report: false, trainingSample: { rows: 50, holdout: 10 } });
    const b = await writeVersion(repo, result, { model: 'clf', report: false, trainingSample: { rows: 50, holdout: 10 } });
    const text = await readFile(join(a.dir, 'training-sample.jsonl'), 'utf8');
    assert.equal(await readFile(join(b.dir, 'training-sample.jsonl'), 'utf8'), text, 'the same run draws the same sample');
    assert.deepEqual(((a.manifest as Record<string, unknown>)['artifacts'] as Record<string, unknown>)['trainingSampleRows'], { train: 50, holdout: 10 });

    const sample = (await readTrainingSample(a.dir, a.manifest))!;
    assert.equal(sample.train.length, 50);
    assert.equal(sample.holdout.length, 10);
    const key = (r: { features: Record<string, unknown>; label: unknown }): string =>
      JSON.stringify([...result.features.map((f) => r.features[f.name]), r.label]);
    const trainKeys = new Set(result.splitRows!.train.map((r) => JSON.stringify([...result.features.map((f) => r[f.name]), r['target']])));
    const testKeys = new Set(result.splitRows!.test.map((r) => JSON.stringify([...result.features.map((f) => r[f.name]), r['target']])));
    assert.ok(sample.train.every((r) => trainKeys.has(key(r))), 'train rows come from the train split');
    assert.ok(sample.holdout.every((r) => testKeys.has(key(r))), 'holdout rows come from the test split');
    assert.deepEqual(Object.keys(sample.train[0]!.features), result.features.map((f) => f.name), 'features in manifest order');

    const none = await writeVersion(repo, result, { model: 'clf', report: false, trainingSample: false });
    assert.ok(!(await entries(none.dir)).includes('training-sample.jsonl'));
    assert.equal(await readTrainingSample(none.dir, none.manifest), undefined);
  });

  test('an ONNX candidate: model.onnx served, tfjs files beside it for fine-tuning, job and trigger in its lineage', async () => {
    const repo = await freshRepo();
    const run = { ...result, trigger: 'retrain:data_drift', job: 'clf-job-1' };
    const written = await writeVersion(repo, run, {
      model: 'clf',
      format: 'onnx',
      stage: 'candidate',
      report: false,
      inherit: { batching: { max_batch_size: 16 }, retrain: { epochs: 7 } },
      lineage: { examples: { recent: 10, replay: 3 } },
      now: NOW,
    });
    assert.deepEqual(await entries(written.dir), ['driftgate.json', 'model.json', 'model.onnx', 'training-sample.jsonl', 'weights.bin']);
    const manifest = await readManifestAt(written.dir);
    assert.equal(manifest.format, 'onnx');
    assert.equal(manifest.stage, 'candidate');
    assert.deepEqual(manifest.batching, { max_batch_size: 16 });
    assert.deepEqual((manifest as Record<string, unknown>)['retrain'], { epochs: 7 });
    const artifacts = (manifest as Record<string, unknown>)['artifacts'] as Record<string, unknown>;
    assert.equal(artifacts['onnx'], 'model.onnx');
    assert.equal(artifacts['tfjs'], 'model.json');
    const lineage = manifest.lineage as Record<string, unknown>;
    assert.equal(lineage['trigger'], 'retrain:data_drift');
    assert.equal(lineage['job'], 'clf-job-1');
    assert.deepEqual(lineage['examples'], { recent: 10, replay: 3 });

    // The gateway's ONNX runtime serves it like the trained model ...
    const { x, rows } = sampleInput(result);
    const want = predictTfjs(result.model, x, rows);
    const runtime = await openRuntime(written.dir, manifest, RUNTIME);
    try {
      const got = await runtime.run(x, rows);
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-5, `onnx output ${i}`);
    } finally {
      await runtime.dispose();
    }
    // ... and fine-tuning starts from the tfjs layers, not from an import of the ONNX graph.
    const base = await loadBaseModel(written.dir);
    try {
      assert.deepEqual(
        base.model.layers.map((l) => l.name),
        result.model.layers.map((l) => l.name),
      );
      const again = predictTfjs(base.model, x, rows);
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(again[i]! - want[i]!) < 1e-6);
    } finally {
      base.model.dispose();
    }
  });

  test('an ONNX version whose export fails is an error, and nothing is written', async () => {
    const repo = await freshRepo();
    const width = result.model.inputs[0]!.shape[1]!;
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [width], units: 4, activation: 'relu', name: 'hidden_1' }),
        tf.layers.layerNormalization({ name: 'norm' }),
        tf.layers.dense({ units: 3, activation: 'softmax', name: 'output' }),
      ],
    });
    try {
      await assert.rejects(writeVersion(repo, { ...result, model }, { model: 'clf', format: 'onnx' }), /cannot write clf as an ONNX version: .*LayerNormalization/);
      assert.deepEqual(await entries(join(repo, 'clf')), []);
    } finally {
      model.dispose();
    }
  });
});
