// Data preparation for a training run: load the table, clean it, split it (seeded, stratified), fit
// imputation, clipping and scaling on the training split alone and apply them to all three splits,
// augment the training split, and encode features and targets for the network.
import { inputWidth } from '../core/index.js';
import type { Feature, Manifest, Preprocessing } from '../core/index.js';
import type { BaseModel } from './base-model.js';
import {
  DataError,
  applyClipper,
  applyImputer,
  augment,
  cleanTable,
  dataFingerprint,
  encode,
  encodeTarget,
  fitClipper,
  fitImputer,
  fitPreprocessing,
  fromExamples,
  isMissing,
  parseNumber,
  readCsv,
  readJsonl,
  selectColumns,
  splitRows,
} from './data/index.js';
import type { CleanResult, CleanRow, CleaningReport, Clipper, ColumnSelection, Imputer, RawTable, SplitFractions, Splits, TypedColumn } from './data/index.js';
import { deriveSeed } from './network.js';
import { DEFAULT_BASE_STRATEGY } from './types.js';
import type { BaseOptions, DataSource, Task, TrainOptions } from './types.js';

/** Split of a run that does not give one. @defaultValue train 0.7, validation 0.15, test 0.15 */
export const DEFAULT_SPLIT: SplitFractions = { train: 0.7, validation: 0.15, test: 0.15 };

// Streams of the run seed (see deriveSeed) that data preparation draws from; train-run.ts has the others.
const SEED_SPLIT = 1;
const SEED_AUGMENT = 2;

/** A numeric target with at most this many distinct integer values is taken for class labels. */
const MAX_INTEGER_CLASSES = 10;

/** One value per split. */
type Parts<T> = { train: T; validation: T; test: T };

export interface PreparedData {
  task: Task;
  labels: string[] | undefined;
  features: Feature[];
  preprocessing: Preprocessing;
  width: number;
  cleaning: CleaningReport;
  fingerprint: string;
  /** Cleaned rows before clipping and imputation, as clients would send them. */
  raw: Splits<CleanRow>;
  /** Encoded inputs, rows × width (training split before augmentation). */
  x: Parts<Float32Array>;
  /** Class index (classification) or target value (regression) per row. */
  y: Parts<Int32Array | Float32Array>;
  /** The training rows as fitted: augmented inputs and one-hot (or soft) or value targets. */
  augmented: { rows: number; x: Float32Array; y: Float32Array };
  /** Mean training target (regression), where a new output layer starts. */
  targetMean: number | undefined;
}

async function loadTable(source: DataSource, target: string): Promise<RawTable> {
  switch (source.kind) {
    case 'csv':
      return readCsv(source.path, source.delimiter === undefined ? {} : { delimiter: source.delimiter });
    case 'jsonl':
      return readJsonl(source.path);
    case 'table':
      return source.table;
    case 'examples':
      return fromExamples(source.examples, target);
    default:
      throw new DataError(`unknown data source kind ${JSON.stringify((source as { kind: unknown }).kind)}`);
  }
}

/**
 * Classification when the target holds anything but numbers, or only integers with at most 10
 * distinct values; regression otherwise. Pass `task` to decide it yourself.
 */
export function inferTask(table: RawTable, target: string): Task {
  const distinct = new Set<number>();
  for (const row of table.rows) {
    const v = row[target];
    if (isMissing(v)) continue;
    const x = parseNumber(v);
    if (x === undefined) return 'classification';
    distinct.add(x);
  }
  const integers = [...distinct].every((x) => Number.isInteger(x));
  return integers && distinct.size <= MAX_INTEGER_CLASSES ? 'classification' : 'regression';
}

