// Drift of a closed window against the references: one univariate test per column (Evidently's default
// choice, or the policy's override), then dataset drift as the share of drifted features (Evidently's
// rule), optionally with Alibi Detect's Bonferroni correction of the p-value tests.
import { z } from 'zod';
import {
  binIndex,
  categoryFractions,
  chiSquareGoodnessOfFit,
  jensenShannonDistance,
  ksTwoSample,
  normedWasserstein,
  psi,
} from './stats/index.js';
import type { ColumnReference, NumericReference } from './reference.js';
import type { WindowColumnValues, WindowContents } from './window.js';

export type DriftTestName = 'ks' | 'psi' | 'wasserstein' | 'chisquare' | 'jensenshannon';

export const DRIFT_TESTS: readonly DriftTestName[] = ['ks', 'psi', 'wasserstein', 'chisquare', 'jensenshannon'];

export interface DriftThresholds {
  /** A p-value test (ks, chisquare) drifts when its p-value is below this. @defaultValue 0.05 */
  pValue: number;
  /** A distance test (psi, wasserstein, jensenshannon) drifts when its score reaches this. @defaultValue 0.1 */
  distance: number;
}

export const DEFAULT_THRESHOLDS: Readonly<DriftThresholds> = Object.freeze({ pValue: 0.05, distance: 0.1 });

/** Evidently's cut between a small reference (p-value tests) and a large one (distances). */
export const SMALL_REFERENCE_ROWS = 1000;

export const DEFAULT_PREDICTION_COLUMN = '__prediction__';
export const DEFAULT_LABEL_COLUMN = '__label__';

export interface ColumnDrift {
  column: string;
  test: DriftTestName;
  /** KS D, chi-squared statistic, PSI, normed W1 or JS distance. Infinity for a chi-squared on a category the reference never had. */
  score: number;
  /** Only for the p-value tests. */
  pValue?: number;
  /** The threshold applied (after any Bonferroni correction). */
  threshold: number;
  drifted: boolean;
  /** Current values the test saw. */
  samples: number;
  /** Rows of the window without a value for this column. */
  missing: number;
}

export interface SkippedColumn {
  column: string;
  reason: 'no-reference' | 'too-few-values';
  samples: number;
}

export interface DriftReport {
  windowIndex: number;
  startTime: number;
  endTime: number;
  /** Rows in the window. */
  samples: number;
  /** Every tested column, features first. */
  columns: ColumnDrift[];
  /** The tested feature columns, in the order of `features`. */
  features: ColumnDrift[];
  prediction?: ColumnDrift;
  /** Drifted features / tested features (0 when none could be tested). */
  share: number;
  datasetDrift: boolean;
  /** Columns not tested, and not counted in the share. */
  skipped: SkippedColumn[];
}

// A report as the version snapshot stores it, to read it back. JSON has no Infinity or NaN: a score
// or p-value that was not finite is stored as null, and comes back as the value that produced it
// (a chi-squared score is Infinity on a category the reference never had; an empty window spans
// Infinity to -Infinity).
const storedNumber = (whenNull: number) => z.number().nullable().transform((x) => x ?? whenNull);

export const columnDriftSchema: z.ZodType<ColumnDrift> = z
  .object({
    column: z.string(),
    test: z.enum(DRIFT_TESTS),
    score: storedNumber(Number.POSITIVE_INFINITY),
    pValue: storedNumber(Number.NaN).optional(),
    threshold: z.number(),
    drifted: z.boolean(),
    samples: z.number().int().nonnegative(),
    missing: z.number().int().nonnegative(),
  })
  .transform(({ pValue, ...drift }) => (pValue === undefined ? drift : { ...drift, pValue }));

