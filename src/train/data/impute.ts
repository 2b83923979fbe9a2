// Missing values: a strategy per column, fill values fitted on one set of rows (the training split when
// leakage matters) and applied to any rows. Fitting and applying are separate so the trainer can fit on
// train only and fill validation and test with the training statistics.
import { DataError } from './errors.js';
import { mean, median, mode } from './stats.js';
import { isMissing, makeRow, parseNumber } from './values.js';
import type { ColumnType, TypedColumn } from './values.js';

/** `drop` removes rows missing a value in the column; the others fill it with a statistic. */
/** What fills a missing value, or `drop` for removing its row. */
export const MISSING_STRATEGIES = ['mean', 'median', 'mode', 'drop'] as const;
export type MissingStrategy = (typeof MISSING_STRATEGIES)[number];

export interface MissingOptions {
  /** Strategy for numeric columns. @defaultValue `'median'` */
  numeric?: MissingStrategy;
  /** Strategy for categorical columns (`mode` or `drop`). @defaultValue `'mode'` */
  categorical?: MissingStrategy;
  /** Per-column strategies, overriding the two above. @defaultValue `{}` */
  columns?: Readonly<Record<string, MissingStrategy>>;
}

export interface ImputerColumn {
  name: string;
  type: ColumnType;
  strategy: MissingStrategy;
  /** The fill value (absent for `drop`). */
  value?: number | string;
}

/** Fitted fill values, plain data so it can be stored and applied later. */
export interface Imputer {
  columns: ImputerColumn[];
}

export interface ImputeResult {
  rows: Record<string, unknown>[];
  /** Values filled per column. */
  filled: Record<string, number>;
  /** Rows removed for a missing value in a `drop` column. */
  dropped: number;
}

/** Each feature's strategy, after checking the options name real columns and fit their types. */
export function resolveMissingStrategies(
  features: readonly TypedColumn[],
  options: MissingOptions = {},
): { name: string; type: ColumnType; strategy: MissingStrategy }[] {
  const byName = new Map(features.map((f) => [f.name, f]));
  const perColumn = options.columns ?? {};
  for (const name of Object.keys(perColumn)) {
    if (!byName.has(name)) {
      throw new DataError(`missing-value strategy given for unknown feature ${JSON.stringify(name)}; features: ${features.map((f) => f.name).join(', ')}`, {
        column: name,
      });
    }
  }
  return features.map((f) => {
    const strategy = Object.hasOwn(perColumn, f.name)
      ? perColumn[f.name]!
      : f.type === 'numeric'
        ? (options.numeric ?? 'median')
        : (options.categorical ?? 'mode');
    if (!MISSING_STRATEGIES.includes(strategy)) {
      throw new DataError(`column ${JSON.stringify(f.name)}: missing-value strategy must be one of ${MISSING_STRATEGIES.join(', ')}, got ${JSON.stringify(strategy)}`, {
        column: f.name,
      });
    }
    if (f.type === 'categorical' && (strategy === 'mean' || strategy === 'median')) {
      throw new DataError(`column ${JSON.stringify(f.name)} is categorical: fill it with "mode" or "drop" its rows, not "${strategy}"`, {
        column: f.name,
      });
    }
    return { name: f.name, type: f.type, strategy };
  });
}

/** Fits fill values on the non-missing values of `rows`. */
export function fitImputer(rows: readonly Record<string, unknown>[], features: readonly TypedColumn[], options: MissingOptions = {}): Imputer {
  const columns = resolveMissingStrategies(features, options).map((c): ImputerColumn => {
    if (c.strategy === 'drop') return c;
    if (c.type === 'categorical') {
      const values = rows.map((r) => r[c.name]).filter((v) => !isMissing(v)).map(String);
      if (values.length === 0) throw noValues(c.name, c.strategy);
      return { ...c, value: mode(values) };
    }
    const values: number[] = [];
    for (const r of rows) {
      const x = isMissing(r[c.name]) ? undefined : parseNumber(r[c.name]);
      if (x !== undefined) values.push(x);
    }
    if (values.length === 0) throw noValues(c.name, c.strategy);
    return { ...c, value: c.strategy === 'mean' ? mean(values) : c.strategy === 'median' ? median(values) : mode(values) };
  });
  return { columns };
}

/** Fills missing values and drops rows missing a `drop` column. Input rows are not modified. */
export function applyImputer<R extends Record<string, unknown>>(imputer: Imputer, rows: readonly R[]): ImputeResult & { rows: R[] } {
  const filled = new Map<string, number>(imputer.columns.map((c) => [c.name, 0]));
  const out: R[] = [];
  let dropped = 0;
  for (const row of rows) {
    if (imputer.columns.some((c) => c.strategy === 'drop' && isMissing(row[c.name]))) {
      dropped++;
      continue;
    }
    const gaps = imputer.columns.filter((c) => c.value !== undefined && isMissing(row[c.name]));
    if (gaps.length === 0) {
      out.push(row);
      continue;
    }
    const copy = makeRow<unknown>(Object.entries(row));
    for (const c of gaps) {
      Object.defineProperty(copy, c.name, { value: c.value, enumerable: true, writable: true, configurable: true });
      filled.set(c.name, filled.get(c.name)! + 1);
    }
    out.push(copy as R);
  }
  return { rows: out, filled: makeRow(filled), dropped };
}

function noValues(name: string, strategy: MissingStrategy): DataError {
  return new DataError(`cannot compute the ${strategy} of column ${JSON.stringify(name)} to fill missing values: it has no values in the rows fitted on`, {
    column: name,
  });
}
