// Drift statistics checked against scipy/numpy on the cases in tests/fixtures/drift/cases.json (made by
// make_fixtures.py in the same folder, which says how to regenerate them and which conventions they pin).
//
// Largest differences measured with scipy 1.17.1 / numpy 2.4.6 (the tolerances below leave headroom):
//   KS statistic 3e-17 abs; exact p-value 3.3e-15 rel (down to p = 4e-145); asymptotic p-value 4e-13 rel;
//   Wasserstein and normed 4e-16 rel; PSI bit-identical; chi-squared statistic bit-identical and p-value
//   2e-15 rel; Jensen-Shannon 6e-17 abs; chi2.sf 2e-13 rel; gammaincc 4e-13 rel; gammaln 2e-15 abs;
//   kstwobign.sf 2e-15 abs; kstwo.sf 3e-11 rel / 1.5e-13 abs (Durbin's method where scipy uses Pomeranz's);
//   smirnov 4e-14 rel.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  binIndex,
  categoryFractions,
  chiSquareGoodnessOfFit,
  chiSquareSurvival,
  jensenShannonDistance,
  kolmogorovSmirnovSurvival,
  kolmogorovSurvival,
  ksTwoSample,
  logGamma,
  normedWasserstein,
  psi,
  quantileEdges,
  regularizedGammaQ,
  smirnovSurvival,
  wassersteinDistance,
} from '../../src/monitor/stats/index.js';

interface Formula {
  seed: number;
  count: number;
  shift: number;
  scale: number;
  grid: number | null;
}

interface KsCase {
  name: string;
  reference?: number[];
  current?: number[];
  referenceFormula?: Formula;
  currentFormula?: Formula;
  checksums?: { reference: number; current: number };
  expected: { statistic: number; pValue: number; method: 'exact' | 'asymptotic' };
}

interface WassersteinCase {
  name: string;
  reference: number[];
  current: number[];
  referenceStd: number;
  expected: { distance: number; normed: number };
}

interface PsiCase {
  name: string;
  bins: number;
  reference: number[];
  current: number[];
  quantiles: number[];
  expected: { edges: number[]; referenceFractions: number[]; currentCounts: number[]; psi: number };
}

interface ChiSquareCase {
  name: string;
  observed: number[];
  expected: number[];
  result: { statistic: number | 'Infinity'; pValue: number; dof: number };
}

interface JensenShannonCase {
  name: string;
  p: number[];
  q: number[];
  expected: { raw: number; filled: number; pFilled: number[] };
}

interface Fixtures {
  ks: KsCase[];
  wasserstein: WassersteinCase[];
  psi: PsiCase[];
  chiSquare: ChiSquareCase[];
  jensenShannon: JensenShannonCase[];
  special: {
    chiSquareSurvival: { x: number; dof: number; sf: number }[];
    regularizedGammaQ: { a: number; x: number; q: number }[];
    logGamma: { x: number; value: number }[];
    kolmogorovSurvival: { lambda: number; sf: number }[];
    kolmogorovSmirnovSurvival: { d: number; n: number; sf: number }[];
    smirnovSurvival: { d: number; n: number; sf: number }[];
  };
}

const fixtures = JSON.parse(readFileSync(new URL('../fixtures/drift/cases.json', import.meta.url), 'utf8')) as Fixtures;

/** |actual - expected| <= absolute + relative · |expected|; equal infinities and exact matches pass. */
function near(actual: number, expected: number, absolute: number, relative: number, what: string): void {
  if (actual === expected) return;
  const allowed = absolute + relative * Math.abs(expected);
  assert.ok(Math.abs(actual - expected) <= allowed, `${what}: ${actual} is not within ${allowed} of ${expected}`);
}

/** The fixture script's formula_sample, operation for operation (see its docstring). */
function formulaSample(f: Formula): Float64Array {
  const modulus = 2147483647;
  const multiplier = 48271;
  let state = f.seed;
  const out = new Float64Array(f.count);
  for (let k = 0; k < f.count; k++) {
    state = (multiplier * state) % modulus;
    const u1 = state / modulus;
    state = (multiplier * state) % modulus;
    const u2 = state / modulus;
    const x = f.shift + f.scale * (u1 + u2);
    out[k] = f.grid === null ? x : Math.floor(x * f.grid) / f.grid;
  }
  return out;
}

