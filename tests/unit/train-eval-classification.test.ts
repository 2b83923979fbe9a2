// Classification metrics on small cases worked out by hand, and the conventions at the edges:
// zero division, ties, clipping, classes that never occur, bad input.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { binaryRocAuc, classificationMetrics, LOG_LOSS_EPSILON } from '../../src/train/eval/index.js';

function near(actual: number | null, expected: number, tolerance = 1e-12): void {
  assert.ok(actual !== null && Math.abs(actual - expected) <= tolerance, `${actual} is not within ${tolerance} of ${expected}`);
}

/** Rows [1 - p, p] from positive-class probabilities. */
function binaryRows(positive: readonly number[]): number[][] {
  return positive.map((p) => [1 - p, p]);
}

void describe('classificationMetrics: a binary case by hand', () => {
  // row:           0    1    2    3    4    5    6     7
  // true class:   dog  dog  dog  cat  cat  cat  cat   dog
  // p(dog):       .9   .8   .4   .3   .6   .1   .55   .7
  // predicted:    dog  dog  cat  cat  dog  cat  dog   dog
  //
  // confusion (rows true, columns predicted):
  //              cat  dog
  //        cat     2    2      rows 3, 5 right; 4, 6 called dog
  //        dog     1    3      row 2 called cat; 0, 1, 7 right
  //
  // accuracy 5/8. cat: precision 2/3 (3 predicted cat, 2 right), recall 2/4, F1 2*2/(3+4) = 4/7.
  // dog: precision 3/5, recall 3/4, F1 2*3/(5+4) = 2/3. Both supports are 4, so weighted = macro.
  // AUC: dogs score .9 .8 .7 .4, cats .6 .55 .3 .1; .9, .8 and .7 beat all four cats and .4 beats two:
  // 14 of 16 pairs = 0.875.
  const yTrue = [1, 1, 1, 0, 0, 0, 0, 1];
  const pDog = [0.9, 0.8, 0.4, 0.3, 0.6, 0.1, 0.55, 0.7];
  const report = classificationMetrics(yTrue, binaryRows(pDog), ['cat', 'dog']);

  void test('confusion matrix and accuracy', () => {
    assert.deepEqual(report.confusionMatrix, [
      [2, 2],
      [1, 3],
    ]);
    near(report.accuracy, 5 / 8);
    assert.equal(report.n, 8);
  });

  void test('per-class precision, recall, F1 and support', () => {
    const [cat, dog] = report.perClass;
    assert.equal(cat!.label, 'cat');
    near(cat!.precision, 2 / 3);
    near(cat!.recall, 1 / 2);
    near(cat!.f1, 4 / 7);
    assert.equal(cat!.support, 4);
    near(dog!.precision, 3 / 5);
    near(dog!.recall, 3 / 4);
    near(dog!.f1, 2 / 3);
    assert.equal(dog!.support, 4);
  });

  void test('macro and weighted averages', () => {
    near(report.macro.precision, (2 / 3 + 3 / 5) / 2);
    near(report.macro.recall, (1 / 2 + 3 / 4) / 2);
    near(report.macro.f1, (4 / 7 + 2 / 3) / 2);
    assert.deepEqual(report.weighted, report.macro);
  });

  void test('ROC-AUC of the positive class', () => {
    near(report.rocAuc, 14 / 16);
  });

  void test('log loss is the mean negative log probability of the true class', () => {
    const trueClassProbability = [0.9, 0.8, 0.4, 0.7, 0.4, 0.9, 0.45, 0.7];
    near(report.logLoss, -trueClassProbability.reduce((s, p) => s + Math.log(p), 0) / 8);
  });

  void test('a flat Float64Array gives the same report as rows', () => {
    assert.deepEqual(classificationMetrics(yTrue, Float64Array.from(binaryRows(pDog).flat()), ['cat', 'dog']), report);
  });
});

void describe('classificationMetrics: zero division and weighting', () => {
  // Class "c" never occurs and is never predicted: all its scores are 0 and it still counts in the
  // macro mean (one third of it), but not in the weighted mean (support 0).
  // true a a b b, predicted a b b b: a: P 1, R 1/2; b: P 2/3, R 1.
  const report = classificationMetrics(
    [0, 0, 1, 1],
    [
      [0.8, 0.1, 0.1],
      [0.3, 0.6, 0.1],
      [0.2, 0.7, 0.1],
      [0.1, 0.8, 0.1],
    ],
    ['a', 'b', 'c'],
  );

  void test('a class with no support and no predictions scores 0', () => {
    assert.deepEqual(report.perClass[2], { label: 'c', precision: 0, recall: 0, f1: 0, support: 0 });
  });

  void test('macro averages over every label, weighted by support', () => {
    near(report.macro.precision, (1 + 2 / 3 + 0) / 3);
    near(report.macro.recall, (1 / 2 + 1 + 0) / 3);
    near(report.weighted.precision, (1 * 2 + (2 / 3) * 2) / 4);
    near(report.weighted.recall, (0.5 * 2 + 1 * 2) / 4);
  });

  void test('a class never predicted has precision 0 but its recall counts', () => {
    // true a a b, everything predicted b: a is never predicted.
    const r = classificationMetrics(
      [0, 0, 1],
      [
        [0.4, 0.6],
        [0.1, 0.9],
        [0.3, 0.7],
      ],
      ['a', 'b'],
    );
    assert.equal(r.perClass[0]!.precision, 0);
    assert.equal(r.perClass[0]!.recall, 0);
    near(r.perClass[1]!.precision, 1 / 3);
    assert.equal(r.perClass[1]!.recall, 1);
  });
});

