// The regression report: squared, absolute and explained-variance errors of predicted values.

/** A column of numbers: a plain array or a typed array such as a tfjs `dataSync()` result. */
export type NumericColumn = readonly number[] | Float32Array | Float64Array;

export interface RegressionReport {
  readonly task: 'regression';
  readonly n: number;
  /** Mean squared error. */
  readonly mse: number;
  /** Square root of the MSE, in the target's units. */
  readonly rmse: number;
  /** Mean absolute error. */
  readonly mae: number;
  /**
   * Coefficient of determination, 1 - SS_res / SS_tot. Negative when the model does worse than
   * predicting the mean. When every true value is the same, SS_tot is 0 and the ratio undefined:
   * following scikit-learn (force_finite=True), R^2 is then 1 if every prediction is exact, else 0.
   */
  readonly r2: number;
}

/** Evaluates a regressor. Throws a RangeError for empty or mismatched columns or non-finite values. */
export function regressionMetrics(yTrue: NumericColumn, yPred: NumericColumn): RegressionReport {
  const n = yTrue.length;
  if (n === 0) throw new RangeError('regressionMetrics: no examples to evaluate');
  if (yPred.length !== n) throw new RangeError(`regressionMetrics: ${n} true values but ${yPred.length} predictions`);

  let sumTrue = 0;
  let squared = 0;
  let absolute = 0;
  for (let i = 0; i < n; i++) {
    const y = yTrue[i]!;
    const error = y - yPred[i]!;
    if (!Number.isFinite(y) || !Number.isFinite(error)) {
      throw new RangeError(`regressionMetrics: example ${i} has true value ${y} and prediction ${yPred[i]}; both must be finite`);
    }
    sumTrue += y;
    squared += error * error;
    absolute += Math.abs(error);
  }

  // Deviations from the mean in a second pass, which stays accurate for targets far from zero.
  const mean = sumTrue / n;
  let total = 0;
  let constant = true;
  for (let i = 0; i < n; i++) {
    const y = yTrue[i]!;
    total += (y - mean) * (y - mean);
    if (y !== yTrue[0]) constant = false;
  }
  // Constant is tested on the values themselves: the rounded mean of equal values can differ from
  // them in the last bit and leave a tiny SS_tot that would blow the ratio up.
  const r2 = constant ? (squared === 0 ? 1 : 0) : 1 - squared / total;

  const mse = squared / n;
  return { task: 'regression', n, mse, rmse: Math.sqrt(mse), mae: absolute / n, r2 };
}
