// The training run end to end: data → splits → preprocessing → model (fresh, or a base with a
// fine-tuning strategy) → baseline → optional search → training phases → evaluation, error analysis
// and reference profile → TrainResult.
//
// Leakage: cleaning drops rows only; the split comes next, and clipping bounds, fill values and scalers
// are fitted on the training split alone and applied to the other two. Augmentation touches the
// training split only.
//
// Compatibility: fine-tuning from a base reuses the base's features, preprocessing and labels, so the
// new version accepts the same requests and answers in the same columns. `replace-output` keeps the
// features and preprocessing (the reused layers expect them) but takes its labels from the data.
//
// Determinism: every random choice (split, augmentation, initial weights, dropout masks, epoch order,
// search draws) comes from a seed derived from `options.seed`, so a run repeats exactly on the same
// backend. A time budget on the search is the one exception: where it cuts depends on the clock.
//
// The steps live beside this file: train-options.ts checks the options, train-run.ts holds what the
// steps share, trainable-model.ts builds the starting model, hyperparameter-search.ts searches and
// training-phases.ts trains; this file orders them and evaluates the result.
import { initTf, tf } from '../core/tfjs.js';
import { stackModels, unfreezeLayers } from './base-model.js';
import { classificationMetrics, errorAnalysis, regressionMetrics } from './eval/index.js';
import type { ErrorAnalysis } from './eval/index.js';
import { disposeModel, predictArray, throwIfAborted } from './fit.js';
import { searchHyperparameters } from './hyperparameter-search.js';
import { deriveSeed } from './network.js';
import { prepareData } from './prepare.js';
import type { PreparedData } from './prepare.js';
import { buildReferenceProfile } from './reference.js';
import { checkMonitor, checkTrainOptions } from './train-options.js';
import { SEED_REFERENCE, runContext } from './train-run.js';
import type { RunContext, TensorMaker } from './train-run.js';
import { buildTrainable, loadBase } from './trainable-model.js';
import { runRecipe } from './training-phases.js';
import type { EpochRecord, Hyperparameters, MetricsReport, SearchOptions, TrainEvent, TrainHooks, TrainOptions, TrainResult, TrialRecord } from './types.js';

export { DEFAULT_SPLIT, inferTask } from './prepare.js';
export { DEFAULT_HIDDEN } from './trainable-model.js';
export { DEFAULT_HYPERPARAMETERS } from './train-options.js';

/** Seed of a run that does not give one. */
export const DEFAULT_SEED = 42;

/** Announces a stage of the run, first giving an abort the chance to stop it there. */
type StageReporter = (name: string, message?: string) => void;

/**
 * Trains a model as `options` describe and returns it with everything a version needs. The caller
 * owns (and disposes) `result.model`; every other tensor is freed before this returns or throws.
 *
 * @throws DataError for bad data or options (the CLI's exit code 2); an Error named `AbortError` when
 *   `hooks.signal` is aborted.
 */
export async function trainModel(options: TrainOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
  const startedAt = Date.now();
  const { signal } = hooks;
  const emit = (event: TrainEvent): void => hooks.onEvent?.(event);
  const stage: StageReporter = (name, message) => {
    throwIfAborted(signal);
    emit({ type: 'stage', stage: name, ...(message === undefined ? {} : { message }) });
  };
  throwIfAborted(signal);
  const { seed, earlyStopping, hyperparameters } = checkTrainOptions(options, DEFAULT_SEED);
  await initTf();

  stage('load');
  const base = options.base ? await loadBase(options.base.dir, seed) : undefined;
  const held: tf.Tensor[] = [];
  const tensor: TensorMaker = (values, columns) => {
    const t = tf.tensor2d(values, [values.length / columns, columns]);
    held.push(t);
    return t;
  };
  try {
    const data = await prepareData(options, base, seed, stage);
    checkMonitor(earlyStopping, data.task);
    const runBase = base && options.base ? { ...base, options: options.base } : undefined;
    const run = runContext(data, { seed, base: runBase, earlyStopping, signal, emit }, tensor);
    const { chosen, trials } = await chooseHyperparameters(hyperparameters, options.search, run, stage);
    const trained = await trainFinalModel(chosen, run, data.y.validation, stage);
    try {
      const evaluation = evaluateModel(trained.model, data, run, tensor, stage);
      return assembleResult(options, data, run, { ...trained, ...evaluation, trials, hyperparameters: chosen, startedAt });
    } catch (err) {
      trained.model.dispose();
      throw err;
    }
  } finally {
    tf.dispose(held);
    base?.model.dispose();
  }
}

/** The given hyperparameters, or the search's winner when the options ask for a search. */
async function chooseHyperparameters(
  hp: Hyperparameters,
  search: SearchOptions | undefined,
  run: RunContext,
  stage: StageReporter,
): Promise<{ chosen: Hyperparameters; trials: TrialRecord[] }> {
  if (!search) return { chosen: hp, trials: [] };
  stage('search', `${search.trials} trials`);
  const found = await searchHyperparameters(hp, search, run);
  return { chosen: found.best, trials: found.trials };
}

interface TrainedModel {
  model: tf.LayersModel;
  baseline: MetricsReport;
  history: EpochRecord[];
  bestEpoch: number;
}

