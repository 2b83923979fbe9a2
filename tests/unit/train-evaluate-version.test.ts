// evaluateVersion's own logic with a predictor written out by hand: which rows it scores and which it
// leaves out (and counts), how it encodes them, the headline metric, batching, and its refusals.
// tests/integration/train-evaluate-version.test.ts runs it on the real example models.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { manifestSchema } from '../../src/core/index.js';
import type { Manifest } from '../../src/core/index.js';
import { DataError, describeSkipped, evaluateVersion } from '../../src/train/index.js';
import type { EvaluationExample, Predict } from '../../src/train/index.js';

function classifier(unknownCategory: 'error' | 'ignore' = 'error'): Manifest {
  return manifestSchema.parse({
    name: 'toy',
    version: 3,
    format: 'tfjs-layers',
    task: 'classification',
    features: [
      { name: 'x', type: 'numeric' },
      { name: 'colour', type: 'categorical', categories: ['blue', 'red'] },
    ],
    input: 'features',
    output: 'probabilities',
    labels: ['low', 'high'],
    preprocessing: { scalers: { x: { kind: 'standardize', mean: 10, std: 2 } }, unknownCategory },
  });
}

const regressor = manifestSchema.parse({
  name: 'toy-r',
  version: 1,
  format: 'onnx',
  task: 'regression',
  features: [{ name: 'x', type: 'numeric' }],
  input: 'features',
  output: 'value',
});

/** Inputs seen by the predictor, and probabilities "high" = 0.9 when the scaled x is above 0. */
function thresholdPredictor(seen: { rows: number; matrix: number[] }[] = []): Predict {
  return async (matrix, rows) => {
    seen.push({ rows, matrix: Array.from(matrix) });
    const width = matrix.length / rows;
    const out = new Float32Array(rows * 2);
    for (let r = 0; r < rows; r++) {
      const high = matrix[r * width]! > 0 ? 0.9 : 0.1;
      out[r * 2] = 1 - high;
      out[r * 2 + 1] = high;
    }
    return out;
  };
}

const ex = (x: unknown, colour: unknown, label: unknown): EvaluationExample =>
  ({ features: { x, colour }, label }) as EvaluationExample;

