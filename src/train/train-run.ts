// What every step of a training run shares once the data is prepared: the task and its shapes, the
// seed, the base, the training and validation tensors, early stopping, and the abort and event hooks.
import type { tf } from '../core/tfjs.js';
import type { BaseModel } from './base-model.js';
import type { EarlyStoppingConfig } from './early-stopping.js';
import type { TensorPair } from './fit.js';
import { targetMatrix } from './prepare.js';
import type { PreparedData } from './prepare.js';
import type { BaseOptions, Task, TrainEvent } from './types.js';

// Streams of the run seed (see deriveSeed; prepare.ts has the split and augmentation streams); the
// network itself is built from the run seed. Listed in one place so no two steps share a stream.
export const SEED_NEW_LAYERS = 3;
export const SEED_SHUFFLE = 4;
export const SEED_REFERENCE = 5;
export const SEED_SEARCH = 6;
export const SEED_BASE_DROPOUT = 100;

export interface RunContext {
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

/** Creates a [rows, columns] tensor that the caller frees. */
export type TensorMaker = (values: Float32Array, columns: number) => tf.Tensor;

/** The context for a run on `data`: its shapes, and its training and validation tensors made by `tensor`. */
export function runContext(
  data: PreparedData,
  settings: Pick<RunContext, 'seed' | 'base' | 'earlyStopping' | 'signal' | 'emit'>,
  tensor: TensorMaker,
): RunContext {
  const outputs = data.task === 'classification' ? data.labels!.length : 1;
  return {
    task: data.task,
    labels: data.labels,
    width: data.width,
    outputs,
    ...settings,
    targetMean: data.targetMean,
    train: { x: tensor(data.augmented.x, data.width), y: tensor(data.augmented.y, outputs) },
    validation: { x: tensor(data.x.validation, data.width), y: tensor(targetMatrix(data.y.validation, data.task, outputs), outputs) },
  };
}
