// The model a run trains: a fresh network, or one made from the base by the fine-tuning strategy
// (fine-tune, transfer, replace-output), frozen as the options say.
import { describeError } from '../core/index.js';
import { tf } from '../core/tfjs.js';
import { freezeLayers, loadBaseModel, replaceOutput, stackModels, withNewHead } from './base-model.js';
import type { BaseModel } from './base-model.js';
import { DataError } from './data/index.js';
import { disposeModel } from './fit.js';
import { buildNetwork, deriveSeed, dropoutStreamSeed, streamDropoutSeeds } from './network.js';
import type { HiddenLayerSpecInput } from './network.js';
import { SEED_BASE_DROPOUT, SEED_NEW_LAYERS } from './train-run.js';
import type { RunContext } from './train-run.js';
import { DEFAULT_BASE_STRATEGY } from './types.js';
import type { BaseOptions, Hyperparameters } from './types.js';

/** Hidden layers of a fresh network when `hyperparameters.network.hidden` is not given. */
export const DEFAULT_HIDDEN: readonly HiddenLayerSpecInput[] = [
  { units: 32, activation: 'relu' },
  { units: 16, activation: 'relu' },
];

export async function loadBase(dir: string, seed: number): Promise<BaseModel> {
  let base: BaseModel;
  try {
    base = await loadBaseModel(dir);
  } catch (err) {
    throw new DataError(`cannot fine-tune from ${dir}: ${describeError(err)}`, {}, { cause: err });
  }
  // Dropout reloaded from disk draws from Math.random; give it a seeded stream (copies inherit it).
  base.model.layers.forEach((layer, i) => {
    if (layer.getClassName() === 'Dropout' && dropoutStreamSeed(layer) === undefined) {
      streamDropoutSeeds(layer, deriveSeed(seed, SEED_BASE_DROPOUT + i));
    }
  });
  return base;
}

/** The model training starts from, built or cut from the base, frozen as the options say. Uncompiled. */
export function buildTrainable(hp: Hyperparameters, run: RunContext): tf.LayersModel {
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
  const strategy = options.strategy ?? DEFAULT_BASE_STRATEGY;
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
    } else if (twoPhase && (options.strategy ?? DEFAULT_BASE_STRATEGY) !== 'transfer') {
      const weighted = model.layers.filter((l) => l.getClassName() !== 'InputLayer' && l.weights.length > 0);
      freezeLayers(model, { firstK: weighted.length - 1 });
    }
  } catch (err) {
    throw new DataError(`cannot freeze layers: ${describeError(err)}`, {}, { cause: err });
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
