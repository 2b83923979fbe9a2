// A drift window's state as plain JSON, and the checks and helpers that read it back.
import { CodeRenumbering, codeOf } from './window-columns.js';
import type { ColumnStore } from './window-columns.js';

export const SNAPSHOT_VERSION = 1;

export interface Snapshot {
  v: number;
  index: number;
  rows: number;
  fresh: number;
  freshStart: number | null;
  minTime: number | null;
  maxTime: number | null;
  /** Event time of each kept row, in slot order (oldest first for a ring). */
  times: number[];
  columns: SnapshotColumn[];
}

export type SnapshotColumn =
  | { name: string; kind: 'numeric'; values: (number | null)[]; missing: number }
  | { name: string; kind: 'categorical'; dictionary: string[]; codes: number[]; missing: number };

/** One column's kept rows, in the order of `slots`. */
export function snapshotColumn(store: ColumnStore, slots: readonly number[]): SnapshotColumn {
  if (store.kind === 'numeric') {
    return { name: store.name, kind: 'numeric', values: slots.map((s) => jsonNumber(store.values[s]!)), missing: store.missing };
  }
  // Only the categories still in use, renumbered, so the snapshot does not carry stale ones.
  const renumbering = new CodeRenumbering(store.dictionary);
  const codes = slots.map((s) => {
    const code = store.codes[s]!;
    return code < 0 ? -1 : renumbering.map(code);
  });
  return { name: store.name, kind: 'categorical', dictionary: renumbering.dictionary, codes, missing: store.missing };
}

/** Writes row `i` of the saved column (missing when there is none) into `slot` of the store. */
export function writeSaved(store: ColumnStore, slot: number, saved: SnapshotColumn | undefined, i: number): void {
  if (store.kind === 'numeric') {
    const v = saved?.kind === 'numeric' ? saved.values[i] : null;
    store.values[slot] = v === null || v === undefined ? Number.NaN : v;
  } else {
    const code = saved?.kind === 'categorical' ? (saved.codes[i] ?? -1) : -1;
    const category = code >= 0 && saved?.kind === 'categorical' ? saved.dictionary[code] : undefined;
    store.codes[slot] = category === undefined ? -1 : codeOf(store, category);
  }
}

/** Whether row `i`, as restored into `slot` (or not kept: -1), lacks a value in this column. */
export function isMissing(store: ColumnStore, slot: number, saved: SnapshotColumn | undefined, i: number): boolean {
  if (slot >= 0) return store.kind === 'numeric' ? Number.isNaN(store.values[slot]!) : store.codes[slot]! < 0;
  if (saved === undefined) return true;
  return saved.kind === 'numeric' ? saved.values[i] === null : (saved.codes[i] ?? -1) < 0;
}

export function parseSnapshot(json: unknown): Snapshot {
  const bad = (what: string): never => {
    throw new Error(`DriftWindow.restore: not a window snapshot (${what})`);
  };
  if (typeof json !== 'object' || json === null) return bad('not an object');
  const s = json as Partial<Snapshot>;
  if (s.v !== SNAPSHOT_VERSION) return bad(`version ${String(s.v)}, expected ${SNAPSHOT_VERSION}`);
  if (!Number.isInteger(s.index) || !Number.isInteger(s.rows) || !Number.isInteger(s.fresh)) return bad('counters');
  if (!Array.isArray(s.times) || !Array.isArray(s.columns)) return bad('arrays');
  const kept = s.times.length;
  if (s.rows! < kept) return bad('fewer rows than kept rows');
  for (const c of s.columns as unknown[]) {
    const col = c as Partial<SnapshotColumn> | null;
    if (typeof col?.name !== 'string') return bad('column name');
    const ok =
      col.kind === 'numeric'
        ? Array.isArray(col.values) && col.values.length === kept
        : col.kind === 'categorical' && Array.isArray(col.codes) && col.codes.length === kept && Array.isArray(col.dictionary);
    if (!ok) return bad(`column "${col.name}"`);
  }
  return s as Snapshot;
}

/** JSON has no NaN or Infinity: they are stored as null. */
export function jsonNumber(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
