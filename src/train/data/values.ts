// The small vocabulary every data-preparation step shares: what a table is, what counts as a missing
// value, what counts as a number, and how to name a row in an error message.

/** A table as loaded: column names in file order, one object per data row keyed by column name. */
export interface RawTable {
  columns: string[];
  rows: Record<string, unknown>[];
  /** Where the rows came from (file path, or `examples`), for error messages. */
  source?: string;
  /** 1-based physical line of each row in its file (CSV and JSONL), for error messages. */
  lines?: number[];
}

/** The type a feature column is treated as. */
export type ColumnType = 'numeric' | 'categorical';

/** A feature column with its type, before categories or scalers are fitted. */
export interface TypedColumn {
  name: string;
  type: ColumnType;
}

/** A row after cleaning: numbers in numeric columns, strings in categorical ones, null where missing. */
export type CleanRow = Record<string, number | string | null>;

/**
 * Missing: null, undefined, NaN, and strings that are empty or only whitespace. Everything else is a
 * value, even if it is not a valid one for its column.
 */
export function isMissing(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (typeof value === 'number') return Number.isNaN(value);
  if (typeof value === 'string') return value.trim() === '';
  return false;
}

// Plain decimal notation with an optional exponent. Number() alone would also accept "0x1f", "0b101",
// "Infinity" and "1_000"-free oddities that no data file means as a quantity.
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The finite number a value stands for (a finite number, or a decimal string), else undefined. */
export function parseNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (!DECIMAL.test(text)) return undefined;
  const x = Number(text);
  return Number.isFinite(x) ? x : undefined;
}

/** True for values a cell may hold: scalars, not objects or arrays. */
export function isScalar(value: unknown): value is string | number | boolean | null | undefined {
  return value === null || (typeof value !== 'object' && typeof value !== 'function');
}

/** Names row `index` of a table for an error message: `data.csv line 7`, or `examples row 3`. */
export function rowLocation(table: Pick<RawTable, 'source' | 'lines'>, index: number): string {
  const line = table.lines?.[index];
  if (line !== undefined) return `${table.source ?? 'data'} line ${line}`;
  return `${table.source ?? 'data'} row ${index + 1}`;
}

/** A short, quoted rendering of a value for error messages. */
export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/** Builds a row with own properties only, so a column called `__proto__` is an ordinary column. */
export function makeRow<V>(entries: Iterable<readonly [string, V]>): Record<string, V> {
  return Object.fromEntries(entries) as Record<string, V>;
}

/** Code-unit string order, the same on every platform and locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
