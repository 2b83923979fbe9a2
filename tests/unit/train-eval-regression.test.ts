// Regression metrics on small cases worked out by hand, and the constant-target convention.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { regressionMetrics } from '../../src/train/eval/index.js';

function near(actual: number, expected: number, tolerance = 1e-12): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not within ${tolerance} of ${expected}`);
}

void describe('regressionMetrics', () => {
  void test('errors by hand', () => {
    // errors .5, -.5, 0, -1: squares sum 1.5, absolutes sum 2.
    // mean of y is 2.875; squared deviations .015625 + 11.390625 + .765625 + 17.015625 = 29.1875.
    const r = regressionMetrics([3, -0.5, 2, 7], [2.5, 0, 2, 8]);
    assert.equal(r.task, 'regression');
    assert.equal(r.n, 4);
    near(r.mse, 1.5 / 4);
    near(r.rmse, Math.sqrt(1.5 / 4));
    near(r.mae, 2 / 4);
    near(r.r2, 1 - 1.5 / 29.1875);
  });

  void test('R^2 goes negative when the model is worse than the mean', () => {
    // residuals 2, 0, -2 (sum of squares 8) against deviations -1, 0, 1 (sum of squares 2): 1 - 8/2.
    near(regressionMetrics([1, 2, 3], [3, 2, 1]).r2, -3);
  });

  void test('constant true values: R^2 is 1 for exact predictions, else 0', () => {
    assert.equal(regressionMetrics([5, 5, 5], [5, 5, 5]).r2, 1);
    assert.equal(regressionMetrics([5, 5, 5], [4, 5, 6]).r2, 0);
    // The float mean of three 0.1s is not exactly 0.1; constancy is judged on the values, so no huge
    // negative R^2 comes out of a rounding-sized denominator.
    assert.equal(regressionMetrics([0.1, 0.1, 0.1], [0.2, 0.1, 0.1]).r2, 0);
    assert.equal(regressionMetrics([7], [9]).r2, 0);
  });

  void test('typed arrays are accepted', () => {
    const r = regressionMetrics(Float32Array.from([1, 2, 3, 4]), Float64Array.from([1, 2, 3, 6]));
    near(r.mse, 1);
    near(r.mae, 0.5);
  });

  void test('bad input is a RangeError', () => {
    assert.throws(() => regressionMetrics([], []), /no examples/);
    assert.throws(() => regressionMetrics([1, 2], [1]), /2 true values but 1 predictions/);
    assert.throws(() => regressionMetrics([1, Number.NaN], [1, 2]), /example 1/);
    assert.throws(() => regressionMetrics([1], [Number.POSITIVE_INFINITY]), /finite/);
  });
});
