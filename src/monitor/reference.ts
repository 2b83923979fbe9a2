// A column's drift reference, precomputed once from the manifest's training profile (or from the first
// live predictions of a version that has none) so that every window's test only touches the current
// data: the sorted sample for KS and Wasserstein, the PSI bins, and the category counts.
import { profileColumn, quantileOfSorted } from '../core/index.js';
import type { ColumnProfile, ProfileOptions } from '../core/index.js';
import { binIndex, quantileEdges } from './stats/index.js';

/** Bins of the PSI histogram, at the reference's deciles (the usual PSI practice). */
export const PSI_BINS = 10;

/**
 * A numeric reference with at most this many distinct values is treated as categorical by the
 * default tests (Evidently's rule: chi-squared or Jensen-Shannon on the values, not KS or Wasserstein,
 * whose statistics are dominated by ties on so few values).
 */
export const DISCRETE_MAX_UNIQUES = 5;

/** Points at which the reference's quantile function is tabulated for the Wasserstein distance. */
export const QUANTILE_FUNCTION_POINTS = 1000;

export interface NumericReference {
  kind: 'numeric';
  /** Rows of the reference data (the profile's count, not the sample's length): drives the default test. */
  rows: number;
  /** The profile's random sample, ascending. */
  sorted: Float64Array;
  /**
   * The reference's quantile function at probabilities (i + 0.5) / QUANTILE_FUNCTION_POINTS, interpolated
   * from the profile's quantiles, which summarise every training row rather than a sample of 1000. The
   * Wasserstein distance is measured against it: against the sample, the sample's own noise (a mean off
   * by ~0.03 std) rivals the 0.1 threshold and tripled the false alarms on stable 500-row windows.
   */
  quantileFunction: Float64Array;
  /** Population standard deviation of the full reference data (what normed Wasserstein divides by). */
  std: number;
  /** Inner edges of the PSI bins; `edges.length + 1` bins (fewer than PSI_BINS when quantiles tie). */
  edges: Float64Array;
  /** Share of the reference sample in each PSI bin. */
  binFractions: number[];
  /** Distinct values and their counts in the sample, when there are at most DISCRETE_MAX_UNIQUES of them. */
  discrete?: { values: number[]; counts: number[] };
}

export interface CategoricalReference {
  kind: 'categorical';
  rows: number;
  /** Categories in the profile's key order. */
  categories: string[];
  /** Reference count of each category, aligned with `categories`. */
  counts: number[];
}

export type ColumnReference = NumericReference | CategoricalReference;

/**
 * Precomputes the reference of one profiled column.
 *
 * Returns undefined when the profile cannot serve as a reference: a numeric profile with no rows or an
 * empty sample, or a categorical one with no rows. That is a property of the training data (a column
 * that was always missing), not a programming error, so the caller skips the column (drift reports list
 * it as skipped) instead of failing the whole model.
 */
export function referenceFromProfile(profile: ColumnProfile): ColumnReference | undefined {
  if (profile.type === 'categorical') {
    const categories = Object.keys(profile.counts);
    const counts = categories.map((c) => profile.counts[c] ?? 0);
    const total = counts.reduce((a, b) => a + b, 0);
    if (profile.count === 0 || total === 0) return undefined;
    return { kind: 'categorical', rows: profile.count, categories, counts };
  }

  if (profile.count === 0 || profile.sample.length === 0) return undefined;
  const sorted = Float64Array.from(profile.sample).sort();
  // A profile always carries its quantiles; recomputing them from the sample only covers hand-written
  // manifests that left them out.
  const quantiles = profile.quantiles.length >= 2 ? profile.quantiles : sampleQuantiles(sorted);
  const edges = quantileEdges(quantiles, PSI_BINS);
  const quantileTable = Float64Array.from(quantiles);
  const quantileFunction = Float64Array.from({ length: QUANTILE_FUNCTION_POINTS }, (_, i) =>
    quantileOfSorted(quantileTable, (i + 0.5) / QUANTILE_FUNCTION_POINTS),
  );
  // The bins are quantile bins, so the fractions would be ~1/10 each, except that ties (many equal
  // values on an edge) make some bins hold much more: counting the sample keeps PSI honest there.
  const binCounts = new Array<number>(edges.length + 1).fill(0);
  for (const x of sorted) binCounts[binIndex(edges, x)]! += 1;
  const reference: NumericReference = {
    kind: 'numeric',
    rows: profile.count,
    sorted,
    quantileFunction,
    std: profile.std,
    edges,
    binFractions: binCounts.map((c) => c / sorted.length),
  };
  const discrete = distinctValues(sorted);
  if (discrete) reference.discrete = discrete;
  return reference;
}

/**
 * A reference from raw values, for versions whose manifest has no profile: the first live predictions
 * become the reference. Profiles the values exactly as training would (same sample size and seed), so
 * the two kinds of reference behave the same. Undefined when no value is usable (see referenceFromProfile).
 */
export function referenceFromValues(
  values: readonly (number | string)[],
  kind: 'numeric' | 'categorical',
  options: ProfileOptions = {},
): ColumnReference | undefined {
  return referenceFromProfile(profileColumn(values, kind, options));
}

function sampleQuantiles(sorted: Float64Array): number[] {
  return Array.from({ length: 101 }, (_, i) => quantileOfSorted(sorted, i / 100));
}

function distinctValues(sorted: Float64Array): { values: number[]; counts: number[] } | undefined {
  const values: number[] = [];
  const counts: number[] = [];
  for (const x of sorted) {
    if (values.length > 0 && values[values.length - 1] === x) {
      counts[counts.length - 1]! += 1;
    } else {
      if (values.length === DISCRETE_MAX_UNIQUES) return undefined;
      values.push(x);
      counts.push(1);
    }
  }
  return { values, counts };
}
