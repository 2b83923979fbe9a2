// Hyperparameter search: seeded random sampling of configurations, then synchronous successive halving
// (the schedule ASHA makes asynchronous) on validation scores.
//
// Everything here is scheduling and sampling; training lives behind `TrialRunner`, so the logic can be
// tested with a fake objective. A trial is started once and advanced rung by rung: at rung k every
// surviving trial is trained up to minEpochs·eta^k epochs in total (capped at maxEpochs) and scored, and
// the best 1/eta of them (at least one) go on to the next rung. The search ends when one trial is left
// (it wins without training further), a rung at the epoch cap has been scored, or the time budget is
// spent.
import { seededRandom } from '../core/index.js';
import type { HiddenLayerSpecInput } from './network.js';
import type { Hyperparameters, TrialRecord } from './types.js';

/** Where random search draws from. */
export interface SearchSpace {
  /** Learning rate, log-uniform in [min, max]. */
  learningRate: readonly [number, number];
  batchSizes: readonly number[];
  /** L2 penalty, log-uniform in [min, max]. */
  l2: readonly [number, number];
  /** Dropout rate, uniform in [min, max]. */
  dropout: readonly [number, number];
  /** Units of every hidden layer of a drawn network. */
  units: readonly number[];
  /** Number of hidden layers of a drawn network. */
  depth: readonly number[];
}

export const DEFAULT_SEARCH_SPACE: SearchSpace = {
  learningRate: [1e-4, 3e-2],
  batchSizes: [16, 32, 64, 128],
  l2: [1e-6, 1e-2],
  dropout: [0, 0.5],
  units: [16, 32, 64, 128],
  depth: [1, 2, 3],
};

export interface SampleOptions {
  /**
   * Draw the hidden layers too. Off when the network comes from a base model, whose layers are reused
   * as they are. @defaultValue true
   */
  architecture?: boolean;
  space?: SearchSpace;
}

/**
 * `count` configurations drawn from the space with a PRNG seeded by `seed`: same seed, same list.
 * Fields that are not searched (optimizer, epochs, initializer, activation) come from `base`.
 */
export function sampleConfigurations(count: number, base: Hyperparameters, seed: number, options: SampleOptions = {}): Hyperparameters[] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`search trials must be an integer >= 1, got ${count}`);
  const space = options.space ?? DEFAULT_SEARCH_SPACE;
  checkSpace(space);
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const logUniform = ([lo, hi]: readonly [number, number]): number => Math.exp(Math.log(lo) + random() * (Math.log(hi) - Math.log(lo)));
  const configs: Hyperparameters[] = [];
  for (let i = 0; i < count; i++) {
    // Every draw happens whether or not it is used, so switching `architecture` leaves the learning
    // rates and batch sizes of a seed unchanged.
    const learningRate = logUniform(space.learningRate);
    const batchSize = pick(space.batchSizes);
    const l2 = logUniform(space.l2);
    const dropout = space.dropout[0] + random() * (space.dropout[1] - space.dropout[0]);
    const depth = pick(space.depth);
    const units = pick(space.units);
    const config: Hyperparameters = { ...base, learningRate, batchSize, l2, dropout };
    if (options.architecture ?? true) {
      const activation = base.network?.hidden?.[0]?.activation ?? 'relu';
      const hidden: HiddenLayerSpecInput[] = Array.from({ length: depth }, () => ({ units, activation }));
      config.network = { ...base.network, hidden };
    }
    configs.push(config);
  }
  return configs;
}

function checkSpace(space: SearchSpace): void {
  for (const [name, [lo, hi]] of [['learningRate', space.learningRate], ['l2', space.l2]] as const) {
    if (!(lo > 0 && hi >= lo)) throw new RangeError(`search space ${name} must be a range 0 < min <= max, got [${lo}, ${hi}]`);
  }
  if (!(space.dropout[0] >= 0 && space.dropout[1] >= space.dropout[0] && space.dropout[1] < 1)) {
    throw new RangeError(`search space dropout must be a range within [0, 1), got [${space.dropout.join(', ')}]`);
  }
  for (const [name, list] of [['batchSizes', space.batchSizes], ['units', space.units], ['depth', space.depth]] as const) {
    if (list.length === 0 || !list.every((v) => Number.isInteger(v) && v >= 1)) throw new RangeError(`search space ${name} must list integers >= 1`);
  }
}

/** Total epochs of each rung: minEpochs·eta^k, capped at maxEpochs, up to the first rung at the cap. */
export function rungEpochs(minEpochs: number, eta: number, maxEpochs: number): number[] {
  if (!Number.isInteger(minEpochs) || minEpochs < 1) throw new RangeError(`search minEpochs must be an integer >= 1, got ${minEpochs}`);
  if (!(Number.isFinite(eta) && eta >= 2)) throw new RangeError(`search eta must be a number >= 2, got ${eta}`);
  if (!Number.isInteger(maxEpochs) || maxEpochs < 1) throw new RangeError(`search maxEpochs must be an integer >= 1, got ${maxEpochs}`);
  const rungs: number[] = [];
  for (let epochs = Math.min(minEpochs, maxEpochs); ; epochs = Math.min(maxEpochs, Math.round(epochs * eta))) {
    rungs.push(epochs);
    if (epochs >= maxEpochs) return rungs;
  }
}

/** How many of `n` scored trials go on to the next rung. */
export function survivors(n: number, eta: number): number {
  return Math.max(1, Math.floor(n / eta));
}