export const driftReportSchema: z.ZodType<DriftReport> = z
  .object({
    windowIndex: z.number().int(),
    startTime: storedNumber(Number.POSITIVE_INFINITY),
    endTime: storedNumber(Number.NEGATIVE_INFINITY),
    samples: z.number().int().nonnegative(),
    columns: z.array(columnDriftSchema),
    features: z.array(columnDriftSchema),
    prediction: columnDriftSchema.optional(),
    share: z.number(),
    datasetDrift: z.boolean(),
    skipped: z.array(z.object({ column: z.string(), reason: z.enum(['no-reference', 'too-few-values']), samples: z.number().int().nonnegative() })),
  })
  .transform(({ prediction, ...report }) => (prediction === undefined ? report : { ...report, prediction }));

export interface EvaluateWindowInput {
  contents: WindowContents;
  references: Readonly<Record<string, ColumnReference>>;
  /** The columns that count for dataset drift. */
  features: readonly string[];
  /** Test per column instead of the default one; validated against the column (throws when it does not apply). */
  overrides?: Readonly<Record<string, DriftTestName>>;
  thresholds: DriftThresholds;
  /** Dataset drift when the share of drifted features reaches this. */
  datasetDriftShare: number;
  /** Divide the p-value threshold of the feature tests by the number of tested features. */
  bonferroni: boolean;
  /** @defaultValue '__prediction__' */
  predictionColumn?: string;
}

/**
 * Evidently's default test. Reference of at most 1000 rows: KS for numeric columns, chi-squared for
 * categorical ones; larger: normed Wasserstein and Jensen-Shannon. A numeric column with at most 5
 * distinct values in the reference sample is tested as categorical (chi-squared / Jensen-Shannon on
 * the values). Evidently's Z-test for two-valued columns is not implemented: chi-squared takes its
 * place (with one degree of freedom it tests the same proportion).
 */
export function defaultTest(reference: ColumnReference): DriftTestName {
  const small = reference.rows <= SMALL_REFERENCE_ROWS;
  if (reference.kind === 'categorical' || reference.discrete) return small ? 'chisquare' : 'jensenshannon';
  return small ? 'ks' : 'wasserstein';
}

/** Whether the test drifts on a low p-value (rather than on a high distance). */
export function isPValueTest(test: DriftTestName): boolean {
  return test === 'ks' || test === 'chisquare';
}

/**
 * Whether `test` can run on a column of this kind. KS and Wasserstein need numeric values; chi-squared,
 * Jensen-Shannon and PSI run on categories, and on numeric columns over the reference's distinct values
 * (at most 5) or else its PSI bins.
 */
export function testApplies(test: DriftTestName, kind: ColumnReference['kind']): boolean {
  if (!DRIFT_TESTS.includes(test)) return false;
  return kind === 'numeric' || (test !== 'ks' && test !== 'wasserstein');
}

/** Throws an Error naming the column when `test` cannot run on it (the policy validates overrides with it). */
export function assertTestApplies(test: DriftTestName, kind: ColumnReference['kind'], column: string): void {
  if (!DRIFT_TESTS.includes(test)) {
    throw new Error(`drift test "${String(test)}" for column "${column}" is unknown; use one of ${DRIFT_TESTS.join(', ')}`);
  }
  if (!testApplies(test, kind)) {
    throw new Error(`drift test "${test}" needs numeric values, but column "${column}" is ${kind}; use chisquare, jensenshannon or psi`);
  }
}

/**
 * Runs one test of the current values against the reference. Throws when the test or the values do not
 * fit the column.
 *
 * KS compares with the reference sample (its p-value is a two-sample one); Wasserstein with the
 * reference's quantile function from the full training data (see NumericReference.quantileFunction).
 * Chi-squared is a goodness of fit that takes the reference proportions as exact: for category counts
 * over the whole training set they are, but for a numeric column's bins they come from the sample of
 * at most 1000 rows, so there it alarms more often than its p-value says once windows near that size.
 */
