// Scores a model version on labelled examples: the rows are checked and typed as training would type
// them, encoded with the version's own preprocessing, run through a predictor the caller supplies, and
// measured with the eval functions. The caller supplies the predictor because the runtimes that serve a
// version live in src/serve, which this context does not import: the CLI passes the gateway's runtime,
// the retrain loop a model it holds in memory or one opened with `openVersionPredictor`.
//
// Rows that cannot be scored are left out and counted, never filled in: filling would need statistics
// of the evaluation data itself, and a gate comparing two versions must score both on the same rows.
import { outputWidth } from '../core/index.js';
import type { Feature, Manifest, RawValue } from '../core/index.js';
import { coerceCell, coerceTarget } from './data/coerce.js';
import { DataError, encode } from './data/index.js';
import type { CleanRow } from './data/index.js';
import { classificationMetrics, errorAnalysis, regressionMetrics } from './eval/index.js';
import type { ClassificationReport, ErrorAnalysis, RegressionReport } from './eval/index.js';
import type { Task } from '../core/index.js';

/** Runs the model on `rows` encoded input rows (row-major, rows × input width); returns rows × outputs. */
export type Predict = (matrix: Float32Array, rows: number) => Promise<Float32Array>;

/** A version to score: its manifest (features, preprocessing, labels) and a way to run its model. */
export interface VersionPredictor {
  manifest: Manifest;
  predict: Predict;
}

/** One labelled example: raw feature values as a client sends them, and the true label or value. */
export interface EvaluationExample {
  features: Readonly<Record<string, RawValue>>;
  /** Class name (or class index) for a classifier, a number for a regressor; missing rows are skipped. */
  label: string | number | null | undefined;
}

/** Metrics a caller can rank versions by. */
export type HeadlineMetricName = 'accuracy' | 'macro_f1' | 'log_loss' | 'mae' | 'rmse' | 'r2';

export interface EvaluateVersionOptions {
  /** The metric reported as `headline`. @defaultValue `accuracy` for classification, `rmse` for regression (as the drift monitor) */
  headline?: HeadlineMetricName;
  /** Compute the error analysis (confused classes, worst examples, weakest slices). @defaultValue true */
  errorAnalysis?: boolean;
  /** Worst examples and confused pairs kept by the error analysis. @defaultValue 10 */
  worst?: number;
  /**
   * A categorical value outside the version's categories: `skip` the row, or encode it as all zeros
   * ("none of the known categories"). Either way it is counted in `unseenCategories`.
   * @defaultValue as the version is served: `zeros` when its manifest says `unknownCategory: ignore`, else `skip`
   */
  unseenCategories?: 'skip' | 'zeros';
  /** A classification label that is not one of the version's classes: throw a DataError, or skip the row. @defaultValue `error` */
  unknownLabels?: 'error' | 'skip';
  /** Rows per predictor call. @defaultValue 4096 */
  batchRows?: number;
}

/** Why rows were left out. */
export interface SkippedRows {
  total: number;
  /** No label. */
  missingTarget: number;
  /** A label that is not a number (regression) or not a scalar. */
  invalidTarget: number;
  /** A label outside the version's classes (with `unknownLabels: 'skip'`). */
  unknownLabel: number;
  /** Some feature absent, null or empty. */
  missingFeature: number;
  /** Some feature of the wrong kind: text in a numeric feature, an object or array. */
  invalidFeature: number;
  /** Some categorical value outside the version's categories (with `unseenCategories: 'skip'`). */
  unseenCategory: number;
}

export interface Headline {
  name: HeadlineMetricName;
  value: number;
  higherIsBetter: boolean;
}

export interface VersionEvaluation {
  task: Task;
  /** Rows scored. */
  rows: number;
  skipped: SkippedRows;
  /** Per categorical feature, rows holding a category the version never saw (skipped or encoded as zeros). */
  unseenCategories: Record<string, number>;
  metrics: ClassificationReport | RegressionReport;
  headline: Headline;
  /** Absent with `errorAnalysis: false`. `worst[].index` is the example's position in the input. */
  errorAnalysis?: ErrorAnalysis;
}

const HIGHER_IS_BETTER: Record<HeadlineMetricName, boolean> = {
  accuracy: true,
  macro_f1: true,
  log_loss: false,
  mae: false,
  rmse: false,
  r2: true,
};

const CLASSIFICATION_METRICS: readonly HeadlineMetricName[] = ['accuracy', 'macro_f1', 'log_loss'];
const REGRESSION_METRICS: readonly HeadlineMetricName[] = ['mae', 'rmse', 'r2'];

