// Preprocessing in the manifest's form, fitted on the training split only, and the encoding of rows
// into model input through the same FeatureEncoder serving uses.
import { DriftgateError, FeatureEncoder } from '../../core/index.js';
import type { Feature, Preprocessing, RawValue, Scaler } from '../../core/index.js';
import { DataError } from './errors.js';
import { mean, populationStd } from './stats.js';
import { compareStrings, isMissing, makeRow } from './values.js';
import type { TypedColumn } from './values.js';

export type Scaling = 'standardize' | 'minmax' | 'none';

export interface PreprocessingOptions {
  /** How numeric features are scaled. @defaultValue `'standardize'` */
  scaling?: Scaling;
  /** What serving does with a category it has not seen, written to the manifest. @defaultValue `'error'` */
  unknownCategory?: 'error' | 'ignore';
}

export interface FittedPreprocessing {
  /** Features in manifest form; categorical ones list the categories seen in training, sorted. */
  features: Feature[];
  preprocessing: Preprocessing;
  /**
   * Numeric features with a single value in training. Standardizing gives them std 1 (rather than a
   * division by zero), so their training column is all zeros; min-max maps them to 0 the same way.
   * Listed so the caller can report or drop them.
   */
  constantColumns: string[];
}

/**
 * Fits scalers (mean and population std, or min and max) and category lists on the training rows.
 * The rows must be cleaned and filled: a missing value or a non-number in a numeric column is an error.
 */
export function fitPreprocessing(
  trainRows: readonly Record<string, unknown>[],
  features: readonly TypedColumn[],
  options: PreprocessingOptions = {},
): FittedPreprocessing {
  const scaling = options.scaling ?? 'standardize';
  if (scaling !== 'standardize' && scaling !== 'minmax' && scaling !== 'none') {
    throw new DataError(`scaling must be "standardize", "minmax" or "none", got ${JSON.stringify(scaling)}`);
  }
  if (trainRows.length === 0) throw new DataError('cannot fit preprocessing on an empty training split');
  const scalers = new Map<string, Scaler>();
  const constantColumns: string[] = [];
  const fitted = features.map((f): Feature => {
    if (f.type === 'categorical') {
      const categories = new Set<string>();
      trainRows.forEach((row, i) => {
        const v = row[f.name];
        if (isMissing(v)) throw unfilled(f.name, i);
        categories.add(String(v));
      });
      return { name: f.name, type: 'categorical', categories: [...categories].sort(compareStrings) };
    }
    const xs = trainRows.map((row, i) => {
      const v = row[f.name];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw unfilled(f.name, i);
      return v;
    });
    let min = xs[0]!;
    let max = xs[0]!;
    for (const x of xs) {
      if (x < min) min = x;
      if (x > max) max = x;
    }
    if (min === max) constantColumns.push(f.name);
    if (scaling === 'standardize') {
      // Tested on min === max, not std === 0: rounding in the mean can leave a tiny non-zero std for a
      // constant column, and dividing by it would blow the column up.
      if (min === max) {
        scalers.set(f.name, { kind: 'standardize', mean: min, std: 1 });
      } else {
        const m = mean(xs);
        scalers.set(f.name, { kind: 'standardize', mean: m, std: populationStd(xs, m) });
      }
    } else if (scaling === 'minmax') {
      scalers.set(f.name, { kind: 'minmax', min, max });
    }
    return { name: f.name, type: 'numeric' };
  });
  return {
    features: fitted,
    preprocessing: { scalers: makeRow(scalers), unknownCategory: options.unknownCategory ?? 'error' },
    constantColumns,
  };
}

/**
 * Encodes rows into a rows × width Float32Array exactly as serving would, with the manifest's
 * FeatureEncoder; extra columns (the target, ids) are ignored.
 *
 * Categories the training split never saw are encoded as all zeros here, whatever the manifest says.
 * The categories come from the training split alone, so a rare value can land only in validation or
 * test; failing the whole run over it would be wrong, and all zeros ("none of the known categories")
 * is the input the model can still score, the same one serving produces with `unknownCategory:
 * 'ignore'`. Training rows are unaffected, since every category they hold is known. The manifest keeps
 * its own setting (`error` by default) so serving refuses such values unless an operator opts in.
 */
export function encode(rows: readonly Record<string, unknown>[], features: readonly Feature[], preprocessing: Preprocessing): Float32Array {
  const encoder = new FeatureEncoder({ features: [...features], preprocessing: { ...preprocessing, unknownCategory: 'ignore' } });
  try {
    return encoder.encodeRows(rows as readonly Record<string, RawValue>[], 'rows', { ignoreExtra: true });
  } catch (err) {
    if (err instanceof DriftgateError) throw new DataError(`cannot encode: ${err.message}`, {}, { cause: err });
    throw err;
  }
}

/** Per categorical feature, how many rows hold a category outside the feature's list (for reports). */
export function countUnseenCategories(rows: readonly Record<string, unknown>[], features: readonly Feature[]): Record<string, number> {
  const counts: [string, number][] = [];
  for (const f of features) {
    if (f.type !== 'categorical') continue;
    const known = new Set(f.categories);
    let n = 0;
    for (const row of rows) {
      const v = row[f.name];
      if (!isMissing(v) && !known.has(String(v))) n++;
    }
    counts.push([f.name, n]);
  }
  return makeRow(counts);
}

function unfilled(name: string, index: number): DataError {
  return new DataError(
    `cannot fit preprocessing: column ${JSON.stringify(name)} has a missing or non-numeric value in training row ${index + 1}; clean and fill the rows first`,
    { column: name },
  );
}
