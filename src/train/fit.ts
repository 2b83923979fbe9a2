// The training loop: compiling with a fresh optimizer, epochs of `model.fit` over a seeded shuffle,
// per-epoch records, early stopping, cancellation, and the frozen-layer handling that keeps frozen
// BatchNormalization statistics fixed.
//
// Determinism. tfjs's own `shuffle: true` draws from Math.random, so every epoch here is one `fit` call
// with `shuffle: false` on rows this module has put in a seeded order. Epoch e's order depends only on
// the seed and e, so training 3 epochs and then 2 more visits the rows exactly as training 5 does (the
// search relies on it when it promotes a trial to the next rung).
//
// Frozen layers. tfjs's BatchNormalization ignores `trainable` in `fit`: a frozen BN layer normalises
// with batch statistics and keeps moving its running mean and variance. `prepareTrainee` therefore
// splits a model whose leading weighted layers are frozen into a frozen extractor, run once in
// inference mode (`precomputeFeatures`), and a trainable tail trained on those features; the two are
// stacked again afterwards. This also saves running the frozen part every epoch. Frozen BN layers that
// do not sit in such a prefix (frozen by name further up) are pinned to inference mode while training.
import { seededRandom } from '../core/index.js';
import { tf } from '../core/tfjs.js';
import { copyLayer, featureExtractor, precomputeFeatures, stackModels } from './base-model.js';
import type { BestWeightsTracker } from './early-stopping.js';
import { deriveSeed } from './network.js';
import { PackedAdamOptimizer } from './packed-adam.js';
import { OPTIMIZERS, choiceList } from './types.js';
import type { EpochRecord, Hyperparameters, OptimizerName, Task } from './types.js';

/** Inputs and targets of one split, rows on the first axis. */
export interface TensorPair {
  x: tf.Tensor;
  y: tf.Tensor;
}

// ---------------------------------------------------------------------------------------------------
// Cancellation

