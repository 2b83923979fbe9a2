// Log loss (cross-entropy) of predicted probabilities. Probabilities are clipped away from 0 and 1 so
// one confident mistake costs a large but finite amount, and each row is then rescaled to sum to one,
// which absorbs the rounding of float32 softmax outputs. This is scikit-learn's log_loss up to
// version 1.2; later versions clip at the dtype's epsilon and skip the rescaling, which gives the same
// value whenever rows sum to one and no probability is below 1e-15.

/** Probabilities are clipped to [LOG_LOSS_EPSILON, 1 - LOG_LOSS_EPSILON] before the logarithm. */
export const LOG_LOSS_EPSILON = 1e-15;

/**
 * Negative natural log of the probability that row `row` gives its true class, after clipping and
 * rescaling the row. `probabilities` is row-major with `classes` columns.
 */
export function exampleLogLoss(probabilities: ArrayLike<number>, classes: number, row: number, trueClass: number): number {
  const base = row * classes;
  let rowSum = 0;
  for (let c = 0; c < classes; c++) rowSum += clip(probabilities[base + c]!);
  return -Math.log(clip(probabilities[base + trueClass]!) / rowSum);
}

/** Mean log loss over all rows. */
export function logLoss(yTrue: ArrayLike<number>, probabilities: ArrayLike<number>, classes: number): number {
  const n = yTrue.length;
  if (n === 0 || probabilities.length !== n * classes) {
    throw new RangeError(`logLoss: ${probabilities.length} probabilities for ${n} rows x ${classes} classes`);
  }
  let total = 0;
  for (let r = 0; r < n; r++) total += exampleLogLoss(probabilities, classes, r, yTrue[r]!);
  return total / n;
}

function clip(p: number): number {
  return Math.min(Math.max(p, LOG_LOSS_EPSILON), 1 - LOG_LOSS_EPSILON);
}
