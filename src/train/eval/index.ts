// Evaluation and error analysis of trained models: the metrics written into a version's manifest and
// the report `driftgate evaluate` prints. Pure functions over plain arrays; no tfjs here.
export { classificationMetrics } from './classification.js';
export type { ClassificationReport, ClassMetrics } from './classification.js';
export type { ProbabilityMatrix } from './classification-inputs.js';
export type { ClassScores } from './precision-recall.js';
export { regressionMetrics } from './regression.js';
export type { RegressionReport, NumericColumn } from './regression.js';
export { binaryRocAuc } from './roc-auc.js';
export { LOG_LOSS_EPSILON } from './log-loss.js';
export { errorAnalysis } from './error-analysis.js';
export type {
  ErrorAnalysis,
  ErrorAnalysisInput,
  ErrorAnalysisOptions,
  ClassificationErrorInput,
  RegressionErrorInput,
  ConfusedPair,
  WorstExample,
} from './error-analysis.js';
export type { SliceMetric, RawFeatureValue } from './slices.js';
export { formatMetrics, formatErrorAnalysis } from './format.js';
export type { MetricsReport, FormatErrorAnalysisOptions } from './format.js';
