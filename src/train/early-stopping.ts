// Early stopping on a monitored validation metric, with the best weights kept and restored at the end.
//
// tfjs has `tf.callbacks.earlyStopping` but its `restoreBestWeights` throws NotImplemented, so this module
// does both halves itself: a pure patience rule (`observeEpoch`, unit-tested on scripted sequences) and a
// tracker that snapshots the model's weights whenever the rule sees an improvement.
import { tf } from '../core/tfjs.js';
import type { EarlyStoppingOptions } from './types.js';

export type MonitorMode = 'min' | 'max';

/** Early stopping with every default filled in. */
export interface EarlyStoppingConfig {
  /** Log key watched after each epoch, e.g. `val_loss` or `val_accuracy`. */
  monitor: string;
  /** Epochs without improvement tolerated before stopping; 0 stops at the first one. */
  patience: number;
  /** How much better than the best so far a value must be to count as an improvement. */
  minDelta: number;
  /**
   * Epochs at the start of each phase that are neither watched nor kept as the best: a warm start
   * whose small validation split happens to flatter the starting weights cannot stop the run there.
   */
  startFromEpoch: number;
  mode: MonitorMode;
}

/** Metric names where larger is better; anything else (losses, errors) is minimised. */
const HIGHER_IS_BETTER = /(^|_)(acc|accuracy|auc|r2|f1|precision|recall)$/;

/** Whether a monitored value should go down (`min`) or up (`max`). */
export function monitorMode(monitor: string): MonitorMode {
  return HIGHER_IS_BETTER.test(monitor) ? 'max' : 'min';
}

/**
 * Resolves the trainer's option: `false` turns early stopping off; `undefined` gives the default
 * (`val_loss`, patience 10, minDelta 0, watched from the first epoch).
 * @throws RangeError for a negative or fractional patience or startFromEpoch, or a negative minDelta.
 */
export function resolveEarlyStopping(options: EarlyStoppingOptions | false | undefined): EarlyStoppingConfig | undefined {
  if (options === false) return undefined;
  const monitor = options?.monitor ?? 'val_loss';
  const patience = options?.patience ?? 10;
  const minDelta = options?.minDelta ?? 0;
  const startFromEpoch = options?.startFromEpoch ?? 0;
  if (!Number.isInteger(patience) || patience < 0) throw new RangeError(`early stopping patience must be an integer >= 0, got ${patience}`);
  if (!Number.isInteger(startFromEpoch) || startFromEpoch < 0) {
    throw new RangeError(`early stopping startFromEpoch must be an integer >= 0, got ${startFromEpoch}`);
  }
  if (!(Number.isFinite(minDelta) && minDelta >= 0)) throw new RangeError(`early stopping minDelta must be a number >= 0, got ${minDelta}`);
  return { monitor, patience, minDelta, startFromEpoch, mode: monitorMode(monitor) };
}

/** Where the patience rule stands after some epochs. */
export interface PatienceState {
  best: number | undefined;
  bestEpoch: number | undefined;
  /** Epochs since the last improvement. */
  wait: number;
}

export const INITIAL_PATIENCE: PatienceState = { best: undefined, bestEpoch: undefined, wait: 0 };

/**
 * One step of the patience rule. A value improves when it beats the best by more than `minDelta` in
 * the configured direction (the first finite value always does). A non-finite value (a diverged loss)
 * never improves. Training should stop once `patience` epochs in a row brought no improvement.
 */
export function observeEpoch(
  state: PatienceState,
  epoch: number,
  value: number,
  config: Pick<EarlyStoppingConfig, 'patience' | 'minDelta' | 'mode'>,
): { state: PatienceState; improved: boolean; stop: boolean } {
  const improved =
    Number.isFinite(value) &&
    (state.best === undefined || (config.mode === 'min' ? value < state.best - config.minDelta : value > state.best + config.minDelta));
  const next: PatienceState = improved ? { best: value, bestEpoch: epoch, wait: 0 } : { ...state, wait: state.wait + 1 };
  return { state: next, improved, stop: !improved && next.wait >= config.patience };
}

/**
 * Applies the patience rule epoch by epoch and keeps a copy of the weights of the best epoch.
 *
 * The copy is a list of tensors cloned from `model.getWeights()` (trainable and non-trainable, so
 * BatchNormalization statistics come back too); a clone shares its buffer until the variable is next
 * assigned, so snapshots are cheap. `restore` writes the copy back; `dispose` frees it. One tracker
 * follows one model: the weights it restores must have the shapes it saw.
 *
 * The tracker follows one phase, whose first epoch is `firstEpoch`; the phase's first
 * `config.startFromEpoch` epochs are skipped. A value for an epoch before the phase (the previous
 * phase's result, given before the first fit) is always watched.
 */
export class BestWeightsTracker {
  readonly config: EarlyStoppingConfig;
  private state: PatienceState = INITIAL_PATIENCE;
  private weights: tf.Tensor[] | undefined;

  private readonly firstEpoch: number;

  constructor(config: EarlyStoppingConfig, firstEpoch = 1) {
    this.config = config;
    this.firstEpoch = firstEpoch;
  }

  get bestEpoch(): number | undefined {
    return this.state.bestEpoch;
  }

  get bestValue(): number | undefined {
    return this.state.best;
  }

  /** Records an epoch's monitored value; snapshots the model when it improved. Returns true to stop. */
  update(epoch: number, value: number, model: tf.LayersModel): boolean {
    if (epoch >= this.firstEpoch && epoch < this.firstEpoch + this.config.startFromEpoch) return false;
    const step = observeEpoch(this.state, epoch, value, this.config);
    this.state = step.state;
    if (step.improved) {
      const copy = model.getWeights().map((w) => tf.clone(w));
      this.releaseWeights();
      this.weights = copy;
    }
    return step.stop;
  }

  /** Puts the best epoch's weights back into the model. Returns false when nothing was recorded. */
  restore(model: tf.LayersModel): boolean {
    if (this.weights === undefined) return false;
    model.setWeights(this.weights);
    return true;
  }

  dispose(): void {
    this.releaseWeights();
  }

  private releaseWeights(): void {
    if (this.weights !== undefined) tf.dispose(this.weights);
    this.weights = undefined;
  }
}
