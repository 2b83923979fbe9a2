// Special functions behind the drift tests' p-values: log-gamma and the regularized upper incomplete
// gamma function (the chi-squared tail), and the distributions of the Kolmogorov-Smirnov statistic
// (the limiting one, and the finite-n one the two-sample test's asymptotic p-value uses, as scipy does).
// Accuracy against scipy is pinned by tests/unit/monitor-stats.test.ts; the figures are in its comments.

const EPSILON = Number.EPSILON;
const HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);
const SQRT_TWO_PI = Math.sqrt(2 * Math.PI);
const PI_SQUARED = Math.PI * Math.PI;
/** exp() of anything below this is 0 or subnormal, so such terms are dropped. */
const LOG_SMALLEST = -708;

/**
 * Natural log of the gamma function, for x > 0 (NaN otherwise).
 *
 * Stirling's series is accurate to double precision from x = 10 on; smaller x are shifted up with
 * Γ(x) = Γ(x + k) / (x (x+1) ... (x+k-1)). Absolute error a few 1e-15 near the zeros at 1 and 2, relative
 * error about 1e-15 elsewhere.
 */
export function logGamma(x: number): number {
  if (!(x > 0)) return NaN;
  if (x === Infinity) return Infinity;
  let z = x;
  let shift = 1;
  while (z < 10) {
    shift *= z;
    z += 1;
  }
  const w = 1 / (z * z);
  // Terms B_2k / (2k (2k-1) z^(2k-1)) for k = 1..8; the first left out is below 2e-18 at z = 10.
  const series =
    (1 / 12 +
      w *
        (-1 / 360 +
          w * (1 / 1260 + w * (-1 / 1680 + w * (1 / 1188 + w * (-691 / 360360 + w * (1 / 156 + w * (-3617 / 122400)))))))) /
    z;
  return (z - 0.5) * Math.log(z) - z + HALF_LOG_TWO_PI + series - Math.log(shift);
}

/**
 * Regularized upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a), for a > 0 and x >= 0.
 *
 * Below x = a + 1 the power series of the lower function P converges fast and Q = 1 - P is not small
 * enough to lose digits; above it the continued fraction for Q converges fast and keeps Q's relative
 * accuracy however far out in the tail x is (chi-squared p-values of 1e-200 come out right).
 */
export function regularizedGammaQ(a: number, x: number): number {
  if (!(a > 0) || !Number.isFinite(a) || !(x >= 0)) return NaN;
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  // x^a e^-x / Γ(a), the factor both expansions share.
  const logFactor = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) return Math.max(0, 1 - Math.exp(logFactor) * lowerGammaSeries(a, x));
  return Math.exp(logFactor) * upperGammaFraction(a, x);
}

/** Σ_k x^k / (a (a+1) ... (a+k)); the terms shrink by x/(a+k) < 1 each step. */
function lowerGammaSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let k = 1; k < 100_000; k++) {
    term *= x / (a + k);
    sum += term;
    if (term < sum * EPSILON) break;
  }
  return sum;
}

/**
 * Γ(a, x) e^x x^-a as the continued fraction 1/(x+1-a- 1(1-a)/(x+3-a- 2(2-a)/(x+5-a- ...))), evaluated
 * front to back by the modified Lentz method (no need to pick a depth in advance).
 */
function upperGammaFraction(a: number, x: number): number {
  const tiny = 1e-300;
  let denominator = x + 1 - a;
  let numeratorRatio = 1 / tiny;
  let denominatorRatio = 1 / denominator;
  let value = denominatorRatio;
  for (let i = 1; i < 100_000; i++) {
    const partial = -i * (i - a);
    denominator += 2;
    denominatorRatio = partial * denominatorRatio + denominator;
    if (Math.abs(denominatorRatio) < tiny) denominatorRatio = tiny;
    numeratorRatio = denominator + partial / numeratorRatio;
    if (Math.abs(numeratorRatio) < tiny) numeratorRatio = tiny;
    denominatorRatio = 1 / denominatorRatio;
    const step = denominatorRatio * numeratorRatio;
    value *= step;
    if (Math.abs(step - 1) < EPSILON) break;
  }
  return value;
}

/** P(X >= x) for X chi-squared with `dof` degrees of freedom (dof > 0, need not be an integer). */
export function chiSquareSurvival(x: number, dof: number): number {
  if (!(dof > 0) || Number.isNaN(x)) return NaN;
  if (x <= 0) return 1;
  return regularizedGammaQ(dof / 2, x / 2);
}