void describe('evaluateVersion', () => {
  test('encodes with the manifest preprocessing and scores every complete row', async () => {
    const seen: { rows: number; matrix: number[] }[] = [];
    const result = await evaluateVersion({ manifest: classifier(), predict: thresholdPredictor(seen) }, [
      ex(12, 'red', 'high'),
      ex(8, 'blue', 'low'),
      ex('14', 'red', 'low'), // numeric string typed as training types it; predicted high: a miss
      ex(11, 'blue', 1), // a class index, as the labels endpoint accepts
    ]);
    assert.equal(result.task, 'classification');
    assert.equal(result.rows, 4);
    assert.equal(result.skipped.total, 0);
    assert.deepEqual(seen, [{ rows: 4, matrix: [1, 0, 1, -1, 1, 0, 2, 0, 1, 0.5, 1, 0] }]);
    assert.equal(result.metrics.task, 'classification');
    assert.equal(result.metrics.n, 4);
    assert.deepEqual(result.headline, { name: 'accuracy', value: 0.75, higherIsBetter: true });
    assert.equal(result.errorAnalysis?.worst[0]?.index, 2, 'worst examples are indexed by input position');
  });

  test('leaves out and counts rows without a usable label or feature value', async () => {
    const result = await evaluateVersion({ manifest: classifier(), predict: thresholdPredictor() }, [
      ex(12, 'red', 'high'),
      ex(12, 'red', null),
      ex(12, 'red', ''),
      ex(12, 'red', { a: 1 }),
      ex(null, 'red', 'high'),
      ({ features: { colour: 'red' }, label: 'high' }) as EvaluationExample,
      ex('twelve', 'red', 'high'),
      ex([1], 'red', 'high'),
      ex(12, 'green', 'high'),
      ex(12, 'green', 'low'),
      ex(9, 'blue', 'low'),
    ]);
    assert.equal(result.rows, 2);
    assert.deepEqual(result.skipped, {
      total: 9,
      missingTarget: 2,
      invalidTarget: 1,
      unknownLabel: 0,
      missingFeature: 2,
      invalidFeature: 2,
      unseenCategory: 2,
    });
    assert.deepEqual(result.unseenCategories, { colour: 2 });
    assert.equal(describeSkipped(result.skipped), '9 left out (2 without a label, 1 with an invalid label, 2 missing a feature value, 2 with an invalid feature value, 2 with an unseen category)');
  });

  test('unseen categories: skipped as served by default, all zeros on request or with unknownCategory ignore', async () => {
    const rows = [ex(12, 'green', 'high'), ex(9, 'blue', 'low')];
    const seen: { rows: number; matrix: number[] }[] = [];
    const zeros = await evaluateVersion({ manifest: classifier(), predict: thresholdPredictor(seen) }, rows, { unseenCategories: 'zeros' });
    assert.equal(zeros.rows, 2);
    assert.deepEqual(seen[0]!.matrix, [1, 0, 0, -0.5, 1, 0]);
    assert.deepEqual(zeros.unseenCategories, { colour: 1 });
    const ignoring = await evaluateVersion({ manifest: classifier('ignore'), predict: thresholdPredictor() }, rows);
    assert.equal(ignoring.rows, 2);
    const strict = await evaluateVersion({ manifest: classifier('error'), predict: thresholdPredictor() }, rows);
    assert.equal(strict.rows, 1);
    assert.equal(strict.skipped.unseenCategory, 1);
  });

  test('an unknown class is an error naming it, or a counted skip', async () => {
    const rows = [ex(12, 'red', 'high'), ex(9, 'blue', 'medium'), ex(9, 'blue', 7)];
    await assert.rejects(
      evaluateVersion({ manifest: classifier(), predict: thresholdPredictor() }, rows),
      (err: unknown) => err instanceof DataError && /example 2: label "medium" is not one of the known labels: low, high/.test(err.message),
    );
    const skipping = await evaluateVersion({ manifest: classifier(), predict: thresholdPredictor() }, rows, { unknownLabels: 'skip' });
    assert.equal(skipping.rows, 1);
    assert.equal(skipping.skipped.unknownLabel, 2);
  });

  test('headline metrics and their direction', async () => {
    const rows = [ex(12, 'red', 'high'), ex(8, 'blue', 'low'), ex(13, 'red', 'low')];
    const version = { manifest: classifier(), predict: thresholdPredictor() };
    const f1 = await evaluateVersion(version, rows, { headline: 'macro_f1', errorAnalysis: false });
    assert.equal(f1.headline.name, 'macro_f1');
    assert.equal(f1.headline.higherIsBetter, true);
    assert.ok(Math.abs(f1.headline.value - (0.5 * (2 / 3) + 0.5 * (2 / 3))) < 1e-12);
    assert.equal(f1.errorAnalysis, undefined);
    const logLoss = await evaluateVersion(version, rows, { headline: 'log_loss' });
    assert.equal(logLoss.headline.higherIsBetter, false);
    await assert.rejects(evaluateVersion(version, rows, { headline: 'rmse' }), /headline metric "rmse" does not apply to classification/);

    const doubling: Predict = async (matrix) => Float32Array.from(matrix, (x) => 2 * x);
    const reg = await evaluateVersion({ manifest: regressor, predict: doubling }, [
      { features: { x: 1 }, label: 2 },
      { features: { x: 2 }, label: 5 },
      { features: { x: '3' }, label: '6' },
      { features: { x: 4 }, label: 'lots' },
    ]);
    assert.equal(reg.rows, 3);
    assert.equal(reg.skipped.invalidTarget, 1);
    assert.deepEqual(reg.headline, { name: 'rmse', value: Math.sqrt(1 / 3), higherIsBetter: false });
    const mae = await evaluateVersion({ manifest: regressor, predict: doubling }, [{ features: { x: 1 }, label: 3 }], { headline: 'mae' });
    assert.deepEqual(mae.headline, { name: 'mae', value: 1, higherIsBetter: false });
  });

  test('predicts in batches of batchRows and checks the output size', async () => {
    const seen: { rows: number; matrix: number[] }[] = [];
    const rows = Array.from({ length: 7 }, (_, i) => ex(8 + i, 'red', i > 1 ? 'high' : 'low'));
    const result = await evaluateVersion({ manifest: classifier(), predict: thresholdPredictor(seen) }, rows, { batchRows: 3 });
    assert.deepEqual(seen.map((s) => s.rows), [3, 3, 1]);
    assert.equal(result.headline.value, 6 / 7);
    const short: Predict = async () => new Float32Array(1);
    await assert.rejects(evaluateVersion({ manifest: classifier(), predict: short }, rows), /returned 1 values for 7 rows; toy version 3 should give 2 per row/);
  });

  test('no row left to score is a DataError', async () => {
    await assert.rejects(
      evaluateVersion({ manifest: classifier(), predict: thresholdPredictor() }, [ex(null, 'red', 'low'), ex(1, 'red', null)]),
      (err: unknown) => err instanceof DataError && /no rows left to evaluate: 2 given, 2 left out \(1 without a label, 1 missing a feature value\)/.test(err.message),
    );
  });
});
