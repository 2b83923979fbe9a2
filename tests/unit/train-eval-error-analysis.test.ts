// Error analysis: confused pairs, worst examples and slices, on data crafted so the answer is known.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { profileColumn, seededRandom } from '../../src/core/profile.js';
import type { ColumnProfile, Feature } from '../../src/core/index.js';
import { errorAnalysis } from '../../src/train/eval/index.js';
import type { ClassificationErrorInput, RawFeatureValue } from '../../src/train/eval/index.js';

type Row = Record<string, RawFeatureValue>;

const colourAndSize: Feature[] = [
  { name: 'size', type: 'numeric' },
  { name: 'colour', type: 'categorical', categories: ['red', 'green', 'blue'] },
];

/**
 * 300 rows, three classes. The model is right 95% of the time, except on blue rows (40%). A right row
 * gives its true class .5; a wrong one predicts the next class with .5 and leaves the true class .25.
 * Powers of two keep the rows exact in float32 and their sums exactly one.
 */
function blueIsHard(seed = 7): ClassificationErrorInput {
  const random = seededRandom(seed);
  const rows: Row[] = [];
  const yTrue: number[] = [];
  const probabilities: number[][] = [];
  for (let i = 0; i < 300; i++) {
    const colour = ['red', 'green', 'blue'][Math.floor(random() * 3)]!;
    const label = Math.floor(random() * 3);
    const right = random() < (colour === 'blue' ? 0.4 : 0.95);
    const row = [0.25, 0.25, 0.25];
    row[right ? label : (label + 1) % 3] = 0.5;
    rows.push({ size: Math.round(random() * 1000) / 10, colour });
    yTrue.push(label);
    probabilities.push(row);
  }
  return { task: 'classification', rows, features: colourAndSize, labels: ['a', 'b', 'c'], yTrue, probabilities };
}

