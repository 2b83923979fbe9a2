// Metrics per slice of the data: each quantile bin of a numeric feature, each value of a categorical
// one, and the rows where a feature is missing. Ranked so the slices where the model does worst
// relative to its overall score come first: that is where to look for missing data or features.
import type { ColumnProfile, Feature } from '../../core/index.js';
import { binOf, quantileBins } from './quantile-bins.js';

/** A raw feature value as the user supplied it (CSV cell, JSON field). */
export type RawFeatureValue = number | string | null | undefined;

export interface SliceMetric {
  readonly feature: string;
  /** `range` for a numeric quantile bin, `category` for a categorical value, `missing` for absent values. */
  readonly kind: 'range' | 'category' | 'missing';
  /** Human-readable definition, e.g. `petal_length in [1, 1.6)` or `colour = red`. */
  readonly label: string;
  /** Rows in the slice. */
  readonly n: number;
  /** The slice's accuracy (classification) or mean absolute error (regression). */
  readonly metric: number;
  /** `metric` minus the same metric over all rows. */
  readonly delta: number;
}

export interface SliceOptions {
  /** Quantile bins per numeric feature. */
  readonly bins: number;
  /** Slices with fewer rows are left out, since their metric is mostly noise. */
  readonly minSliceSize: number;
  /** Training profiles by feature name; a numeric profile's quantiles set that feature's bin edges. */
  readonly reference?: Readonly<Record<string, ColumnProfile>>;
}

export interface SliceTable {
  /** The metric over all rows, which each slice's delta is measured from. */
  readonly overall: number;
  /** Weakest first. */
  readonly slices: SliceMetric[];
  /** Non-empty slices left out for having fewer than `minSliceSize` rows. */
  readonly skipped: number;
}

/**
 * Slice metrics from one score per row: 1 or 0 for a correct classification (the mean is accuracy),
 * or the absolute error (the mean is MAE). `higherIsBetter` says which way is worse for the ranking.
 * Ties in how far below the overall score a slice is are broken by size, larger first, then by feature
 * order and slice order, so the table is the same on every run.
 */
export function sliceMetrics(
  rows: readonly Readonly<Record<string, RawFeatureValue>>[],
  features: readonly Feature[],
  scores: ArrayLike<number>,
  higherIsBetter: boolean,
  opts: SliceOptions,
): SliceTable {
  let total = 0;
  for (let i = 0; i < scores.length; i++) total += scores[i]!;
  const overall = total / scores.length;

  const candidates: SliceMetric[] = [];
  let skipped = 0;
  for (const feature of features) {
    for (const group of groupRows(rows, feature, opts)) {
      if (group.rows.length === 0) continue;
      if (group.rows.length < opts.minSliceSize) {
        skipped++;
        continue;
      }
      let sum = 0;
      for (const r of group.rows) sum += scores[r]!;
      const metric = sum / group.rows.length;
      candidates.push({
        feature: feature.name,
        kind: group.kind,
        label: group.label,
        n: group.rows.length,
        metric,
        delta: metric - overall,
      });
    }
  }

  const badness = (s: SliceMetric): number => (higherIsBetter ? -s.delta : s.delta);
  // Array.prototype.sort is stable, so equal slices keep feature and slice order.
  const slices = [...candidates].sort((a, b) => badness(b) - badness(a) || b.n - a.n);
  return { overall, slices, skipped };
}

interface RowGroup {
  kind: SliceMetric['kind'];
  label: string;
  rows: number[];
}

function groupRows(
  rows: readonly Readonly<Record<string, RawFeatureValue>>[],
  feature: Feature,
  opts: SliceOptions,
): RowGroup[] {
  const missing: RowGroup = { kind: 'missing', label: `${feature.name} is missing`, rows: [] };
  if (feature.type === 'numeric') {
    const parsed = rows.map((row) => asNumber(readValue(row, feature.name)));
    const present = parsed.filter((x): x is number => x !== null);
    const profile = opts.reference?.[feature.name];
    const bins = quantileBins(feature.name, present, opts.bins, profile?.type === 'numeric' ? profile.quantiles : undefined);
    const ranges: RowGroup[] = (bins?.labels ?? []).map((label) => ({ kind: 'range', label, rows: [] }));
    parsed.forEach((x, r) => {
      if (x === null) missing.rows.push(r);
      else if (bins) ranges[binOf(bins, x)]!.rows.push(r);
    });
    return [...ranges, missing];
  }

  // Known categories in manifest order, then values the manifest does not list, sorted.
  const byValue = new Map<string, number[]>(feature.categories.map((c): [string, number[]] => [c, []]));
  rows.forEach((row, r) => {
    const value = readValue(row, feature.name);
    if (isMissing(value)) {
      missing.rows.push(r);
      return;
    }
    const key = String(value);
    const list = byValue.get(key);
    if (list) list.push(r);
    else byValue.set(key, [r]);
  });
  const known = new Set(feature.categories);
  const extra = [...byValue.keys()].filter((k) => !known.has(k)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const groups = [...known, ...extra].map(
    (value): RowGroup => ({ kind: 'category', label: `${feature.name} = ${value}`, rows: byValue.get(value)! }),
  );
  return [...groups, missing];
}

/**
 * A row's value of one feature. Only own properties count, so a feature called `constructor` or
 * `__proto__` never reads something inherited from Object.prototype.
 */
export function readValue(row: Readonly<Record<string, RawFeatureValue>>, name: string): RawFeatureValue {
  return Object.hasOwn(row, name) ? row[name] : undefined;
}

function isMissing(value: RawFeatureValue): boolean {
  return value === null || value === undefined || (typeof value === 'string' && value.trim() === '');
}

/** A finite number from a number or numeric string; null for anything else (treated as missing). */
function asNumber(value: RawFeatureValue): number | null {
  if (isMissing(value)) return null;
  const x = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(x) ? x : null;
}
