// Cleaning a selected table into typed rows, with a report of every change. Steps, in order:
//  1. rows whose target is missing or invalid are dropped;
//  2. cells are coerced to their column's type (counted per column);
//  3. exact duplicates are dropped, compared on the typed values of the selected columns (so "1" and
//     "1.0" in a numeric column are the same value; columns left out of the selection do not count);
//  4. rows missing a value in a column whose strategy is `drop` are dropped;
//  5. outliers are clipped (bounds fitted on the remaining rows' observed values), when asked;
//  6. missing values are filled (fill values fitted on the clipped rows, so a mean never sits outside
//     the clipping bounds).
// Steps 5 and 6 learn from the rows given. With `fit: false` they are skipped and missing values stay
// null, so a trainer can split first and fit them on the training split only (fitClipper, fitImputer).
import { fitClipper, applyClipper } from './clip.js';
import type { OutlierOptions, OutlierRule, Clipper } from './clip.js';
import { coerceCell, coerceTarget } from './coerce.js';
import type { Task } from './coerce.js';
import type { ColumnSelection } from './columns.js';
import { DataError } from './errors.js';
import { applyImputer, fitImputer, resolveMissingStrategies } from './impute.js';
import type { Imputer, MissingOptions, MissingStrategy } from './impute.js';
import { compareStrings, makeRow, rowLocation, showValue } from './values.js';
import type { CleanRow, ColumnType, TypedColumn } from './values.js';

export interface CleanOptions {
  task: Task;
  /** Missing-value strategies. @defaultValue numeric `median`, categorical `mode` */
  missing?: MissingOptions;
  /** Outlier clipping of numeric columns. @defaultValue no clipping */
  outliers?: OutlierRule | OutlierOptions;
  /** Fit and apply clipping and imputation on these rows (steps 5 and 6). @defaultValue `true` */
  fit?: boolean;
  /** Drop exact duplicate rows. @defaultValue `true` */
  dropDuplicates?: boolean;
}

export interface ColumnCleaning {
  type: ColumnType;
  /** Values whose type changed (numeric strings to numbers, numbers and booleans to category strings). */
  coerced: number;
  /** Non-numeric values in a declared-numeric column, read as missing. */
  invalid: number;
  /** Missing values (including `invalid`) after duplicates were dropped, before filling. */
  missing: number;
  strategy: MissingStrategy;
  /** Missing values filled; 0 when `fit` is false or the strategy is `drop`. */
  filled: number;
  fillValue?: number | string;
  /** Values pulled to a clipping bound. */
  clipped: number;
  bounds?: { lower: number; upper: number };
}

export interface CleaningReport {
  rowsIn: number;
  rowsOut: number;
  dropped: { missingTarget: number; invalidTarget: number; duplicate: number; missingValue: number };
  target: {
    name: string;
    /** Targets whose type changed (numbers to class strings, numeric strings to numbers). */
    coerced: number;
    /** Rows per class after cleaning (classification only), in class order. */
    classes?: Record<string, number>;
  };
  columns: Record<string, ColumnCleaning>;
}

export interface CleanResult {
  rows: CleanRow[];
  target: string;
  features: TypedColumn[];
  report: CleaningReport;
  /** The fitted imputation and clipping (absent when `fit` is false), to apply to later data. */
  imputer?: Imputer;
  clipper?: Clipper;
}

export function cleanTable(selection: ColumnSelection, options: CleanOptions): CleanResult {
  const { target, features } = selection;
  const { task } = options;
  if (task !== 'classification' && task !== 'regression') {
    throw new DataError(`task must be "classification" or "regression", got ${showValue(task)}`);
  }
  const strategies = resolveMissingStrategies(features, options.missing);
  const columns = new Map<string, ColumnCleaning>(
    strategies.map((s) => [s.name, { type: s.type, coerced: 0, invalid: 0, missing: 0, strategy: s.strategy, filled: 0, clipped: 0 }]),
  );
  const dropped = { missingTarget: 0, invalidTarget: 0, duplicate: 0, missingValue: 0 };

  const typed = typedRows(selection, task, columns, dropped);
  let rows = typed.rows;
  if (options.dropDuplicates ?? true) rows = withoutDuplicates(rows, [...features.map((f) => f.name), target], dropped);
  const dropColumns = strategies.filter((s) => s.strategy === 'drop').map((s) => s.name);
  rows = withoutMissing(rows, features, dropColumns, columns, dropped);
  checkNotEmpty(selection.rows.length, rows.length, dropped, dropColumns);
  const fitted = clipAndFill(rows, features, options, columns);
  rows = fitted.rows;

  const report: CleaningReport = {
    rowsIn: selection.rows.length,
    rowsOut: rows.length,
    dropped,
    target: { name: target, coerced: typed.targetCoerced },
    columns: makeRow(columns),
  };
  if (task === 'classification') report.target.classes = classesOf(rows, target);
  const { imputer, clipper } = fitted;
  return { rows, target, features: features.map((f) => ({ ...f })), report, ...(imputer ? { imputer } : {}), ...(clipper ? { clipper } : {}) };
}