export function runColumnTest(
  test: DriftTestName,
  reference: ColumnReference,
  current: WindowColumnValues,
  options: { column: string; thresholds: DriftThresholds },
): ColumnDrift {
  const { column, thresholds } = options;
  assertTestApplies(test, reference.kind, column);
  if (current.kind !== reference.kind) {
    throw new Error(`column "${column}" has ${current.kind} values but a ${reference.kind} reference`);
  }
  const samples = current.kind === 'numeric' ? current.sorted.length : current.total;
  const base = { column, test, samples, missing: current.missing };

  if (test === 'ks' || test === 'wasserstein') {
    const ref = reference as NumericReference;
    const cur = (current as Extract<WindowColumnValues, { kind: 'numeric' }>).sorted;
    if (test === 'ks') {
      const { statistic, pValue } = ksTwoSample(ref.sorted, cur);
      return { ...base, score: statistic, pValue, threshold: thresholds.pValue, drifted: pValue < thresholds.pValue };
    }
    const score = normedWasserstein(ref.quantileFunction, cur, ref.std);
    return { ...base, score, threshold: thresholds.distance, drifted: score >= thresholds.distance };
  }

  const { reference: refCounts, current: curCounts } = alignCounts(reference, current, test === 'psi');
  if (test === 'chisquare') {
    const { statistic, pValue } = chiSquareGoodnessOfFit(curCounts, refCounts);
    return { ...base, score: statistic, pValue, threshold: thresholds.pValue, drifted: pValue < thresholds.pValue };
  }
  // Evidently fills empty categories before Jensen-Shannon; PSI fills its empty bins itself.
  const score =
    test === 'psi'
      ? psi(normalise(refCounts), curCounts)
      : jensenShannonDistance(categoryFractions(refCounts), categoryFractions(curCounts));
  return { ...base, score, threshold: thresholds.distance, drifted: score >= thresholds.distance };
}

/**
 * Tests every column of a closed window that has a reference and at least 2 values, and decides dataset
 * drift from the feature columns. The Bonferroni correction applies to the feature tests only: they are
 * the family whose share decides dataset drift, while the prediction column is a signal of its own.
 */
export function evaluateWindow(input: EvaluateWindowInput): DriftReport {
  const { contents, references, thresholds } = input;
  const predictionColumn = input.predictionColumn ?? DEFAULT_PREDICTION_COLUMN;
  const featureSet = new Set(input.features);
  const skipped: SkippedColumn[] = [];
  const testable: { column: string; reference: ColumnReference; current: WindowColumnValues; test: DriftTestName }[] = [];

  const names = [...input.features, ...Object.keys(contents.columns).filter((c) => !featureSet.has(c))];
  for (const column of names) {
    const current = own(contents.columns, column);
    const reference = own(references, column);
    if (!reference) {
      skipped.push({ column, reason: 'no-reference', samples: current ? valueCount(current) : 0 });
      continue;
    }
    const test = own(input.overrides ?? {}, column) ?? defaultTest(reference);
    // Validated even when the column is skipped below, so a bad override fails on the first window.
    assertTestApplies(test, reference.kind, column);
    if (!current || valueCount(current) < 2) {
      skipped.push({ column, reason: 'too-few-values', samples: current ? valueCount(current) : 0 });
      continue;
    }
    testable.push({ column, reference, current, test });
  }

  const testedFeatures = testable.filter((t) => featureSet.has(t.column)).length;
  const featureThresholds =
    input.bonferroni && testedFeatures > 0 ? { ...thresholds, pValue: thresholds.pValue / testedFeatures } : thresholds;
  const columns = testable.map((t) =>
    runColumnTest(t.test, t.reference, t.current, {
      column: t.column,
      thresholds: featureSet.has(t.column) ? featureThresholds : thresholds,
    }),
  );
  const features = columns.filter((c) => featureSet.has(c.column));
  const drifted = features.filter((c) => c.drifted).length;
  const share = testedFeatures === 0 ? 0 : drifted / testedFeatures;
  const report: DriftReport = {
    windowIndex: contents.index,
    startTime: contents.startTime,
    endTime: contents.endTime,
    samples: contents.rows,
    columns,
    features,
    share,
    datasetDrift: testedFeatures > 0 && share >= input.datasetDriftShare,
    skipped,
  };
  const prediction = columns.find((c) => c.column === predictionColumn);
  if (prediction) report.prediction = prediction;
  return report;
}

