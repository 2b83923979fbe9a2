// Drift tests on category counts: Pearson's chi-squared goodness of fit of the current counts to the
// reference's proportions, and the Jensen-Shannon distance between the two distributions.
import { chiSquareSurvival } from './special.js';

export interface ChiSquareResult {
  statistic: number;
  pValue: number;
  /** Degrees of freedom: categories kept (seen on either side) minus 1. */
  dof: number;
}

/**
 * Chi-squared goodness of fit of `observed` (current counts) to `expected` (reference counts over the same
 * categories, in the same order), after scaling expected to the observed total: Evidently's chi-squared
 * drift test, scipy.stats.chisquare(observed, expected · Σobserved / Σexpected).
 *
 * Categories empty on both sides are dropped (they carry no information and would make 0/0). A category
 * with expected 0 but observed > 0 makes the statistic Infinity and the p-value 0: the current data
 * has something the reference never had. With a single category kept, dof is 0 and the result is
 * statistic 0, p-value 1 (nothing can differ).
 * Throws RangeError for different lengths, no categories, negative or non-finite counts, or a side
 * whose counts sum to 0.
 */
export function chiSquareGoodnessOfFit(observed: readonly number[], expected: readonly number[]): ChiSquareResult {
  const totalObserved = checkedTotal(observed, 'chiSquareGoodnessOfFit', 'observed');
  const totalExpected = checkedTotal(expected, 'chiSquareGoodnessOfFit', 'expected');
  if (observed.length !== expected.length) {
    throw new RangeError(`chiSquareGoodnessOfFit: ${observed.length} observed counts but ${expected.length} expected`);
  }
  const scale = totalObserved / totalExpected;
  let statistic = 0;
  let kept = 0;
  for (let i = 0; i < observed.length; i++) {
    const o = observed[i]!;
    const e = expected[i]! * scale;
    if (o === 0 && e === 0) continue;
    kept++;
    const difference = o - e;
    statistic += e === 0 ? Infinity : (difference * difference) / e;
  }
  const dof = kept - 1;
  if (dof === 0) return { statistic: 0, pValue: 1, dof };
  return { statistic, pValue: statistic === Infinity ? 0 : chiSquareSurvival(statistic, dof), dof };
}

/**
 * Jensen-Shannon distance (natural log, so in [0, √ln 2]) between two distributions given as
 * non-negative weights over the same categories, each normalised to sum 1 first:
 * scipy.spatial.distance.jensenshannon(p, q). Symmetric; 0 only for proportional inputs.
 *
 * Evidently's test first fills empty categories (categoryFractions), and so should callers that want its
 * numbers: a category empty on one side counts slightly less towards the distance once filled.
 * Throws RangeError for different lengths, no categories, negative or non-finite weights, or a side that
 * sums to 0.
 */
export function jensenShannonDistance(p: readonly number[], q: readonly number[]): number {
  const totalP = checkedTotal(p, 'jensenShannonDistance', 'p');
  const totalQ = checkedTotal(q, 'jensenShannonDistance', 'q');
  if (p.length !== q.length) throw new RangeError(`jensenShannonDistance: lengths differ (${p.length} and ${q.length})`);
  let divergence = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]! / totalP;
    const qi = q[i]! / totalQ;
    const mid = (pi + qi) / 2;
    if (pi > 0) divergence += pi * Math.log(pi / mid);
    if (qi > 0) divergence += qi * Math.log(qi / mid);
  }
  // The two Kullback-Leibler terms are >= 0 in exact arithmetic; rounding can leave -1e-17, whose square
  // root would be NaN.
  return Math.sqrt(Math.max(0, divergence / 2));
}

/** What Evidently puts in place of an empty category's share before Jensen-Shannon. */
export const EMPTY_CATEGORY_FRACTION = 0.0001;

/**
 * Each count's share of the total, with 0 replaced by `epsilon` (not renormalised afterwards: the
 * distance normalises anyway), as Evidently prepares categories for Jensen-Shannon.
 * Throws RangeError for no categories, negative or non-finite counts, or counts summing to 0.
 */
export function categoryFractions(counts: readonly number[], epsilon = EMPTY_CATEGORY_FRACTION): number[] {
  const total = checkedTotal(counts, 'categoryFractions', 'counts');
  return counts.map((c) => (c === 0 ? epsilon : c / total));
}

function checkedTotal(values: readonly number[], caller: string, what: string): number {
  if (values.length === 0) throw new RangeError(`${caller}: ${what} is empty`);
  let total = 0;
  for (const v of values) {
    if (!(v >= 0) || v === Infinity) throw new RangeError(`${caller}: ${what} must be finite and >= 0, got ${v}`);
    total += v;
  }
  if (!(total > 0)) throw new RangeError(`${caller}: ${what} sums to 0`);
  return total;
}