/** Builds the starting model, scores it as the baseline, trains it and returns a clean copy. */
async function trainFinalModel(hp: Hyperparameters, run: RunContext, yValidation: Int32Array | Float32Array, stage: StageReporter): Promise<TrainedModel> {
  stage('model');
  const initial = buildTrainable(hp, run);
  let baseline: MetricsReport;
  try {
    stage('baseline');
    baseline = baselineReport(initial, run, yValidation);
    stage('train');
  } catch (err) {
    disposeModel(initial);
    throw err;
  }
  const trained = await runRecipe(initial, hp, run);

  // A clean copy for the caller: uncompiled (no optimizer state to leak), every layer trainable
  // again (freezing is a choice of this run, not a property of the version), no training patches.
  let model: tf.LayersModel;
  try {
    model = stackModels([trained.model], trained.model.name);
  } finally {
    disposeModel(trained.model);
  }
  unfreezeLayers(model);
  return { model, baseline, history: trained.history, bestEpoch: trained.bestEpoch };
}

/** Validation and test metrics, the reference profile of the training split, and the test errors. */
function evaluateModel(
  model: tf.LayersModel,
  data: PreparedData,
  run: RunContext,
  tensor: TensorMaker,
  stage: StageReporter,
): Pick<TrainResult, 'validation' | 'test' | 'reference' | 'errorAnalysis'> {
  stage('evaluate');
  const testX = tensor(data.x.test, data.width);
  const validation = metricsOf(model, run.validation.x, data.y.validation, run);
  const testOutputs = predictArray(model, testX);
  const test = metricsFromOutputs(testOutputs, data.y.test, run);

  stage('reference');
  const trainX = tensor(data.x.train, data.width);
  const reference = buildReferenceProfile({
    task: data.task,
    rows: data.raw.train,
    features: data.features,
    ...(data.labels ? { labels: data.labels } : {}),
    targets: data.y.train,
    outputs: predictArray(model, trainX),
    seed: deriveSeed(run.seed, SEED_REFERENCE),
  });
  return { validation, test, reference, errorAnalysis: analyseErrors(testOutputs, data, reference) };
}

/** What the run produced, and the outcome of its steps. */
type RunOutcome = TrainedModel &
  Pick<TrainResult, 'validation' | 'test' | 'reference' | 'errorAnalysis' | 'trials' | 'hyperparameters'> & { startedAt: number };

/** The result: the model and its scores, with what they came from (data, base, run settings). */
function assembleResult(options: TrainOptions, data: PreparedData, run: RunContext, outcome: RunOutcome): TrainResult {
  const base = run.base;
  return {
    model: outcome.model,
    task: data.task,
    ...(data.labels ? { labels: data.labels } : {}),
    features: data.features,
    preprocessing: data.preprocessing,
    inputName: base?.manifest.input ?? 'features',
    outputName: base?.manifest.output ?? (data.task === 'classification' ? 'probabilities' : options.target),
    cleaning: data.cleaning,
    rows: {
      train: data.raw.train.length,
      validation: data.raw.validation.length,
      test: data.raw.test.length,
      augmented: data.augmented.rows - data.raw.train.length,
    },
    baseline: outcome.baseline,
    history: outcome.history,
    bestEpoch: outcome.bestEpoch,
    validation: outcome.validation,
    test: outcome.test,
    errorAnalysis: outcome.errorAnalysis,
    trials: outcome.trials,
    hyperparameters: outcome.hyperparameters,
    seed: run.seed,
    dataFingerprint: data.fingerprint,
    reference: outcome.reference,
    ...(base ? { parent: { name: base.manifest.name, version: base.manifest.version, dir: base.options.dir } } : {}),
    trigger: options.trigger ?? 'manual',
    ...(options.job === undefined ? {} : { job: options.job }),
    durationMs: Date.now() - outcome.startedAt,
    backend: tf.getBackend(),
    splitRows: { train: data.raw.train, test: data.raw.test },
  };
}

// ---------------------------------------------------------------------------------------------------
// Evaluation

/** The validation metrics before any training: the base as it is when its outputs fit, else `initial`. */
/** Both label lists are given and name the same classes in the same order. */
function sameLabels(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length && a.every((l, i) => l === b[i]);
}

function baselineReport(initial: tf.LayersModel, run: RunContext, yValidation: Int32Array | Float32Array): MetricsReport {
  const base = run.base;
  const sameOutputs =
    base !== undefined &&
    (run.task === 'regression' || sameLabels(base.manifest.labels, run.labels));
  return metricsOf(sameOutputs ? base.model : initial, run.validation.x, yValidation, run);
}

function metricsOf(model: tf.LayersModel, x: tf.Tensor, y: Int32Array | Float32Array, run: RunContext): MetricsReport {
  return metricsFromOutputs(predictArray(model, x), y, run);
}

function metricsFromOutputs(outputs: Float32Array, y: Int32Array | Float32Array, run: Pick<RunContext, 'task' | 'labels'>): MetricsReport {
  return run.task === 'classification' ? classificationMetrics(Array.from(y), outputs, run.labels!) : regressionMetrics(Float32Array.from(y), outputs);
}

function analyseErrors(outputs: Float32Array, data: PreparedData, reference: TrainResult['reference']): ErrorAnalysis {
  const common = { rows: data.raw.test, features: data.features, reference: { features: reference.features } };
  return data.task === 'classification'
    ? errorAnalysis({ ...common, task: 'classification', labels: data.labels!, yTrue: Array.from(data.y.test), probabilities: outputs })
    : errorAnalysis({ ...common, task: 'regression', yTrue: Float32Array.from(data.y.test), predictions: outputs });
}
