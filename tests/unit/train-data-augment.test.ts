// Augmentation of encoded matrices: row counts and order, noise on numeric columns only, mixup soft
// labels, oversampling to balance classes, and reproducibility from the seed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Feature } from '../../src/core/index.js';
import { augment, numericColumns } from '../../src/train/data/index.js';
import type { Augmented } from '../../src/train/data/index.js';

// Input columns: n (numeric) | c=a, c=b (one-hot) | m (numeric)
const features: Feature[] = [
  { name: 'n', type: 'numeric' },
  { name: 'c', type: 'categorical', categories: ['a', 'b'] },
  { name: 'm', type: 'numeric' },
];
const width = 4;
const x = Float32Array.from([0.5, 1, 0, -1, 1.5, 0, 1, 2, -0.5, 1, 0, 0, 2, 0, 1, 1]);
const y = Int32Array.from([0, 0, 0, 1]);
const data = { x, y, width, task: 'classification' as const, classes: 2, features };

type Classified = Extract<Augmented, { task: 'classification' }>;
function classified(a: Augmented): Classified {
  assert.equal(a.task, 'classification');
  return a as Classified;
}
const row = (m: Float32Array, w: number, r: number): number[] => Array.from(m.subarray(r * w, (r + 1) * w));
const classCounts = (a: Classified): number[] => {
  const counts = new Array<number>(a.classes).fill(0);
  for (let r = 0; r < a.rows; r++) counts[row(a.yOneHot, a.classes, r).indexOf(1)]!++;
  return counts;
};

