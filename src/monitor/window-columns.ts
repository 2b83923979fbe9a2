// The column stores of a drift window: one fixed typed array of slots per column (numbers, or codes into
// a dictionary of categories), how a live value becomes a slot value, and how a closed window's
// slots become its column contents.
import type { WindowColumn, WindowColumnValues } from './window-spec.js';

export type CategoricalStore = { kind: 'categorical'; name: string; codes: Int32Array; dictionary: string[]; lookup: Map<string, number>; missing: number };
export type ColumnStore = { kind: 'numeric'; name: string; values: Float64Array; missing: number } | CategoricalStore;

export function newStore(column: WindowColumn, capacity: number): ColumnStore {
  return column.kind === 'numeric'
    ? { kind: 'numeric', name: column.name, values: new Float64Array(capacity), missing: 0 }
    : { kind: 'categorical', name: column.name, codes: new Int32Array(capacity), dictionary: [], lookup: new Map(), missing: 0 };
}

export function toNumber(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : Number.NaN;
  if (typeof v === 'string') {
    if (v.trim() === '') return Number.NaN;
    const x = Number(v);
    return Number.isFinite(x) ? x : Number.NaN;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  // Also covers inherited properties ("constructor", "toString") of a row that lacks the column.
  return Number.NaN;
}

export function toCategory(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isNaN(v) ? undefined : String(v);
  if (typeof v === 'boolean') return String(v);
  return undefined;
}

export function codeOf(store: CategoricalStore, category: string): number {
  let code = store.lookup.get(category);
  if (code === undefined) {
    code = store.dictionary.length;
    store.dictionary.push(category);
    store.lookup.set(category, code);
  }
  return code;
}

/** New codes for the categories in use, numbered in the order they are met; the rest are dropped. */
export class CodeRenumbering {
  readonly dictionary: string[] = [];
  private readonly renumber = new Map<number, number>();

  constructor(private readonly from: readonly string[]) {}

  /** The new code of `code` (>= 0). */
  map(code: number): number {
    let next = this.renumber.get(code);
    if (next === undefined) {
      next = this.dictionary.length;
      this.renumber.set(code, next);
      this.dictionary.push(this.from[code]!);
    }
    return next;
  }
}

/** Drops dictionary entries no row in `slots` uses. */
export function compact(store: CategoricalStore, slots: Iterable<number>): void {
  const renumbering = new CodeRenumbering(store.dictionary);
  for (const slot of slots) {
    const code = store.codes[slot]!;
    if (code >= 0) store.codes[slot] = renumbering.map(code);
  }
  store.dictionary = renumbering.dictionary;
  store.lookup = new Map(renumbering.dictionary.map((c, i) => [c, i]));
}

/**
 * The column's present values over `slots`. `missing` is the reservoir's running count, or undefined
 * when every row is kept and the missing ones are counted here.
 */
export function columnValues(store: ColumnStore, slots: readonly number[], missing: number | undefined): WindowColumnValues {
  if (store.kind === 'numeric') {
    const present = new Float64Array(slots.length);
    let count = 0;
    for (const slot of slots) {
      const x = store.values[slot]!;
      if (!Number.isNaN(x)) present[count++] = x;
    }
    const sorted = present.subarray(0, count).sort();
    return { kind: 'numeric', sorted: count === present.length ? sorted : sorted.slice(), missing: missing ?? slots.length - count };
  }
  const tally = new Float64Array(store.dictionary.length);
  let total = 0;
  for (const slot of slots) {
    const code = store.codes[slot]!;
    if (code >= 0) {
      tally[code]! += 1;
      total++;
    }
  }
  // Sorted keys make the contents canonical, whatever order the categories first appeared in.
  const order = [...store.dictionary.keys()].filter((c) => tally[c]! > 0);
  order.sort((a, b) => compareStrings(store.dictionary[a]!, store.dictionary[b]!));
  const counts = new Map(order.map((c) => [store.dictionary[c]!, tally[c]!]));
  return { kind: 'categorical', counts, total, missing: missing ?? slots.length - total };
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