/** The error a cancelled run rejects with: an Error named `AbortError`, the signal's reason as cause. */
export function abortError(signal?: AbortSignal): Error {
  const err = new Error('training was aborted', signal?.reason === undefined ? undefined : { cause: signal.reason });
  err.name = 'AbortError';
  return err;
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

// ---------------------------------------------------------------------------------------------------
// Compiling

/** Optimizers this module attached, so a recompile or the end of training can dispose them. */
const attachedOptimizers = new WeakMap<tf.LayersModel, tf.Optimizer>();

/**
 * One constructor per name in OPTIMIZERS; the Record type makes a name added there fail to compile
 * until it has one. Adam is driftgate's packed Adam: tf.train.adam's arithmetic and results with a
 * fraction of its kernels per step (packed-adam.ts).
 */
const OPTIMIZER_FACTORIES: Record<OptimizerName, (learningRate: number) => tf.Optimizer> = {
  adam: (lr) => new PackedAdamOptimizer(lr),
  sgd: (lr) => tf.train.sgd(lr),
  rmsprop: (lr) => tf.train.rmsprop(lr),
};

export function makeOptimizer(name: Hyperparameters['optimizer'], learningRate: number): tf.Optimizer {
  if (!(Number.isFinite(learningRate) && learningRate > 0)) throw new RangeError(`learning rate must be a number > 0, got ${learningRate}`);
  // Checked against the tuple, not `in`, so a name from untyped input like "toString" is refused too.
  if (!(OPTIMIZERS as readonly string[]).includes(name)) throw new RangeError(`optimizer must be ${choiceList(OPTIMIZERS)}, got ${JSON.stringify(name)}`);
  return OPTIMIZER_FACTORIES[name](learningRate);
}

/** The metric tfjs tracks besides the loss, under the name the records use. */
export function metricName(task: Task): 'accuracy' | 'mae' {
  return task === 'classification' ? 'accuracy' : 'mae';
}

/** Keys an epoch's logs hold, any of which early stopping may monitor. */
export function logKeys(task: Task): string[] {
  const metric = metricName(task);
  return ['val_loss', `val_${metric}`, 'loss', metric];
}

/**
 * Compiles for training with a new optimizer, disposing the one a previous call attached. A new
 * optimizer on every trainable change matters: tfjs only picks up `trainable` flags at compile time,
 * and Adam or RMSProp would otherwise pair their per-weight slots with the wrong weights by position.
 * Loss: categorical cross-entropy (one-hot or mixup's soft labels) or mean squared error.
 */
export function compileForTraining(model: tf.LayersModel, opts: { optimizer: Hyperparameters['optimizer']; learningRate: number; task: Task }): void {
  const optimizer = makeOptimizer(opts.optimizer, opts.learningRate);
  const previous = attachedOptimizers.get(model);
  model.compile({
    optimizer,
    loss: opts.task === 'classification' ? 'categoricalCrossentropy' : 'meanSquaredError',
    metrics: [metricName(opts.task)],
  });
  attachedOptimizers.set(model, optimizer);
  previous?.dispose();
}

/** Disposes the optimizer `compileForTraining` attached (its slot variables), if any. */
export function releaseOptimizer(model: tf.LayersModel): void {
  attachedOptimizers.get(model)?.dispose();
  attachedOptimizers.delete(model);
}

/** Disposes a model and the optimizer this module gave it. */
export function disposeModel(model: tf.LayersModel): void {
  releaseOptimizer(model);
  model.dispose();
}

// ---------------------------------------------------------------------------------------------------
// Epochs

export interface FitEpochsOptions {
  /** Name recorded with each epoch: `train`, `head`, `fine-tune`. */
  phase: string;
  epochs: number;
  batchSize: number;
  /** Run-wide number of this call's first epoch (1-based); records and the shuffle use it. */
  firstEpoch: number;
  /** Root seed of the per-epoch shuffles. */
  seed: number;
  /** Early stopping; the tracker sees every epoch and keeps the best weights. */
  tracker?: BestWeightsTracker;
  signal?: AbortSignal;
  onEpoch?: (record: EpochRecord) => void;
}

export interface FitEpochsResult {
  history: EpochRecord[];
  stoppedEarly: boolean;
}

/**
 * Trains a compiled model for up to `epochs` epochs with validation after each, one `fit` call per
 * epoch over a seeded permutation of the rows. Stops early when the tracker says so (it does not
 * restore; the caller decides when). Aborting the signal stops at the next batch and rejects with an
 * AbortError.
 */
export async function fitEpochs(model: tf.LayersModel, train: TensorPair, validation: TensorPair, options: FitEpochsOptions): Promise<FitEpochsResult> {
  const rows = train.x.shape[0]!;
  const history: EpochRecord[] = [];
  const { signal, tracker } = options;
  const stopOnAbort = (): void => {
    if (signal?.aborted) model.stopTraining = true;
  };
  for (let i = 0; i < options.epochs; i++) {
    throwIfAborted(signal);
    const epoch = options.firstEpoch + i;
    const [xs, ys] = shuffledCopies(train, epochOrder(rows, deriveSeed(options.seed, epoch)));
    let logs: Record<string, number>;
    try {
      const result = await model.fit(xs, ys, {
        epochs: 1,
        batchSize: options.batchSize,
        shuffle: false,
        verbose: 0,
        validationData: [validation.x, validation.y],
        // A callback also makes fit yield to the event loop now and then (every 125 ms), which is what
        // lets an abort from a timer or another request get through while an epoch runs.
        callbacks: { onBatchEnd: stopOnAbort },
      });
      logs = lastLogs(result.history);
    } finally {
      xs.dispose();
      ys.dispose();
    }
    throwIfAborted(signal);
    const { loss, val_loss: valLoss, ...metrics } = logs;
    const record: EpochRecord = { phase: options.phase, epoch, loss: loss ?? Number.NaN, valLoss: valLoss ?? Number.NaN, metrics };
    history.push(record);
    options.onEpoch?.(record);
    if (tracker) {
      const value = logs[tracker.config.monitor];
      if (value === undefined) {
        throw new Error(`early stopping monitors "${tracker.config.monitor}", which training does not log (logs: ${Object.keys(logs).join(', ')})`);
      }
      if (tracker.update(epoch, value, model)) return { history, stoppedEarly: true };
    }
  }
  return { history, stoppedEarly: false };
}

/** A permutation of 0..rows-1 drawn from the seed (Fisher-Yates). */
export function epochOrder(rows: number, seed: number): Int32Array {
  const order = Int32Array.from({ length: rows }, (_, i) => i);
  const random = seededRandom(seed);
  for (let i = rows - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

function shuffledCopies(data: TensorPair, order: Int32Array): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const indices = tf.tensor1d(order, 'int32');
    return [tf.gather(data.x, indices), tf.gather(data.y, indices)];
  });
}

/** tfjs logs accuracy as `acc`; the records call it `accuracy` like the option names do. */
function renameLogKey(key: string): string {
  return key.replace(/(^|_)acc$/, '$1accuracy');
}

function lastLogs(history: Record<string, (number | tf.Tensor)[]>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, values] of Object.entries(history)) {
    const last = values.at(-1);
    if (typeof last === 'number') out[renameLogKey(key)] = last;
  }
  return out;
}

/**
 * The validation logs of a model as `fit` reports them (`val_loss`, `val_accuracy` or `val_mae`),
 * computed with `evaluate` at the same batch size so the numbers match the epoch records.
 */
export function evaluateLogs(model: tf.LayersModel, data: TensorPair, batchSize: number): Record<string, number> {
  const outputs = model.evaluate(data.x, data.y, { batchSize });
  const scalars = Array.isArray(outputs) ? outputs : [outputs];
  const logs: Record<string, number> = {};
  scalars.forEach((scalar, i) => {
    const name = model.metricsNames[i];
    if (name !== undefined) logs[`val_${renameLogKey(name)}`] = scalar.dataSync()[0]!;
  });
  tf.dispose(scalars);
  return logs;
}

/** Model outputs as a flat row-major array, predicted in inference mode. */
export function predictArray(model: tf.LayersModel, x: tf.Tensor, batchSize = 256): Float32Array {
  return tf.tidy(() => (model.predict(x, { batchSize }) as tf.Tensor).dataSync() as Float32Array);
}