/**
 * Label drift: the distribution of the joined labels against the training labels, with the reference's
 * default test unless `test` is given. `current` is a label window's contents (its `column` is read),
 * one column's values, category counts, or numeric labels (sorted here if they are not).
 * Undefined when there are fewer than 2 labels to test.
 */
export function evaluateLabels(
  reference: ColumnReference,
  current: WindowContents | WindowColumnValues | ReadonlyMap<string, number> | Float64Array,
  column: string = DEFAULT_LABEL_COLUMN,
  thresholds: DriftThresholds = DEFAULT_THRESHOLDS,
  test?: DriftTestName,
): ColumnDrift | undefined {
  const values = labelValues(current, column);
  if (!values || valueCount(values) < 2) return undefined;
  return runColumnTest(test ?? defaultTest(reference), reference, values, { column, thresholds });
}

function labelValues(
  current: WindowContents | WindowColumnValues | ReadonlyMap<string, number> | Float64Array,
  column: string,
): WindowColumnValues | undefined {
  if (current instanceof Float64Array) {
    return { kind: 'numeric', sorted: isSorted(current) ? current : Float64Array.from(current).sort(), missing: 0 };
  }
  if (current instanceof Map) {
    const counts = new Map<string, number>(current as ReadonlyMap<string, number>);
    let total = 0;
    for (const n of counts.values()) total += n;
    return { kind: 'categorical', counts, total, missing: 0 };
  }
  if ('columns' in current) return own(current.columns, column);
  return current as WindowColumnValues;
}

/**
 * Reference and current counts over the same categories: the reference's categories (or distinct
 * values, or PSI bins for a continuous numeric column), then categories only the current window has,
 * sorted, with a reference count of 0, which is what makes an unseen category drift strongly.
 * `binsOnly` makes PSI always use the bins for numeric columns, as PSI is defined on them.
 */
function alignCounts(
  reference: ColumnReference,
  current: WindowColumnValues,
  binsOnly: boolean,
): { reference: number[]; current: number[] } {
  if (reference.kind === 'numeric' && current.kind === 'numeric') {
    if (reference.discrete && !binsOnly) {
      return alignKeys(reference.discrete.values, reference.discrete.counts, runLengths(current.sorted), (a, b) => a - b);
    }
    const counts = new Array<number>(reference.binFractions.length).fill(0);
    for (const x of current.sorted) counts[binIndex(reference.edges, x)]! += 1;
    return { reference: reference.binFractions.map((f) => f * reference.sorted.length), current: counts };
  }
  if (reference.kind === 'categorical' && current.kind === 'categorical') {
    return alignKeys(reference.categories, reference.counts, current.counts, (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
  throw new Error(`reference and current values differ in kind (${reference.kind} vs ${current.kind})`);
}

function alignKeys<K>(
  keys: readonly K[],
  referenceCounts: readonly number[],
  currentCounts: ReadonlyMap<K, number>,
  compare: (a: K, b: K) => number,
): { reference: number[]; current: number[] } {
  const known = new Set(keys);
  const extra = [...currentCounts.keys()].filter((k) => !known.has(k)).sort(compare);
  return {
    reference: [...referenceCounts, ...extra.map(() => 0)],
    current: [...keys, ...extra].map((k) => currentCounts.get(k) ?? 0),
  };
}

function runLengths(sorted: Float64Array): Map<number, number> {
  const counts = new Map<number, number>();
  for (const x of sorted) counts.set(x, (counts.get(x) ?? 0) + 1);
  return counts;
}

function normalise(counts: readonly number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total === 0 ? 0 : c / total));
}

function valueCount(values: WindowColumnValues): number {
  return values.kind === 'numeric' ? values.sorted.length : values.total;
}

function isSorted(xs: Float64Array): boolean {
  for (let i = 1; i < xs.length; i++) if (xs[i - 1]! > xs[i]!) return false;
  return true;
}

/** Own properties only: a column called "constructor" must not find Object.prototype's. */
function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
