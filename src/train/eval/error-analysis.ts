// Error analysis: where a model goes wrong, beyond its headline metrics. Which classes it mixes up,
// which individual examples it gets most wrong (with their features, to read them), and which slices
// of the data it does worst on.
import type { Feature, ReferenceProfile } from '../../core/index.js';
import { prepareClassification } from './classification-inputs.js';
import type { ProbabilityMatrix } from './classification-inputs.js';
import { confusionMatrix } from './confusion-matrix.js';
import { exampleLogLoss } from './log-loss.js';
import type { NumericColumn } from './regression.js';
import { readValue, sliceMetrics } from './slices.js';
import type { RawFeatureValue, SliceMetric } from './slices.js';
import type { Task } from '../../core/index.js';

/** Options and row data shared by both tasks. */
export interface ErrorAnalysisOptions {
  /** The evaluated rows with their raw feature values, as the user sees them, aligned with yTrue. */
  readonly rows: readonly Readonly<Record<string, RawFeatureValue>>[];
  /** The manifest's features: which columns to slice on and show, and whether numeric or categorical. */
  readonly features: readonly Feature[];
  /** How many worst examples and confused pairs to keep. @defaultValue 10 */
  readonly k?: number;
  /** Quantile bins per numeric feature. @defaultValue 4 */
  readonly bins?: number;
  /** Slices with fewer rows are left out (and counted in `skippedSlices`). @defaultValue 5 */
  readonly minSliceSize?: number;
  /**
   * The training data's profile (the manifest's `reference`). When given, numeric bins are cut at
   * training quantiles; otherwise at quantiles of the evaluated rows. @defaultValue undefined
   */
  readonly reference?: Pick<ReferenceProfile, 'features'>;
}

export interface ClassificationErrorInput extends ErrorAnalysisOptions {
  readonly task: 'classification';
  readonly labels: readonly string[];
  /** True class of each row, as an index into `labels`. */
  readonly yTrue: readonly number[];
  readonly probabilities: ProbabilityMatrix;
}

export interface RegressionErrorInput extends ErrorAnalysisOptions {
  readonly task: 'regression';
  readonly yTrue: NumericColumn;
  readonly predictions: NumericColumn;
}

export type ErrorAnalysisInput = ClassificationErrorInput | RegressionErrorInput;

export interface ConfusedPair {
  readonly trueLabel: string;
  readonly predictedLabel: string;
  readonly count: number;
  /** `count` as a share of all misclassified rows. */
  readonly share: number;
}

export interface WorstExample {
  /** Position of the row in the input. */
  readonly index: number;
  /** The row's raw values of the manifest features, in feature order; absent values are null. */
  readonly features: Readonly<Record<string, number | string | null>>;
  /** True label (classification) or value (regression). */
  readonly actual: string | number;
  readonly predicted: string | number;
  /** The row's log loss (classification) or absolute error (regression). */
  readonly loss: number;
}

export interface ErrorAnalysis {
  readonly task: Task;
  readonly n: number;
  /** Metric used for slices: accuracy (higher is better) or mean absolute error (lower is better). */
  readonly sliceMetric: 'accuracy' | 'mae';
  /** `sliceMetric` over all rows, the baseline each slice's delta is measured from. */
  readonly overall: number;
  /** Up to k (true, predicted) pairs with the most errors, most first; empty for regression. */
  readonly confusedPairs: readonly ConfusedPair[];
  /** The k rows with the highest loss, highest first (ties: lower index first). */
  readonly worst: readonly WorstExample[];
  /** Every slice with at least `minSliceSize` rows, weakest first. */
  readonly slices: readonly SliceMetric[];
  readonly minSliceSize: number;
  /** Non-empty slices left out for being smaller than `minSliceSize`. */
  readonly skippedSlices: number;
}

