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
import { initTf, modelNameSchema, tf } from '../core/index.js';
import { freezeLayers, loadBaseModel, replaceOutput, stackModels, unfreezeLayers, withNewHead } from './base-model.js';
import type { BaseModel } from './base-model.js';
import { DataError } from './data/index.js';
import { BestWeightsTracker, resolveEarlyStopping } from './early-stopping.js';
import type { EarlyStoppingConfig } from './early-stopping.js';
import { classificationMetrics, errorAnalysis, regressionMetrics } from './eval/index.js';
import type { ErrorAnalysis } from './eval/index.js';
import {
  compileForTraining,
  disposeModel,
  evaluateLogs,
  fitEpochs,
  logKeys,
  predictArray,
  prepareTrainee,
  throwIfAborted,
} from './fit.js';
import type { TensorPair } from './fit.js';
import { buildNetwork, deriveSeed, dropoutStreamSeed, streamDropoutSeeds } from './network.js';
import type { HiddenLayerSpecInput } from './network.js';
import { prepareData, targetMatrix } from './prepare.js';
import type { PreparedData } from './prepare.js';
import { buildReferenceProfile } from './reference.js';
import { defaultMinEpochs, sampleConfigurations, successiveHalving } from './search.js';
import type { TrialRunner } from './search.js';
import type { BaseOptions, EpochRecord, Hyperparameters, MetricsReport, Task, TrainEvent, TrainHooks, TrainOptions, TrainResult, TrialRecord } from './types.js';

export { DEFAULT_SPLIT, inferTask } from './prepare.js';

/** Seed of a run that does not give one. */
export const DEFAULT_SEED = 42;
/** Hidden layers of a fresh network when `hyperparameters.network.hidden` is not given. */
export const DEFAULT_HIDDEN: readonly HiddenLayerSpecInput[] = [
  { units: 32, activation: 'relu' },
  { units: 16, activation: 'relu' },
];
/** Learning rate 0.01, batch size 32, 100 epochs, Adam. */
export const DEFAULT_HYPERPARAMETERS: Hyperparameters = { learningRate: 0.01, batchSize: 32, epochs: 100, optimizer: 'adam' };