export async function prepareData(options: TrainOptions, base: BaseModel | undefined, seed: number, stage: (name: string, message?: string) => void): Promise<PreparedData> {
  const { target } = options;
  const table = await loadTable(options.data, target);
  const manifest = base?.manifest;
  const task = options.task ?? manifest?.task ?? inferTask(table, target);
  if (manifest && manifest.task !== task) throw new DataError(`the base model is a ${manifest.task} model; it cannot be fine-tuned for ${task}`);
  if (manifest) checkFeaturesAgainstBase(options, manifest.features);

  stage('clean');
  const { selection, cleaned } = selectAndClean(table, options, task, manifest);
  const fingerprint = dataFingerprint(cleaned.rows, selection.columns);

  stage('split');
  const { raw, clipper, clipped, imputer, filled } = splitAndFill(cleaned, options, task, seed);

  stage('preprocess');
  const encoded = encodeSplits(mapSplits(filled, (part) => part.rows), cleaned.features, options, task, manifest);
  const { features, width, labels, x, y } = encoded;
  const outputs = labels?.length ?? 1;
  let augmented: PreparedData['augmented'] = { rows: y.train.length, x: x.train, y: targetMatrix(y.train, task, outputs) };
  const wanted = options.augment;
  if (wanted && (wanted.noise || wanted.mixup || wanted.oversample)) {
    stage('augment');
    const out = augment({ x: x.train, y: y.train, width, task, classes: outputs, features }, wanted, deriveSeed(seed, SEED_AUGMENT));
    augmented = { rows: out.rows, x: out.x, y: out.task === 'classification' ? out.yOneHot : out.yValues };
  }

  return {
    task,
    labels,
    features,
    preprocessing: encoded.preprocessing,
    width,
    cleaning: completeCleaningReport(cleaned.report, clipper, imputer, [clipped.train, clipped.validation, clipped.test], [filled.train, filled.validation, filled.test]),
    fingerprint,
    raw,
    x,
    y,
    augmented,
    targetMean: task === 'regression' ? meanOf(y.train) : undefined,
  };
}

/**
 * The seeded (stratified, for classification) split, with clipping and imputation fitted on the
 * training split alone and applied to all three.
 */
function splitAndFill(cleaned: CleanResult, options: TrainOptions, task: Task, seed: number) {
  const raw = splitRows(cleaned.rows, options.split ?? DEFAULT_SPLIT, {
    seed: deriveSeed(seed, SEED_SPLIT),
    ...(task === 'classification' ? { stratifyBy: options.target } : {}),
  });
  for (const part of ['validation', 'test'] as const) {
    if (raw[part].length === 0) {
      throw new DataError(`the ${part} split is empty (${cleaned.rows.length} rows after cleaning); use more data or a larger ${part} fraction`);
    }
  }
  const clipper = fitClipper(raw.train, cleaned.features, options.outliers);
  const clipped = mapSplits(raw, (rows) => applyClipper(clipper, rows));
  const imputer = fitImputer(clipped.train.rows, cleaned.features, options.missing);
  const filled = mapSplits(clipped, (part) => applyImputer(imputer, part.rows));
  return { raw, clipper, clipped, imputer, filled };
}

/** The columns to train on (the base's features, when there is a base) and their rows-only cleaning. */
function selectAndClean(table: RawTable, options: TrainOptions, task: Task, manifest: Manifest | undefined): { selection: ColumnSelection; cleaned: CleanResult } {
  const { target } = options;
  const selection = selectColumns(
    table,
    manifest
      ? { target, features: manifest.features.map((f) => f.name), types: Object.fromEntries(manifest.features.map((f) => [f.name, f.type])) }
      : {
          target,
          ...(options.features ? { features: options.features } : {}),
          ...(options.exclude ? { exclude: options.exclude } : {}),
          ...(options.types ? { types: options.types } : {}),
        },
  );
  const cleaned = cleanTable(selection, {
    task,
    fit: false,
    ...(options.missing ? { missing: options.missing } : {}),
    ...(options.outliers ? { outliers: options.outliers } : {}),
  });
  return { selection, cleaned };
}

/**
 * Features and preprocessing (the base's, or fitted on the training split), the labels, and every
 * split encoded for the network.
 */
