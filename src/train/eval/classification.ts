// The classification report: every metric a trained classifier is judged by, from true class ids and
// predicted probabilities. The result is plain JSON so it can go into a manifest's `metrics`.
import { prepareClassification } from './classification-inputs.js';
import type { ProbabilityMatrix } from './classification-inputs.js';
import { confusionMatrix } from './confusion-matrix.js';
import { logLoss } from './log-loss.js';
import { precisionRecallF1 } from './precision-recall.js';
import type { ClassScores } from './precision-recall.js';
import { rocAuc } from './roc-auc.js';

export interface ClassMetrics extends ClassScores {
  readonly label: string;
  readonly support: number;
}

export interface ClassificationReport {
  readonly task: 'classification';
  readonly n: number;
  readonly labels: readonly string[];
  /** Share of examples whose most probable class is the true one. */
  readonly accuracy: number;
  /** One entry per label, in label order. Zero-division gives 0. */
  readonly perClass: readonly ClassMetrics[];
  readonly macro: ClassScores;
  readonly weighted: ClassScores;
  /**
   * Two labels: AUC of the positive class (index 1). More: one-vs-rest macro mean over the classes
   * present in yTrue. Null when yTrue holds a single class.
   */
  readonly rocAuc: number | null;
  /** `confusionMatrix[t][p]`: examples of true class t predicted as p, in label order. */
  readonly confusionMatrix: readonly (readonly number[])[];
  /** Mean cross-entropy with probabilities clipped to [1e-15, 1 - 1e-15] and rows rescaled to sum to one. */
  readonly logLoss: number;
}

/**
 * Evaluates a classifier.
 *
 * @param yTrue - true class of each example, as an index into `labels`
 * @param probabilities - predicted class probabilities, rows x labels.length; the predicted class is
 *   the column with the largest probability (the first one on a tie)
 * @param labels - class names in the order of the probability columns
 */
export function classificationMetrics(
  yTrue: readonly number[],
  probabilities: ProbabilityMatrix,
  labels: readonly string[],
): ClassificationReport {
  const inputs = prepareClassification(yTrue, probabilities, labels, 'classificationMetrics');
  const matrix = confusionMatrix(inputs.yTrue, inputs.yPred, inputs.classes);
  const scores = precisionRecallF1(matrix);
  let correct = 0;
  matrix.forEach((row, c) => (correct += row[c]!));

  return {
    task: 'classification',
    n: inputs.n,
    labels: [...labels],
    accuracy: correct / inputs.n,
    perClass: scores.perClass.map((s, c) => ({ label: labels[c]!, ...s })),
    macro: scores.macro,
    weighted: scores.weighted,
    rocAuc: rocAuc(inputs.yTrue, inputs.probabilities, inputs.classes),
    confusionMatrix: matrix,
    logLoss: logLoss(inputs.yTrue, inputs.probabilities, inputs.classes),
  };
}
