// Hyperparameter search for a run: random configurations raced by successive halving (search.ts), each
// trial training the model the final run would start from.
import { resolveEarlyStopping } from './early-stopping.js';
import type { EarlyStoppingConfig } from './early-stopping.js';
import { compileForTraining, fitEpochs, prepareTrainee } from './fit.js';
import { deriveSeed } from './network.js';
import { defaultMinEpochs, sampleConfigurations, successiveHalving } from './search.js';
import type { TrialRunner } from './search.js';
import { asDataError, asDataErrorAsync } from './train-options.js';
import { SEED_SEARCH, SEED_SHUFFLE } from './train-run.js';
import type { RunContext } from './train-run.js';
import { buildTrainable } from './trainable-model.js';
import type { EpochRecord, Hyperparameters, TrainOptions, TrialRecord } from './types.js';

/**
 * Random search with successive halving. Each trial trains the model the final run would start from,
 * for the first phase only (the head phase of a two-phase recipe), and is scored by the early-stopping
 * monitor (higher is better: losses are negated), taking its best epoch so far. The winner's
 * hyperparameters are then used for a full run from scratch.
 */
export async function searchHyperparameters(
  hp: Hyperparameters,
  search: NonNullable<TrainOptions['search']>,
  run: RunContext,
): Promise<{ best: Hyperparameters; trials: TrialRecord[] }> {
  const eta = search.eta ?? 3;
  const configs = asDataError(() => sampleConfigurations(search.trials, hp, deriveSeed(run.seed, SEED_SEARCH), { architecture: run.base === undefined }));
  const score = scoreBy(run.earlyStopping ?? resolveEarlyStopping(undefined)!);
  const firstPhaseEpochs = run.base?.options.twoPhase?.headEpochs ?? hp.epochs;
  const start = (config: Hyperparameters): TrialRunner => startTrial(config, run, score);
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

/** A trial's score for one epoch: the monitored value, negated when lower is better. */
function scoreBy(monitor: EarlyStoppingConfig): (record: EpochRecord) => number {
  return (record) => {
    const value = monitor.monitor === 'val_loss' ? record.valLoss : monitor.monitor === 'loss' ? record.loss : record.metrics[monitor.monitor];
    if (value === undefined || !Number.isFinite(value)) return Number.NEGATIVE_INFINITY;
    return monitor.mode === 'max' ? value : -value;
  };
}

/** Builds and compiles a trial's model; each advance trains it on to `total` epochs and returns its best score. */
function startTrial(config: Hyperparameters, run: RunContext, score: (record: EpochRecord) => number): TrialRunner {
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
}
