// The contract between the trainer (trainer.ts: data preparation, fitting, search, evaluation) and
// what consumes its result (version writer, HTML report, CLI, worker thread, retrain loop).
import type { Feature, Preprocessing, ReferenceProfile, Task } from '../core/index.js';
import type { tf } from '../core/tfjs.js';
import type { CleanRow, CleaningReport, MissingOptions, OutlierOptions, RawTable, Scaling, SplitFractions } from './data/index.js';
import type { ClassificationReport, ErrorAnalysis, RegressionReport } from './eval/index.js';
import type { NetworkSpecInput } from './network.js';

export type { Task };

/** The optimizers a training may use; the type, the zod enum of retrain recipes and the CLI's choices derive from it. */
export const OPTIMIZERS = ['adam', 'sgd', 'rmsprop'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

/** How fine-tuning starts from a base version (see BaseOptions.strategy). */
export const BASE_STRATEGIES = ['fine-tune', 'transfer', 'replace-output'] as const;
export type BaseStrategy = (typeof BASE_STRATEGIES)[number];
/** The strategy of a base given without one. */
export const DEFAULT_BASE_STRATEGY: BaseStrategy = 'fine-tune';

/** `a, b or c`: a choice list for error messages. */
export function choiceList(choices: readonly string[]): string {
  return choices.length <= 1 ? choices.join('') : `${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}`;
}
export type MetricsReport = ClassificationReport | RegressionReport;

/** Where the data comes from. */
export type DataSource =
  | { kind: 'csv'; path: string; delimiter?: string }
  | { kind: 'jsonl'; path: string }
  | { kind: 'table'; table: RawTable }
  | { kind: 'examples'; examples: { features: Record<string, number | string | boolean | null>; label: number | string }[] };

/** How fine-tuning starts from an existing version. */
export interface BaseOptions {
  /** A version directory (`models/<m>/<v>`), tfjs layers or ONNX dense network. */
  dir: string;
  /** Freeze the first k weighted layers, or the named ones. */
  freeze?: { firstK?: number | undefined; names?: string[] | undefined };
  /**
   * `fine-tune`: keep the network, train (unfrozen) layers; `transfer`: base minus its output as a
   * frozen feature extractor + a new head; `replace-output`: new output layer (e.g. other classes).
   */
  strategy?: BaseStrategy;
  /** Two-phase recipe: train the head/unfrozen part, then unfreeze all at `lowLearningRate`. */
  twoPhase?: { headEpochs: number; lowLearningRate: number };
}

export interface Hyperparameters {
  learningRate: number;
  batchSize: number;
  epochs: number;
  optimizer: OptimizerName;
  /** Network for a fresh model (ignored layers/units when fine-tuning a base, except the new head). */
  network?: Omit<NetworkSpecInput, 'inputWidth' | 'output' | 'seed'>;
  l1?: number;
  l2?: number;
  dropout?: number;
}

/** Hyperparameters a run sets; the rest take the defaults. An undefined value counts as not set (a parsed recipe has them). */
export type HyperparameterOverrides = { [K in keyof Hyperparameters]?: Hyperparameters[K] | undefined };

export interface EarlyStoppingOptions {
  /** Metric watched on the validation split: 'val_loss' (default) or a metric name like 'val_accuracy'. */
  monitor?: string;
  patience: number;
  minDelta?: number;
  /** Epochs at the start of each phase that are not watched (Keras's `start_from_epoch`). @defaultValue 0 */
  startFromEpoch?: number;
}

export interface SearchOptions {
  trials: number;
  /** Wall-clock budget; the search stops starting new trials when it is spent. */
  timeBudgetMs?: number | undefined;
  /** Successive halving: keep the best 1/eta of trials at each rung. @defaultValue 3 */
  eta?: number | undefined;
  /** Epoch budget of the first rung. */
  minEpochs?: number | undefined;
}

export interface TrainOptions {
  data: DataSource;
  target: string;
  task?: Task;
  features?: string[];
  exclude?: string[];
  types?: Record<string, 'numeric' | 'categorical'>;
  missing?: MissingOptions;
  outliers?: OutlierOptions;
  scaling?: Scaling;
  split?: SplitFractions;
  augment?: { noise?: { std: number; copies: number }; mixup?: { alpha: number; copies: number }; oversample?: boolean };
  base?: BaseOptions;
  hyperparameters?: HyperparameterOverrides;
  earlyStopping?: EarlyStoppingOptions | false;
  search?: SearchOptions;
  seed?: number;
  /** Name of the model the result will be written as (manifest `name`). */
  modelName: string;
  /** Why this run happened (manifest lineage trigger): 'manual', 'retrain:data_drift', ... */
  trigger?: string;
  /** The retrain job that started the run, recorded as the manifest's `lineage.job`. */
  job?: string;
}

export interface EpochRecord {
  phase: 'train' | 'head' | 'fine-tune' | string;
  epoch: number;
  loss: number;
  valLoss: number;
  /** e.g. accuracy / val_accuracy, or mae / val_mae. */
  metrics: Record<string, number>;
}

export interface TrialRecord {
  id: number;
  hyperparameters: Hyperparameters;
  /** Validation score at each rung it reached (higher is better). */
  rungs: { epochs: number; score: number }[];
  finalScore: number;
  stoppedAtRung: number;
  durationMs: number;
}

export type TrainEvent =
  | { type: 'stage'; stage: string; message?: string }
  | { type: 'epoch'; record: EpochRecord; totalEpochs: number }
  | { type: 'trial'; trial: TrialRecord; total: number };

export interface TrainHooks {
  onEvent?: (event: TrainEvent) => void;
  /** Aborting stops training at the next batch and rejects with an AbortError. */
  signal?: AbortSignal;
}

export interface TrainResult {
  /** The trained model, best weights restored; the caller disposes it. */
  model: tf.LayersModel;
  task: Task;
  labels?: string[];
  /** Manifest form, in input-vector order, and the preprocessing fitted on the training split. */
  features: Feature[];
  preprocessing: Preprocessing;
  inputName: string;
  outputName: string;
  cleaning: CleaningReport;
  rows: { train: number; validation: number; test: number; augmented: number };
  /** The base model evaluated on the validation split before training (fine-tuning only). */
  baseline?: MetricsReport;
  /** A fresh model's validation metrics before training, when there is no base. */
  history: EpochRecord[];
  bestEpoch: number;
  validation: MetricsReport;
  test: MetricsReport;
  errorAnalysis: ErrorAnalysis;
  trials: TrialRecord[];
  hyperparameters: Hyperparameters;
  seed: number;
  dataFingerprint: string;
  reference: ReferenceProfile;
  parent?: { name: string; version: number; dir: string };
  trigger: string;
  /** The retrain job that started the run (`TrainOptions.job`). */
  job?: string;
  durationMs: number;
  backend: string;
  /**
   * The cleaned train and test rows (target included), from which the version writer draws the
   * training sample. Stays in the thread that trained: not part of a worker's summary.
   */
  splitRows?: { train: readonly CleanRow[]; test: readonly CleanRow[] };
}
