// Optional outlier clipping of numeric columns: bounds fitted on one set of rows (the training split
// when leakage matters), values outside them pulled to the nearest bound on any rows.
import { DataError } from './errors.js';
import { quantileOfSorted, sortedNumbers } from './stats.js';
import { isMissing, makeRow, parseNumber } from './values.js';
import type { TypedColumn } from './values.js';

/**
 * `iqr`: bounds Q1 - k·IQR and Q3 + k·IQR (k defaults to 1.5, Tukey's fences).
 * `quantile`: bounds at the given probabilities, e.g. 0.01 and 0.99 (winsorizing).
 * Quantiles interpolate linearly between order statistics.
 */
export type OutlierRule = { method: 'iqr'; k?: number } | { method: 'quantile'; lower: number; upper: number };

export interface OutlierOptions {
  /** Rule for every numeric column not listed in `columns`. @defaultValue none (no clipping) */
  default?: OutlierRule;
  /** Per-column rules; `'none'` exempts a column from the default. @defaultValue `{}` */
  columns?: Readonly<Record<string, OutlierRule | 'none'>>;
}

export interface ClipBounds {
  name: string;
  lower: number;
  upper: number;
}

/** Fitted bounds, plain data so they can be stored and applied later. */
export interface Clipper {
  columns: ClipBounds[];
}

/** A single rule stands for `{ default: rule }`. */
export function normalizeOutlierOptions(options: OutlierRule | OutlierOptions | undefined): OutlierOptions {
  if (!options) return {};
  return 'method' in options ? { default: options } : options;
}

export function fitClipper(
  rows: readonly Record<string, unknown>[],
  features: readonly TypedColumn[],
  options: OutlierRule | OutlierOptions | undefined,
): Clipper {
  const { default: fallback, columns: perColumn = {} } = normalizeOutlierOptions(options);
  const byName = new Map(features.map((f) => [f.name, f]));
  for (const name of Object.keys(perColumn)) {
    const f = byName.get(name);
    if (!f) throw new DataError(`outlier rule given for unknown feature ${JSON.stringify(name)}`, { column: name });
    if (f.type !== 'numeric' && perColumn[name] !== 'none') {
      throw new DataError(`outlier clipping applies to numeric columns; ${JSON.stringify(name)} is categorical`, { column: name });
    }
  }
  const columns: ClipBounds[] = [];
  for (const f of features) {
    if (f.type !== 'numeric') continue;
    const rule = Object.hasOwn(perColumn, f.name) ? perColumn[f.name]! : fallback;
    if (rule === undefined || rule === 'none') continue;
    checkRule(f.name, rule);
    const values: number[] = [];
    for (const r of rows) {
      const x = isMissing(r[f.name]) ? undefined : parseNumber(r[f.name]);
      if (x !== undefined) values.push(x);
    }
    if (values.length === 0) continue;
    const sorted = sortedNumbers(values);
    if (rule.method === 'iqr') {
      const k = rule.k ?? 1.5;
      const q1 = quantileOfSorted(sorted, 0.25);
      const q3 = quantileOfSorted(sorted, 0.75);
      columns.push({ name: f.name, lower: q1 - k * (q3 - q1), upper: q3 + k * (q3 - q1) });
    } else {
      columns.push({ name: f.name, lower: quantileOfSorted(sorted, rule.lower), upper: quantileOfSorted(sorted, rule.upper) });
    }
  }
  return { columns };
}

/** Pulls numeric values outside the bounds to the nearest bound. Input rows are not modified. */
export function applyClipper<R extends Record<string, unknown>>(
  clipper: Clipper,
  rows: readonly R[],
): { rows: R[]; clipped: Record<string, number> } {
  const clipped = new Map<string, number>(clipper.columns.map((c) => [c.name, 0]));
  const out = rows.map((row) => {
    let copy: Record<string, unknown> | undefined;
    for (const c of clipper.columns) {
      const x = row[c.name];
      if (typeof x !== 'number' || (x >= c.lower && x <= c.upper)) continue;
      copy ??= makeRow<unknown>(Object.entries(row));
      Object.defineProperty(copy, c.name, { value: x < c.lower ? c.lower : c.upper, enumerable: true, writable: true, configurable: true });
      clipped.set(c.name, clipped.get(c.name)! + 1);
    }
    return (copy ?? row) as R;
  });
  return { rows: out, clipped: makeRow(clipped) };
}

function checkRule(name: string, rule: OutlierRule): void {
  if (rule.method === 'iqr') {
    if (rule.k !== undefined && !(Number.isFinite(rule.k) && rule.k >= 0)) {
      throw new DataError(`column ${JSON.stringify(name)}: IQR factor k must be a number >= 0, got ${rule.k}`, { column: name });
    }
    return;
  }
  if (rule.method === 'quantile') {
    const { lower, upper } = rule;
    if (!(lower >= 0 && upper <= 1 && lower < upper)) {
      throw new DataError(`column ${JSON.stringify(name)}: quantile bounds need 0 <= lower < upper <= 1, got ${lower} and ${upper}`, { column: name });
    }
    return;
  }
  throw new DataError(`column ${JSON.stringify(name)}: outlier method must be "iqr" or "quantile"`, { column: name });
}