/**
 * Survival function of the limiting Kolmogorov distribution,
 * Q_KS(λ) = P(K > λ) = 2 Σ_{k>=1} (-1)^(k-1) e^(-2 k² λ²) (scipy.stats.kstwobign.sf, scipy.special.kolmogorov).
 *
 * That alternating series needs more and more terms as λ shrinks and then only yields 1 - (tiny), so for
 * λ <= 0.82 the CDF is summed instead through Jacobi's theta transformation,
 * K(λ) = √(2π)/λ Σ_{k>=1} e^(-(2k-1)² π² / (8λ²)), which converges in three terms there. Below
 * λ = 0.0406 that CDF underflows and the survival is exactly 1.
 */
export function kolmogorovSurvival(lambda: number): number {
  if (Number.isNaN(lambda)) return NaN;
  if (lambda <= 0) return 1;
  if (lambda <= 0.82) {
    const scale = -PI_SQUARED / (8 * lambda * lambda);
    let cdf = 0;
    for (let k = 1; k <= 3; k++) cdf += Math.exp((2 * k - 1) * (2 * k - 1) * scale);
    return Math.max(0, 1 - (SQRT_TWO_PI / lambda) * cdf);
  }
  const exponent = -2 * lambda * lambda;
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = Math.exp(exponent * k * k);
    sum += k % 2 === 1 ? term : -term;
    if (term <= sum * 1e-17) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/**
 * One-sided Kolmogorov-Smirnov (Smirnov) survival P(D_n⁺ >= d) for a sample of n (scipy.special.smirnov).
 *
 * Sums the Birnbaum-Tingey series d Σ_{v=0}^{⌊n(1-d)⌋} C(n,v) (d + v/n)^(v-1) (1 - d - v/n)^(n-v), whose
 * terms are all positive, stopping once the remaining terms cannot change the sum. Each term is taken in
 * logs (so nothing overflows) in the form smirnovLogTerm explains, which keeps about 1e-13 relative
 * accuracy even for n in the hundreds of thousands. Above n = 1e6 it returns the approximation
 * exp(-(6nd+1)² / (18n)), as scipy does.
 */
export function smirnovSurvival(d: number, n: number): number {
  if (!Number.isInteger(n) || n < 1 || Number.isNaN(d)) return NaN;
  if (d <= 0) return 1;
  if (d >= 1) return 0;
  if (n === 1) return 1 - d;
  const nd = n * d;
  if (nd <= 1) return 1 - d * Math.pow(1 + d, n - 1);
  if (nd >= n - 1) return Math.pow(1 - d, n);
  // Hoeffding's bound P(D_n⁺ >= d) <= e^(-2nd²): below double range, the answer is 0.
  if (-2 * nd * d < LOG_SMALLEST) return 0;
  if (n > 1_000_000) return Math.exp(-((6 * nd + 1) ** 2) / (18 * n));
  let sum = Math.exp(n * Math.log1p(-d) - Math.log(d)); // v = 0: (1 - d)^n / d
  let previous = sum;
  for (let v = 1; v < n; v++) {
    if (!((n - v) / n - d > 0)) break;
    const term = Math.exp(smirnovLogTerm(n, d, nd, v));
    sum += term;
    // Past the peak the terms only fall, so (terms left) × term bounds what is still to come.
    if (term < previous && term * (n - v) < 0.25 * EPSILON * sum) break;
    previous = term;
  }
  return Math.min(1, d * sum);
}

/**
 * ln[C(n,v) (d + v/n)^(v-1) (1 - d - v/n)^(n-v)] for 1 <= v < n(1-d). Written plainly, it adds and
 * subtracts logs of size n ln n, and the rounding of those (2e-10 at n = 1e5) would swamp the result.
 * Stirling's formula for the three factorials, ln k! = k ln k - k + ln(2πk)/2 + δ(k), lets the large
 * parts cancel algebraically instead:
 *   v ln(1 + nd/v) + (n-v) ln(1 - nd/(n-v)) - ln(d + v/n) + ln(n / (2π v (n-v)))/2 + δ(n) - δ(v) - δ(n-v),
 * whose pieces are of the size of n d rather than n ln n.
 */
function smirnovLogTerm(n: number, d: number, nd: number, v: number): number {
  const rest = n - v;
  return (
    v * Math.log1p(nd / v) +
    rest * Math.log1p(-nd / rest) -
    Math.log(d + v / n) +
    0.5 * Math.log(n / (2 * Math.PI * v * rest)) +
    stirlingError(n) -
    stirlingError(v) -
    stirlingError(rest)
  );
}

/** δ(k) = ln k! - (k ln k - k + ln(2πk)/2) for integers k >= 1: a table up to 15, the asymptotic series above. */
function stirlingError(k: number): number {
  if (k <= 15) return STIRLING_ERROR_TABLE[k]!;
  const w = 1 / (k * k);
  return (1 / 12 - w * (1 / 360 - w * (1 / 1260 - w * (1 / 1680 - w / 1188)))) / k;
}

// From logGamma, whose absolute error at these small arguments (a few 1e-15) is what the table carries.
const STIRLING_ERROR_TABLE = Float64Array.from({ length: 16 }, (_, k) =>
  k === 0 ? 0 : logGamma(k + 1) - (k * Math.log(k) - k + HALF_LOG_TWO_PI + 0.5 * Math.log(k)),
);

/**
 * Two-sided one-sample Kolmogorov-Smirnov survival P(D_n >= d) (scipy.stats.kstwo.sf(d, n)).
 *
 * Picks a method by region the way scipy does (after Simard and L'Ecuyer 2011), so the two agree to
 * about 1e-13: closed forms at the extremes (Ruben-Gambino), 2 × the one-sided tail where the two tails
 * cannot both be crossed (d >= 0.5) or where that overlap is negligible (n d² large), otherwise 1 - CDF
 * with the CDF from Durbin's matrix method (exact; Marsaglia-Tsang-Wang) while its matrix is small and
 * from the Pelz-Good asymptotic series beyond. Where scipy uses Pomeranz's recursion (n <= 140,
 * 0.75 < n d² <= 4) this uses Durbin's method too: both are exact, and agree to 3e-11 relative.
 *
 * Cost: well under a millisecond to ~15 ms (the one-sided series at n ~ 1e5); Durbin's method at its
 * largest (n near 1e5 and d near (1.4/n)^(2/3)) takes ~100 ms.
 */
export function kolmogorovSmirnovSurvival(d: number, n: number): number {
  if (!Number.isInteger(n) || n < 1 || Number.isNaN(d)) return NaN;
  if (d >= 1) return 0;
  if (d <= 0) return 1;
  const t = n * d;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    // P(D_n < d) = n!/n^n (2t - 1)^n; the running product only shrinks, so it underflows gracefully.
    let cdf = 1;
    for (let i = 1; i <= n && cdf > 0; i++) cdf *= (i / n) * (2 * t - 1);
    return clampProbability(1 - cdf);
  }
  if (t >= n - 1) return clampProbability(2 * Math.pow(1 - d, n));
  if (d >= 0.5) return clampProbability(2 * smirnovSurvival(d, n));
  const ndSquared = t * d;
  if (n <= 140) {
    if (ndSquared <= 4) return clampProbability(1 - durbinCdf(d, n));
    return clampProbability(2 * smirnovSurvival(d, n));
  }
  if (ndSquared >= 370) return 0;
  if (ndSquared >= 2.2) return clampProbability(2 * smirnovSurvival(d, n));
  const approximateCdf = pelzGoodCdf(d, n);
  if (n <= 100_000 && n * Math.pow(d, 1.5) <= 1.4) {
    // Durbin's method costs O(k³ log n), ~100 ms at n = 1e5; 1 - CDF is exactly 1 for any CDF below
    // 5.5e-17, so skip it when the expansion puts the CDF far below that.
    return approximateCdf < 1e-20 ? 1 : clampProbability(1 - durbinCdf(d, n));
  }
  return clampProbability(1 - approximateCdf);
}

