// Turning loaded cells into typed values: numbers for numeric columns, strings for categorical ones.
import { isMissing, parseNumber } from './values.js';
import type { ColumnType } from './values.js';
import type { Task } from '../../core/index.js';

export type { Task };

/**
 * The typed value of a cell and what it took to get it:
 * - `coerced`: the value changed type (a numeric string became a number; a number or boolean in a
 *   categorical column became a string; a boolean in a declared numeric column became 1 or 0);
 * - `invalid`: a non-numeric value in a numeric column, read as missing. Only declared-numeric columns
 *   reach this, since inference refuses numeric columns with junk in them.
 * Objects and arrays are refused earlier (inference), or here by returning `unsupported`.
 */
export interface Coerced {
  value: number | string | null;
  coerced: boolean;
  invalid: boolean;
  unsupported: boolean;
}

const MISSING: Coerced = { value: null, coerced: false, invalid: false, unsupported: false };

export function coerceCell(value: unknown, type: ColumnType): Coerced {
  if (isMissing(value)) return MISSING;
  if (typeof value === 'object' || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
    return { value: null, coerced: false, invalid: false, unsupported: true };
  }
  if (type === 'numeric') {
    if (typeof value === 'number') {
      return Number.isFinite(value) ? { ...MISSING, value } : { ...MISSING, invalid: true };
    }
    if (typeof value === 'boolean') return { ...MISSING, value: value ? 1 : 0, coerced: true };
    const x = parseNumber(value);
    return x === undefined ? { ...MISSING, invalid: true } : { ...MISSING, value: x, coerced: true };
  }
  if (typeof value === 'string') return { ...MISSING, value };
  return { ...MISSING, value: String(value), coerced: true };
}

export type TargetCell = { kind: 'ok'; value: number | string; coerced: boolean } | { kind: 'missing' } | { kind: 'invalid' };

/**
 * A target is valid for classification when it is any non-missing scalar (read as its string form, so
 * 1 and "1" are the same class), and for regression when it is a finite number or a decimal string.
 */
export function coerceTarget(value: unknown, task: Task): TargetCell {
  if (isMissing(value)) return { kind: 'missing' };
  if (typeof value === 'object' || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
    return { kind: 'invalid' };
  }
  if (task === 'classification') {
    if (typeof value === 'number' && !Number.isFinite(value)) return { kind: 'invalid' };
    return typeof value === 'string' ? { kind: 'ok', value, coerced: false } : { kind: 'ok', value: String(value), coerced: true };
  }
  const x = parseNumber(value);
  if (x === undefined) return { kind: 'invalid' };
  return { kind: 'ok', value: x, coerced: typeof value !== 'number' };
}