/** Steps 1 and 2: rows with a valid target, their cells coerced to the column types. */
function typedRows(
  selection: ColumnSelection,
  task: Task,
  columns: ReadonlyMap<string, ColumnCleaning>,
  dropped: CleaningReport['dropped'],
): { rows: CleanRow[]; targetCoerced: number } {
  const { target, features } = selection;
  const rows: CleanRow[] = [];
  let targetCoerced = 0;
  selection.rows.forEach((raw, i) => {
    const t = coerceTarget(raw[target], task);
    if (t.kind !== 'ok') {
      dropped[t.kind === 'missing' ? 'missingTarget' : 'invalidTarget']++;
      return;
    }
    if (t.coerced) targetCoerced++;
    const cells = features.map((f) => {
      const c = coerceCell(raw[f.name], f.type);
      if (c.unsupported) {
        throw new DataError(`column ${JSON.stringify(f.name)}: ${rowLocation(selection, i)} holds ${showValue(raw[f.name])}; cells must be numbers, strings or booleans`, {
          column: f.name,
        });
      }
      const stats = columns.get(f.name)!;
      if (c.coerced) stats.coerced++;
      if (c.invalid) stats.invalid++;
      return [f.name, c.value] as const;
    });
    rows.push(makeRow<number | string | null>([...cells, [target, t.value]]));
  });
  return { rows, targetCoerced };
}

/** Step 3. JSON keeps 1 and "1" apart, and the column order is fixed by the selection. */
function withoutDuplicates(rows: readonly CleanRow[], names: readonly string[], dropped: CleaningReport['dropped']): CleanRow[] {
  const seen = new Set<string>();
  return rows.filter((row) => {
    const key = JSON.stringify(names.map((n) => row[n]));
    if (seen.has(key)) {
      dropped.duplicate++;
      return false;
    }
    seen.add(key);
    return true;
  });
}

/** Step 4: missing counts per column, then the rows missing a value in a `drop` column left out. */
function withoutMissing(
  rows: CleanRow[],
  features: readonly TypedColumn[],
  dropColumns: readonly string[],
  columns: ReadonlyMap<string, ColumnCleaning>,
  dropped: CleaningReport['dropped'],
): CleanRow[] {
  for (const row of rows) {
    for (const f of features) if (row[f.name] === null) columns.get(f.name)!.missing++;
  }
  if (dropColumns.length === 0) return rows;
  const kept = rows.filter((row) => dropColumns.every((name) => row[name] !== null));
  dropped.missingValue = rows.length - kept.length;
  return kept;
}

/** Steps 5 and 6, fitted on the rows that are left, when `options.fit` allows. */
function clipAndFill(
  rows: CleanRow[],
  features: readonly TypedColumn[],
  options: CleanOptions,
  columns: ReadonlyMap<string, ColumnCleaning>,
): { rows: CleanRow[]; imputer?: Imputer; clipper?: Clipper } {
  if (!(options.fit ?? true)) {
    // Nothing is fitted here, but bad outlier rules should still fail now rather than after the split.
    fitClipper([], features, options.outliers);
    return { rows };
  }
  const clipper = fitClipper(rows, features, options.outliers);
  const clipped = applyClipper(clipper, rows);
  for (const b of clipper.columns) {
    const stats = columns.get(b.name)!;
    stats.clipped = clipped.clipped[b.name] ?? 0;
    stats.bounds = { lower: b.lower, upper: b.upper };
  }
  const imputer = fitImputer(clipped.rows, features, options.missing);
  const imputed = applyImputer(imputer, clipped.rows);
  for (const c of imputer.columns) {
    const stats = columns.get(c.name)!;
    stats.filled = imputed.filled[c.name] ?? 0;
    if (c.value !== undefined) stats.fillValue = c.value;
  }
  return { rows: imputed.rows, imputer, clipper };
}

/** Rows per class, refusing a target left with a single class. */
function classesOf(rows: readonly CleanRow[], target: string): Record<string, number> {
  const counts = countClasses(rows, target);
  const classes = Object.keys(counts);
  if (classes.length < 2) {
    throw new DataError(
      `target ${JSON.stringify(target)} has a single class (${JSON.stringify(classes[0])}) after cleaning; classification needs at least two`,
      { column: target },
    );
  }
  return counts;
}

function countClasses(rows: readonly CleanRow[], target: string): Record<string, number> {
  const counts = new Map<string, number>();
  for (const row of rows) {
    const key = String(row[target]);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return makeRow([...counts].sort((a, b) => compareStrings(a[0], b[0])));
}

function checkNotEmpty(rowsIn: number, rowsOut: number, dropped: CleaningReport['dropped'], dropColumns: readonly string[]): void {
  if (rowsOut > 0) return;
  const why: string[] = [];
  if (dropped.missingTarget) why.push(`${dropped.missingTarget} with a missing target`);
  if (dropped.invalidTarget) why.push(`${dropped.invalidTarget} with an invalid target`);
  if (dropped.duplicate) why.push(`${dropped.duplicate} duplicate${dropped.duplicate === 1 ? '' : 's'}`);
  if (dropped.missingValue) why.push(`${dropped.missingValue} missing a value in a column set to drop (${dropColumns.join(', ')})`);
  throw new DataError(`no rows left after cleaning: ${rowsIn} row${rowsIn === 1 ? '' : 's'} in; dropped ${why.join(', ') || 'none'}`);
}