/**
 * Scores `version` on `examples` with its manifest's preprocessing and returns the task's metrics
 * report, a headline metric, the counts of rows left out, and an error analysis.
 *
 * @throws DataError when no row is left to score, when a label is not one of the version's classes
 *   (unless `unknownLabels: 'skip'`), or for bad options; an Error when the predictor fails or returns
 *   outputs of the wrong size.
 */
export async function evaluateVersion(
  version: VersionPredictor,
  examples: readonly EvaluationExample[],
  opts: EvaluateVersionOptions = {},
): Promise<VersionEvaluation> {
  const { manifest } = version;
  const task = manifest.task;
  const headlineName = opts.headline ?? (task === 'classification' ? 'accuracy' : 'rmse');
  if (!(task === 'classification' ? CLASSIFICATION_METRICS : REGRESSION_METRICS).includes(headlineName)) {
    throw new DataError(`headline metric "${headlineName}" does not apply to ${task}; use one of ${(task === 'classification' ? CLASSIFICATION_METRICS : REGRESSION_METRICS).join(', ')}`);
  }
  const batchRows = opts.batchRows ?? 4096;
  if (!Number.isInteger(batchRows) || batchRows < 1) throw new DataError(`batchRows must be an integer >= 1, got ${batchRows}`);
  const unseenMode = opts.unseenCategories ?? (manifest.preprocessing.unknownCategory === 'ignore' ? 'zeros' : 'skip');

  const prepared = prepareExamples(manifest, examples, unseenMode, opts.unknownLabels ?? 'error');
  if (prepared.rows.length === 0) {
    throw new DataError(`no rows left to evaluate: ${examples.length} given, ${describeSkipped(prepared.skipped)}`);
  }

  const outputs = await predictInBatches(version, prepared.rows, batchRows);
  const k = opts.worst ?? 10;
  const withAnalysis = opts.errorAnalysis ?? true;
  const common = { rows: prepared.rows, features: manifest.features, k, ...(manifest.reference ? { reference: manifest.reference } : {}) };
  let metrics: ClassificationReport | RegressionReport;
  let analysis: ErrorAnalysis | undefined;
  if (task === 'classification') {
    const labels = manifest.labels;
    const y = prepared.targets as number[];
    metrics = classificationMetrics(y, outputs, labels);
    if (withAnalysis) analysis = errorAnalysis({ ...common, task, labels, yTrue: y, probabilities: outputs });
  } else {
    const y = Float64Array.from(prepared.targets);
    metrics = regressionMetrics(y, outputs);
    if (withAnalysis) analysis = errorAnalysis({ ...common, task, yTrue: y, predictions: outputs });
  }

  return {
    task,
    rows: prepared.rows.length,
    skipped: prepared.skipped,
    unseenCategories: prepared.unseen,
    metrics,
    headline: { name: headlineName, value: headlineValue(metrics, headlineName), higherIsBetter: HIGHER_IS_BETTER[headlineName] },
    ...(analysis ? { errorAnalysis: withInputIndices(analysis, prepared.positions) } : {}),
  };
}

