// Column profiles: the compact description of a training column that a manifest carries as the drift
// reference (summary statistics, quantiles and a random sample for numeric columns, category counts for
// categorical ones), plus the small seeded generator that makes the sample reproducible.
import type { ColumnProfile } from './manifest.js';

export interface ProfileOptions {
  /** Number of quantiles, at probabilities 0, 1/(n-1), ..., 1 (at least 2). @defaultValue 101 */
  quantiles?: number;
  /** Most values kept in the random sample; a shorter column is kept whole. @defaultValue 1000 */
  sampleSize?: number;
  /** Seed of the sample's random draw. @defaultValue 0 */
  seed?: number;
}

/**
 * Profiles one column.
 *
 * Numeric: values that are not finite numbers (or numeric strings) are skipped and not counted. `std`
 * is the population standard deviation (divisor n), the same one a standardizing scaler uses. Quantiles
 * use linear interpolation between order statistics (numpy's default). The sample is drawn without
 * replacement and listed in the column's original order. An empty column profiles as zeros with no
 * quantiles and an empty sample, since JSON has no NaN.
 *
 * Categorical: every value counts, keyed by its string form; keys are sorted so the profile serialises
 * the same way whatever the row order.
 */
export function profileColumn(
  values: readonly (number | string)[],
  type: 'numeric' | 'categorical',
  opts: ProfileOptions = {},
): ColumnProfile {
  return type === 'numeric' ? profileNumeric(values, opts) : profileCategorical(values);
}

function profileNumeric(values: readonly (number | string)[], opts: ProfileOptions): ColumnProfile {
  const quantileCount = opts.quantiles ?? 101;
  const sampleSize = opts.sampleSize ?? 1000;
  if (!Number.isInteger(quantileCount) || quantileCount < 2) {
    throw new RangeError(`profileColumn: quantiles must be an integer >= 2, got ${quantileCount}`);
  }
  if (!Number.isInteger(sampleSize) || sampleSize < 0) {
    throw new RangeError(`profileColumn: sampleSize must be a non-negative integer, got ${sampleSize}`);
  }

  const xs: number[] = [];
  for (const v of values) {
    const x = typeof v === 'number' ? v : v.trim() === '' ? Number.NaN : Number(v);
    if (Number.isFinite(x)) xs.push(x);
  }
  const n = xs.length;
  if (n === 0) {
    return { type: 'numeric', count: 0, mean: 0, std: 0, min: 0, max: 0, quantiles: [], sample: [] };
  }

  // Two passes: the mean first, then squared deviations from it, which stays accurate when the values
  // sit far from zero (a one-pass sum of squares would cancel catastrophically).
  let sum = 0;
  for (const x of xs) sum += x;
  const mean = sum / n;
  let squares = 0;
  for (const x of xs) squares += (x - mean) * (x - mean);
  const std = Math.sqrt(squares / n);

  const sorted = Float64Array.from(xs).sort();
  const quantiles: number[] = [];
  for (let i = 0; i < quantileCount; i++) {
    quantiles.push(quantileOfSorted(sorted, i / (quantileCount - 1)));
  }

  return {
    type: 'numeric',
    count: n,
    mean,
    std,
    min: sorted[0]!,
    max: sorted[n - 1]!,
    quantiles,
    sample: sampleWithoutReplacement(xs, sampleSize, opts.seed ?? 0),
  };
}

/** Quantile at probability p of ascending values, interpolating linearly between neighbours. */
export function quantileOfSorted(sorted: Float64Array, p: number): number {
  const position = (sorted.length - 1) * p;
  const below = Math.floor(position);
  const lower = sorted[below]!;
  if (below + 1 >= sorted.length) return lower;
  const upper = sorted[below + 1]!;
  const weight = position - below;
  // Equal neighbours return exactly that value, without rounding noise from the interpolation.
  return weight === 0 || lower === upper ? lower : lower + (upper - lower) * weight;
}

/** Draws k of the values without replacement (a partial Fisher-Yates shuffle of the row indices). */
function sampleWithoutReplacement(xs: readonly number[], k: number, seed: number): number[] {
  if (k >= xs.length) return [...xs];
  const random = seededRandom(seed);
  const indices = Array.from(xs, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (indices.length - i));
    const picked = indices[j]!;
    indices[j] = indices[i]!;
    indices[i] = picked;
  }
  return indices
    .slice(0, k)
    .sort((a, b) => a - b)
    .map((i) => xs[i]!);
}

function profileCategorical(values: readonly (number | string)[]): ColumnProfile {
  const counts = new Map<string, number>();
  for (const v of values) {
    const key = String(v);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const keys = [...counts.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // fromEntries defines own properties, so a category called "__proto__" is counted like any other.
  return { type: 'categorical', count: values.length, counts: Object.fromEntries(keys.map((k) => [k, counts.get(k)!])) };
}

/**
 * A seeded pseudo-random generator returning floats in [0, 1): the sfc32 ("small fast counting")
 * generator, 128 bits of state, with its state filled from the 32-bit seed by a splitmix-style integer
 * hash. Equal seeds give equal sequences on every platform. Not for cryptography.
 */
export function seededRandom(seed: number): () => number {
  if (!Number.isFinite(seed)) throw new RangeError(`seededRandom: seed must be a finite number, got ${seed}`);
  let mix = Math.trunc(seed) >>> 0;
  const nextSeedWord = (): number => {
    mix = (mix + 0x9e3779b9) >>> 0;
    let z = mix;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  };
  let a = nextSeedWord();
  let b = nextSeedWord();
  let c = nextSeedWord();
  let counter = 1;

  const next = (): number => {
    const out = (a + b + counter) >>> 0;
    counter = (counter + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + out) >>> 0;
    return out / 4294967296;
  };
  // Run the generator a few rounds so nearby seeds have diverged before the first value is used.
  for (let i = 0; i < 15; i++) next();
  return next;
}