void describe('errorAnalysis slices', () => {
  void test('the clearly worse categorical slice ranks first, with its true accuracy and delta', () => {
    const input = blueIsHard();
    const analysis = errorAnalysis(input);
    const first = analysis.slices[0]!;
    assert.equal(first.label, 'colour = blue');
    assert.equal(first.kind, 'category');

    const blue = input.rows.map((r, i) => i).filter((i) => input.rows[i]!.colour === 'blue');
    const probabilities = input.probabilities as number[][];
    const predicted = (i: number): number => probabilities[i]!.indexOf(Math.max(...probabilities[i]!));
    const blueAccuracy = blue.filter((i) => predicted(i) === input.yTrue[i]).length / blue.length;
    assert.equal(first.n, blue.length);
    assert.equal(first.metric, blueAccuracy);
    assert.ok(Math.abs(first.delta - (blueAccuracy - analysis.overall)) < 1e-12);
    assert.ok(first.delta < -0.25, `delta ${first.delta}`);
    assert.equal(analysis.sliceMetric, 'accuracy');

    // ranked: every later slice is at least as close to the overall accuracy from below
    for (let i = 1; i < analysis.slices.length; i++) assert.ok(analysis.slices[i]!.delta >= analysis.slices[i - 1]!.delta);
    // four size bins and three colours, each well above the minimum size
    assert.equal(analysis.slices.length, 7);
    assert.equal(analysis.skippedSlices, 0);
  });

  void test('the worse numeric quantile bin ranks first for a regressor (MAE, higher is worse)', () => {
    const random = seededRandom(11);
    const rows: Row[] = [];
    const yTrue: number[] = [];
    const predictions: number[] = [];
    for (let i = 0; i < 400; i++) {
      const x = random() * 100;
      const y = 2 * x + 1;
      const noise = (random() < 0.5 ? -1 : 1) * (x > 80 ? 10 : 1);
      rows.push({ x, region: i % 2 === 0 ? 'north' : 'south' });
      yTrue.push(y);
      predictions.push(y + noise);
    }
    const analysis = errorAnalysis({
      task: 'regression',
      rows,
      features: [
        { name: 'x', type: 'numeric' },
        { name: 'region', type: 'categorical', categories: ['north', 'south'] },
      ],
      yTrue,
      predictions,
      bins: 5,
    });
    assert.equal(analysis.sliceMetric, 'mae');
    const first = analysis.slices[0]!;
    assert.equal(first.kind, 'range');
    assert.match(first.label, /^x in \[\d+(\.\d+)?, \d+(\.\d+)?\]$/, 'the top bin is closed on the right');
    assert.ok(first.metric > 8 && first.delta > 5, JSON.stringify(first));
    for (let i = 1; i < analysis.slices.length; i++) assert.ok(analysis.slices[i]!.delta <= analysis.slices[i - 1]!.delta);
  });

  void test('bins at quantiles of the evaluated rows, numpy-style interpolation', () => {
    // 1..8: quantiles .25, .5, .75 at positions 1.75, 3.5, 5.25 -> 2.75, 4.5, 6.25
    const rows = [1, 2, 3, 4, 5, 6, 7, 8].map((x) => ({ x }));
    const analysis = errorAnalysis({
      task: 'regression',
      rows,
      features: [{ name: 'x', type: 'numeric' }],
      yTrue: rows.map(() => 0),
      predictions: [0, 0, 1, 1, 2, 2, 3, 3],
      minSliceSize: 1,
    });
    assert.deepEqual(
      analysis.slices.map((s) => [s.label, s.n, s.metric]),
      [
        ['x in [6.25, 8]', 2, 3],
        ['x in [4.5, 6.25)', 2, 2],
        ['x in [2.75, 4.5)', 2, 1],
        ['x in [1, 2.75)', 2, 0],
      ],
    );
  });

  void test('bins at the training quantiles of a reference profile, stretched to hold outside values', () => {
    const profile: ColumnProfile = {
      type: 'numeric',
      count: 5,
      mean: 20,
      std: 14,
      min: 0,
      max: 40,
      quantiles: [0, 10, 20, 30, 40],
      sample: [],
    };
    const xs = [-5, 5, 12, 18, 25, 29, 35, 45];
    const analysis = errorAnalysis({
      task: 'regression',
      rows: xs.map((x) => ({ x })),
      features: [{ name: 'x', type: 'numeric' }],
      yTrue: xs.map(() => 0),
      predictions: xs.map((_, i) => i),
      minSliceSize: 1,
      reference: { features: { x: profile } },
    });
    const labels = analysis.slices.map((s) => s.label).sort();
    assert.deepEqual(labels, ['x in [-5, 10)', 'x in [10, 20)', 'x in [20, 30)', 'x in [30, 45]']);
    assert.ok(analysis.slices.every((s) => s.n === 2));
  });

  void test('a profile made by profileColumn (101 quantiles) gives its quartiles as cut points', () => {
    const training = Array.from({ length: 101 }, (_, i) => i);
    const xs = [3, 30, 60, 90, 99];
    const analysis = errorAnalysis({
      task: 'regression',
      rows: xs.map((x) => ({ x })),
      features: [{ name: 'x', type: 'numeric' }],
      yTrue: [0, 0, 0, 0, 0],
      predictions: [0, 0, 0, 0, 0],
      minSliceSize: 1,
      reference: { features: { x: profileColumn(training, 'numeric') } },
    });
    // every delta is 0 here, so the ranking is by size alone; compare the labels as a set
    assert.deepEqual(
      analysis.slices.map((s) => s.label).sort(),
      ['x in [0, 25)', 'x in [25, 50)', 'x in [50, 75)', 'x in [75, 100]'],
    );
  });

  void test('tied values merge bins; labels keep enough digits to differ', () => {
    const tied = errorAnalysis({
      task: 'regression',
      rows: [0, 0, 0, 0, 0, 0, 5, 5].map((x) => ({ x })),
      features: [{ name: 'x', type: 'numeric' }],
      yTrue: new Array<number>(8).fill(0),
      predictions: new Array<number>(8).fill(1),
      minSliceSize: 1,
    });
    // quantiles 0, 0, 1.25: the cut at the minimum would open an empty bin and is dropped
    assert.deepEqual(tied.slices.map((s) => [s.label, s.n]).sort(), [
      ['x in [0, 1.25)', 6],
      ['x in [1.25, 5]', 2],
    ]);

    const close = errorAnalysis({
      task: 'regression',
      rows: [1234.5, 1234.6, 1234.7, 1234.8, 1234.9].map((x) => ({ x })),
      features: [{ name: 'x', type: 'numeric' }],
      yTrue: [0, 0, 0, 0, 0],
      predictions: [0, 0, 0, 0, 0],
      bins: 2,
      minSliceSize: 1,
    });
    assert.deepEqual(close.slices.map((s) => s.label), ['x in [1234.7, 1234.9]', 'x in [1234.5, 1234.7)']);
  });

  void test('missing values get their own slice; unknown categories follow the known ones', () => {
    const rows: Row[] = [
      { size: 1, colour: 'red' },
      { size: null, colour: 'purple' },
      { size: '', colour: null },
      { size: 'n/a', colour: 'red' },
      { colour: 'green' },
      { size: '2.5', colour: 'purple' },
    ];
    const analysis = errorAnalysis({
      task: 'regression',
      rows,
      features: colourAndSize,
      yTrue: [0, 0, 0, 0, 0, 0],
      predictions: [1, 2, 3, 4, 5, 6],
      minSliceSize: 1,
    });
    const byLabel = new Map(analysis.slices.map((s) => [s.label, s]));
    assert.equal(byLabel.get('size is missing')?.n, 4);
    assert.equal(byLabel.get('size is missing')?.metric, (2 + 3 + 4 + 5) / 4);
    assert.equal(byLabel.get('colour = purple')?.n, 2);
    assert.equal(byLabel.get('colour is missing')?.n, 1);
    assert.equal(byLabel.get('colour = blue'), undefined, 'empty slices are not listed');
  });

  void test('slices under minSliceSize are skipped and counted', () => {
    const rows: Row[] = [...new Array<Row>(6).fill({ c: 'common' }), { c: 'rare' }, { c: 'rare' }, { c: null }];
    const analysis = errorAnalysis({
      task: 'regression',
      rows,
      features: [{ name: 'c', type: 'categorical', categories: ['common', 'rare'] }],
      yTrue: new Array<number>(9).fill(0),
      predictions: [0, 0, 0, 0, 0, 0, 9, 9, 9],
    });
    assert.equal(analysis.minSliceSize, 5);
    assert.deepEqual(analysis.slices.map((s) => s.label), ['c = common']);
    assert.equal(analysis.skippedSlices, 2);
  });
});

