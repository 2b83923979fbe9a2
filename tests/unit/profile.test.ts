// Column profiles (the drift reference in a manifest) and the seeded generator behind their samples.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { profileColumn, seededRandom } from '../../src/core/index.js';
import { columnProfileSchema } from '../../src/core/manifest.js';
import type { ColumnProfile } from '../../src/core/index.js';

type NumericProfile = Extract<ColumnProfile, { type: 'numeric' }>;
type CategoricalProfile = Extract<ColumnProfile, { type: 'categorical' }>;

function numeric(values: readonly (number | string)[], opts?: Parameters<typeof profileColumn>[2]): NumericProfile {
  const p = profileColumn(values, 'numeric', opts);
  assert.equal(p.type, 'numeric');
  return p as NumericProfile;
}

function near(actual: number, expected: number, tolerance = 1e-12): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not within ${tolerance} of ${expected}`);
}

void describe('profileColumn (numeric)', () => {
  void test('count, mean, population std, min and max', () => {
    const p = numeric([2, 4, 4, 4, 5, 5, 7, 9]);
    assert.equal(p.count, 8);
    near(p.mean, 5);
    near(p.std, 2); // the textbook population-std example
    assert.equal(p.min, 2);
    assert.equal(p.max, 9);
  });

  void test('std stays accurate far from zero', () => {
    const p = numeric([1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16]);
    near(p.mean, 1e9 + 10, 1e-6);
    near(p.std, Math.sqrt(22.5), 1e-6);
  });

  void test('quantiles at evenly spaced probabilities with linear interpolation', () => {
    const p = numeric([10, 1, 4, 2, 3], { quantiles: 5 });
    // sorted 1 2 3 4 10; probabilities 0, .25, .5, .75, 1 fall on the order statistics exactly
    assert.deepEqual(p.quantiles, [1, 2, 3, 4, 10]);

    const q = numeric([0, 10], { quantiles: 11 });
    q.quantiles.forEach((v, i) => near(v, i));

    // numpy.quantile([1, 2, 3, 4], [0, 1/3, 2/3, 1]) -> 1, 2, 3, 4; and at 0.5 -> 2.5
    const r = numeric([4, 3, 2, 1], { quantiles: 3 });
    assert.deepEqual(r.quantiles, [1, 2.5, 4]);
  });

  void test('101 quantiles by default, first = min and last = max', () => {
    const values = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1000);
    const p = numeric(values);
    assert.equal(p.quantiles.length, 101);
    assert.equal(p.quantiles[0], p.min);
    assert.equal(p.quantiles[100], p.max);
    near(p.quantiles[50]!, 499.5);
    for (let i = 1; i < p.quantiles.length; i++) assert.ok(p.quantiles[i]! >= p.quantiles[i - 1]!);
  });

  void test('numeric strings count, other values are skipped', () => {
    const p = numeric([1, '2', ' 3 ', '', 'abc', Number.NaN, Number.POSITIVE_INFINITY]);
    assert.equal(p.count, 3);
    near(p.mean, 2);
  });

  void test('an empty column profiles as zeros and still validates', () => {
    const p = numeric([]);
    assert.deepEqual(p, { type: 'numeric', count: 0, mean: 0, std: 0, min: 0, max: 0, quantiles: [], sample: [] });
    columnProfileSchema.parse(p);
  });

  void test('the sample is drawn without replacement, deterministic per seed, in row order', () => {
    const values = Array.from({ length: 5000 }, (_, i) => i);
    const a = numeric(values, { sampleSize: 200, seed: 42 });
    const b = numeric(values, { sampleSize: 200, seed: 42 });
    const c = numeric(values, { sampleSize: 200, seed: 43 });
    assert.equal(a.sample.length, 200);
    assert.deepEqual(a.sample, b.sample);
    assert.notDeepEqual(a.sample, c.sample);
    assert.equal(new Set(a.sample).size, 200, 'no value drawn twice');
    for (let i = 1; i < a.sample.length; i++) assert.ok(a.sample[i]! > a.sample[i - 1]!, 'kept in row order');
    // A uniform draw of 200 from 0..4999 has a mean near 2500 (sd of the mean ~ 100).
    const mean = a.sample.reduce((s, x) => s + x, 0) / a.sample.length;
    assert.ok(Math.abs(mean - 2500) < 500, `sample mean ${mean}`);
  });

  void test('a column shorter than the sample size is kept whole; default size is 1000', () => {
    assert.deepEqual(numeric([3, 1, 2], { sampleSize: 10 }).sample, [3, 1, 2]);
    assert.equal(numeric(Array.from({ length: 3000 }, (_, i) => i)).sample.length, 1000);
  });

  void test('invalid options are refused', () => {
    assert.throws(() => numeric([1, 2], { quantiles: 1 }), RangeError);
    assert.throws(() => numeric([1, 2], { sampleSize: -1 }), RangeError);
  });

  void test('the profile validates against the manifest schema', () => {
    columnProfileSchema.parse(numeric([1, 2, 3, 4.5]));
  });
});

void describe('profileColumn (categorical)', () => {
  void test('counts every value by its string form, keys sorted', () => {
    const p = profileColumn(['rain', 'clear', 'rain', 'snow', 'clear', 'rain', 3, '3'], 'categorical') as CategoricalProfile;
    assert.equal(p.type, 'categorical');
    assert.equal(p.count, 8);
    assert.deepEqual(p.counts, { '3': 2, clear: 2, rain: 3, snow: 1 });
    columnProfileSchema.parse(p);
  });

  void test('the same values in another order give the same JSON', () => {
    const a = profileColumn(['x', 'y', 'z', 'y'], 'categorical');
    const b = profileColumn(['y', 'z', 'y', 'x'], 'categorical');
    assert.equal(JSON.stringify(a), JSON.stringify(b));
  });

  void test('a category named __proto__ is counted like any other', () => {
    const p = profileColumn(['__proto__', '__proto__', 'a'], 'categorical') as CategoricalProfile;
    assert.equal(Object.getOwnPropertyDescriptor(p.counts, '__proto__')?.value, 2);
    assert.equal(JSON.stringify(p.counts), '{"__proto__":2,"a":1}');
  });
});

void describe('seededRandom', () => {
  void test('the same seed gives the same sequence, different seeds differ', () => {
    const a = seededRandom(123);
    const b = seededRandom(123);
    const c = seededRandom(124);
    const seqA = Array.from({ length: 50 }, () => a());
    const seqB = Array.from({ length: 50 }, () => b());
    const seqC = Array.from({ length: 50 }, () => c());
    assert.deepEqual(seqA, seqB);
    assert.notDeepEqual(seqA, seqC);
  });

  void test('values lie in [0, 1) and look uniform', () => {
    const random = seededRandom(0);
    const n = 100_000;
    const buckets = new Array<number>(10).fill(0);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const x = random();
      assert.ok(x >= 0 && x < 1);
      sum += x;
      buckets[Math.floor(x * 10)]!++;
    }
    near(sum / n, 0.5, 0.01);
    // Chi-squared with 9 degrees of freedom: 27.9 is the 0.999 quantile.
    const expected = n / 10;
    const chi2 = buckets.reduce((s, k) => s + (k - expected) ** 2 / expected, 0);
    assert.ok(chi2 < 27.9, `chi-squared ${chi2}`);
  });

  void test('neighbouring seeds are not correlated at the first draw', () => {
    const firsts = Array.from({ length: 1000 }, (_, seed) => seededRandom(seed)());
    const mean = firsts.reduce((s, x) => s + x, 0) / firsts.length;
    near(mean, 0.5, 0.05);
    assert.ok(new Set(firsts).size === firsts.length);
  });

  void test('is stable across releases (pinned values)', () => {
    const random = seededRandom(2024);
    const pinned = Array.from({ length: 3 }, () => random());
    assert.deepEqual(pinned, PINNED_2024);
  });

  void test('non-finite seeds are refused', () => {
    assert.throws(() => seededRandom(Number.NaN), RangeError);
  });
});

// First three draws of seededRandom(2024). Changing the generator changes every example model's sample,
// so this pins it on purpose.
const PINNED_2024 = [0.30613172031007707, 0.7629903007764369, 0.2383514428511262];