// Streams of the run seed (see deriveSeed; prepare.ts has the split and augmentation streams); the
// network itself is built from the run seed.
const SEED_NEW_LAYERS = 3;
const SEED_SHUFFLE = 4;
const SEED_REFERENCE = 5;
const SEED_SEARCH = 6;
const SEED_BASE_DROPOUT = 100;

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
  const stage = (name: string, message?: string): void => {
    throwIfAborted(signal);
    emit({ type: 'stage', stage: name, ...(message === undefined ? {} : { message }) });
  };
  throwIfAborted(signal);
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(seed)) throw new DataError(`seed must be an integer, got ${seed}`);
  // Checked now rather than by the version writer after a long run.
  const name = modelNameSchema.safeParse(options.modelName);
  if (!name.success) throw new DataError(`invalid model name ${JSON.stringify(options.modelName)}: ${name.error.issues.map((i) => i.message).join('; ')}`);
  const earlyStopping = asDataError(() => resolveEarlyStopping(options.earlyStopping));
  const hyperparameters = resolveHyperparameters(options.hyperparameters);
  checkBaseOptions(options.base);
  await initTf();

  stage('load');
  const base = options.base ? await loadBase(options.base.dir, seed) : undefined;
  const held: tf.Tensor[] = [];
  try {
    const data = await prepareData(options, base, seed, stage);
    if (earlyStopping && !logKeys(data.task).includes(earlyStopping.monitor)) {
      throw new DataError(`early stopping cannot monitor "${earlyStopping.monitor}"; for ${data.task} it can watch ${logKeys(data.task).join(', ')}`);
    }
    const tensor = (values: Float32Array, columns: number): tf.Tensor => {
      const t = tf.tensor2d(values, [values.length / columns, columns]);
      held.push(t);
      return t;
    };
    const outputs = data.task === 'classification' ? data.labels!.length : 1;
    const run: RunContext = {
      task: data.task,
      labels: data.labels,
      width: data.width,
      outputs,
      seed,
      base: base && options.base ? { ...base, options: options.base } : undefined,
      targetMean: data.targetMean,
      train: { x: tensor(data.augmented.x, data.width), y: tensor(data.augmented.y, outputs) },
      validation: { x: tensor(data.x.validation, data.width), y: tensor(targetMatrix(data.y.validation, data.task, outputs), outputs) },
      earlyStopping,
      signal,
      emit,
    };

    let chosen = hyperparameters;
    let trials: TrialRecord[] = [];
    if (options.search) {
      stage('search', `${options.search.trials} trials`);
      const found = await searchHyperparameters(hyperparameters, options.search, run);
      chosen = found.best;
      trials = found.trials;
    }

    stage('model');
    const initial = buildTrainable(chosen, run);
    let baseline: MetricsReport;
    try {
      stage('baseline');
      baseline = baselineReport(initial, run, data.y.validation);
      stage('train');
    } catch (err) {
      disposeModel(initial);
      throw err;
    }
    const trained = await runRecipe(initial, chosen, run);

    // A clean copy for the caller: uncompiled (no optimizer state to leak), every layer trainable
    // again (freezing is a choice of this run, not a property of the version), no training patches.
    let model: tf.LayersModel;
    try {
      model = stackModels([trained.model], trained.model.name);
    } finally {
      disposeModel(trained.model);
    }
    unfreezeLayers(model);
    try {
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
        seed: deriveSeed(seed, SEED_REFERENCE),
      });
      const analysis = analyseErrors(testOutputs, data, reference);

      return {
        model,
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
        baseline,
        history: trained.history,
        bestEpoch: trained.bestEpoch,
        validation,
        test,
        errorAnalysis: analysis,
        trials,
        hyperparameters: chosen,
        seed,
        dataFingerprint: data.fingerprint,
        reference,
        ...(base && options.base ? { parent: { name: base.manifest.name, version: base.manifest.version, dir: options.base.dir } } : {}),
        trigger: options.trigger ?? 'manual',
        ...(options.job === undefined ? {} : { job: options.job }),
        durationMs: Date.now() - startedAt,
        backend: tf.getBackend(),
        splitRows: { train: data.raw.train, test: data.raw.test },
      };
    } catch (err) {
      model.dispose();
      throw err;
    }
  } finally {
    tf.dispose(held);
    base?.model.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------
// Options

function resolveHyperparameters(given: Partial<Hyperparameters> | undefined): Hyperparameters {
  const hp: Hyperparameters = { ...DEFAULT_HYPERPARAMETERS, ...stripUndefined(given ?? {}) };
  if (!(Number.isFinite(hp.learningRate) && hp.learningRate > 0)) throw new DataError(`learning rate must be a number > 0, got ${hp.learningRate}`);
  if (!Number.isInteger(hp.batchSize) || hp.batchSize < 1) throw new DataError(`batch size must be an integer >= 1, got ${hp.batchSize}`);
  if (!Number.isInteger(hp.epochs) || hp.epochs < 1) throw new DataError(`epochs must be an integer >= 1, got ${hp.epochs}`);
  if (!['adam', 'sgd', 'rmsprop'].includes(hp.optimizer)) throw new DataError(`optimizer must be adam, sgd or rmsprop, got ${JSON.stringify(hp.optimizer)}`);
  for (const key of ['l1', 'l2'] as const) {
    const v = hp[key];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new DataError(`${key} must be a number >= 0, got ${v}`);
  }
  if (hp.dropout !== undefined && !(hp.dropout >= 0 && hp.dropout <= 0.9)) throw new DataError(`dropout must be in [0, 0.9], got ${hp.dropout}`);
  return hp;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function checkBaseOptions(base: BaseOptions | undefined): void {
  if (!base) return;
  const strategy = base.strategy ?? 'fine-tune';
  if (!['fine-tune', 'transfer', 'replace-output'].includes(strategy)) {
    throw new DataError(`base strategy must be fine-tune, transfer or replace-output, got ${JSON.stringify(strategy)}`);
  }
  const two = base.twoPhase;
  if (two && !(Number.isInteger(two.headEpochs) && two.headEpochs >= 1 && Number.isFinite(two.lowLearningRate) && two.lowLearningRate > 0)) {
    throw new DataError(`two-phase training needs headEpochs >= 1 and lowLearningRate > 0, got ${two.headEpochs} and ${two.lowLearningRate}`);
  }
}

function asDataError<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof RangeError) throw new DataError(err.message, {}, { cause: err });
    throw err;
  }
}

