// JSON Lines loading: one JSON object per line. Blank lines are skipped. Columns are the union of the
// objects' keys in order of first appearance; a row without a key has `undefined` there (missing).
import { describeError } from '../../core/index.js';
import { DataError } from './errors.js';
import { readTextFile } from './read-text.js';
import type { RawTable } from './values.js';

export async function readJsonl(path: string): Promise<RawTable> {
  return parseJsonl(await readTextFile(path), path);
}

export function parseJsonl(text: string, source = 'JSONL'): RawTable {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const columns: string[] = [];
  const known = new Set<string>();
  const rows: Record<string, unknown>[] = [];
  const lines: number[] = [];
  const physical = text.split(/\r\n|\n|\r/);
  physical.forEach((content, index) => {
    const line = index + 1;
    if (content.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(content);
    } catch (err) {
      throw new DataError(`${source} line ${line}: invalid JSON (${describeError(err)})`, { source, line }, { cause: err });
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new DataError(`${source} line ${line}: expected a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`, {
        source,
        line,
      });
    }
    // JSON.parse creates "__proto__" as an own key, so the row is safe to keep as it is.
    const row = value as Record<string, unknown>;
    for (const key of Object.keys(row)) {
      if (!known.has(key)) {
        known.add(key);
        columns.push(key);
      }
    }
    rows.push(row);
    lines.push(line);
  });
  if (rows.length === 0) throw new DataError(`${source} has no data rows`, { source });
  return { columns, rows, source, lines };
}
