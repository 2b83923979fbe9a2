// The few statistics cleaning and preprocessing need, on plain arrays of finite numbers.
import { quantileOfSorted } from '../../core/index.js';
import { compareStrings } from './values.js';

export function mean(xs: readonly number[]): number {
  let sum = 0;
  for (const x of xs) sum += x;
  return sum / xs.length;
}

/** Population standard deviation (divisor n), two-pass so values far from zero stay accurate. */
export function populationStd(xs: readonly number[], m = mean(xs)): number {
  let squares = 0;
  for (const x of xs) squares += (x - m) * (x - m);
  return Math.sqrt(squares / xs.length);
}

export function sortedNumbers(xs: readonly number[]): Float64Array {
  return Float64Array.from(xs).sort();
}

/** Quantile at probability p of ascending values (numpy's default interpolation); shared with the profiles. */
export { quantileOfSorted };

export function median(xs: readonly number[]): number {
  return quantileOfSorted(sortedNumbers(xs), 0.5);
}

/** Most frequent value; ties go to the smallest number, or the first string in code-unit order. */
export function mode<T extends number | string>(xs: readonly T[]): T {
  const counts = new Map<T, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  let best: T | undefined;
  let bestCount = 0;
  for (const [value, count] of counts) {
    if (count > bestCount || (count === bestCount && best !== undefined && before(value, best))) {
      best = value;
      bestCount = count;
    }
  }
  if (best === undefined) throw new RangeError('mode of an empty list');
  return best;
}

function before<T extends number | string>(a: T, b: T): boolean {
  return typeof a === 'number' && typeof b === 'number' ? a < b : compareStrings(String(a), String(b)) < 0;
}