describe('augment', () => {
  it('with no options returns the rows unchanged and one-hot targets', () => {
    const a = classified(augment(data, {}, 1));
    assert.equal(a.rows, 4);
    assert.deepEqual(a.x, x);
    assert.deepEqual(Array.from(a.yOneHot), [1, 0, 1, 0, 1, 0, 0, 1]);
  });

  it('knows the numeric input columns from the features', () => {
    assert.deepEqual(numericColumns(features), [0, 3]);
  });

  it('oversampling duplicates minority rows up to the majority count', () => {
    const a = classified(augment(data, { oversample: true }, 1));
    assert.equal(a.rows, 6); // class 1 has 1 row, class 0 has 3: two copies of row 3
    assert.deepEqual(classCounts(a), [3, 3]);
    assert.deepEqual(row(a.x, width, 4), row(x, width, 3));
    assert.deepEqual(row(a.x, width, 5), row(x, width, 3));
  });

  it('oversampling to a ratio, spreading duplicates evenly over the class', () => {
    // 6 of class 0, 2 of class 1; ratio 0.75 -> round(4.5) = 5 rows of class 1: 3 duplicates
    const yy = Int32Array.from([0, 0, 0, 0, 0, 0, 1, 1]);
    const xx = Float32Array.from([0, 0, 0, 0, 0, 0, 10, 20]);
    const f: Feature[] = [{ name: 'v', type: 'numeric' }];
    const a = classified(augment({ x: xx, y: yy, width: 1, task: 'classification', classes: 2, features: f }, { oversample: { targetRatio: 0.75 } }, 3));
    assert.equal(a.rows, 11);
    assert.deepEqual(classCounts(a), [6, 5]);
    const dup = Array.from(a.x.subarray(8)).sort((p, q) => p - q);
    // Each of the two rows is copied once before either is copied twice.
    assert.ok(JSON.stringify(dup) === '[10,10,20]' || JSON.stringify(dup) === '[10,20,20]', `duplicates ${dup}`);
  });

  it('Gaussian noise changes numeric columns only and keeps the labels', () => {
    const a = classified(augment(data, { noise: { std: 0.5, copies: 2 } }, 7));
    assert.equal(a.rows, 12);
    for (let copy = 1; copy <= 2; copy++) {
      for (let r = 0; r < 4; r++) {
        const noisy = row(a.x, width, copy * 4 + r);
        const orig = row(x, width, r);
        assert.deepEqual(noisy.slice(1, 3), orig.slice(1, 3), 'one-hot columns stay 0/1');
        assert.notEqual(noisy[0], orig[0]);
        assert.notEqual(noisy[3], orig[3]);
        assert.deepEqual(row(a.yOneHot, 2, copy * 4 + r), row(a.yOneHot, 2, r));
      }
    }
  });

  it('noise has the requested standard deviation', () => {
    const n = 4000;
    const f: Feature[] = [{ name: 'v', type: 'numeric' }];
    const a = augment({ x: new Float32Array(n), y: new Float32Array(n), width: 1, task: 'regression', features: f }, { noise: { std: 0.5, copies: 1 } }, 11);
    const noise = Array.from(a.x.subarray(n));
    const mean = noise.reduce((s, v) => s + v, 0) / n;
    const std = Math.sqrt(noise.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
    assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
    assert.ok(Math.abs(std - 0.5) < 0.025, `std ${std}`);
  });

  it('mixup gives soft labels that sum to 1 and mixes x with the same weight', () => {
    const a = classified(augment(data, { mixup: { alpha: 0.4, copies: 3 } }, 5));
    assert.equal(a.rows, 16);
    let soft = 0;
    for (let r = 4; r < a.rows; r++) {
      const labels = row(a.yOneHot, 2, r);
      assert.ok(Math.abs(labels[0]! + labels[1]! - 1) < 1e-6);
      assert.ok(labels.every((v) => v >= 0 && v <= 1));
      if (labels[0]! > 1e-6 && labels[1]! > 1e-6) soft++;
      // Both sources have exactly one hot category, so the mixed one-hot block still sums to 1.
      const xr = row(a.x, width, r);
      assert.ok(Math.abs(xr[1]! + xr[2]! - 1) < 1e-6);
    }
    assert.ok(soft > 0, 'some mixup rows mix the two classes');
  });

  it('regression returns yValues; mixup values lie between the sources', () => {
    const f: Feature[] = [{ name: 'v', type: 'numeric' }];
    const a = augment({ x: Float32Array.from([0, 10]), y: Float32Array.from([0, 10]), width: 1, task: 'regression', features: f }, { mixup: { alpha: 1, copies: 5 } }, 2);
    assert.equal(a.task, 'regression');
    assert.ok(a.task === 'regression');
    assert.equal(a.rows, 12);
    assert.deepEqual(Array.from(a.yValues.subarray(0, 2)), [0, 10]);
    for (let r = 2; r < 12; r++) {
      assert.ok(a.yValues[r]! >= 0 && a.yValues[r]! <= 10);
      assert.ok(Math.abs(a.x[r]! - a.yValues[r]!) < 1e-4, 'x and y mixed with the same lambda');
    }
  });

  it('rows come in order: originals, duplicates, noisy copies, mixup rows', () => {
    const a = classified(augment(data, { oversample: true, noise: { std: 0.1, copies: 1 }, mixup: { alpha: 0.2, copies: 1 } }, 9));
    assert.equal(a.rows, 6 * 3);
    assert.deepEqual(Array.from(a.x.subarray(0, 16)), Array.from(x));
    assert.deepEqual(row(a.yOneHot, 2, 6 + 4), [0, 1]); // the noisy copy of the first duplicate
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const options = { oversample: true, noise: { std: 0.3, copies: 2 }, mixup: { alpha: 0.4, copies: 2 } };
    const a = classified(augment(data, options, 42));
    const b = classified(augment(data, options, 42));
    const c = classified(augment(data, options, 43));
    assert.deepEqual(a.x, b.x);
    assert.deepEqual(a.yOneHot, b.yOneHot);
    assert.notDeepEqual(a.x, c.x);
  });

  it('refuses bad shapes and options', () => {
    assert.throws(() => augment({ ...data, width: 3 }, {}, 1), /width 3 does not match the features' input width 4/);
    assert.throws(() => augment({ ...data, x: new Float32Array(3) }, {}, 1), /x holds 3 values, expected 4 rows × 4/);
    assert.throws(() => augment({ ...data, y: Int32Array.from([0, 0, 2, 1]) }, {}, 1), /y\[2\] = 2 is not a class index below 2/);
    assert.throws(() => augment({ ...data, task: 'regression', y: new Float32Array(4) }, { oversample: true }, 1), /needs a classification task/);
    assert.throws(() => augment(data, { mixup: { alpha: 0, copies: 1 } }, 1), /alpha must be a finite number > 0/);
    assert.throws(() => augment(data, { noise: { std: 0.1, copies: 1.5 } }, 1), /noise copies must be a non-negative integer/);
  });
});