function sorted(values: readonly number[] | Float64Array): Float64Array {
  return Float64Array.from(values).sort();
}

function sample(values: number[] | undefined, formula: Formula | undefined): Float64Array {
  if (values) return sorted(values);
  assert.ok(formula, 'a KS case has either values or a formula');
  return sorted(formulaSample(formula));
}

function binCounts(edges: Float64Array, values: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const x of values) counts[binIndex(edges, x)]! += 1;
  return counts;
}

describe('ksTwoSample against scipy.stats.ks_2samp', () => {
  for (const c of fixtures.ks) {
    test(c.name, () => {
      const reference = sample(c.reference, c.referenceFormula);
      const current = sample(c.current, c.currentFormula);
      if (c.checksums) {
        near(reference.reduce((a, b) => a + b, 0), c.checksums.reference, 1e-6, 0, 'generated reference');
        near(current.reduce((a, b) => a + b, 0), c.checksums.current, 1e-6, 0, 'generated current');
      }
      const result = ksTwoSample(reference, current);
      assert.equal(result.method, c.expected.method);
      near(result.statistic, c.expected.statistic, 1e-12, 0, 'statistic');
      if (result.method === 'exact') near(result.pValue, c.expected.pValue, 1e-12, 1e-9, 'exact p-value');
      else near(result.pValue, c.expected.pValue, 0, 1e-11, 'asymptotic p-value');
      // The test is symmetric in its two samples.
      const swapped = ksTwoSample(current, reference);
      assert.equal(swapped.statistic, result.statistic);
      near(swapped.pValue, result.pValue, 1e-15, 1e-12, 'swapped p-value');
    });
  }

  test('identical samples give D = 0 and p = 1, exact and asymptotic', () => {
    const small = sorted([3, 1, 2, 2, 5]);
    assert.deepEqual(ksTwoSample(small, small), { statistic: 0, pValue: 1, method: 'exact' });
    const large = sorted(formulaSample({ seed: 5, count: 12_000, shift: 0, scale: 1, grid: null }));
    assert.deepEqual(ksTwoSample(large, large), { statistic: 0, pValue: 1, method: 'asymptotic' });
  });

  test('ties across the samples move both empirical CDFs at once', () => {
    // Pooled values 1, 2, 3: after 1 the CDFs are 1/2 and 1/2, after 2 they are 1 and 1: D = 0.
    const result = ksTwoSample(sorted([1, 2]), sorted([1, 2]));
    assert.equal(result.statistic, 0);
    assert.equal(ksTwoSample(sorted([1, 1, 2]), sorted([1, 2, 2])).statistic, 1 / 3);
  });

  test('the p-value falls as the current sample shifts away', () => {
    const reference = sorted(formulaSample({ seed: 7, count: 400, shift: 0, scale: 1, grid: null }));
    let previous = Infinity;
    for (const shift of [0, 0.05, 0.1, 0.2, 0.4]) {
      const current = sorted(formulaSample({ seed: 8, count: 300, shift, scale: 1, grid: null }));
      const { pValue } = ksTwoSample(reference, current);
      assert.ok(pValue < previous, `shift ${shift}: p ${pValue} did not fall below ${previous}`);
      previous = pValue;
    }
  });

  test('empty samples are a RangeError', () => {
    assert.throws(() => ksTwoSample(new Float64Array(0), sorted([1])), RangeError);
    assert.throws(() => ksTwoSample(sorted([1]), new Float64Array(0)), RangeError);
  });
});

describe('wassersteinDistance against scipy.stats.wasserstein_distance', () => {
  for (const c of fixtures.wasserstein) {
    test(c.name, () => {
      const reference = sorted(c.reference);
      const current = sorted(c.current);
      near(wassersteinDistance(reference, current), c.expected.distance, 1e-14, 1e-12, 'W1');
      near(normedWasserstein(reference, current, c.referenceStd), c.expected.normed, 1e-14, 1e-12, 'normed W1');
    });
  }

  test('is 0 for identical samples, symmetric, and equal to a pure shift', () => {
    const a = sorted([0.5, -1, 2, 2, 3.25]);
    assert.equal(wassersteinDistance(a, a), 0);
    const b = sorted([4, 0, 1.5]);
    assert.equal(wassersteinDistance(a, b), wassersteinDistance(b, a));
    near(wassersteinDistance(a, a.map((x) => x + 0.75)), 0.75, 1e-15, 1e-15, 'shifted');
  });

  test('empty samples are a RangeError', () => {
    assert.throws(() => wassersteinDistance(new Float64Array(0), sorted([1])), RangeError);
    assert.throws(() => normedWasserstein(sorted([1]), new Float64Array(0), 1), RangeError);
  });
});

