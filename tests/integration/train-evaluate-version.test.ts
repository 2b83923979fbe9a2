// evaluateVersion on the real example models, with real tfjs and real onnxruntime: a version opened from
// disk, the same model held in memory, and its ONNX twin score the same; a version's training sample
// holdout reproduces the test metrics its manifest records.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { initTf, loadLayersModelFromDir, tf } from '../../src/core/tfjs.js';
import { evaluateVersion, layersModelPredictor, openVersionPredictor, readCsv, readTrainingSample } from '../../src/train/index.js';
import type { EvaluationExample, OpenedVersion } from '../../src/train/index.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MODELS = resolve(ROOT, 'models');

async function irisExamples(): Promise<EvaluationExample[]> {
  const table = await readCsv(resolve(ROOT, 'examples', 'iris.csv'));
  return table.rows.map((row) => ({ features: row as EvaluationExample['features'], label: row['species'] as string }));
}

void describe('evaluateVersion on the example models', () => {
  const opened: OpenedVersion[] = [];
  let examples: EvaluationExample[];
  let tensorsBefore = 0;
  before(async () => {
    await initTf();
    tensorsBefore = tf.memory().numTensors;
    examples = await irisExamples();
  });
  after(async () => {
    for (const version of opened) await version.dispose();
    assert.equal(tf.memory().numTensors, tensorsBefore, 'tensors leaked');
  });

  test('iris: tfjs from disk, the same model in memory and the ONNX twin give the same report', async () => {
    const tfjs = await openVersionPredictor(resolve(MODELS, 'iris-tfjs', '1'));
    const onnx = await openVersionPredictor(resolve(MODELS, 'iris-onnx', '1'));
    opened.push(tfjs, onnx);
    assert.equal(onnx.format, 'onnx');
    const fromDisk = await evaluateVersion(tfjs, examples);
    const fromOnnx = await evaluateVersion(onnx, examples);

    const model = await loadLayersModelFromDir(resolve(MODELS, 'iris-tfjs', '1'));
    let inMemory;
    try {
      inMemory = await evaluateVersion({ manifest: tfjs.manifest, predict: layersModelPredictor(model) }, examples);
    } finally {
      model.dispose();
    }

    assert.equal(fromDisk.rows, 150);
    assert.equal(fromDisk.skipped.total, 0);
    assert.equal(fromDisk.headline.name, 'accuracy');
    assert.ok(fromDisk.headline.value > 0.9, `accuracy ${fromDisk.headline.value}`);
    assert.deepEqual(inMemory, fromDisk);
    assert.equal(fromOnnx.headline.value, fromDisk.headline.value);
    assert.deepEqual(fromOnnx.metrics.task === 'classification' && fromOnnx.metrics.confusionMatrix, fromDisk.metrics.task === 'classification' && fromDisk.metrics.confusionMatrix);
  });

  for (const model of ['iris-tfjs', 'iris-onnx', 'delivery-tfjs', 'delivery-onnx']) {
    test(`${model}: the training sample's holdout reproduces the test metrics in the manifest`, async () => {
      const version = await openVersionPredictor(resolve(MODELS, model, '1'));
      opened.push(version);
      const sample = (await readTrainingSample(version.dir, version.manifest))!;
      const artifacts = (version.manifest as Record<string, unknown>)['artifacts'] as { trainingSampleRows: { train: number; holdout: number } };
      assert.deepEqual({ train: sample.train.length, holdout: sample.holdout.length }, artifacts.trainingSampleRows);
      assert.equal(sample.train.length, version.manifest.metrics['train_rows']);
      assert.equal(sample.holdout.length, version.manifest.metrics['test_rows']);
      const result = await evaluateVersion(version, sample.holdout, { errorAnalysis: false });
      assert.equal(result.rows, sample.holdout.length);
      const recorded = version.manifest.metrics as Record<string, number>;
      if (result.metrics.task === 'classification') {
        assert.equal(Math.round(result.metrics.accuracy * 1e6) / 1e6, recorded['accuracy']);
      } else {
        assert.ok(Math.abs(result.metrics.rmse - recorded['rmse']!) < 1e-4, `rmse ${result.metrics.rmse} vs ${recorded['rmse']}`);
        assert.ok(Math.abs(result.metrics.mae - recorded['mae']!) < 1e-4, `mae ${result.metrics.mae} vs ${recorded['mae']}`);
      }
    });
  }
});
