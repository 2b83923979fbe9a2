// Precision, recall and F1 per class, and their macro and weighted averages, read off a confusion
// matrix. A ratio whose denominator is zero is defined as 0 (scikit-learn's zero_division=0), so a
// class that is never predicted has precision 0 and a class that never occurs has recall 0.

export interface ClassScores {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

export interface PerClassScores extends ClassScores {
  /** Number of examples whose true class is this one. */
  readonly support: number;
}

export interface PrecisionRecallSummary {
  readonly perClass: PerClassScores[];
  /** Unweighted mean over every class, including classes with no support. */
  readonly macro: ClassScores;
  /** Mean weighted by support, so classes that never occur do not count. */
  readonly weighted: ClassScores;
}

/** Per-class and averaged precision, recall and F1 from a square confusion matrix (rows = true). */
export function precisionRecallF1(matrix: readonly (readonly number[])[]): PrecisionRecallSummary {
  const classes = matrix.length;
  const predictedTotals = new Array<number>(classes).fill(0);
  for (const row of matrix) row.forEach((count, p) => (predictedTotals[p]! += count));

  const perClass = matrix.map((row, c): PerClassScores => {
    const truePositives = row[c] ?? 0;
    const support = row.reduce((a, b) => a + b, 0);
    const predicted = predictedTotals[c]!;
    return {
      precision: ratio(truePositives, predicted),
      recall: ratio(truePositives, support),
      // 2TP / (2TP + FP + FN), the harmonic mean of precision and recall written in counts; it is 0
      // whenever either of them is, which is what zero_division=0 asks for.
      f1: ratio(2 * truePositives, predicted + support),
      support,
    };
  });

  const totalSupport = perClass.reduce((sum, s) => sum + s.support, 0);
  const average = (weightOf: (s: PerClassScores) => number, total: number): ClassScores => {
    const sum = (pick: (s: PerClassScores) => number): number => perClass.reduce((acc, s) => acc + pick(s) * weightOf(s), 0);
    return {
      precision: ratio(sum((s) => s.precision), total),
      recall: ratio(sum((s) => s.recall), total),
      f1: ratio(sum((s) => s.f1), total),
    };
  };

  return {
    perClass,
    macro: average(() => 1, classes),
    weighted: average((s) => s.support, totalSupport),
  };
}

function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}
