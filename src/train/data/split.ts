// Train / validation / test splits, seeded and reproducible, optionally stratified.
import { DataError } from './errors.js';
import { shuffleInPlace, uniform } from './random.js';
import { isMissing } from './values.js';

export interface SplitFractions {
  train: number;
  validation: number;
  test: number;
}

export interface SplitOptions {
  /** Column whose values keep their proportions in every split (the target, for classification). @defaultValue none */
  stratifyBy?: string;
  /** Seed of the shuffle. */
  seed: number;
}

export interface Splits<R> {
  train: R[];
  validation: R[];
  test: R[];
}

const PARTS = ['train', 'validation', 'test'] as const;

/**
 * Shuffles the rows with the seed and cuts them by the fractions (which must sum to 1). Each split
 * keeps its rows in their original relative order.
 *
 * Sizes use largest-remainder rounding: each split gets floor(n × fraction) rows, and the rows left
 * over go to the splits with the largest fractional parts (ties: train, then validation, then test).
 * Stratified, this is done for every class on its own, so each class keeps its proportions up to one
 * row per split; the overall sizes may then differ by a few rows from n × fraction. A class with too
 * few rows for every split fills train first: when rounding would leave train without any of a class,
 * one row moves to train from the largest other split. Missing values of the stratifying column form
 * their own group.
 */
export function splitRows<R extends Record<string, unknown>>(rows: readonly R[], fractions: SplitFractions, options: SplitOptions): Splits<R> {
  const parts = splitIndices(rows, fractions, options);
  return { train: parts.train.map((i) => rows[i]!), validation: parts.validation.map((i) => rows[i]!), test: parts.test.map((i) => rows[i]!) };
}

/** Like splitRows, but returns row indices (ascending in each split). */
export function splitIndices(rows: readonly Record<string, unknown>[], fractions: SplitFractions, options: SplitOptions): Splits<number> {
  checkFractions(fractions);
  if (!Number.isFinite(options.seed)) throw new DataError(`split seed must be a finite number, got ${options.seed}`);
  const groups = new Map<string, number[]>();
  const by = options.stratifyBy;
  if (by !== undefined && rows.length > 0 && !rows.some((r) => Object.hasOwn(r, by))) {
    throw new DataError(`cannot stratify by unknown column ${JSON.stringify(by)}`, { column: by });
  }
  rows.forEach((row, i) => {
    // The prefix keeps the missing group apart from a category literally named "missing".
    const key = by === undefined ? '' : isMissing(row[by]) ? 'missing:' : `value:${String(row[by])}`;
    const members = groups.get(key);
    if (members) members.push(i);
    else groups.set(key, [i]);
  });

  const random = uniform(options.seed);
  const out: Splits<number> = { train: [], validation: [], test: [] };
  for (const members of groups.values()) {
    shuffleInPlace(members, random);
    const sizes = allocate(members.length, fractions);
    let start = 0;
    PARTS.forEach((part, k) => {
      out[part].push(...members.slice(start, start + sizes[k]!));
      start += sizes[k]!;
    });
  }
  for (const part of PARTS) out[part].sort((a, b) => a - b);
  return out;
}

/** Split sizes for n rows by largest remainder, train guaranteed at least one row when n > 0. */
export function allocate(n: number, fractions: SplitFractions): [number, number, number] {
  // Rounded to 1e-9 so float noise (100 × 0.07 = 7.000000000000001) cannot reorder the remainders.
  const exact = PARTS.map((p) => Math.round(n * fractions[p] * 1e9) / 1e9);
  const sizes = exact.map(Math.floor) as [number, number, number];
  let left = n - sizes[0] - sizes[1] - sizes[2];
  const byRemainder = [0, 1, 2].sort((a, b) => exact[b]! - sizes[b]! - (exact[a]! - sizes[a]!) || a - b);
  for (const k of byRemainder) {
    if (left <= 0) break;
    sizes[k] = sizes[k]! + 1;
    left--;
  }
  if (n > 0 && sizes[0] === 0) {
    const from = sizes[1] >= sizes[2] ? 1 : 2;
    sizes[from]--;
    sizes[0]++;
  }
  return sizes;
}

function checkFractions(f: SplitFractions): void {
  for (const p of PARTS) {
    const v = f[p];
    if (!(typeof v === 'number' && v >= 0 && v <= 1)) throw new DataError(`split fraction ${p} must be a number in [0, 1], got ${String(v)}`);
  }
  if (!(f.train > 0)) throw new DataError('split fraction train must be above 0');
  const sum = f.train + f.validation + f.test;
  if (Math.abs(sum - 1) > 1e-9) {
    throw new DataError(`split fractions must sum to 1: train ${f.train} + validation ${f.validation} + test ${f.test} = ${Number(sum.toPrecision(12))}`);
  }
}
