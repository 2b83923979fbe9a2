// Preprocessing fitted on the training split in manifest form, encoding through the serving encoder,
// categories unseen in training, and target encoding.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FeatureEncoder, manifestSchema } from '../../src/core/index.js';
import { DataError, countUnseenCategories, encode, encodeTarget, fitPreprocessing } from '../../src/train/data/index.js';

const features = [
  { name: 'n', type: 'numeric' as const },
  { name: 'c', type: 'categorical' as const },
  { name: 'k', type: 'numeric' as const },
];
// n: 2 4 4 4 5 5 7 9 -> mean 5, population std 2 (squared deviations 9 1 1 1 0 0 4 16 = 32, / 8 = 4).
const train = [2, 4, 4, 4, 5, 5, 7, 9].map((n, i) => ({ n, c: ['b', 'a', 'c', 'B'][i % 4]!, k: 3, y: 'x' }));

describe('fitPreprocessing', () => {
  it('standardizes with the population std and lists sorted categories', () => {
    const fitted = fitPreprocessing(train, features);
    assert.deepEqual(fitted.features, [
      { name: 'n', type: 'numeric' },
      { name: 'c', type: 'categorical', categories: ['B', 'a', 'b', 'c'] }, // code-unit order: capitals first
      { name: 'k', type: 'numeric' },
    ]);
    assert.deepEqual(fitted.preprocessing, {
      scalers: { n: { kind: 'standardize', mean: 5, std: 2 }, k: { kind: 'standardize', mean: 3, std: 1 } },
      unknownCategory: 'error',
    });
    // The constant column gets std 1 instead of a division by zero, and is reported.
    assert.deepEqual(fitted.constantColumns, ['k']);
    // It is a valid manifest section.
    manifestSchema.parse({ name: 'm', version: 1, format: 'onnx', task: 'regression', input: 'x', output: 'y', ...fitted });
  });

  it('does not let a rounding-noise std blow up a constant column', () => {
    const fitted = fitPreprocessing([{ v: 0.1 }, { v: 0.1 }, { v: 0.1 }], [{ name: 'v', type: 'numeric' }]);
    assert.deepEqual(fitted.preprocessing.scalers.v, { kind: 'standardize', mean: 0.1, std: 1 });
  });

  it('min-max scaling and no scaling', () => {
    const minmax = fitPreprocessing(train, features, { scaling: 'minmax' });
    assert.deepEqual(minmax.preprocessing.scalers, { n: { kind: 'minmax', min: 2, max: 9 }, k: { kind: 'minmax', min: 3, max: 3 } });
    const none = fitPreprocessing(train, features, { scaling: 'none', unknownCategory: 'ignore' });
    assert.deepEqual(none.preprocessing, { scalers: {}, unknownCategory: 'ignore' });
  });

  it('refuses rows that were not cleaned', () => {
    assert.throws(
      () => fitPreprocessing([{ n: 1, c: 'a', k: 1 }, { n: null, c: 'a', k: 1 }], features),
      /column "n" has a missing or non-numeric value in training row 2; clean and fill the rows first/,
    );
    assert.throws(() => fitPreprocessing([], features), /empty training split/);
  });
});

describe('encode', () => {
  const fitted = fitPreprocessing(train, features);

  it('applies scalers and one-hot in feature order, ignoring extra columns', () => {
    const x = encode(
      [
        { n: 7, c: 'a', k: 3, y: 'x', id: 17 },
        { n: 2, c: 'B', k: 5, y: 'x' },
      ],
      fitted.features,
      fitted.preprocessing,
    );
    // n: (7-5)/2 = 1, (2-5)/2 = -1.5; one-hot over B a b c; k: (3-3)/1 = 0, (5-3)/1 = 2
    assert.deepEqual(Array.from(x), [1, 0, 1, 0, 0, 0, -1.5, 1, 0, 0, 0, 2]);
  });

  it('gives the same input vector as the serving encoder built from the manifest', () => {
    const rows = [{ n: 4, c: 'c', k: 3 }];
    const serving = new FeatureEncoder({ features: fitted.features, preprocessing: fitted.preprocessing }).encodeRows(rows);
    assert.deepEqual(encode(rows, fitted.features, fitted.preprocessing), serving);
  });

  it('encodes a category unseen in training as all zeros, while the manifest keeps "error"', () => {
    const rows = [{ n: 5, c: 'purple', k: 3 }];
    assert.deepEqual(Array.from(encode(rows, fitted.features, fitted.preprocessing)), [0, 0, 0, 0, 0, 0]);
    assert.equal(fitted.preprocessing.unknownCategory, 'error');
    // Serving with the manifest as written refuses it.
    const serving = new FeatureEncoder({ features: fitted.features, preprocessing: fitted.preprocessing });
    assert.throws(() => serving.encodeRows(rows), /unknown category "purple"/);
    assert.deepEqual(countUnseenCategories([...rows, { n: 1, c: 'a', k: 3 }], fitted.features), { c: 1 });
  });

  it('reports unencodable rows as DataErrors', () => {
    assert.throws(() => encode([{ n: 'x', c: 'a', k: 3 }], fitted.features, fitted.preprocessing), (err: unknown) => {
      assert.ok(err instanceof DataError);
      assert.match(err.message, /^cannot encode: rows\[0\]: feature "n" must be a finite number, got the string "x"/);
      return true;
    });
    assert.throws(() => encode([{ n: 1, c: 'a' }], fitted.features, fitted.preprocessing), /rows\[0\]: missing feature "k"/);
  });
});

describe('encodeTarget', () => {
  it('classification: indices over the sorted distinct labels', () => {
    const t = encodeTarget([{ y: 'yes' }, { y: 'no' }, { y: 'yes' }, { y: 'maybe' }], 'y', 'classification');
    assert.equal(t.task, 'classification');
    assert.ok(t.task === 'classification');
    assert.deepEqual(t.labels, ['maybe', 'no', 'yes']);
    assert.deepEqual(Array.from(t.y), [2, 1, 2, 0]);
    assert.ok(t.y instanceof Int32Array);
  });

  it('classification with given labels (a base model\'s order); 1 and "1" are one class', () => {
    const t = encodeTarget([{ y: 1 }, { y: '0' }, { y: '1' }], 'y', 'classification', ['1', '0']);
    assert.ok(t.task === 'classification');
    assert.deepEqual(t.labels, ['1', '0']);
    assert.deepEqual(Array.from(t.y), [0, 1, 0]);
  });

  it('an unknown label in validation or test rows is a DataError', () => {
    assert.throws(() => encodeTarget([{ y: 'yes' }, { y: 'no' }, { y: 'maybe' }], 'y', 'classification', ['no', 'yes']), {
      name: 'DataError',
      message: 'row 3: label "maybe" of target "y" is not one of the known labels: no, yes',
    });
    assert.throws(() => encodeTarget([{ y: 'a' }, { y: 'a' }], 'y', 'classification'), /target "y" has a single class \("a"\)/);
    assert.throws(() => encodeTarget([{ y: 'a' }, { y: null }], 'y', 'classification', ['a']), /row 2: target "y" has no usable label \(null\)/);
  });

  it('regression: float values', () => {
    const t = encodeTarget([{ y: 1.5 }, { y: '-2' }, { y: 0 }], 'y', 'regression');
    assert.equal(t.task, 'regression');
    assert.ok(t.y instanceof Float32Array);
    assert.deepEqual(Array.from(t.y), [1.5, -2, 0]);
    assert.throws(() => encodeTarget([{ y: 1 }, { y: 'x' }], 'y', 'regression'), /row 2: target "y" must be a finite number, got "x"/);
  });
});