describe('PSI against numpy', () => {
  for (const c of fixtures.psi) {
    test(c.name, () => {
      const edges = quantileEdges(c.quantiles, c.bins);
      // Same arithmetic in the same order as the script: the edges and counts match exactly.
      assert.deepEqual(Array.from(edges), c.expected.edges);
      const referenceFractions = binCounts(edges, c.reference).map((n) => n / c.reference.length);
      assert.deepEqual(referenceFractions, c.expected.referenceFractions);
      const currentCounts = binCounts(edges, c.current);
      assert.deepEqual(currentCounts, c.expected.currentCounts);
      near(psi(referenceFractions, currentCounts), c.expected.psi, 1e-12, 1e-12, 'PSI');
    });
  }

  test('bins are closed on the right, outer bins open-ended', () => {
    const edges = Float64Array.from([1, 2, 3]);
    assert.deepEqual(
      [-Infinity, 0.5, 1, 1.5, 2, 2.0000001, 3, 4, Infinity].map((x) => binIndex(edges, x)),
      [0, 0, 0, 1, 1, 2, 2, 3, 3],
    );
    assert.equal(binIndex(new Float64Array(0), 42), 0);
  });

  test('edges drop ties and interpolate between quantiles', () => {
    assert.deepEqual(Array.from(quantileEdges([0, 0, 0, 1, 2], 4)), [0, 1]);
    assert.deepEqual(Array.from(quantileEdges([0, 10], 4)), [2.5, 5, 7.5]);
    assert.deepEqual(Array.from(quantileEdges([0, 10], 1)), []);
  });

  test('is 0 for identical shares, fills empty bins, and grows with the shift', () => {
    assert.equal(psi([0.25, 0.25, 0.5], [10, 10, 20]), 0);
    // An empty current bin counts as 0.0001: (0.0001 - 0.5) ln(0.0001/0.5) + (1 - 0.5) ln(1/0.5).
    near(psi([0.5, 0.5], [0, 8]), (0.0001 - 0.5) * Math.log(0.0001 / 0.5) + 0.5 * Math.log(2), 1e-15, 1e-14, 'filled');
    const small = psi([0.2, 0.3, 0.5], [25, 30, 45]);
    const large = psi([0.2, 0.3, 0.5], [40, 30, 30]);
    assert.ok(small > 0 && large > small);
  });

  test('bad inputs are a RangeError', () => {
    assert.throws(() => quantileEdges([1], 10), RangeError);
    assert.throws(() => quantileEdges([1, 2], 0), RangeError);
    assert.throws(() => psi([0.5, 0.5], [1]), RangeError);
    assert.throws(() => psi([], []), RangeError);
    assert.throws(() => psi([0.5, 0.5], [0, 0]), RangeError);
  });
});

describe('chiSquareGoodnessOfFit against scipy.stats.chisquare', () => {
  for (const c of fixtures.chiSquare) {
    test(c.name, () => {
      const result = chiSquareGoodnessOfFit(c.observed, c.expected);
      assert.equal(result.dof, c.result.dof);
      if (c.result.statistic === 'Infinity') assert.equal(result.statistic, Infinity);
      else near(result.statistic, c.result.statistic, 1e-12, 1e-12, 'statistic');
      near(result.pValue, c.result.pValue, 1e-300, 1e-9, 'p-value');
    });
  }

  test('the p-value falls as the counts move away from the reference shares', () => {
    let previous = Infinity;
    for (const moved of [0, 5, 10, 20, 40]) {
      const { pValue } = chiSquareGoodnessOfFit([100 + moved, 100, 100 - moved], [1, 1, 1]);
      assert.ok(pValue < previous, `moved ${moved}: p ${pValue} did not fall below ${previous}`);
      previous = pValue;
    }
  });

  test('bad inputs are a RangeError', () => {
    assert.throws(() => chiSquareGoodnessOfFit([1, 2], [1]), RangeError);
    assert.throws(() => chiSquareGoodnessOfFit([], []), RangeError);
    assert.throws(() => chiSquareGoodnessOfFit([0, 0], [1, 1]), RangeError);
    assert.throws(() => chiSquareGoodnessOfFit([1, 1], [0, 0]), RangeError);
    assert.throws(() => chiSquareGoodnessOfFit([1, -1], [1, 1]), RangeError);
    assert.throws(() => chiSquareGoodnessOfFit([1, NaN], [1, 1]), RangeError);
  });
});

