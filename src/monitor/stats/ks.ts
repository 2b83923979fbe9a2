// Two-sample Kolmogorov-Smirnov test, matching scipy.stats.ks_2samp(reference, current) with its
// defaults (two-sided, method='auto'): exact p-value up to 10 000 observations per sample, the
// asymptotic one beyond.
import { kolmogorovSmirnovSurvival } from './special.js';

export interface KsResult {
  /** sup |F_reference - F_current| over the pooled values. */
  statistic: number;
  /** Two-sided p-value of the null hypothesis that both samples come from one continuous distribution. */
  pValue: number;
  method: 'exact' | 'asymptotic';
}

/** Largest sample (either one) for which the exact p-value is computed, as scipy's method='auto'. */
export const KS_EXACT_MAX_N = 10_000;

/**
 * Two-sample KS test.
 *
 * Both arrays must be sorted ascending and free of NaN; the caller sorts once (the reference is sorted
 * when it is built, and every test of a window can share one sorted copy), so this does not re-check.
 * Throws RangeError when either sample is empty.
 *
 * Exact: the probability that the statistic reaches the observed one when all C(m+n, m) orderings of
 * the pooled sample are equally likely. That null assumes no ties, as scipy's does; ties can only lower D,
 * so with many of them the p-value errs on the high (conservative) side.
 * Cost O(m n D), at most O(m n): a few ms up to 5000 × 5000 when the samples are close; with large D,
 * 2 ms at 1000 × 500, 60 ms at 5000 × 5000, 150 ms at 10000 × 10000.
 * Asymptotic: scipy's choice, the one-sample two-sided distribution at the effective size
 * round(m n / (m + n)), P(D_en >= D) (kolmogorovSmirnovSurvival), not the cruder limiting form
 * Q_KS(√en · D).
 */
export function ksTwoSample(reference: Float64Array, current: Float64Array): KsResult {
  const m = reference.length;
  const n = current.length;
  if (m === 0 || n === 0) {
    throw new RangeError(`ksTwoSample: both samples must be non-empty (got ${m} and ${n} values)`);
  }
  // Every F_ref - F_cur is (i n - j m) / (m n) for integers i, j: keeping the numerator as an integer
  // makes the exact test's path counting compare exactly, with no rounding of D.
  const gap = largestCdfGap(reference, current);
  const statistic = gap / (m * n);
  if (Math.max(m, n) <= KS_EXACT_MAX_N) {
    return { statistic, pValue: exactPValue(Math.min(m, n), Math.max(m, n), gap), method: 'exact' };
  }
  const large = Math.max(m, n);
  const small = Math.min(m, n);
  const effectiveSize = roundHalfToEven((large * small) / (large + small));
  return { statistic, pValue: kolmogorovSmirnovSurvival(statistic, effectiveSize), method: 'asymptotic' };
}

/**
 * max over the pooled values of |i n - j m|, where i and j count the values <= x in each sample. Both
 * pointers move past a whole run of equal values before comparing, so ties across the samples count as
 * one jump of both empirical CDFs (searchsorted side='right' in scipy).
 */
function largestCdfGap(a: Float64Array, b: Float64Array): number {
  const m = a.length;
  const n = b.length;
  let i = 0;
  let j = 0;
  let largest = 0;
  // Once one sample is used up the gap only shrinks, so the walk can stop there.
  while (i < m && j < n) {
    const ai = a[i]!;
    const bj = b[j]!;
    const x = ai <= bj ? ai : bj;
    while (i < m && a[i]! <= x) i++;
    while (j < n && b[j]! <= x) j++;
    const gap = Math.abs(i * n - j * m);
    if (gap > largest) largest = gap;
  }
  return largest;
}

/**
 * Probability a band cell's mass must reach to be carried on. Cells far from the diagonal hold
 * probabilities that underflow anyway; cutting at 1e-290 rather than at 0 skips them (halving the time
 * when D is large and the band wide) and drops less than 1e-280 in total, so p-values above that keep
 * their relative accuracy.
 */
const NEGLIGIBLE_MASS = 1e-290;

/**
 * P(D >= gap / (rows cols)) under the null, by walking the lattice of (i, j) = (values drawn from the
 * first sample, from the second) in the order of a random permutation of the pooled sample: from (i, j)
 * the next value comes from the first sample with probability (rows - i) / (rows - i + cols - j).
 * `mass[j]` holds the probability of reaching (i, j) with |i cols - j rows| < gap all along; every step
 * that leaves that band adds its probability to `escaped`, which is the p-value.
 *
 * Summing the escapes (all positive) instead of taking 1 - P(stayed inside) keeps tiny p-values
 * accurate to a relative 1e-13 rather than an absolute 1e-16, and probabilities rather than path counts
 * cannot overflow. Only band cells with non-negligible mass are visited, so the cost is rows × the
 * smaller of the band's width (2 D cols) and a few thousand.
 */
function exactPValue(rows: number, cols: number, gap: number): number {
  if (gap === 0) return 1;
  const mass = new Float64Array(cols + 1);
  mass[0] = 1;
  // 1/t for every count of values still to draw: a multiply per cell instead of a divide.
  const inverse = new Float64Array(rows + cols + 1);
  for (let t = 1; t <= rows + cols; t++) inverse[t] = 1 / t;
  let escaped = 0;
  // Row i's band is lowestColumn(i) <= j <= highestColumn(i); both bounds only grow with i.
  const lowestColumn = (i: number): number => Math.max(0, Math.floor((i * cols - gap) / rows) + 1);
  const highestColumn = (i: number): number => Math.min(cols, Math.ceil((i * cols + gap) / rows) - 1);
  let lo = 0;
  let hi = highestColumn(0);
  // Columns of the current row that received mass from the row above; `mass` is 0 outside them.
  let liveLo = 0;
  let liveHi = 0;
  for (let i = 0; i < rows; i++) {
    const nextLo = lowestColumn(i + 1);
    const nextHi = highestColumn(i + 1);
    // A row with no cell inside the band: every path crosses it outside, so D >= observed is certain.
    if (nextLo > nextHi) return 1;
    const rowsLeft = rows - i;
    let nextLiveLo = -1;
    let nextLiveHi = -1;
    let fromLeft = 0;
    for (let j = Math.max(lo, liveLo); j <= hi; j++) {
      const p = mass[j]! + fromLeft;
      if (p < NEGLIGIBLE_MASS) {
        mass[j] = 0;
        fromLeft = 0;
        // Nothing more comes from above, and nothing worth carrying from the left.
        if (j > liveHi) break;
        continue;
      }
      const colsLeft = cols - j;
      const share = p * inverse[rowsLeft + colsLeft]!;
      const down = share * rowsLeft;
      fromLeft = share * colsLeft;
      if (j >= nextLo && j <= nextHi) {
        mass[j] = down;
        if (nextLiveLo < 0) nextLiveLo = j;
        nextLiveHi = j;
      } else {
        mass[j] = 0;
        escaped += down;
      }
    }
    // The step right from the band's last cell leaves it (zero when that is the last column or the
    // walk stopped early).
    escaped += fromLeft;
    if (nextLiveLo < 0) break;
    lo = nextLo;
    hi = nextHi;
    liveLo = nextLiveLo;
    liveHi = nextLiveHi;
  }
  // The last row runs inside the band to (rows, cols), so nothing escapes there.
  return escaped > 1 ? 1 : escaped;
}

/** numpy.round: halves go to the even neighbour. */
function roundHalfToEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