void describe('errorAnalysis confused pairs and worst examples', () => {
  // true -> predicted: a->b x3, b->a x1, c->a x3, c->b x2, and five right. Nine errors.
  const outcomes: [number, number, number][] = [
    [0, 1, 3],
    [1, 0, 1],
    [2, 0, 3],
    [2, 1, 2],
    [0, 0, 2],
    [1, 1, 2],
    [2, 2, 1],
  ];
  const yTrue: number[] = [];
  const probabilities: number[][] = [];
  for (const [t, p, count] of outcomes) {
    for (let i = 0; i < count; i++) {
      // exact binary fractions, so equal outcomes have exactly equal losses
      const row = [0.25, 0.25, 0.25];
      row[p] = 0.5;
      yTrue.push(t);
      probabilities.push(row);
    }
  }
  const input: ClassificationErrorInput = {
    task: 'classification',
    rows: yTrue.map((_, i) => ({ id: i })),
    features: [{ name: 'id', type: 'numeric' }],
    labels: ['a', 'b', 'c'],
    yTrue,
    probabilities,
  };

  void test('pairs by count, ties in label order, share of all errors', () => {
    const pairs = errorAnalysis(input).confusedPairs;
    assert.deepEqual(
      pairs.map((p) => [p.trueLabel, p.predictedLabel, p.count]),
      [
        ['a', 'b', 3],
        ['c', 'a', 3],
        ['c', 'b', 2],
        ['b', 'a', 1],
      ],
    );
    assert.deepEqual(
      pairs.map((p) => p.share),
      [3 / 9, 3 / 9, 2 / 9, 1 / 9],
    );
    assert.equal(errorAnalysis({ ...input, k: 2 }).confusedPairs.length, 2);
  });

  void test('worst examples by log loss, with labels and features', () => {
    const worst = errorAnalysis({ ...input, k: 3 }).worst;
    assert.equal(worst.length, 3);
    // every misclassified row gives its true class .25: loss -ln .25, the same for all; ties by index
    assert.deepEqual(
      worst.map((w) => w.index),
      [0, 1, 2],
    );
    assert.deepEqual(worst[0], { index: 0, features: { id: 0 }, actual: 'a', predicted: 'b', loss: -Math.log(0.25) });
    assert.equal(errorAnalysis({ ...input, k: 0 }).worst.length, 0);
  });

  void test('worst regression examples by absolute error, ties by row order', () => {
    const analysis = errorAnalysis({
      task: 'regression',
      rows: [{ f: 'p' }, { f: 'q' }, { f: 'r' }, { f: null }, { f: 't' }, {}],
      features: [{ name: 'f', type: 'categorical', categories: ['p'] }],
      yTrue: [0, 0, 0, 0, 0, 0],
      predictions: [1, -5, 3, 5, 0, -3],
      k: 4,
    });
    assert.deepEqual(
      analysis.worst.map((w) => [w.index, w.loss]),
      [
        [1, 5],
        [3, 5],
        [2, 3],
        [5, 3],
      ],
    );
    assert.deepEqual(analysis.worst[1], { index: 3, features: { f: null }, actual: 0, predicted: 5, loss: 5 });
    assert.deepEqual(analysis.worst[3]!.features, { f: null });
    assert.deepEqual(analysis.confusedPairs, []);
  });
});

