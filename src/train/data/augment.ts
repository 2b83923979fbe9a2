// Augmentation of encoded training data (after preprocessing, on the training split only). Seeded: the
// same inputs, options and seed give the same rows.
import { inputWidth } from '../../core/index.js';
import type { Feature } from '../../core/index.js';
import type { Task } from './coerce.js';
import { DataError } from './errors.js';
import { beta, normal, shuffleInPlace, uniform } from './random.js';
import type { Uniform } from './random.js';

export interface AugmentInput {
  /** Encoded features, row-major: rows × width. */
  x: Float32Array;
  /** Classification: the class index of each row. Regression: the target value of each row. */
  y: Int32Array | Float32Array | readonly number[];
  /** Input width; must equal the width of `features`. */
  width: number;
  task: Task;
  /** Number of classes (classification only). */
  classes?: number;
  /** The manifest features behind `x`, which tell numeric input columns from one-hot ones. */
  features: readonly Feature[];
}

export interface AugmentOptions {
  /**
   * Gaussian noise: `copies` noisy copies of every row, with N(0, std²) added to the numeric input
   * columns only (one-hot columns stay 0/1). `std` is in encoded units, so after standardizing 0.1 is a
   * tenth of the training standard deviation. @defaultValue none
   */
  noise?: { std: number; copies: number };
  /**
   * Mixup: `copies` × rows new rows, each a convex mix λ·a + (1-λ)·b of a row and a random partner,
   * λ ~ Beta(alpha, alpha), applied to x and to the targets (one-hot rows for classification, so the
   * result is a soft label). One-hot input columns mix too, which is how mixup is defined.
   * @defaultValue none
   */
  mixup?: { alpha: number; copies: number };
  /**
   * Oversampling (classification): duplicates rows of each smaller class until it holds
   * round(targetRatio × the largest class's count) rows. `true` means targetRatio 1 (balanced).
   * @defaultValue `false`
   */
  oversample?: boolean | { targetRatio: number };
}

/**
 * The augmented set, in this order: the original rows, the oversampled duplicates, then the noisy
 * copies of those, then the mixup rows. With B = original + duplicates, `rows` is
 * B × (1 + noise.copies + mixup.copies). `x` is rows × width.
 * Classification returns `yOneHot`, rows × classes: one-hot rows, soft rows (summing to 1) for mixup.
 * Regression returns `yValues`, one value per row.
 */
export type Augmented =
  | { task: 'classification'; rows: number; x: Float32Array; classes: number; yOneHot: Float32Array }
  | { task: 'regression'; rows: number; x: Float32Array; yValues: Float32Array };