function encodeSplits(
  rows: Parts<CleanRow[]>,
  columns: readonly TypedColumn[],
  options: TrainOptions,
  task: Task,
  manifest: Manifest | undefined,
): Pick<PreparedData, 'features' | 'preprocessing' | 'width' | 'labels' | 'x' | 'y'> {
  const { target } = options;
  let features: Feature[];
  let preprocessing: Preprocessing;
  if (manifest) {
    features = manifest.features;
    preprocessing = manifest.preprocessing;
  } else {
    const fitted = fitPreprocessing(rows.train, columns, options.scaling === undefined ? {} : { scaling: options.scaling });
    features = fitted.features;
    preprocessing = fitted.preprocessing;
  }
  const labels = task === 'classification' ? chooseLabels(rows.train, target, options.base, manifest?.labels) : undefined;
  const encodeY = (part: readonly Record<string, unknown>[]): Int32Array | Float32Array => {
    try {
      return encodeTarget(part, target, task, labels).y;
    } catch (err) {
      if (err instanceof DataError && manifest && labels) {
        throw new DataError(`${err.message} (the base model's classes; fine-tune with strategy "replace-output" to change them)`, {}, { cause: err });
      }
      throw err;
    }
  };
  const y = { train: encodeY(rows.train), validation: encodeY(rows.validation), test: encodeY(rows.test) };
  const x = mapSplits(rows, (part) => encode(part, features, preprocessing));
  return { features, preprocessing, width: inputWidth(features), labels, x, y };
}

function mapSplits<A, B>(parts: Parts<A>, f: (part: A) => B): Parts<B> {
  return { train: f(parts.train), validation: f(parts.validation), test: f(parts.test) };
}

function checkFeaturesAgainstBase(options: TrainOptions, features: readonly Feature[]): void {
  const names = features.map((f) => f.name);
  if (options.features && (options.features.length !== names.length || options.features.some((n, i) => n !== names[i]))) {
    throw new DataError(`the base model takes the features ${names.join(', ')} in this order; leave the feature list out or give exactly these`);
  }
  for (const name of options.exclude ?? []) {
    if (names.includes(name)) throw new DataError(`cannot exclude "${name}": the base model takes it as a feature`);
  }
  for (const [name, type] of Object.entries(options.types ?? {})) {
    const f = features.find((g) => g.name === name);
    if (f && f.type !== type) throw new DataError(`column "${name}" is ${f.type} in the base model and cannot be declared ${type}`);
  }
}

/**
 * The base's labels when its output layer (or its label set) is kept; otherwise the training split's
 * classes, sorted, or in the base's order when they are the same set.
 */
function chooseLabels(trainRows: readonly Record<string, unknown>[], target: string, base: BaseOptions | undefined, baseLabels: string[] | undefined): string[] {
  if (base && baseLabels && (base.strategy ?? DEFAULT_BASE_STRATEGY) !== 'replace-output') return baseLabels;
  const own = (encodeTarget(trainRows, target, 'classification') as { labels: string[] }).labels;
  if (baseLabels && baseLabels.length === own.length && own.every((l) => baseLabels.includes(l))) return baseLabels;
  return own;
}

function meanOf(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum / values.length;
}

/** One-hot rows (classification) or a column of values (regression). */
export function targetMatrix(y: Int32Array | Float32Array, task: Task, classes: number): Float32Array {
  if (task === 'regression') return Float32Array.from(y);
  const out = new Float32Array(y.length * classes);
  y.forEach((k, i) => (out[i * classes + k] = 1));
  return out;
}

/** The cleaning report with what clipping and imputation did across the three splits. */
function completeCleaningReport(
  report: CleaningReport,
  clipper: Clipper,
  imputer: Imputer,
  clipped: readonly { clipped: Record<string, number> }[],
  filled: readonly { filled: Record<string, number> }[],
): CleaningReport {
  const columns = Object.fromEntries(Object.entries(report.columns).map(([name, column]) => [name, { ...column }]));
  for (const bounds of clipper.columns) {
    const column = columns[bounds.name];
    if (!column) continue;
    column.clipped = clipped.reduce((n, part) => n + (part.clipped[bounds.name] ?? 0), 0);
    column.bounds = { lower: bounds.lower, upper: bounds.upper };
  }
  for (const fill of imputer.columns) {
    const column = columns[fill.name];
    if (!column) continue;
    column.filled = filled.reduce((n, part) => n + (part.filled[fill.name] ?? 0), 0);
    if (fill.value !== undefined) column.fillValue = fill.value;
  }
  return { ...report, columns };
}