void describe('ROC-AUC', () => {
  void test('tied scores count one half (the trapezoid through the tie)', () => {
    // positives .5 .5, negatives .5 .2: two ties (1/2 each) and two wins = 3 of 4 pairs.
    // The ROC curve goes (0,0) -> (.5,1) -> (1,1): area .25 + .5 = .75.
    near(binaryRocAuc([true, true, false, false], [0.5, 0.5, 0.5, 0.2]), 0.75);
    // all scores equal: the diagonal
    near(binaryRocAuc([true, false, true, false], [0.3, 0.3, 0.3, 0.3]), 0.5);
  });

  void test('perfect, inverted and undefined', () => {
    near(binaryRocAuc([false, false, true], [0.1, 0.2, 0.3]), 1);
    near(binaryRocAuc([true, false, false], [0.1, 0.2, 0.3]), 0);
    assert.equal(binaryRocAuc([true, true], [0.1, 0.2]), null);
    assert.equal(binaryRocAuc([], []), null);
    assert.throws(() => binaryRocAuc([true, false], [0.5, Number.NaN]), /score 1 is NaN/);
  });

  void test('one class in yTrue: null, binary and multiclass', () => {
    assert.equal(classificationMetrics([1, 1, 1], binaryRows([0.2, 0.6, 0.9]), ['n', 'y']).rocAuc, null);
    const rows = [
      [0.2, 0.5, 0.3],
      [0.6, 0.3, 0.1],
    ];
    assert.equal(classificationMetrics([2, 2], rows, ['a', 'b', 'c']).rocAuc, null);
  });

  void test('multiclass one-vs-rest averages over the classes present in yTrue', () => {
    // class a: positives .6 .5 vs .3 .2 -> 1. class b: positives .4 .7 vs .3 .45 -> 3/4.
    // class c never occurs and is left out: (1 + 3/4) / 2.
    const r = classificationMetrics(
      [0, 0, 1, 1],
      [
        [0.6, 0.3, 0.1],
        [0.5, 0.45, 0.05],
        [0.3, 0.4, 0.3],
        [0.2, 0.7, 0.1],
      ],
      ['a', 'b', 'c'],
    );
    near(r.rocAuc, 0.875);
  });
});

void describe('log loss clipping and rescaling', () => {
  void test('a probability of 0 for the true class costs -ln(1e-15), not infinity', () => {
    const r = classificationMetrics([1], [[1, 0]], ['a', 'b']);
    near(r.logLoss, -Math.log(LOG_LOSS_EPSILON), 1e-9);
  });

  void test('rows that do not sum to one are rescaled first', () => {
    // [.2, .2] becomes [.5, .5]; [.3, .9] becomes [.25, .75]
    const r = classificationMetrics(
      [0, 1],
      [
        [0.2, 0.2],
        [0.3, 0.9],
      ],
      ['a', 'b'],
    );
    near(r.logLoss, (Math.log(2) - Math.log(0.75)) / 2);
  });

  void test('a perfect classifier with one-hot rows loses almost nothing', () => {
    const r = classificationMetrics([0, 1, 2], [[1, 0, 0], [0, 1, 0], [0, 0, 1]], ['a', 'b', 'c']);
    assert.ok(r.logLoss > 0 && r.logLoss < 1e-13, String(r.logLoss));
    assert.equal(r.accuracy, 1);
    near(r.rocAuc, 1);
  });
});

void describe('classificationMetrics input checks', () => {
  void test('the first of tied columns is the prediction', () => {
    const r = classificationMetrics([1, 0], [[0.5, 0.5], [0.4, 0.6]], ['a', 'b']);
    assert.deepEqual(r.confusionMatrix, [
      [0, 1],
      [1, 0],
    ]);
  });

  void test('bad shapes and values are RangeErrors naming the problem', () => {
    const labels = ['a', 'b'];
    assert.throws(() => classificationMetrics([], [], labels), /no examples/);
    assert.throws(() => classificationMetrics([0], [[1]], ['a']), /at least two labels/);
    assert.throws(() => classificationMetrics([2], [[0.5, 0.5]], labels), /yTrue\[0\] = 2/);
    assert.throws(() => classificationMetrics([0.5], [[0.5, 0.5]], labels), /not a class index/);
    assert.throws(() => classificationMetrics([0, 1], [[0.5, 0.5]], labels), /1 probability rows for 2 labels/);
    assert.throws(() => classificationMetrics([0], [[0.2, 0.3, 0.5]], labels), /row 0 has 3 columns/);
    assert.throws(() => classificationMetrics([0], new Float32Array(3), labels), /expected 1 rows x 2 classes/);
    assert.throws(() => classificationMetrics([0], [[Number.NaN, 1]], labels), /row 0, class 0 is NaN/);
    assert.throws(() => classificationMetrics([0], [[-0.1, 1]], labels), RangeError);
  });

  void test('the report is plain JSON', () => {
    const r = classificationMetrics([0, 1], [[0.7, 0.3], [0.2, 0.8]], ['a', 'b']);
    assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
  });
});
