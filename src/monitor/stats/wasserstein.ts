// First Wasserstein (earth mover's) distance between two empirical distributions, and Evidently's
// normed version of it, which is comparable across features.

/** Smallest standard deviation normedWasserstein divides by, so a constant reference does not divide by 0. */
export const MIN_WASSERSTEIN_NORM = 0.001;

/**
 * W1 = ∫ |F_reference(x) - F_current(x)| dx (scipy.stats.wasserstein_distance with unit weights).
 *
 * Both arrays must be sorted ascending and finite (the caller sorts once); one merge walk, O(m + n).
 * Throws RangeError when either is empty.
 */
export function wassersteinDistance(referenceSorted: Float64Array, currentSorted: Float64Array): number {
  const m = referenceSorted.length;
  const n = currentSorted.length;
  if (m === 0 || n === 0) {
    throw new RangeError(`wassersteinDistance: both samples must be non-empty (got ${m} and ${n} values)`);
  }
  let i = 0;
  let j = 0;
  let previous = Math.min(referenceSorted[0]!, currentSorted[0]!);
  // Between consecutive pooled values the CDF difference is the constant (i n - j m) / (m n): summing
  // the integer numerators times the widths and dividing once at the end saves a division per step.
  let area = 0;
  while (i < m || j < n) {
    const x =
      j >= n || (i < m && referenceSorted[i]! <= currentSorted[j]!) ? referenceSorted[i]! : currentSorted[j]!;
    area += Math.abs(i * n - j * m) * (x - previous);
    while (i < m && referenceSorted[i]! <= x) i++;
    while (j < n && currentSorted[j]! <= x) j++;
    previous = x;
  }
  return area / (m * n);
}

/**
 * W1 divided by the reference's population standard deviation, floored at MIN_WASSERSTEIN_NORM: the
 * shift in units of the reference's spread, comparable across features (Evidently's `wasserstein` test).
 */
export function normedWasserstein(
  referenceSorted: Float64Array,
  currentSorted: Float64Array,
  referenceStd: number,
): number {
  return wassersteinDistance(referenceSorted, currentSorted) / Math.max(referenceStd, MIN_WASSERSTEIN_NORM);
}
