// The plain-text reports `driftgate evaluate` prints.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  classificationMetrics,
  errorAnalysis,
  formatErrorAnalysis,
  formatMetrics,
  regressionMetrics,
} from '../../src/train/eval/index.js';
import type { RawFeatureValue } from '../../src/train/eval/index.js';

void describe('formatMetrics', () => {
  void test('classification: headline, per-class table and confusion matrix, aligned', () => {
    // the hand-worked case of train-eval-classification.test.ts
    const pDog = [0.9, 0.8, 0.4, 0.3, 0.6, 0.1, 0.55, 0.7];
    const report = classificationMetrics(
      [1, 1, 1, 0, 0, 0, 0, 1],
      pDog.map((p) => [1 - p, p]),
      ['cat', 'dog'],
    );
    assert.equal(
      formatMetrics(report),
      [
        'classification, n = 8',
        'accuracy  0.6250',
        'log loss  0.4723',
        'ROC-AUC   0.8750  (positive class: dog)',
        '',
        'class         precision  recall      f1  support',
        '------------  ---------  ------  ------  -------',
        'cat              0.6667  0.5000  0.5714        4',
        'dog              0.6000  0.7500  0.6667        4',
        'macro avg        0.6333  0.6250  0.6190        8',
        'weighted avg     0.6333  0.6250  0.6190        8',
        '',
        'confusion matrix (rows: true class, columns: predicted class)',
        'true \\ predicted  cat  dog',
        '----------------  ---  ---',
        'cat                 2    2',
        'dog                 1    3',
      ].join('\n'),
    );
  });

  void test('multiclass AUC names its averaging; an undefined AUC says why', () => {
    const rows = [
      [0.6, 0.3, 0.1],
      [0.2, 0.5, 0.3],
      [0.1, 0.2, 0.7],
    ];
    const labels = ['a', 'b', 'c'];
    const defined = formatMetrics(classificationMetrics([0, 1, 2], rows, labels));
    assert.ok(defined.includes('ROC-AUC   1.0000  (one-vs-rest, macro over the 3 classes present)'), defined);
    const undefinedAuc = formatMetrics(classificationMetrics([2, 2, 2], rows, labels));
    assert.ok(undefinedAuc.includes('ROC-AUC   n/a (only one class occurs in the data)'), undefinedAuc);
  });

  void test('regression: four aligned lines', () => {
    assert.equal(
      formatMetrics(regressionMetrics([3, -0.5, 2, 7], [2.5, 0, 2, 8])),
      ['regression, n = 4', 'mse   0.3750', 'rmse  0.6124', 'mae   0.5000', 'r2    0.9486'].join('\n'),
    );
  });
});

void describe('formatErrorAnalysis', () => {
  // 40 rows cycling through four colours, plus one purple row. Every blue row but the first is
  // wrong, and rows 0 and 20 (red); all eleven errors are true "no" rows called "yes".
  const rows: Record<string, RawFeatureValue>[] = [];
  const yTrue: number[] = [];
  const probabilities: number[][] = [];
  const add = (size: number, colour: string, label: number, wrong: boolean): void => {
    const pTrue = wrong ? 0.25 : 0.75;
    rows.push({ size, colour });
    yTrue.push(label);
    probabilities.push(label === 1 ? [1 - pTrue, pTrue] : [pTrue, 1 - pTrue]);
  };
  for (let i = 0; i < 40; i++) {
    const colour = ['red', 'green', 'blue', 'a\nvery long colour name indeed'][i % 4]!;
    add(i, colour, i % 2, colour === 'blue' ? i !== 2 : i % 20 === 0);
  }
  add(40, 'purple', 0, false);
  const analysis = errorAnalysis({
    task: 'classification',
    rows,
    features: [
      { name: 'size', type: 'numeric' },
      { name: 'colour', type: 'categorical', categories: ['red', 'green', 'blue'] },
    ],
    labels: ['no', 'yes'],
    yTrue,
    probabilities,
    k: 3,
    minSliceSize: 10,
  });
  const text = formatErrorAnalysis(analysis, { maxSlices: 2, featureWidth: 15 });
  const sections = text.split('\n\n');

  void test('three sections: confused pairs, worst examples, weakest slices', () => {
    assert.equal(sections.length, 3);
    assert.match(sections[0]!, /^most confused pairs \(true -> predicted\), 11 errors in 41 rows\n/);
    assert.match(sections[1]!, /^worst 3 examples by log loss\n/);
    assert.match(sections[2]!, /^weakest slices by accuracy \(overall 0\.7317\); 6 more not shown, 1 with fewer than 10 rows skipped\n/);
  });

  void test('the weakest slice is listed first, with a signed delta', () => {
    const lines = sections[2]!.split('\n');
    assert.equal(lines.length, 5, 'title, header, rule and two slices');
    assert.match(lines[3]!, /^colour = blue\s+10\s+0\.1000\s+-0\.6317$/);
    // improvements carry a plus sign (they sit lower than maxSlices shows)
    assert.match(formatErrorAnalysis(analysis), /\+0\.\d{4}$/m);
  });

  void test('columns line up and no cell breaks its line', () => {
    for (const section of sections) {
      const [, header, rule, ...body] = section.split('\n');
      // each column starts where its dashes start
      const starts = [...rule!.matchAll(/-+/g)].map((m) => m.index);
      assert.equal(starts.length, header!.trim().split(/\s{2,}/).length);
      for (const line of body) assert.ok(line.length <= rule!.length, `${line} is wider than ${rule}`);
    }
    const full = formatErrorAnalysis(analysis);
    assert.ok(full.includes('colour = a very long colour name indeed') && !full.includes('a\nvery'));
  });

  void test('long feature lists are cut to featureWidth', () => {
    for (const line of sections[1]!.split('\n').slice(2)) {
      const features = line.slice(line.indexOf('size='));
      assert.ok(features.length <= 15, features);
    }
    assert.match(sections[1]!, /\.\.\.$/m);
  });

  void test('a perfect classifier and a regressor', () => {
    const perfect = errorAnalysis({
      task: 'classification',
      rows: [{ x: 1 }, { x: 2 }],
      features: [{ name: 'x', type: 'numeric' }],
      labels: ['a', 'b'],
      yTrue: [0, 1],
      probabilities: [
        [1, 0],
        [0, 1],
      ],
    });
    const out = formatErrorAnalysis(perfect);
    assert.match(out, /^no misclassified rows among 2\n/);
    assert.match(out, /no slice has 5 or more rows$/);

    const regression = formatErrorAnalysis(
      errorAnalysis({
        task: 'regression',
        rows: [{ x: 1 }],
        features: [{ name: 'x', type: 'numeric' }],
        yTrue: [1.5],
        predictions: [4],
        minSliceSize: 1,
      }),
    );
    assert.ok(!regression.includes('confused'));
    assert.match(regression, /worst 1 examples by absolute error\n/);
    assert.ok(
      regression.includes(
        ['row  actual  predicted    loss  features', '---  ------  ---------  ------  --------', '  0  1.5     4          2.5000  x=1'].join('\n'),
      ),
      regression,
    );
  });
});
