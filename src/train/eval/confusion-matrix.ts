// The confusion matrix: how often each true class was predicted as each class.

/**
 * Counts of (true class, predicted class) pairs: `matrix[t][p]`, rows are true classes and columns
 * predicted ones, both in label order. Every class gets a row and a column, even one that never occurs.
 */
export function confusionMatrix(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, classes: number): number[][] {
  if (yTrue.length !== yPred.length) {
    throw new RangeError(`confusionMatrix: ${yTrue.length} true labels but ${yPred.length} predictions`);
  }
  const matrix = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const row = matrix[yTrue[i]!];
    const p = yPred[i]!;
    if (!row || p < 0 || p >= classes || !Number.isInteger(p)) {
      throw new RangeError(`confusionMatrix: pair ${i} (${yTrue[i]}, ${p}) is outside [0, ${classes})`);
    }
    row[p]! += 1;
  }
  return matrix;
}
