// Checking a run's options before it starts: every mistake a caller can make in TrainOptions is
// reported as a DataError (the CLI's exit code 2) now, rather than by the version writer after a long run.
import { modelNameSchema } from '../core/index.js';
import { DataError } from './data/index.js';
import { logKeys } from './fit.js';
import { resolveEarlyStopping } from './early-stopping.js';
import type { EarlyStoppingConfig } from './early-stopping.js';
import { BASE_STRATEGIES, DEFAULT_BASE_STRATEGY, OPTIMIZERS, choiceList } from './types.js';
import type { BaseOptions, HyperparameterOverrides, Hyperparameters, Task, TrainOptions } from './types.js';

/** Learning rate 0.01, batch size 32, 100 epochs, Adam. */
export const DEFAULT_HYPERPARAMETERS: Hyperparameters = { learningRate: 0.01, batchSize: 32, epochs: 100, optimizer: 'adam' };

/** The options a run needs resolved before any data is read. */
export interface CheckedOptions {
  seed: number;
  earlyStopping: EarlyStoppingConfig | undefined;
  hyperparameters: Hyperparameters;
}

export function checkTrainOptions(options: TrainOptions, defaultSeed: number): CheckedOptions {
  const seed = options.seed ?? defaultSeed;
  if (!Number.isInteger(seed)) throw new DataError(`seed must be an integer, got ${seed}`);
  const name = modelNameSchema.safeParse(options.modelName);
  if (!name.success) throw new DataError(`invalid model name ${JSON.stringify(options.modelName)}: ${name.error.issues.map((i) => i.message).join('; ')}`);
  const earlyStopping = asDataError(() => resolveEarlyStopping(options.earlyStopping));
  const hyperparameters = resolveHyperparameters(options.hyperparameters);
  checkBaseOptions(options.base);
  return { seed, earlyStopping, hyperparameters };
}

/** Refuses an early-stopping monitor the task does not log; known only once the data gives the task. */
export function checkMonitor(earlyStopping: EarlyStoppingConfig | undefined, task: Task): void {
  if (earlyStopping && !logKeys(task).includes(earlyStopping.monitor)) {
    throw new DataError(`early stopping cannot monitor "${earlyStopping.monitor}"; for ${task} it can watch ${logKeys(task).join(', ')}`);
  }
}

function resolveHyperparameters(given: HyperparameterOverrides | undefined): Hyperparameters {
  const hp: Hyperparameters = { ...DEFAULT_HYPERPARAMETERS, ...stripUndefined(given ?? {}) };
  if (!(Number.isFinite(hp.learningRate) && hp.learningRate > 0)) throw new DataError(`learning rate must be a number > 0, got ${hp.learningRate}`);
  if (!Number.isInteger(hp.batchSize) || hp.batchSize < 1) throw new DataError(`batch size must be an integer >= 1, got ${hp.batchSize}`);
  if (!Number.isInteger(hp.epochs) || hp.epochs < 1) throw new DataError(`epochs must be an integer >= 1, got ${hp.epochs}`);
  if (!(OPTIMIZERS as readonly string[]).includes(hp.optimizer)) throw new DataError(`optimizer must be ${choiceList(OPTIMIZERS)}, got ${JSON.stringify(hp.optimizer)}`);
  for (const key of ['l1', 'l2'] as const) {
    const v = hp[key];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new DataError(`${key} must be a number >= 0, got ${v}`);
  }
  if (hp.dropout !== undefined && !(hp.dropout >= 0 && hp.dropout <= 0.9)) throw new DataError(`dropout must be in [0, 0.9], got ${hp.dropout}`);
  return hp;
}

function stripUndefined<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

function checkBaseOptions(base: BaseOptions | undefined): void {
  if (!base) return;
  const strategy = base.strategy ?? DEFAULT_BASE_STRATEGY;
  if (!(BASE_STRATEGIES as readonly string[]).includes(strategy)) {
    throw new DataError(`base strategy must be ${choiceList(BASE_STRATEGIES)}, got ${JSON.stringify(strategy)}`);
  }
  const two = base.twoPhase;
  if (two && !(Number.isInteger(two.headEpochs) && two.headEpochs >= 1 && Number.isFinite(two.lowLearningRate) && two.lowLearningRate > 0)) {
    throw new DataError(`two-phase training needs headEpochs >= 1 and lowLearningRate > 0, got ${two.headEpochs} and ${two.lowLearningRate}`);
  }
}

/** Runs `f`, reporting the RangeErrors of option resolvers (early stopping, search) as DataErrors. */
export function asDataError<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    return rethrowAsDataError(err);
  }
}

export async function asDataErrorAsync<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    return rethrowAsDataError(err);
  }
}

function rethrowAsDataError(err: unknown): never {
  if (err instanceof RangeError) throw new DataError(err.message, {}, { cause: err });
  throw err;
}