void describe('errorAnalysis determinism and checks', () => {
  void test('equal inputs give equal, JSON-safe output', () => {
    const a = errorAnalysis(blueIsHard(3));
    const b = errorAnalysis(blueIsHard(3));
    assert.deepEqual(a, b);
    assert.deepEqual(JSON.parse(JSON.stringify(a)), a);
  });

  void test('flat Float32Array probabilities give the same analysis', () => {
    const input = blueIsHard(5);
    const rows = input.probabilities as number[][];
    const flat = errorAnalysis({ ...input, probabilities: Float32Array.from(rows.flat()) });
    const nested = errorAnalysis(input);
    assert.deepEqual(flat.slices, nested.slices);
    assert.deepEqual(flat.confusedPairs, nested.confusedPairs);
    assert.deepEqual(
      flat.worst.map((w) => w.index),
      nested.worst.map((w) => w.index),
    );
  });

  void test('inherited property names are not feature values', () => {
    const analysis = errorAnalysis({
      task: 'regression',
      rows: [{}, {}, {}, {}, {}],
      features: [{ name: 'constructor', type: 'categorical', categories: ['x'] }],
      yTrue: [0, 0, 0, 0, 0],
      predictions: [1, 1, 1, 1, 1],
      k: 1,
    });
    assert.deepEqual(analysis.slices.map((s) => s.label), ['constructor is missing']);
    assert.deepEqual(analysis.worst[0]!.features, { constructor: null });
  });

  void test('bad options and mismatched lengths are RangeErrors', () => {
    const base = { task: 'regression' as const, rows: [{}], features: [], yTrue: [1], predictions: [1] };
    assert.throws(() => errorAnalysis({ ...base, k: -1 }), /k must be an integer >= 0/);
    assert.throws(() => errorAnalysis({ ...base, bins: 1 }), /bins must be an integer >= 2/);
    assert.throws(() => errorAnalysis({ ...base, minSliceSize: 0.5 }), /minSliceSize/);
    assert.throws(() => errorAnalysis({ ...base, rows: [{}, {}] }), /2 rows but 1 true values/);
    assert.throws(() => errorAnalysis({ ...base, predictions: [1, 2] }), /1 true values but 2 predictions/);
    assert.throws(() => errorAnalysis({ ...blueIsHard(), yTrue: [9, ...blueIsHard().yTrue.slice(1)] }), /yTrue\[0\] = 9/);
  });
});
