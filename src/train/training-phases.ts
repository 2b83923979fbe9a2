// The training recipe: one phase, or the two of fine-tuning (train the head with the rest frozen, then
// everything at a low learning rate), each with a fresh optimizer, keeping the best weights across both.
import type { tf } from '../core/tfjs.js';
import { unfreezeLayers } from './base-model.js';
import { BestWeightsTracker } from './early-stopping.js';
import { compileForTraining, disposeModel, evaluateLogs, fitEpochs, prepareTrainee } from './fit.js';
import { deriveSeed } from './network.js';
import { SEED_SHUFFLE } from './train-run.js';
import type { RunContext } from './train-run.js';
import type { BaseOptions, EpochRecord, Hyperparameters } from './types.js';

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
export async function runRecipe(initial: tf.LayersModel, hp: Hyperparameters, run: RunContext): Promise<{ model: tf.LayersModel; history: EpochRecord[]; bestEpoch: number }> {
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
      const tracker = run.earlyStopping ? new BestWeightsTracker(run.earlyStopping, history.length + 1) : undefined;
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