function clampProbability(p: number): number {
  return p < 0 ? 0 : p > 1 ? 1 : p;
}

/** Rescaling step for the matrix powers: 2^±256 keeps entries far from both ends of double range. */
const SCALE_UP = 2 ** 256;
const SCALE_DOWN = 2 ** -256;

/**
 * P(D_n < d) by Durbin's matrix method as Marsaglia, Tsang and Wang (2003) arrange it: with
 * n d = k - h (k integer, 0 <= h < 1) and an m × m matrix H, m = 2k - 1, P = n!/n^n (H^n)[k-1][k-1].
 * Cost O(m³ log n); callers keep n d small. Powers are rescaled by 2^-256 as they grow, the scale kept
 * as a separate exponent.
 */
function durbinCdf(d: number, n: number): number {
  const nd = n * d;
  const k = Math.ceil(nd);
  const h = k - nd;
  const size = 2 * k - 1;
  const inverseFactorial = new Float64Array(size + 1);
  inverseFactorial[0] = 1;
  for (let i = 1; i <= size; i++) inverseFactorial[i] = inverseFactorial[i - 1]! / i;

  let base = new Float64Array(size * size);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c <= Math.min(r + 1, size - 1); c++) base[r * size + c] = inverseFactorial[r - c + 1]!;
  }
  const last = size - 1;
  for (let i = 0; i < size; i++) {
    base[i * size] = (1 - Math.pow(h, i + 1)) * inverseFactorial[i + 1]!;
    base[last * size + i] = (1 - Math.pow(h, size - i)) * inverseFactorial[size - i]!;
  }
  base[last * size] = (1 - 2 * Math.pow(h, size) + Math.pow(Math.max(0, 2 * h - 1), size)) * inverseFactorial[size]!;

  // Square-and-multiply; `result` starts as the identity.
  let result = new Float64Array(size * size);
  for (let i = 0; i < size; i++) result[i * size + i] = 1;
  let scratch = new Float64Array(size * size);
  let baseExponent = 0;
  let resultExponent = 0;
  for (let remaining = n; remaining > 0; remaining = Math.floor(remaining / 2)) {
    if (remaining % 2 === 1) {
      multiplyInto(scratch, result, base, size);
      [result, scratch] = [scratch, result];
      resultExponent += baseExponent + rescale(result);
    }
    if (remaining > 1) {
      multiplyInto(scratch, base, base, size);
      [base, scratch] = [scratch, base];
      baseExponent = 2 * baseExponent + rescale(base);
    }
  }
  const centre = result[(k - 1) * size + (k - 1)]!;
  if (!(centre > 0)) return 0;
  const logP = Math.log(centre) + resultExponent * Math.LN2 + logGamma(n + 1) - n * Math.log(n);
  return Math.min(1, Math.exp(logP));
}

