// A content hash of a data set, recorded in a version's lineage so a run can be tied to its data.
import { createHash } from 'node:crypto';
import { DataError } from './errors.js';
import { showValue } from './values.js';

/**
 * sha256 (hex) of a canonical text: the line `driftgate-data-v1`, then the column names as a JSON
 * array, then one JSON array per row holding its values in `columns` order, every line ending in "\n".
 * Values: strings and booleans as JSON; finite numbers as JSON (the shortest round-trip form, -0 as
 * 0); missing (null or undefined) as null; NaN and ±Infinity as {"number":"NaN"} and the like, so they
 * neither vanish into null nor collide with strings. Objects and arrays are refused.
 *
 * Row order matters: the same rows in another order hash differently, on purpose, since order feeds
 * the seeded split. Types matter too ("1" is not 1), so hash cleaned rows (typed by cleanTable) when
 * CSV and JSONL copies of a data set should agree. Column order matters through `columns`.
 */
export function dataFingerprint(rows: readonly Record<string, unknown>[], columns: readonly string[]): string {
  const hash = createHash('sha256');
  hash.update('driftgate-data-v1\n');
  hash.update(`${JSON.stringify(columns)}\n`);
  rows.forEach((row, i) => {
    const values = columns.map((name) => canonical(row[name], i, name));
    hash.update(`${JSON.stringify(values)}\n`);
  });
  return hash.digest('hex');
}

function canonical(value: unknown, row: number, column: string): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? (Object.is(value, -0) ? 0 : value) : { number: String(value) };
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  throw new DataError(`cannot fingerprint row ${row + 1}: column ${JSON.stringify(column)} holds ${showValue(value)}`, { column });
}