// ---------------------------------------------------------------------------------------------------
// Frozen layers

/**
 * What one training phase trains: the model itself, or, when its leading weighted layers are frozen,
 * a tail trained on features the frozen prefix computed once in inference mode.
 */
export interface Trainee {
  /** The model to compile and fit. */
  model: tf.LayersModel;
  train: TensorPair;
  validation: TensorPair;
  /** Names of the frozen layers run ahead of training (empty when the model trains whole). */
  precomputedLayers: string[];
  /** Ends the phase: the complete model (the same object, or extractor and tail stacked anew). */
  finish(): tf.LayersModel;
  /** Frees everything on a failure before `finish`, the given model included. */
  dispose(): void;
}

/**
 * Prepares a phase for `model` and takes ownership of it (it is disposed if this throws). Frozen layers
 * are the ones with `trainable === false`; the frozen prefix runs from the input to the last frozen
 * weighted layer before the first trainable one (weightless layers such as Dropout after it belong to
 * the tail).
 *
 * @throws Error when every weighted layer is frozen.
 */
export function prepareTrainee(model: tf.LayersModel, train: TensorPair, validation: TensorPair): Trainee {
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const weighted = layers.filter((l) => l.weights.length > 0);
  if (weighted.length > 0 && weighted.every((l) => !l.trainable)) {
    disposeModel(model);
    throw new Error(`every layer of model "${model.name}" with weights is frozen: there is nothing to train`);
  }
  const cut = frozenPrefixEnd(layers);
  if (cut < 0) {
    const unpin = pinFrozenBatchNorm(layers);
    let done = false;
    return {
      model,
      train,
      validation,
      precomputedLayers: [],
      finish: () => {
        done = true;
        unpin();
        return model;
      },
      dispose: () => {
        if (done) return;
        done = true;
        unpin();
        disposeModel(model);
      },
    };
  }

  const held: tf.TensorContainer[] = [];
  const parts: tf.LayersModel[] = [];
  try {
    const extractor = featureExtractor(model, layers[cut]!.name);
    parts.push(extractor);
    const width = extractor.outputs[0]!.shape[1] as number;
    const tail = copyLayers(`${model.name}_tail`, layers.slice(cut + 1), width);
    parts.push(tail);
    const features = { train: precomputeFeatures(extractor, train.x), validation: precomputeFeatures(extractor, validation.x) };
    held.push(features.train, features.validation);
    const unpin = pinFrozenBatchNorm(tail.layers);
    let done = false;
    const release = (): void => {
      done = true;
      unpin();
      tf.dispose(held);
      for (const part of parts) disposeModel(part);
      disposeModel(model);
    };
    return {
      model: tail,
      train: { x: features.train, y: train.y },
      validation: { x: features.validation, y: validation.y },
      precomputedLayers: layers.slice(0, cut + 1).map((l) => l.name),
      finish: () => {
        const stacked = stackModels([extractor, tail], model.name);
        release();
        return stacked;
      },
      dispose: () => {
        if (!done) release();
      },
    };
  } catch (err) {
    tf.dispose(held);
    for (const part of parts) disposeModel(part);
    disposeModel(model);
    throw err;
  }
}

/** Index of the last layer of the frozen prefix, or -1 when the first weighted layer trains. */
function frozenPrefixEnd(layers: readonly tf.layers.Layer[]): number {
  let end = -1;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i]!;
    if (layer.weights.length === 0) continue;
    if (layer.trainable) break;
    end = i;
  }
  return end;
}

type LayerCall = tf.layers.Layer['call'];

/**
 * Makes frozen BatchNormalization layers run in inference mode (moving statistics, left unchanged)
 * even inside `fit`. Returns the undo.
 */
function pinFrozenBatchNorm(layers: readonly tf.layers.Layer[]): () => void {
  const undo: (() => void)[] = [];
  for (const layer of layers) {
    if (layer.getClassName() !== 'BatchNormalization' || layer.trainable) continue;
    const own = Object.hasOwn(layer, 'call');
    const previous: LayerCall = layer.call;
    const bound: LayerCall = previous.bind(layer);
    layer.call = (inputs, kwargs) => bound(inputs, { ...kwargs, training: false });
    undo.push(() => {
      if (own) layer.call = previous;
      else delete (layer as { call?: LayerCall }).call;
    });
  }
  return () => {
    for (const step of undo.splice(0)) step();
  };
}

/**
 * A Sequential of fresh layers built from the given layers' configs, holding their current weights and
 * trainable flags (a copy, so the source model can be disposed independently). Dropout layers keep
 * their seeded mask stream.
 */
function copyLayers(name: string, layers: readonly tf.layers.Layer[], inputWidth: number): tf.Sequential {
  const model = tf.sequential({ name });
  try {
    for (const layer of layers) {
      const copy = copyLayer(layer, model.layers.length === 0 ? inputWidth : undefined);
      model.add(copy);
      copy.setWeights(layer.getWeights());
      copy.trainable = layer.trainable;
    }
  } catch (err) {
    try {
      model.dispose();
    } catch {
      // A model whose layers were never built holds nothing.
    }
    throw err;
  }
  return model;
}