/** Rungs successive halving needs to narrow `trials` down to one winner (the last rung has 2+ trials). */
export function rungsNeeded(trials: number, eta: number): number {
  let rungs = 1;
  for (let n = trials; n > 1 && survivors(n, eta) > 1; n = survivors(n, eta)) rungs++;
  return rungs;
}

/**
 * The first rung's epochs that make the last rung needed (see rungsNeeded) train for `maxEpochs`:
 * maxEpochs / eta^(rungs - 1), rounded down, at least 1.
 */
export function defaultMinEpochs(trials: number, eta: number, maxEpochs: number): number {
  return Math.max(1, Math.floor(maxEpochs / Math.pow(eta, rungsNeeded(trials, eta) - 1)));
}

/** A started trial: trains further on each call and returns its validation score (higher is better). */
export interface TrialRunner {
  /** Trains until `totalEpochs` epochs have been run in this trial, then scores it. */
  advance(totalEpochs: number): Promise<number>;
  dispose(): void;
}

export interface HalvingOptions {
  minEpochs: number;
  maxEpochs: number;
  /** @defaultValue 3 */
  eta?: number;
  /** Wall-clock budget from the start of the search. The first trial always runs. @defaultValue none */
  timeBudgetMs?: number;
  /** Clock, replaceable in tests. @defaultValue `Date.now` */
  now?: () => number;
  /** Called when a trial leaves the search (eliminated, or at the end). */
  onTrialDone?: (trial: TrialRecord) => void;
}

export interface SearchOutcome {
  /** Every trial that ran, by id. */
  trials: TrialRecord[];
  /** The winner: best score at the deepest rung any trial reached (ties: lower id). */
  best: TrialRecord;
  /** Whether the time budget cut the search short. */
  timedOut: boolean;
}

interface LiveTrial {
  record: TrialRecord;
  runner: TrialRunner | undefined;
}

/**
 * Synchronous successive halving over `configs` (trial ids are their indices). Trials start lazily at
 * rung 0, in id order; when the budget runs out no further trial is started or advanced, and the winner
 * is chosen among what was scored. Every runner is disposed before this returns or throws.
 */
export async function successiveHalving(
  configs: readonly Hyperparameters[],
  options: HalvingOptions,
  start: (config: Hyperparameters, id: number) => TrialRunner | Promise<TrialRunner>,
): Promise<SearchOutcome> {
  if (configs.length === 0) throw new RangeError('successiveHalving: no configurations to try');
  const eta = options.eta ?? 3;
  const rungs = rungEpochs(options.minEpochs, eta, options.maxEpochs);
  const now = options.now ?? Date.now;
  const startedAt = now();
  const deadline = options.timeBudgetMs === undefined ? Number.POSITIVE_INFINITY : startedAt + options.timeBudgetMs;
  const live: LiveTrial[] = [];
  const finished = new Set<number>();
  const done = (trial: LiveTrial): void => {
    trial.runner?.dispose();
    trial.runner = undefined;
    if (finished.has(trial.record.id)) return;
    finished.add(trial.record.id);
    options.onTrialDone?.(trial.record);
  };

  let timedOut = false;
  try {
    let contenders = configs.map((_, id) => id);
    for (let k = 0; k < rungs.length && !timedOut; k++) {
      const epochs = rungs[k]!;
      for (const id of contenders) {
        if (now() >= deadline && live.length > 0) {
          timedOut = true;
          break;
        }
        let trial = live[id];
        if (trial === undefined) {
          const record: TrialRecord = { id, hyperparameters: configs[id]!, rungs: [], finalScore: Number.NEGATIVE_INFINITY, stoppedAtRung: 0, durationMs: 0 };
          trial = { record, runner: undefined };
          live[id] = trial;
          const t0 = now();
          trial.runner = await start(configs[id]!, id);
          record.durationMs += now() - t0;
        }
        const t0 = now();
        const raw = await trial.runner!.advance(epochs);
        const score = Number.isFinite(raw) ? raw : Number.NEGATIVE_INFINITY;
        trial.record.durationMs += now() - t0;
        trial.record.rungs.push({ epochs, score });
        trial.record.finalScore = score;
        trial.record.stoppedAtRung = k;
      }
      const scored = contenders.filter((id) => live[id]?.record.rungs.length === k + 1);
      if (timedOut || k === rungs.length - 1 || scored.length <= 1) {
        contenders = scored;
        break;
      }
      const ranked = rankAtRung(scored.map((id) => live[id]!.record), k);
      const keep = new Set(ranked.slice(0, survivors(ranked.length, eta)).map((r) => r.id));
      for (const id of scored) if (!keep.has(id)) done(live[id]!);
      contenders = scored.filter((id) => keep.has(id));
      // A single survivor is the winner; training it further here would only repeat the final run.
      if (contenders.length === 1) break;
    }
    const started = live.filter((t): t is LiveTrial => t !== undefined);
    for (const trial of started) done(trial);
    const records = started.map((t) => t.record);
    const deepest = Math.max(...records.map((r) => r.rungs.length - 1));
    const best = rankAtRung(
      records.filter((r) => r.rungs.length - 1 === deepest),
      deepest,
    )[0]!;
    return { trials: records, best, timedOut };
  } finally {
    // On a failure (an aborted run) the runners still hold models; no trial events are sent then.
    for (const trial of live) trial?.runner?.dispose();
  }
}

/** Records scored at rung k, best first; equal scores keep the lower id first. */
function rankAtRung(records: readonly TrialRecord[], k: number): TrialRecord[] {
  return [...records].sort((a, b) => b.rungs[k]!.score - a.rungs[k]!.score || a.id - b.id);
}