async function loadBase(dir: string, seed: number): Promise<BaseModel> {
  let base: BaseModel;
  try {
    base = await loadBaseModel(dir);
  } catch (err) {
    throw new DataError(`cannot fine-tune from ${dir}: ${(err as Error).message}`, {}, { cause: err });
  }
  // Dropout reloaded from disk draws from Math.random; give it a seeded stream (copies inherit it).
  base.model.layers.forEach((layer, i) => {
    if (layer.getClassName() === 'Dropout' && dropoutStreamSeed(layer) === undefined) {
      streamDropoutSeeds(layer, deriveSeed(seed, SEED_BASE_DROPOUT + i));
    }
  });
  return base;
}

// ---------------------------------------------------------------------------------------------------
// Models

interface RunContext {
  task: Task;
  labels: string[] | undefined;
  width: number;
  /** Output units: classes, or 1. */
  outputs: number;
  seed: number;
  base: (BaseModel & { options: BaseOptions }) | undefined;
  targetMean: number | undefined;
  train: TensorPair;
  validation: TensorPair;
  earlyStopping: EarlyStoppingConfig | undefined;
  signal: AbortSignal | undefined;
  emit: (event: TrainEvent) => void;
}

/** The model training starts from, built or cut from the base, frozen as the options say. Uncompiled. */
function buildTrainable(hp: Hyperparameters, run: RunContext): tf.LayersModel {
  const network = hp.network ?? {};
  const withDropout = (hidden: readonly HiddenLayerSpecInput[]): HiddenLayerSpecInput[] =>
    hidden.map((h) => (h.dropout === undefined && hp.dropout !== undefined ? { ...h, dropout: hp.dropout } : { ...h }));
  const output = run.task === 'classification' ? ({ units: run.outputs, activation: 'softmax' } as const) : ({ units: 1, activation: 'linear' } as const);
  const l1 = hp.l1 ?? network.l1;
  const l2 = hp.l2 ?? network.l2;
  const newLayersSeed = deriveSeed(run.seed, SEED_NEW_LAYERS);

  if (!run.base) {
    const model = buildNetwork({
      inputWidth: run.width,
      hidden: withDropout(network.hidden ?? DEFAULT_HIDDEN),
      output,
      seed: run.seed,
      ...(network.initializer === undefined ? {} : { initializer: network.initializer }),
      ...(l1 === undefined ? {} : { l1 }),
      ...(l2 === undefined ? {} : { l2 }),
    });
    startAtTargetMean(model, run);
    return model;
  }

  const { model: baseModel, options } = run.base;
  const strategy = options.strategy ?? 'fine-tune';
  let model: tf.LayersModel;
  if (strategy === 'fine-tune') {
    model = stackModels([baseModel], baseModel.name);
  } else if (strategy === 'transfer') {
    model = withNewHead(baseModel, {
      hidden: withDropout(network.hidden ?? []),
      output,
      seed: newLayersSeed,
      ...(network.initializer === undefined ? {} : { initializer: network.initializer }),
      ...(l1 === undefined ? {} : { l1 }),
      ...(l2 === undefined ? {} : { l2 }),
    });
  } else {
    model = replaceOutput(baseModel, { ...output, seed: newLayersSeed, ...(network.initializer === undefined ? {} : { initializer: network.initializer }) });
  }
  try {
    applyFreeze(model, options);
    if (strategy !== 'fine-tune') startAtTargetMean(model, run);
  } catch (err) {
    disposeModel(model);
    throw err;
  }
  return model;
}

/**
 * Freezes what the options ask. With the two-phase recipe and nothing named, the first phase trains
 * only the output layer (or the new head): everything below it is frozen.
 */