describe('jensenShannonDistance against scipy.spatial.distance.jensenshannon', () => {
  for (const c of fixtures.jensenShannon) {
    test(c.name, () => {
      near(jensenShannonDistance(c.p, c.q), c.expected.raw, 1e-12, 0, 'raw counts');
      assert.deepEqual(categoryFractions(c.p), c.expected.pFilled);
      near(jensenShannonDistance(categoryFractions(c.p), categoryFractions(c.q)), c.expected.filled, 1e-12, 0, 'filled');
    });
  }

  test('is symmetric, 0 for identical inputs, at most sqrt(ln 2)', () => {
    const p = [3, 0, 9, 1];
    const q = [1, 4, 4, 0];
    assert.equal(jensenShannonDistance(p, q), jensenShannonDistance(q, p));
    assert.equal(jensenShannonDistance(p, p), 0);
    near(jensenShannonDistance([1, 0], [0, 1]), Math.sqrt(Math.LN2), 1e-15, 0, 'disjoint');
  });

  test('bad inputs are a RangeError', () => {
    assert.throws(() => jensenShannonDistance([1], [1, 2]), RangeError);
    assert.throws(() => jensenShannonDistance([0, 0], [1, 2]), RangeError);
    assert.throws(() => categoryFractions([]), RangeError);
    assert.throws(() => categoryFractions([0, 0]), RangeError);
  });
});

describe('special functions against scipy', () => {
  const s = fixtures.special;

  test('chiSquareSurvival = scipy.stats.chi2.sf', () => {
    for (const c of s.chiSquareSurvival) near(chiSquareSurvival(c.x, c.dof), c.sf, 1e-300, 1e-11, `x=${c.x} dof=${c.dof}`);
  });

  test('regularizedGammaQ = scipy.special.gammaincc', () => {
    for (const c of s.regularizedGammaQ) near(regularizedGammaQ(c.a, c.x), c.q, 1e-300, 1e-11, `a=${c.a} x=${c.x}`);
  });

  test('logGamma = scipy.special.gammaln', () => {
    for (const c of s.logGamma) near(logGamma(c.x), c.value, 1e-14, 1e-14, `x=${c.x}`);
    assert.ok(Number.isNaN(logGamma(0)) && Number.isNaN(logGamma(-1)));
  });

  test('kolmogorovSurvival = scipy.stats.kstwobign.sf', () => {
    for (const c of s.kolmogorovSurvival) near(kolmogorovSurvival(c.lambda), c.sf, 1e-14, 1e-12, `lambda=${c.lambda}`);
  });

  test('kolmogorovSmirnovSurvival = scipy.stats.kstwo.sf', () => {
    for (const c of s.kolmogorovSmirnovSurvival) {
      near(kolmogorovSmirnovSurvival(c.d, c.n), c.sf, 1e-12, 1e-9, `d=${c.d} n=${c.n}`);
    }
  });

  test('smirnovSurvival = scipy.special.smirnov', () => {
    for (const c of s.smirnovSurvival) near(smirnovSurvival(c.d, c.n), c.sf, 1e-15, 1e-12, `d=${c.d} n=${c.n}`);
  });

  test('survival functions fall as their argument grows', () => {
    let chi = Infinity;
    let kolmogorov = Infinity;
    let finite = Infinity;
    for (let step = 1; step <= 60; step++) {
      const nextChi = chiSquareSurvival(step, 7);
      const nextKolmogorov = kolmogorovSurvival(step * 0.05);
      const nextFinite = kolmogorovSmirnovSurvival(step * 0.01, 500);
      assert.ok(nextChi <= chi && nextKolmogorov <= kolmogorov && nextFinite <= finite, `step ${step}`);
      [chi, kolmogorov, finite] = [nextChi, nextKolmogorov, nextFinite];
    }
    assert.equal(chiSquareSurvival(0, 3), 1);
    assert.equal(kolmogorovSurvival(0), 1);
  });
});
