// Quantile bins of a numeric feature for slice analysis: cut points at evenly spaced quantiles, taken
// from the training distribution when the manifest's reference profile has it (so the bins mean the
// same thing on every evaluation set), else from the evaluated values themselves.

export interface QuantileBins {
  /** Ascending, distinct cut points; a value x falls in bin `number of cuts <= x`. */
  readonly cuts: readonly number[];
  /** One label per bin, such as `petal_length in [1, 1.6)`; the last bin is closed on the right. */
  readonly labels: readonly string[];
}

/**
 * Splits a numeric feature into up to `bins` quantile bins.
 *
 * @param name - feature name, used in the labels
 * @param values - the finite values being evaluated (any order)
 * @param bins - wanted number of bins; ties in the data can merge cut points and leave fewer
 * @param referenceQuantiles - training quantiles at evenly spaced probabilities 0, 1/(m-1), ..., 1
 *   (the manifest profile's `quantiles`); when absent or shorter than 2, `values` are used
 * @returns null when there are no values or every cut point collapses into a single bin
 */
export function quantileBins(
  name: string,
  values: readonly number[],
  bins: number,
  referenceQuantiles?: readonly number[],
): QuantileBins | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const source = referenceQuantiles && referenceQuantiles.length >= 2 ? referenceQuantiles : sorted;

  const low = interpolateEvenly(source, 0);
  const high = interpolateEvenly(source, 1);
  const cuts: number[] = [];
  for (let j = 1; j < bins; j++) {
    const q = interpolateEvenly(source, j / bins);
    // A cut at the lowest edge would open an empty bin; repeated cuts come from ties.
    if (q > low && q !== cuts[cuts.length - 1]) cuts.push(q);
  }
  if (cuts.length === 0) return null;

  // Evaluated values may lie outside the training range; the outer bins stretch to hold them so the
  // labels stay true of the rows they count.
  const edges = [Math.min(low, sorted[0]!), ...cuts, Math.max(high, sorted[sorted.length - 1]!)];
  const text = formatDistinct(edges);
  const labels = cuts.map((_, i) => `${name} in [${text[i]}, ${text[i + 1]})`);
  labels.push(`${name} in [${text[cuts.length]}, ${text[cuts.length + 1]}]`);
  return { cuts, labels };
}

/** Index of the bin holding x: the number of cut points at or below it (binary search). */
export function binOf(bins: QuantileBins, x: number): number {
  let lo = 0;
  let hi = bins.cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bins.cuts[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Value at probability p of points taken at evenly spaced probabilities, interpolating linearly.
 * Sorted data are such points, so this is also numpy's default quantile of sorted data.
 */
function interpolateEvenly(points: ArrayLike<number>, p: number): number {
  const position = (points.length - 1) * p;
  const below = Math.floor(position);
  const lower = points[below]!;
  const upper = points[Math.min(below + 1, points.length - 1)]!;
  const weight = position - below;
  return weight === 0 || lower === upper ? lower : lower + (upper - lower) * weight;
}

/**
 * Short decimal forms of ascending edges: the fewest significant digits (at least 3, and never
 * fewer than the integer part needs, so 1234.5 does not print as 1230) at which different edges still
 * print differently, so neighbouring labels never look the same.
 */
function formatDistinct(edges: readonly number[]): string[] {
  for (let digits = 3; digits < 17; digits++) {
    const text = edges.map((x) => String(Number(x.toPrecision(Math.max(digits, integerDigits(x))))));
    if (text.every((t, i) => i === 0 || t !== text[i - 1] || edges[i] === edges[i - 1])) return text;
  }
  return edges.map(String);
}

function integerDigits(x: number): number {
  return x === 0 || !Number.isFinite(x) ? 1 : Math.min(100, Math.max(1, Math.floor(Math.log10(Math.abs(x))) + 1));
}