function applyFreeze(model: tf.LayersModel, options: BaseOptions): void {
  const { freeze, twoPhase } = options;
  const named = freeze && (freeze.firstK !== undefined || (freeze.names?.length ?? 0) > 0);
  try {
    if (named) {
      freezeLayers(model, freeze);
    } else if (twoPhase && (options.strategy ?? 'fine-tune') !== 'transfer') {
      const weighted = model.layers.filter((l) => l.getClassName() !== 'InputLayer' && l.weights.length > 0);
      freezeLayers(model, { firstK: weighted.length - 1 });
    }
  } catch (err) {
    throw new DataError(`cannot freeze layers: ${(err as Error).message}`, {}, { cause: err });
  }
  const weighted = model.layers.filter((l) => l.getClassName() !== 'InputLayer' && l.weights.length > 0);
  if (weighted.every((l) => !l.trainable)) {
    throw new DataError(`every layer with weights is frozen (${weighted.map((l) => l.name).join(', ')}): nothing would train; freeze fewer layers`);
  }
}

/** A new regression output starts at the training mean rather than 0, which saves many early epochs. */
function startAtTargetMean(model: tf.LayersModel, run: RunContext): void {
  if (run.task !== 'regression' || run.targetMean === undefined) return;
  const output = model.layers.at(-1);
  if (!output || output.getClassName() !== 'Dense') return;
  const [kernel, bias] = output.getWeights();
  if (!kernel || !bias) return;
  const start = tf.fill(bias.shape, run.targetMean);
  output.setWeights([kernel, start]);
  start.dispose();
}

// ---------------------------------------------------------------------------------------------------
// Training phases

interface Phase {
  name: string;
  epochs: number;
  learningRate: number;
  /** Unfreeze every layer before the phase. */
  unfreeze: boolean;
}

function phasesOf(hp: Hyperparameters, base: BaseOptions | undefined): Phase[] {
  const two = base?.twoPhase;
  if (!two) return [{ name: 'train', epochs: hp.epochs, learningRate: hp.learningRate, unfreeze: false }];
  return [
    { name: 'head', epochs: two.headEpochs, learningRate: hp.learningRate, unfreeze: false },
    { name: 'fine-tune', epochs: hp.epochs, learningRate: two.lowLearningRate, unfreeze: true },
  ];
}

/**
 * Runs the phases on `initial` (which it owns) and returns the trained model with the best weights
 * restored. Each phase recompiles with a fresh optimizer. With early stopping, a later phase starts
 * from the earlier phase's best state as its own best so far: if fine-tuning never beats it, that
 * state is what comes back.
 */
