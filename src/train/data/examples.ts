// In-memory labeled examples, the form the monitor collects (features as the client sent them, plus
// the label that arrived later), turned into a table like a loaded file.
import { DataError } from './errors.js';
import { makeRow } from './values.js';
import type { RawTable } from './values.js';

export interface LabeledExample {
  features: Record<string, number | string | boolean | null>;
  label: number | string;
}

/**
 * Columns are the feature names in order of first appearance, then the target. An example without
 * some feature has `undefined` there, which cleaning treats as missing.
 *
 * @param target name of the label column. @defaultValue `'label'`
 */
export function fromExamples(examples: readonly LabeledExample[], target = 'label'): RawTable {
  const source = 'examples';
  if (examples.length === 0) throw new DataError('no labeled examples given', { source });
  const columns: string[] = [];
  const known = new Set<string>();
  const rows = examples.map((example, i) => {
    if (example === null || typeof example !== 'object' || example.features === null || typeof example.features !== 'object') {
      throw new DataError(`examples[${i}]: expected {features: {...}, label}`, { source });
    }
    for (const name of Object.keys(example.features)) {
      if (name === target) {
        throw new DataError(`examples[${i}]: feature ${JSON.stringify(name)} has the target column's name; pick another target name`, {
          source,
          column: name,
        });
      }
      if (!known.has(name)) {
        known.add(name);
        columns.push(name);
      }
    }
    return makeRow<unknown>([...Object.entries(example.features), [target, example.label]]);
  });
  columns.push(target);
  return { columns, rows, source };
}