/** out = a · b for size × size row-major matrices; `out` must be a third buffer. */
function multiplyInto(out: Float64Array, a: Float64Array, b: Float64Array, size: number): void {
  out.fill(0);
  for (let i = 0; i < size; i++) {
    const row = i * size;
    for (let k = 0; k < size; k++) {
      const aik = a[row + k]!;
      if (aik === 0) continue;
      const bRow = k * size;
      for (let j = 0; j < size; j++) out[row + j]! += aik * b[bRow + j]!;
    }
  }
}

/** Scales a matrix down by 2^256 while its largest entry exceeds 2^256; returns the powers of two removed. */
function rescale(matrix: Float64Array): number {
  let largest = 0;
  for (let i = 0; i < matrix.length; i++) largest = Math.max(largest, Math.abs(matrix[i]!));
  let removed = 0;
  while (largest > SCALE_UP) {
    for (let i = 0; i < matrix.length; i++) matrix[i]! *= SCALE_DOWN;
    largest *= SCALE_DOWN;
    removed += 256;
  }
  return removed;
}

/**
 * P(D_n <= d) by Pelz and Good's (1976) expansion K0(z) + K1(z)/√n + K2(z)/n + K3(z)/n^1.5 in z = d√n,
 * each K written with Jacobi's theta transformation so its series converges for small z.
 */
function pelzGoodCdf(d: number, n: number): number {
  const z = Math.sqrt(n) * d;
  const z2 = z * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  if (-PI_SQUARED / (8 * z2) < LOG_SMALLEST) return 0;
  const terms = Math.ceil((16 * z) / Math.PI);

  // Sums over odd m = 2k - 1 of polynomials in u = π² m² / 4, weighted by e^(-π² m² / (8 z²)).
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  // Sums over all k >= 1, weighted by e^(-π² k² / (2 z²)), that K2 and K3 also need.
  let t2 = 0;
  let t3 = 0;
  for (let k = 1; k <= terms; k++) {
    const m = 2 * k - 1;
    const u = (PI_SQUARED * m * m) / 4;
    const oddWeight = Math.exp(-u / (2 * z2));
    s0 += oddWeight;
    s1 += (u - z2) * oddWeight;
    s2 += (6 * z6 + 2 * z4 + (2 * z4 - 5 * z2) * u + (1 - 2 * z2) * u * u) * oddWeight;
    s3 +=
      (-30 * z6 - 90 * z4 * z4 + (135 * z4 - 96 * z6) * u + (212 * z4 - 60 * z2) * u * u + (5 - 30 * z2) * u * u * u) *
      oddWeight;
    const piK2 = PI_SQUARED * k * k;
    const allWeight = Math.exp(-piK2 / (2 * z2));
    t2 += k * k * allWeight;
    t3 += (3 * z2 - piK2) * k * k * allWeight;
  }
  const k0 = (SQRT_TWO_PI * s0) / z;
  const k1 = (SQRT_TWO_PI * s1) / (6 * z4);
  const k2 = (SQRT_TWO_PI * s2) / (72 * z6 * z) - (PI_SQUARED * SQRT_TWO_PI * t2) / (36 * z2 * z);
  const k3 = (SQRT_TWO_PI * s3) / (6480 * z6 * z4) + (PI_SQUARED * SQRT_TWO_PI * t3) / (216 * z6);
  const rootN = Math.sqrt(n);
  return k0 + k1 / rootN + k2 / n + k3 / (n * rootN);
}
