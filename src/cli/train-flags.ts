// `driftgate train` flags → TrainOptions. Pure: every value is checked here, so a typo fails in
// milliseconds with a message naming the flag, before a worker starts or a file is read.
import { BASE_STRATEGIES, INITIALIZERS, HIDDEN_ACTIVATIONS, MISSING_STRATEGIES, OPTIMIZERS } from '../train/index.js';
import type { HiddenActivation, MissingOptions, MissingStrategy, OutlierRule, SplitFractions } from '../train/index.js';
import type { BaseOptions, Hyperparameters, SearchOptions, TrainOptions } from '../train/index.js';
import { TASKS } from '../core/index.js';
import type { ParsedFlags } from './args.js';
import { UsageError, dataKind, durationMs, enumFlag, integerFlag, listFlag, numberFlag, pairsFlag, parseDecimal, required } from './args.js';

export const TRAIN_FLAG_SPEC = {
  data: { type: 'string' },
  target: { type: 'string' },
  model: { type: 'string' },
  repo: { type: 'string' },
  task: { type: 'string' },
  features: { type: 'string' },
  exclude: { type: 'string' },
  types: { type: 'string' },
  delimiter: { type: 'string' },
  missing: { type: 'string' },
  clip: { type: 'string' },
  scaling: { type: 'string' },
  split: { type: 'string' },
  augment: { type: 'string' },
  base: { type: 'string' },
  freeze: { type: 'string' },
  strategy: { type: 'string' },
  'two-phase': { type: 'string' },
  search: { type: 'string' },
  epochs: { type: 'string' },
  lr: { type: 'string' },
  'batch-size': { type: 'string' },
  optimizer: { type: 'string' },
  hidden: { type: 'string' },
  initializer: { type: 'string' },
  dropout: { type: 'string' },
  l1: { type: 'string' },
  l2: { type: 'string' },
  patience: { type: 'string' },
  monitor: { type: 'string' },
  'min-delta': { type: 'string' },
  'start-from-epoch': { type: 'string' },
  'no-early-stopping': { type: 'boolean' },
  seed: { type: 'string' },
  onnx: { type: 'boolean' },
  'no-report': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The flags of `driftgate train`, in the form parseArgs returns them for TRAIN_FLAG_SPEC. */
export type TrainFlags = ParsedFlags<typeof TRAIN_FLAG_SPEC>;

/** TrainOptions from the flags; throws a UsageError naming the first bad flag. */
export function trainOptionsFromFlags(flags: TrainFlags): TrainOptions {
  const path = required(flags.data, 'data');
  const kind = dataKind(path);
  if (flags.delimiter !== undefined && (kind !== 'csv' || flags.delimiter.length !== 1)) {
    throw new UsageError(kind === 'csv' ? `--delimiter must be one character, got ${JSON.stringify(flags.delimiter)}` : '--delimiter applies to CSV files only');
  }
  const task = enumFlag(flags.task, 'task', TASKS);
  const features = listFlag(flags.features, 'features');
  const exclude = listFlag(flags.exclude, 'exclude');
  const types = typesFlag(flags.types);
  const missing = missingFlag(flags.missing);
  const outliers = clipFlag(flags.clip);
  const scaling = enumFlag(flags.scaling, 'scaling', ['standardize', 'minmax', 'none'] as const);
  const split = splitFlag(flags.split);
  const augment = augmentFlag(flags.augment);
  const base = baseFlags(flags);
  const hyperparameters = hyperparameterFlags(flags);
  const earlyStopping = earlyStoppingFlags(flags);
  const search = searchFlag(flags.search);
  const seed = integerFlag(flags.seed, 'seed', 0, 2 ** 31 - 1);

  return {
    data: kind === 'csv' ? { kind, path, ...(flags.delimiter === undefined ? {} : { delimiter: flags.delimiter }) } : { kind, path },
    target: required(flags.target, 'target'),
    modelName: required(flags.model, 'model'),
    trigger: 'manual',
    ...(task ? { task } : {}),
    ...(features ? { features } : {}),
    ...(exclude ? { exclude } : {}),
    ...(types ? { types } : {}),
    ...(missing ? { missing } : {}),
    ...(outliers ? { outliers: { default: outliers } } : {}),
    ...(scaling ? { scaling } : {}),
    ...(split ? { split } : {}),
    ...(augment ? { augment } : {}),
    ...(base ? { base } : {}),
    ...(Object.keys(hyperparameters).length > 0 ? { hyperparameters } : {}),
    ...(earlyStopping === undefined ? {} : { earlyStopping }),
    ...(search ? { search } : {}),
    ...(seed === undefined ? {} : { seed }),
  };
}

function typesFlag(raw: string | undefined): Record<string, 'numeric' | 'categorical'> | undefined {
  const pairs = pairsFlag(raw, 'types');
  if (!pairs) return undefined;
  const out: Record<string, 'numeric' | 'categorical'> = {};
  for (const [name, type] of pairs) {
    if (type !== 'numeric' && type !== 'categorical') throw new UsageError(`--types: ${name}=${type || '?'}: the type must be numeric or categorical`);
    out[name] = type;
  }
  return out;
}

function missingFlag(raw: string | undefined): MissingOptions | undefined {
  const pairs = pairsFlag(raw, 'missing');
  if (!pairs) return undefined;
  const out: MissingOptions = {};
  const columns: Record<string, MissingStrategy> = {};
  for (const [key, value] of pairs) {
    const strategy = enumFlag(value, 'missing', MISSING_STRATEGIES)!;
    if (key === 'numeric') out.numeric = strategy;
    else if (key === 'categorical') out.categorical = strategy;
    else columns[key] = strategy;
  }
  if (Object.keys(columns).length > 0) out.columns = columns;
  return out;
}

function clipFlag(raw: string | undefined): OutlierRule | undefined {
  if (raw === undefined) return undefined;
  const [method, arg] = raw.split('=', 2).map((s) => s.trim());
  if (method === 'iqr') {
    if (arg === undefined) return { method: 'iqr' };
    const k = parseDecimal(arg);
    if (k === undefined || !(k > 0)) throw new UsageError(`--clip iqr=K needs K > 0, got ${JSON.stringify(arg)}`);
    return { method: 'iqr', k };
  }
  if (method === 'quantile') {
    const [lo, hi] = (arg ?? '').split(':').map((s) => parseDecimal(s));
    if (lo === undefined || hi === undefined || !(lo >= 0 && lo < hi && hi <= 1)) {
      throw new UsageError(`--clip quantile=LOW:HIGH needs 0 <= LOW < HIGH <= 1, got ${JSON.stringify(raw)}`);
    }
    return { method: 'quantile', lower: lo, upper: hi };
  }
  throw new UsageError(`--clip must be iqr, iqr=K or quantile=LOW:HIGH, got ${JSON.stringify(raw)}`);
}

function splitFlag(raw: string | undefined): SplitFractions | undefined {
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((s) => parseDecimal(s));
  const [train, validation, test] = parts;
  if (parts.length !== 3 || train === undefined || validation === undefined || test === undefined || !(train > 0 && validation > 0 && test > 0)) {
    throw new UsageError(`--split must be three fractions > 0, train,validation,test (e.g. 0.7,0.15,0.15), got ${JSON.stringify(raw)}`);
  }
  if (Math.abs(train + validation + test - 1) > 1e-9) throw new UsageError(`--split fractions must sum to 1, got ${JSON.stringify(raw)}`);
  return { train, validation, test };
}

function augmentFlag(raw: string | undefined): TrainOptions['augment'] {
  const pairs = pairsFlag(raw, 'augment');
  if (!pairs) return undefined;
  const out: NonNullable<TrainOptions['augment']> = {};
  for (const [key, value] of pairs) {
    if (key === 'oversample') {
      if (value !== '') throw new UsageError('--augment oversample takes no value: it balances every class to the largest one');
      out.oversample = true;
      continue;
    }
    if (key !== 'noise' && key !== 'mixup') throw new UsageError(`--augment: unknown method ${JSON.stringify(key)}; use noise=STDxCOPIES, mixup=ALPHAxCOPIES or oversample`);
    const [amountText, copiesText] = value.split('x');
    const amount = parseDecimal(amountText ?? '');
    const copies = copiesText === undefined ? 1 : Number(copiesText);
    if (amount === undefined || !(amount > 0) || !Number.isInteger(copies) || copies < 1) {
      throw new UsageError(`--augment ${key}=${value}: expected a number > 0, optionally followed by x and a copy count (e.g. ${key}=0.1x2)`);
    }
    if (key === 'noise') out.noise = { std: amount, copies };
    else out.mixup = { alpha: amount, copies };
  }
  return out;
}

function baseFlags(flags: TrainFlags): BaseOptions | undefined {
  const needsBase = ['freeze', 'strategy', 'two-phase'] as const;
  if (flags.base === undefined) {
    const stray = needsBase.find((f) => flags[f] !== undefined);
    if (stray) throw new UsageError(`--${stray} needs --base (a version directory to start from)`);
    return undefined;
  }
  const base: BaseOptions = { dir: flags.base };
  if (flags.freeze !== undefined) {
    base.freeze = /^\s*\d+\s*$/.test(flags.freeze) ? { firstK: integerFlag(flags.freeze, 'freeze', 0) } : { names: listFlag(flags.freeze, 'freeze')! };
  }
  const strategy = enumFlag(flags.strategy, 'strategy', BASE_STRATEGIES);
  if (strategy) base.strategy = strategy;
  if (flags['two-phase'] !== undefined) {
    const [head, lr, ...rest] = flags['two-phase'].split(',');
    const headEpochs = integerFlag(head, 'two-phase', 1);
    const lowLearningRate = parseDecimal(lr ?? '');
    if (headEpochs === undefined || lowLearningRate === undefined || !(lowLearningRate > 0) || rest.length > 0) {
      throw new UsageError(`--two-phase must be HEAD_EPOCHS,LOW_LR (e.g. 10,0.0001), got ${JSON.stringify(flags['two-phase'])}`);
    }
    base.twoPhase = { headEpochs, lowLearningRate };
  }
  return base;
}

function hyperparameterFlags(flags: TrainFlags): Partial<Hyperparameters> {
  const hp: Partial<Hyperparameters> = {};
  const epochs = integerFlag(flags.epochs, 'epochs', 1, 100_000);
  const lr = numberFlag(flags.lr, 'lr', { positive: true, max: 10 });
  const batchSize = integerFlag(flags['batch-size'], 'batch-size', 1, 1_000_000);
  const optimizer = enumFlag(flags.optimizer, 'optimizer', OPTIMIZERS);
  const dropout = numberFlag(flags.dropout, 'dropout', { max: 0.9 });
  const l1 = numberFlag(flags.l1, 'l1');
  const l2 = numberFlag(flags.l2, 'l2');
  const initializer = enumFlag(flags.initializer, 'initializer', INITIALIZERS);
  const hidden = hiddenFlag(flags.hidden);
  if (epochs !== undefined) hp.epochs = epochs;
  if (lr !== undefined) hp.learningRate = lr;
  if (batchSize !== undefined) hp.batchSize = batchSize;
  if (optimizer) hp.optimizer = optimizer;
  if (dropout !== undefined) hp.dropout = dropout;
  if (l1 !== undefined) hp.l1 = l1;
  if (l2 !== undefined) hp.l2 = l2;
  if (hidden || initializer) hp.network = { ...(hidden ? { hidden } : {}), ...(initializer ? { initializer } : {}) };
  return hp;
}

/** `32,16` or `64:tanh,32:relu`; `none` for no hidden layer (a linear or logistic model). */
function hiddenFlag(raw: string | undefined): { units: number; activation?: HiddenActivation }[] | undefined {
  if (raw === undefined) return undefined;
  if (raw.trim() === 'none') return [];
  return raw.split(',').map((item) => {
    const [unitsText, activation] = item.split(':').map((s) => s.trim());
    const units = integerFlag(unitsText, 'hidden', 1, 65_536)!;
    if (activation === undefined) return { units };
    return { units, activation: enumFlag(activation, 'hidden', HIDDEN_ACTIVATIONS)! };
  });
}

function earlyStoppingFlags(flags: TrainFlags): TrainOptions['earlyStopping'] {
  const tuned = flags.patience !== undefined || flags.monitor !== undefined || flags['min-delta'] !== undefined || flags['start-from-epoch'] !== undefined;
  if (flags['no-early-stopping']) {
    if (tuned) throw new UsageError('--no-early-stopping cannot be combined with --patience, --monitor, --min-delta or --start-from-epoch');
    return false;
  }
  if (!tuned) return undefined;
  const patience = integerFlag(flags.patience, 'patience', 0) ?? 10;
  const minDelta = numberFlag(flags['min-delta'], 'min-delta');
  const startFromEpoch = integerFlag(flags['start-from-epoch'], 'start-from-epoch', 0);
  return {
    patience,
    ...(flags.monitor === undefined ? {} : { monitor: enumFlag(flags.monitor, 'monitor', ['val_loss', 'val_accuracy', 'val_mae', 'loss', 'accuracy', 'mae'] as const)! }),
    ...(minDelta === undefined ? {} : { minDelta }),
    ...(startFromEpoch === undefined ? {} : { startFromEpoch }),
  };
}

/** `trials=20,time=60s,eta=3,min-epochs=2`, or just `20`. */
function searchFlag(raw: string | undefined): SearchOptions | undefined {
  if (raw === undefined) return undefined;
  if (/^\s*\d+\s*$/.test(raw)) return { trials: integerFlag(raw, 'search', 1, 10_000) };
  const out: Partial<SearchOptions> = {};
  for (const [key, value] of pairsFlag(raw, 'search')!) {
    if (key === 'trials') out.trials = integerFlag(value, 'search trials', 1, 10_000);
    else if (key === 'time') out.timeBudgetMs = durationMs(value, 'search time');
    else if (key === 'eta') out.eta = integerFlag(value, 'search eta', 2, 100);
    else if (key === 'min-epochs') out.minEpochs = integerFlag(value, 'search min-epochs', 1, 100_000);
    else throw new UsageError(`--search: unknown setting ${JSON.stringify(key)}; use trials=N, time=60s, eta=N, min-epochs=N`);
  }
  if (out.trials === undefined) throw new UsageError('--search needs trials=N (e.g. --search trials=20,time=60s)');
  return out as SearchOptions;
}
