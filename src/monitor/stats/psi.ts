// Population Stability Index over quantile bins of the reference.
//
// Binning convention: bins are closed on the right. With inner edges e_0 < e_1 < ... < e_{k-1}, bin 0 is
// (-∞, e_0], bin i is (e_{i-1}, e_i], and bin k is (e_{k-1}, ∞). A value on an edge goes to the bin
// below it, so the reference share of bins 0..i is its empirical CDF at e_i, the quantile the edge was
// taken from. (numpy: searchsorted(edges, x, side='left'); pandas.cut's default right=True.)

/** What PSI and Evidently put in place of an empty bin's share, so the log stays finite. */
export const PSI_EMPTY_FRACTION = 0.0001;

/**
 * Inner bin edges for `bins` equal-probability bins, from reference quantiles taken at the evenly spaced
 * probabilities 0, 1/(q-1), ..., 1 (q = quantiles.length >= 2, ascending; the profile's 101 by default).
 * Edge b sits at probability b/bins, interpolated linearly between neighbouring quantiles when it falls
 * between them (as numpy's default quantile would). An edge equal to the previous one is dropped, so ties
 * in the reference leave fewer, wider bins and the edges are strictly increasing.
 */
export function quantileEdges(quantiles: readonly number[], bins: number): Float64Array {
  if (quantiles.length < 2) {
    throw new RangeError(`quantileEdges: need at least 2 quantiles (the minimum and maximum), got ${quantiles.length}`);
  }
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`quantileEdges: bins must be an integer >= 1, got ${bins}`);
  const edges = new Float64Array(bins - 1);
  let count = 0;
  for (let b = 1; b < bins; b++) {
    const position = ((quantiles.length - 1) * b) / bins;
    const below = Math.floor(position);
    const lower = quantiles[below]!;
    const upper = quantiles[Math.min(below + 1, quantiles.length - 1)]!;
    const weight = position - below;
    const edge = weight === 0 || lower === upper ? lower : lower + (upper - lower) * weight;
    if (count === 0 || edge > edges[count - 1]!) edges[count++] = edge;
  }
  return edges.slice(0, count);
}

/**
 * Bin of x for inner `edges` (strictly increasing): the number of edges strictly below x, in
 * 0..edges.length (see the convention at the top of this file). Binary search, O(log edges).
 * NaN compares false with every edge and lands in the last bin; callers drop non-finite values first.
 */
export function binIndex(edges: Float64Array, x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x <= edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * PSI = Σ_i (c_i - r_i) ln(c_i / r_i), with r the reference's share of each bin and c the current
 * window's (currentCounts / their total). A share of 0 on either side becomes `epsilon` first, as
 * Evidently does; the reference shares are used as given (not renormalised). 0 for identical shares;
 * above ~0.1 is commonly read as a shift, above ~0.25 as a major one.
 * Throws RangeError when the lengths differ, there are no bins, or the current counts sum to 0.
 */
export function psi(
  referenceFractions: readonly number[],
  currentCounts: readonly number[],
  epsilon = PSI_EMPTY_FRACTION,
): number {
  const bins = referenceFractions.length;
  if (bins === 0 || currentCounts.length !== bins) {
    throw new RangeError(`psi: need the same non-zero number of bins, got ${bins} and ${currentCounts.length}`);
  }
  let total = 0;
  for (let i = 0; i < bins; i++) total += currentCounts[i]!;
  if (!(total > 0)) throw new RangeError('psi: the current counts sum to 0');
  let sum = 0;
  for (let i = 0; i < bins; i++) {
    const reference = referenceFractions[i]!;
    const current = currentCounts[i]! / total;
    const r = reference === 0 ? epsilon : reference;
    const c = current === 0 ? epsilon : current;
    sum += (c - r) * Math.log(c / r);
  }
  return sum;
}