/** Analyses where a classifier or regressor errs. Pure and deterministic: equal inputs give equal output. */
export function errorAnalysis(input: ErrorAnalysisInput): ErrorAnalysis {
  const k = checkInteger('k', input.k ?? 10, 0);
  const bins = checkInteger('bins', input.bins ?? 4, 2);
  const minSliceSize = checkInteger('minSliceSize', input.minSliceSize ?? 5, 1);
  if (input.rows.length !== input.yTrue.length) {
    throw new RangeError(`errorAnalysis: ${input.rows.length} rows but ${input.yTrue.length} true values`);
  }

  const perRow = input.task === 'classification' ? classificationRows(input, k) : regressionRows(input);
  const table = sliceMetrics(input.rows, input.features, perRow.scores, input.task === 'classification', {
    bins,
    minSliceSize,
    ...(input.reference ? { reference: input.reference.features } : {}),
  });

  const byLoss = Array.from(perRow.losses, (_, i) => i).sort((a, b) => perRow.losses[b]! - perRow.losses[a]! || a - b);
  const worst = byLoss.slice(0, k).map(
    (index): WorstExample => ({
      index,
      features: pickFeatures(input.rows[index]!, input.features),
      actual: perRow.actual(index),
      predicted: perRow.predicted(index),
      loss: perRow.losses[index]!,
    }),
  );

  return {
    task: input.task,
    n: input.rows.length,
    sliceMetric: input.task === 'classification' ? 'accuracy' : 'mae',
    overall: table.overall,
    confusedPairs: perRow.confusedPairs,
    worst,
    slices: table.slices,
    minSliceSize,
    skippedSlices: table.skipped,
  };
}

/** What the shared parts of the analysis need to know about each row. */
interface RowOutcomes {
  /** 1/0 for correct (classification) or the absolute error (regression): slice metric inputs. */
  scores: Float64Array;
  losses: Float64Array;
  actual: (row: number) => string | number;
  predicted: (row: number) => string | number;
  confusedPairs: ConfusedPair[];
}

function classificationRows(input: ClassificationErrorInput, k: number): RowOutcomes {
  const data = prepareClassification(input.yTrue, input.probabilities, input.labels, 'errorAnalysis');
  const scores = new Float64Array(data.n);
  const losses = new Float64Array(data.n);
  for (let r = 0; r < data.n; r++) {
    scores[r] = data.yTrue[r] === data.yPred[r] ? 1 : 0;
    losses[r] = exampleLogLoss(data.probabilities, data.classes, r, data.yTrue[r]!);
  }

  const matrix = confusionMatrix(data.yTrue, data.yPred, data.classes);
  const pairs: { t: number; p: number; count: number }[] = [];
  let errors = 0;
  matrix.forEach((row, t) =>
    row.forEach((count, p) => {
      if (t === p || count === 0) return;
      pairs.push({ t, p, count });
      errors += count;
    }),
  );
  // Pairs were collected in (true, predicted) order, and the stable sort keeps it among equal counts.
  pairs.sort((a, b) => b.count - a.count);
  const label = (c: number): string => input.labels[c]!;

  return {
    scores,
    losses,
    actual: (r) => label(data.yTrue[r]!),
    predicted: (r) => label(data.yPred[r]!),
    confusedPairs: pairs.slice(0, k).map(({ t, p, count }) => ({
      trueLabel: label(t),
      predictedLabel: label(p),
      count,
      share: count / errors,
    })),
  };
}

function regressionRows(input: RegressionErrorInput): RowOutcomes {
  const n = input.yTrue.length;
  if (n === 0) throw new RangeError('errorAnalysis: no examples to analyse');
  if (input.predictions.length !== n) {
    throw new RangeError(`errorAnalysis: ${n} true values but ${input.predictions.length} predictions`);
  }
  const errors = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    errors[i] = Math.abs(input.yTrue[i]! - input.predictions[i]!);
    if (!Number.isFinite(errors[i]!)) {
      throw new RangeError(`errorAnalysis: example ${i} has true value ${input.yTrue[i]} and prediction ${input.predictions[i]}`);
    }
  }
  return {
    scores: errors,
    losses: errors,
    actual: (r) => input.yTrue[r]!,
    predicted: (r) => input.predictions[r]!,
    confusedPairs: [],
  };
}

function pickFeatures(
  row: Readonly<Record<string, RawFeatureValue>>,
  features: readonly Feature[],
): Record<string, number | string | null> {
  // fromEntries makes own properties, so a feature named "__proto__" is kept like any other.
  return Object.fromEntries(features.map((f) => [f.name, readValue(row, f.name) ?? null]));
}

function checkInteger(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`errorAnalysis: ${name} must be an integer >= ${min}, got ${value}`);
  }
  return value;
}