export function augment(data: AugmentInput, options: AugmentOptions, seed: number): Augmented {
  const { x, width, task } = data;
  const n = data.y.length;
  if (width !== inputWidth(data.features)) {
    throw new DataError(`augment: width ${width} does not match the features' input width ${inputWidth(data.features)}`);
  }
  if (x.length !== n * width) throw new DataError(`augment: x holds ${x.length} values, expected ${n} rows × ${width}`);
  const noiseCopies = copiesOf('noise', options.noise?.copies);
  const mixupCopies = copiesOf('mixup', options.mixup?.copies);
  if (options.noise && !(options.noise.std >= 0 && Number.isFinite(options.noise.std))) {
    throw new DataError(`augment: noise std must be a finite number >= 0, got ${options.noise.std}`);
  }
  if (options.mixup && !(options.mixup.alpha > 0 && Number.isFinite(options.mixup.alpha))) {
    throw new DataError(`augment: mixup alpha must be a finite number > 0, got ${options.mixup.alpha}`);
  }

  // Targets as rows of `yWidth` values: one-hot for classification, the value for regression.
  const yWidth = task === 'classification' ? classCount(data) : 1;
  const yIn = new Float32Array(n * yWidth);
  for (let i = 0; i < n; i++) {
    const v = data.y[i]!;
    if (task === 'classification') {
      if (!Number.isInteger(v) || v < 0 || v >= yWidth) throw new DataError(`augment: y[${i}] = ${v} is not a class index below ${yWidth}`);
      yIn[i * yWidth + v] = 1;
    } else {
      yIn[i] = v;
    }
  }

  const random = uniform(seed);
  const base = baseRows(data, options.oversample, random);
  const b = base.length;
  const rows = b * (1 + noiseCopies + mixupCopies);
  const xOut = new Float32Array(rows * width);
  const yOut = new Float32Array(rows * yWidth);
  base.forEach((src, r) => {
    xOut.set(x.subarray(src * width, (src + 1) * width), r * width);
    yOut.set(yIn.subarray(src * yWidth, (src + 1) * yWidth), r * yWidth);
  });

  let next = b;
  if (noiseCopies > 0) {
    const numeric = numericColumns(data.features);
    const std = options.noise!.std;
    for (let c = 0; c < noiseCopies; c++) {
      for (let r = 0; r < b; r++, next++) {
        xOut.copyWithin(next * width, r * width, (r + 1) * width);
        yOut.copyWithin(next * yWidth, r * yWidth, (r + 1) * yWidth);
        for (const col of numeric) xOut[next * width + col]! += std * normal(random);
      }
    }
  }
  if (mixupCopies > 0) {
    const alpha = options.mixup!.alpha;
    for (let c = 0; c < mixupCopies; c++) {
      for (let r = 0; r < b; r++, next++) {
        const partner = Math.floor(random() * b);
        const lambda = beta(alpha, alpha, random);
        mix(xOut, width, next, r, partner, lambda);
        mix(yOut, yWidth, next, r, partner, lambda);
      }
    }
  }

  return task === 'classification'
    ? { task, rows, x: xOut, classes: yWidth, yOneHot: yOut }
    : { task, rows, x: xOut, yValues: yOut };
}

/** Writes lambda·row a + (1 - lambda)·row b of a row-major matrix into row `to`. */
function mix(m: Float32Array, width: number, to: number, a: number, b: number, lambda: number): void {
  for (let k = 0; k < width; k++) m[to * width + k] = lambda * m[a * width + k]! + (1 - lambda) * m[b * width + k]!;
}

/** Input column indices that hold numeric features. */
export function numericColumns(features: readonly Feature[]): number[] {
  const out: number[] = [];
  let offset = 0;
  for (const f of features) {
    if (f.type === 'numeric') out.push(offset++);
    else offset += f.categories.length;
  }
  return out;
}

/** Source row of every base row: each original row once, then the oversampled duplicates by class. */
function baseRows(data: AugmentInput, oversample: AugmentOptions['oversample'], random: Uniform): number[] {
  const n = data.y.length;
  const rows = Array.from({ length: n }, (_, i) => i);
  if (oversample === undefined || oversample === false) return rows;
  if (data.task !== 'classification') throw new DataError('augment: oversampling balances classes, so it needs a classification task');
  const ratio = oversample === true ? 1 : oversample.targetRatio;
  if (!(ratio > 0 && ratio <= 1)) throw new DataError(`augment: oversample targetRatio must be in (0, 1], got ${ratio}`);
  const byClass: number[][] = Array.from({ length: classCount(data) }, () => []);
  for (let i = 0; i < n; i++) byClass[data.y[i]!]!.push(i);
  const largest = Math.max(...byClass.map((members) => members.length));
  const wanted = Math.round(ratio * largest);
  for (const members of byClass) {
    const extra = wanted - members.length;
    if (members.length === 0 || extra <= 0) continue;
    // Cycling through a shuffled order spreads the duplicates evenly: no row is copied twice before
    // every row of its class has been copied once.
    const order = shuffleInPlace([...members], random);
    for (let k = 0; k < extra; k++) rows.push(order[k % order.length]!);
  }
  return rows;
}

function classCount(data: AugmentInput): number {
  const k = data.classes;
  if (k === undefined || !Number.isInteger(k) || k < 1) throw new DataError(`augment: classification needs classes (a positive integer), got ${k}`);
  return k;
}

function copiesOf(name: string, copies: number | undefined): number {
  if (copies === undefined) return 0;
  if (!Number.isInteger(copies) || copies < 0) throw new DataError(`augment: ${name} copies must be a non-negative integer, got ${copies}`);
  return copies;
}
