// A bounded, seeded sample of the rows a version was trained on, stored beside the model as JSON lines
// (`training-sample.jsonl`, named in the manifest's `artifacts.trainingSample`). The retrain loop
// replays its `train` rows when it fine-tunes the version, so a new model does not forget the old data,
// and scores champion and challenger on its `holdout` rows (from the test split, which the version
// was not fit on) to check the challenger has not got worse on it.
//
// One line per row: {"split": "train" | "holdout", "features": {...}, "label": ...}, features in the
// manifest's order with the values as clients send them (after type cleaning, before imputation and
// scaling; a missing value is null). Train rows come first, then holdout rows, each in their split's
// order, so the file is the same from one run to the next.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { describeError, seededRandom } from '../core/index.js';
import type { Manifest } from '../core/index.js';

export const TRAINING_SAMPLE_FILE = 'training-sample.jsonl';
/** Train rows kept when not told otherwise. */
export const DEFAULT_SAMPLE_ROWS = 2000;
/** Holdout rows kept when not told otherwise. */
export const DEFAULT_HOLDOUT_ROWS = 500;

export interface TrainingSampleOptions {
  /** Most train-split rows kept. @defaultValue 2000 */
  rows?: number | undefined;
  /** Most test-split rows kept as the holdout. @defaultValue 500 */
  holdout?: number | undefined;
  /** Seed of the draw when a split has more rows than are kept. @defaultValue 0 */
  seed?: number;
}

export type SampleValue = number | string | boolean | null;

/** A row of the sample in the form training and `evaluateVersion` take. */
export interface SampleExample {
  features: Record<string, SampleValue>;
  label: string | number;
}

export interface TrainingSample {
  /** Rows of the train split: for replay. */
  train: SampleExample[];
  /** Rows of the test split: the reference holdout. */
  holdout: SampleExample[];
}

/** The JSONL text of a sample and how many rows of each split it holds. */
export interface DrawnSample {
  text: string;
  train: number;
  holdout: number;
}

/**
 * Draws the sample: every row of a split when it has no more than the limit, else a seeded draw
 * without replacement, kept in the split's order. Rows without a label are left out.
 *
 * @param splits - rows keyed by column name (features and target)
 * @param columns - the feature names in manifest order, and the target column
 */
export function drawTrainingSample(
  splits: { train: readonly Readonly<Record<string, unknown>>[]; test: readonly Readonly<Record<string, unknown>>[] },
  columns: { features: readonly string[]; target: string },
  opts: TrainingSampleOptions = {},
): DrawnSample {
  const rows = limit(opts.rows ?? DEFAULT_SAMPLE_ROWS, 'rows');
  const holdout = limit(opts.holdout ?? DEFAULT_HOLDOUT_ROWS, 'holdout');
  const random = seededRandom(opts.seed ?? 0);
  const lines: string[] = [];
  const add = (split: 'train' | 'holdout', source: readonly Readonly<Record<string, unknown>>[], max: number): number => {
    const labelled = source.filter((row) => isLabel(row[columns.target]));
    const picked = pick(labelled.length, max, random);
    for (const i of picked) {
      const row = labelled[i]!;
      const features = Object.fromEntries(columns.features.map((name) => [name, sampleValue(row[name])]));
      lines.push(JSON.stringify({ split, features, label: row[columns.target] }));
    }
    return picked.length;
  };
  const train = add('train', splits.train, rows);
  const held = add('holdout', splits.test, holdout);
  return { text: lines.length > 0 ? `${lines.join('\n')}\n` : '', train, holdout: held };
}

const sampleLineSchema = z.object({
  split: z.enum(['train', 'holdout']),
  features: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])),
  label: z.union([z.string(), z.number()]),
});

/** A file name inside the version directory: no separators, no `..`. */
const FILE_NAME = /^(?!\.\.?$)[A-Za-z0-9._-]+$/;

/**
 * Reads the training sample of a version, as its manifest names it (`artifacts.trainingSample`).
 * Resolves to undefined when the version has none (written before samples existed, or by another
 * tool).
 *
 * @throws Error when the manifest names a file that is missing, is not a plain file name, or holds a
 *   line that is not a sample row.
 */
export async function readTrainingSample(versionDir: string, manifest: Manifest): Promise<TrainingSample | undefined> {
  const name = manifest.artifacts?.trainingSample;
  if (name === undefined) return undefined;
  if (!FILE_NAME.test(name)) {
    throw new Error(`${manifest.name} version ${manifest.version}: artifacts.trainingSample must be a file name in the version directory, got ${JSON.stringify(name)}`);
  }
  const path = join(versionDir, name);
  const text = await readFile(path, 'utf8').catch((err: unknown) => {
    throw new Error(`cannot read the training sample ${path}: ${describeError(err)}`, { cause: err });
  });
  const sample: TrainingSample = { train: [], holdout: [] };
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (err) {
      throw new Error(`${path} line ${i + 1} is not JSON: ${describeError(err)}`, { cause: err });
    }
    const parsed = sampleLineSchema.safeParse(json);
    if (!parsed.success) throw new Error(`${path} line ${i + 1} is not a sample row: ${parsed.error.issues.map((e) => `${e.path.join('.') || '(row)'}: ${e.message}`).join('; ')}`);
    const { split, features, label } = parsed.data;
    sample[split].push({ features, label });
  });
  return sample;
}

function limit(n: number, name: string): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`training sample: ${name} must be an integer >= 0, got ${n}`);
  return n;
}

/** Indices 0..n-1 when n <= max, else `max` of them drawn without replacement, ascending. */
export function pick(n: number, max: number, random: () => number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  if (n <= max) return all;
  for (let i = 0; i < max; i++) {
    const j = i + Math.floor(random() * (n - i));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, max).sort((a, b) => a - b);
}

function isLabel(value: unknown): value is string | number {
  return (typeof value === 'string' && value.trim() !== '') || (typeof value === 'number' && Number.isFinite(value));
}

function sampleValue(value: unknown): SampleValue {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  return null;
}
