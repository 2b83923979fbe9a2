// The target column as model output: class indices over a label list, or float values.
import { DataError } from './errors.js';
import type { Task } from './coerce.js';
import { compareStrings, isMissing, parseNumber, showValue } from './values.js';

export type EncodedTarget = { task: 'classification'; labels: string[]; y: Int32Array } | { task: 'regression'; y: Float32Array };

/**
 * Classification: `y[i]` is the index of row i's label in `labels`. Without `labels` they are the
 * sorted distinct values of these rows (pass the training split's, or a base model's manifest labels,
 * when encoding validation and test rows); a label outside them is a DataError. Labels are compared in
 * string form, so 1 and "1" are the same class.
 * Regression: `y[i]` is the value, which must be a finite number (or decimal string).
 */
export function encodeTarget(rows: readonly Record<string, unknown>[], target: string, task: Task, labels?: readonly string[]): EncodedTarget {
  if (task === 'regression') {
    const y = new Float32Array(rows.length);
    rows.forEach((row, i) => {
      const x = parseNumber(row[target]);
      if (x === undefined) {
        throw new DataError(`row ${i + 1}: target ${JSON.stringify(target)} must be a finite number, got ${showValue(row[target])}`, { column: target });
      }
      y[i] = x;
    });
    return { task, y };
  }

  const keys = rows.map((row, i) => {
    const v = row[target];
    if (isMissing(v) || (typeof v === 'object' && v !== null)) {
      throw new DataError(`row ${i + 1}: target ${JSON.stringify(target)} has no usable label (${showValue(v)})`, { column: target });
    }
    return String(v);
  });
  let list: string[];
  if (labels) {
    list = [...labels];
    if (new Set(list).size !== list.length) throw new DataError(`labels given for target ${JSON.stringify(target)} repeat a value: ${list.join(', ')}`);
    if (list.length === 0) throw new DataError(`no labels given for target ${JSON.stringify(target)}`);
  } else {
    list = [...new Set(keys)].sort(compareStrings);
    if (list.length < 2) {
      throw new DataError(`target ${JSON.stringify(target)} has a single class (${JSON.stringify(list[0])}); classification needs at least two`, {
        column: target,
      });
    }
  }
  const index = new Map(list.map((label, i) => [label, i]));
  const y = new Int32Array(rows.length);
  keys.forEach((key, i) => {
    const k = index.get(key);
    if (k === undefined) {
      throw new DataError(`row ${i + 1}: label ${JSON.stringify(key)} of target ${JSON.stringify(target)} is not one of the known labels: ${list.join(', ')}`, {
        column: target,
      });
    }
    y[i] = k;
  });
  return { task, labels: list, y };
}