async function runRecipe(initial: tf.LayersModel, hp: Hyperparameters, run: RunContext): Promise<{ model: tf.LayersModel; history: EpochRecord[]; bestEpoch: number }> {
  const phases = phasesOf(hp, run.base?.options);
  const totalEpochs = phases.reduce((n, p) => n + p.epochs, 0);
  const history: EpochRecord[] = [];
  let bestEpoch = 0;
  let model: tf.LayersModel | undefined = initial;
  try {
    for (const phase of phases) {
      if (phase.unfreeze) unfreezeLayers(model!);
      const owned = model!;
      model = undefined;
      const trainee = prepareTrainee(owned, run.train, run.validation);
      if (trainee.precomputedLayers.length > 0) {
        run.emit({ type: 'stage', stage: 'precompute', message: `${phase.name}: frozen layers ${trainee.precomputedLayers.join(', ')} run once as a feature extractor` });
      }
      const tracker = run.earlyStopping ? new BestWeightsTracker(run.earlyStopping) : undefined;
      try {
        compileForTraining(trainee.model, { optimizer: hp.optimizer, learningRate: phase.learningRate, task: run.task });
        if (tracker && history.length > 0) {
          const logs = evaluateLogs(trainee.model, trainee.validation, hp.batchSize);
          tracker.update(bestEpoch, logs[tracker.config.monitor] ?? Number.NaN, trainee.model);
        }
        const result = await fitEpochs(trainee.model, trainee.train, trainee.validation, {
          phase: phase.name,
          epochs: phase.epochs,
          batchSize: hp.batchSize,
          firstEpoch: history.length + 1,
          seed: deriveSeed(run.seed, SEED_SHUFFLE),
          ...(tracker ? { tracker } : {}),
          ...(run.signal ? { signal: run.signal } : {}),
          onEpoch: (record) => run.emit({ type: 'epoch', record, totalEpochs }),
        });
        history.push(...result.history);
        bestEpoch = tracker?.restore(trainee.model) ? tracker.bestEpoch! : (history.at(-1)?.epoch ?? bestEpoch);
      } catch (err) {
        trainee.dispose();
        throw err;
      } finally {
        tracker?.dispose();
      }
      model = trainee.finish();
    }
    return { model: model!, history, bestEpoch };
  } catch (err) {
    if (model) disposeModel(model);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------
// Search

/**
 * Random search with successive halving. Each trial trains the model the final run would start from,
 * for the first phase only (the head phase of a two-phase recipe), and is scored by the early-stopping
 * monitor (higher is better: losses are negated), taking its best epoch so far. The winner's
 * hyperparameters are then used for a full run from scratch.
 */
async function searchHyperparameters(
  hp: Hyperparameters,
  search: NonNullable<TrainOptions['search']>,
  run: RunContext,
): Promise<{ best: Hyperparameters; trials: TrialRecord[] }> {
  const eta = search.eta ?? 3;
  const configs = asDataError(() => sampleConfigurations(search.trials, hp, deriveSeed(run.seed, SEED_SEARCH), { architecture: run.base === undefined }));
  const monitor = run.earlyStopping ?? resolveEarlyStopping(undefined)!;
  const score = (record: EpochRecord): number => {
    const value = monitor.monitor === 'val_loss' ? record.valLoss : monitor.monitor === 'loss' ? record.loss : record.metrics[monitor.monitor];
    if (value === undefined || !Number.isFinite(value)) return Number.NEGATIVE_INFINITY;
    return monitor.mode === 'max' ? value : -value;
  };
  const firstPhaseEpochs = run.base?.options.twoPhase?.headEpochs ?? hp.epochs;
  const start = (config: Hyperparameters): TrialRunner => {
    const trainee = prepareTrainee(buildTrainable(config, run), run.train, run.validation);
    try {
      compileForTraining(trainee.model, { optimizer: config.optimizer, learningRate: config.learningRate, task: run.task });
    } catch (err) {
      trainee.dispose();
      throw err;
    }
    let done = 0;
    let best = Number.NEGATIVE_INFINITY;
    return {
      advance: async (total) => {
        const result = await fitEpochs(trainee.model, trainee.train, trainee.validation, {
          phase: 'search',
          epochs: total - done,
          batchSize: config.batchSize,
          firstEpoch: done + 1,
          seed: deriveSeed(run.seed, SEED_SHUFFLE),
          ...(run.signal ? { signal: run.signal } : {}),
        });
        done = total;
        for (const record of result.history) best = Math.max(best, score(record));
        return best;
      },
      dispose: () => trainee.dispose(),
    };
  };
  const outcome = await asDataErrorAsync(() =>
    successiveHalving(
      configs,
      {
        minEpochs: search.minEpochs ?? defaultMinEpochs(configs.length, eta, firstPhaseEpochs),
        maxEpochs: firstPhaseEpochs,
        eta,
        ...(search.timeBudgetMs === undefined ? {} : { timeBudgetMs: search.timeBudgetMs }),
        onTrialDone: (trial) => run.emit({ type: 'trial', trial, total: configs.length }),
      },
      start,
    ),
  );
  return { best: outcome.best.hyperparameters, trials: outcome.trials };
}

async function asDataErrorAsync<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof RangeError) throw new DataError(err.message, {}, { cause: err });
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------
// Evaluation

/** The validation metrics before any training: the base as it is when its outputs fit, else `initial`. */
function baselineReport(initial: tf.LayersModel, run: RunContext, yValidation: Int32Array | Float32Array): MetricsReport {
  const base = run.base;
  const sameOutputs =
    base !== undefined &&
    (run.task === 'regression' || (base.manifest.labels?.length === run.labels?.length && base.manifest.labels!.every((l, i) => l === run.labels![i])));
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