/** A short account of left-out rows, e.g. `12 left out (3 without a label, 9 missing a feature value)`. */
export function describeSkipped(skipped: SkippedRows): string {
  const parts: string[] = [];
  const add = (n: number, what: string): void => {
    if (n > 0) parts.push(`${n} ${what}`);
  };
  add(skipped.missingTarget, 'without a label');
  add(skipped.invalidTarget, 'with an invalid label');
  add(skipped.unknownLabel, 'with an unknown class');
  add(skipped.missingFeature, 'missing a feature value');
  add(skipped.invalidFeature, 'with an invalid feature value');
  add(skipped.unseenCategory, 'with an unseen category');
  return `${skipped.total} left out${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
}

// ---------------------------------------------------------------------------------------------------

interface PreparedExamples {
  /** Typed feature values: numbers, category strings. */
  rows: CleanRow[];
  /** Class index or value per row. */
  targets: number[];
  /** Position of each row in the input. */
  positions: number[];
  skipped: SkippedRows;
  unseen: Record<string, number>;
}

/**
 * Types each example the way cleaning types training data (numeric strings become numbers, numbers in
 * a categorical feature become their string form, booleans 1/0 in numeric features) and leaves out
 * what cannot be scored.
 */
function prepareExamples(manifest: Manifest, examples: readonly EvaluationExample[], unseenMode: 'skip' | 'zeros', unknownLabels: 'error' | 'skip'): PreparedExamples {
  const skipped: SkippedRows = { total: 0, missingTarget: 0, invalidTarget: 0, unknownLabel: 0, missingFeature: 0, invalidFeature: 0, unseenCategory: 0 };
  const categoriesOf = new Map<string, ReadonlySet<string>>(
    manifest.features.filter((f): f is Extract<Feature, { type: 'categorical' }> => f.type === 'categorical').map((f) => [f.name, new Set(f.categories)]),
  );
  const unseen: Record<string, number> = Object.fromEntries([...categoriesOf.keys()].map((name) => [name, 0]));
  const labelIndex = new Map((manifest.labels ?? []).map((label, i) => [label, i]));
  const out: PreparedExamples = { rows: [], targets: [], positions: [], skipped, unseen };
  const skip = (why: Exclude<keyof SkippedRows, 'total'>): void => {
    skipped[why]++;
    skipped.total++;
  };

  examples.forEach((example, position) => {
    const cell = coerceTarget(example?.label, manifest.task);
    if (cell.kind !== 'ok') return skip(cell.kind === 'missing' ? 'missingTarget' : 'invalidTarget');
    let target: number;
    if (manifest.task === 'classification') {
      const index = classIndex(labelIndex, example.label, cell.value);
      if (index === undefined) {
        if (unknownLabels === 'skip') return skip('unknownLabel');
        throw new DataError(
          `example ${position + 1}: label ${JSON.stringify(String(cell.value))} is not one of the known labels: ${manifest.labels.join(', ')}`,
        );
      }
      target = index;
    } else {
      target = cell.value as number;
    }

    const features = (example.features ?? {}) as Readonly<Record<string, unknown>>;
    const row: CleanRow = {};
    let problem: 'missingFeature' | 'invalidFeature' | undefined;
    const unseenIn: string[] = [];
    for (const f of manifest.features) {
      const value = Object.hasOwn(features, f.name) ? features[f.name] : undefined;
      const typed = coerceCell(value, f.type);
      if (typed.unsupported || typed.invalid) problem ??= 'invalidFeature';
      else if (typed.value === null) problem ??= 'missingFeature';
      else if (categoriesOf.get(f.name)?.has(typed.value as string) === false) unseenIn.push(f.name);
      row[f.name] = typed.value;
    }
    if (problem) return skip(problem);
    for (const name of unseenIn) unseen[name]!++;
    if (unseenIn.length > 0 && unseenMode === 'skip') return skip('unseenCategory');
    out.rows.push(row);
    out.targets.push(target);
    out.positions.push(position);
  });
  return out;
}

/** A class name, or else an integer class index (what the labels endpoint also accepts). */
function classIndex(labels: ReadonlyMap<string, number>, raw: unknown, name: string | number): number | undefined {
  const byName = labels.get(String(name));
  if (byName !== undefined) return byName;
  return typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 && raw < labels.size ? raw : undefined;
}

async function predictInBatches(version: VersionPredictor, rows: readonly CleanRow[], batchRows: number): Promise<Float32Array> {
  const { manifest } = version;
  const x = encode(rows, manifest.features, manifest.preprocessing);
  const width = x.length / rows.length;
  const outputs = outputWidth(manifest);
  const result = new Float32Array(rows.length * outputs);
  for (let start = 0; start < rows.length; start += batchRows) {
    const n = Math.min(batchRows, rows.length - start);
    const got = await version.predict(n === rows.length ? x : x.slice(start * width, (start + n) * width), n);
    if (got.length !== n * outputs) {
      throw new Error(`the predictor returned ${got.length} values for ${n} rows; ${manifest.name} version ${manifest.version} should give ${outputs} per row`);
    }
    result.set(got, start * outputs);
  }
  return result;
}

function headlineValue(report: ClassificationReport | RegressionReport, name: HeadlineMetricName): number {
  if (report.task === 'classification') {
    if (name === 'macro_f1') return report.macro.f1;
    if (name === 'log_loss') return report.logLoss;
    return report.accuracy;
  }
  if (name === 'mae') return report.mae;
  if (name === 'r2') return report.r2;
  return report.rmse;
}

/** The analysis with worst examples indexed by their position in the caller's examples. */
function withInputIndices(analysis: ErrorAnalysis, positions: readonly number[]): ErrorAnalysis {
  return { ...analysis, worst: analysis.worst.map((w) => ({ ...w, index: positions[w.index] ?? w.index })) };
}
