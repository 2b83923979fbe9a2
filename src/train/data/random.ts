// Seeded draws built on core's seededRandom (sfc32): shuffles, normal, gamma and beta variates.
import { seededRandom } from '../../core/index.js';

export type Uniform = () => number;

export function uniform(seed: number): Uniform {
  return seededRandom(seed);
}

/** Fisher-Yates shuffle in place. */
export function shuffleInPlace<T>(items: T[], random: Uniform): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = items[i]!;
    items[i] = items[j]!;
    items[j] = t;
  }
  return items;
}

/** Standard normal variate (Box-Muller; 1 - u keeps the logarithm's argument in (0, 1]). */
export function normal(random: Uniform): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * Gamma(shape, 1) variate by Marsaglia and Tsang's squeeze method; shapes below 1 use the boost
 * Gamma(a) = Gamma(a + 1) · U^(1/a).
 */
export function gamma(shape: number, random: Uniform): number {
  if (shape < 1) return gamma(shape + 1, random) * Math.pow(1 - random(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = normal(random);
    const t = 1 + c * x;
    if (t <= 0) continue;
    const v = t * t * t;
    const u = 1 - random();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, b) variate as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). */
export function beta(a: number, b: number, random: Uniform): number {
  const x = gamma(a, random);
  const y = gamma(b, random);
  // Very small shapes can underflow both draws to 0; the distribution then sits at the two ends.
  if (x + y === 0) return random() < a / (a + b) ? 1 : 0;
  return x / (x + y);
}
