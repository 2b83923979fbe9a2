// Live model quality over the last N joined (prediction, label) pairs, and how it compares with the
// quality the version had at training time. Each add updates confusion counts or error sums in O(1),
// so the monitor can judge after every label without rescanning the window.
import { z } from 'zod';
import { recordedScore } from '../core/index.js';
import type { ManifestMetrics, Task } from '../core/index.js';

export type PerformanceTask = Task;
export type PerformanceMetric = 'accuracy' | 'f1' | 'mae' | 'rmse';

export interface RollingPerformanceOptions {
  task: PerformanceTask;
  /**
   * Class names, in the manifest's order. Required (at least one) for classification, where the
   * confusion counts need a fixed class set; ignored for regression.
   * @defaultValue []
   */
  labels?: readonly string[];
  /** Joined examples in the window; the oldest is evicted when a new one arrives past this many. */
  size: number;
}

/** An empty window has no quality to report: its metrics are NaN. */
export type PerformanceSnapshot =
  | { task: 'classification'; count: number; accuracy: number; macroF1: number }
  | { task: 'regression'; count: number; mae: number; rmse: number };

const snapshotSchema = z.discriminatedUnion('task', [
  z.object({
    task: z.literal('classification'),
    /** Oldest first, as [actual, predicted] class names: names survive a reordered label list. */
    examples: z.array(z.tuple([z.string(), z.string()])),
  }),
  z.object({
    task: z.literal('regression'),
    /** predicted − actual, oldest first. */
    errors: z.array(z.number()),
    sumAbs: z.number(),
    sumSquared: z.number(),
    sinceRecompute: z.number().int().nonnegative(),
  }),
]);

/**
 * Model quality over a ring buffer of the last `size` joined examples.
 *
 * Classification keeps a confusion-count matrix over the known classes plus one "other" row and
 * column for any class name outside `labels`. An unknown class is never correct: a prediction of an
 * unknown class is a miss even when the label is the same unknown name, since the model cannot be
 * right about a class it does not have. Macro F1 follows scikit-learn's
 * `f1_score(labels=labels, average='macro', zero_division=0)`: per-class F1 = 2TP / (2TP + FP + FN),
 * 0 when a class has no true and no predicted examples, averaged over ALL known classes (a class
 * absent from the window pulls the mean down, as it does in scikit-learn). Misses into or from
 * "other" count as false negatives and false positives of the known classes involved.
 *
 * Regression keeps running sums of |err| and err²; subtracting evicted errors lets floating-point
 * error accumulate, so the sums are recomputed from the ring every `size` adds.
 */
export class RollingPerformance {
  readonly task: PerformanceTask;
  readonly size: number;
  private readonly labels: readonly string[];
  private readonly classIndex = new Map<string, number>();
  /** `confusion[actual][predicted]`, classes in label order, then "other". */
  private readonly confusion: number[][] = [];
  /** Classification: actual and predicted class indices. Regression: `first` holds the errors. */
  private readonly first: Float64Array;
  private readonly second: Int32Array;
  private head = 0;
  private filled = 0;
  private sumAbs = 0;
  private sumSquared = 0;
  private sinceRecompute = 0;

  constructor(opts: RollingPerformanceOptions) {
    if (!Number.isInteger(opts.size) || opts.size < 1) throw new RangeError(`RollingPerformance: size must be a positive integer, got ${opts.size}`);
    this.task = opts.task;
    this.size = opts.size;
    this.labels = opts.task === 'classification' ? [...(opts.labels ?? [])] : [];
    if (opts.task === 'classification') {
      if (this.labels.length === 0) throw new RangeError('RollingPerformance: a classification window needs its class labels');
      this.labels.forEach((label, i) => {
        if (!this.classIndex.has(label)) this.classIndex.set(label, i);
      });
      const width = this.labels.length + 1;
      for (let i = 0; i < width; i++) this.confusion.push(new Array<number>(width).fill(0));
    }
    this.first = new Float64Array(opts.size);
    this.second = new Int32Array(opts.task === 'classification' ? opts.size : 0);
  }

  /** Examples in the window. */
  get count(): number {
    return this.filled;
  }

  /**
   * Adds one joined example. Classification takes class names (numbers are compared as their
   * string form); regression takes finite numbers and throws a RangeError otherwise, because one
   * NaN would poison the running sums for a whole window.
   */
  add(predicted: string | number, actual: string | number): void {
    if (this.task === 'classification') this.addClass(this.indexOf(String(actual)), this.indexOf(String(predicted)));
    else {
      if (typeof predicted !== 'number' || typeof actual !== 'number' || !Number.isFinite(predicted) || !Number.isFinite(actual)) {
        throw new RangeError(`RollingPerformance: regression needs finite numbers, got predicted=${predicted} actual=${actual}`);
      }
      this.addError(predicted - actual);
    }
  }

  current(): PerformanceSnapshot {
    const n = this.filled;
    if (this.task === 'regression') {
      if (n === 0) return { task: 'regression', count: 0, mae: NaN, rmse: NaN };
      // The running sum of squares can dip a hair below zero after subtractions.
      return { task: 'regression', count: n, mae: this.sumAbs / n, rmse: Math.sqrt(Math.max(0, this.sumSquared) / n) };
    }
    if (n === 0) return { task: 'classification', count: 0, accuracy: NaN, macroF1: NaN };
    const known = this.labels.length;
    let correct = 0;
    let f1Sum = 0;
    for (let c = 0; c < known; c++) {
      const truePositives = this.confusion[c]![c]!;
      let actualTotal = 0;
      let predictedTotal = 0;
      for (let k = 0; k <= known; k++) {
        actualTotal += this.confusion[c]![k]!;
        predictedTotal += this.confusion[k]![c]!;
      }
      correct += truePositives;
      const denominator = actualTotal + predictedTotal; // = 2TP + FP + FN
      f1Sum += denominator === 0 ? 0 : (2 * truePositives) / denominator;
    }
    return { task: 'classification', count: n, accuracy: correct / n, macroF1: f1Sum / known };
  }

  /** Plain JSON that {@link RollingPerformance.restore} turns back into an identical window. */
  snapshot(): unknown {
    const order = this.chronological();
    if (this.task === 'classification') {
      return { task: 'classification', examples: order.map((i) => [this.className(this.second[i]!), this.className(this.first[i]!)]) };
    }
    return {
      task: 'regression',
      errors: order.map((i) => this.first[i]!),
      sumAbs: this.sumAbs,
      sumSquared: this.sumSquared,
      sinceRecompute: this.sinceRecompute,
    };
  }

  /**
   * Rebuilds a window from {@link RollingPerformance.snapshot}. With the same options it continues
   * exactly as the original would. When `opts.size` is smaller than the snapshot, only the newest
   * examples are kept; class names no longer in `opts.labels` become "other". Throws on a snapshot
   * that is malformed or of the other task.
   */
  static restore(json: unknown, opts: RollingPerformanceOptions): RollingPerformance {
    const parsed = snapshotSchema.safeParse(json);
    if (!parsed.success) throw new Error(`RollingPerformance.restore: malformed snapshot: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    const snap = parsed.data;
    if (snap.task !== opts.task) throw new Error(`RollingPerformance.restore: snapshot is for ${snap.task}, window is for ${opts.task}`);
    const out = new RollingPerformance(opts);
    if (snap.task === 'classification') {
      for (const [actual, predicted] of snap.examples.slice(-out.size)) out.addClass(out.indexOf(actual), out.indexOf(predicted));
      return out;
    }
    const kept = snap.errors.slice(-out.size);
    if (kept.some((e) => !Number.isFinite(e))) throw new Error('RollingPerformance.restore: malformed snapshot: non-finite error');
    kept.forEach((e, i) => (out.first[i] = e));
    out.filled = kept.length;
    out.head = kept.length % out.size;
    if (kept.length === snap.errors.length) {
      out.sumAbs = snap.sumAbs;
      out.sumSquared = snap.sumSquared;
      out.sinceRecompute = snap.sinceRecompute;
    } else out.recompute();
    return out;
  }

  private indexOf(name: string): number {
    return this.classIndex.get(name) ?? this.labels.length;
  }

  private className(index: number): string {
    // "other" has no name of its own; any name outside the labels maps back to it on restore.
    return this.labels[index] ?? '\u0000other';
  }

  private addClass(actual: number, predicted: number): void {
    if (this.filled === this.size) this.confusion[this.second[this.head]!]![this.first[this.head]!]!--;
    else this.filled++;
    this.second[this.head] = actual;
    this.first[this.head] = predicted;
    this.confusion[actual]![predicted]!++;
    this.head = (this.head + 1) % this.size;
  }

  private addError(error: number): void {
    if (this.filled === this.size) {
      const evicted = this.first[this.head]!;
      this.sumAbs -= Math.abs(evicted);
      this.sumSquared -= evicted * evicted;
    } else this.filled++;
    this.first[this.head] = error;
    this.sumAbs += Math.abs(error);
    this.sumSquared += error * error;
    this.head = (this.head + 1) % this.size;
    if (++this.sinceRecompute >= this.size) this.recompute();
  }

  /** Sums in oldest-first order, so a restored window (laid out differently) gets the same bits. */
  private recompute(): void {
    let abs = 0;
    let squared = 0;
    for (const i of this.chronological()) {
      const e = this.first[i]!;
      abs += Math.abs(e);
      squared += e * e;
    }
    this.sumAbs = abs;
    this.sumSquared = squared;
    this.sinceRecompute = 0;
  }

  /** Ring slots, oldest first. */
  private chronological(): number[] {
    const start = (this.head - this.filled + this.size) % this.size;
    return Array.from({ length: this.filled }, (_, k) => (start + k) % this.size);
  }
}

/** The metric judged when the policy names none. */
export function defaultMetric(task: PerformanceTask): PerformanceMetric {
  return task === 'classification' ? 'accuracy' : 'rmse';
}

/**
 * The version's metric at training time, from its manifest's `metrics`: the validation split the
 * monitor compares live scores with, else the test split, else the flat scores of older manifests
 * (core's recordedScore; the schema says which keys hold each score). Undefined when none has it.
 */
export function expectedMetric(manifestMetrics: ManifestMetrics, metric: PerformanceMetric): number | undefined {
  return recordedScore(manifestMetrics, metric, ['validation', 'test']);
}

/**
 * Relative degradation of `live` against `expected`, positive = worse: (expected − live) / expected
 * for accuracy and F1, (live − expected) / expected for MAE and RMSE. A relative change from zero (or
 * from a negative value, which no supported metric has) is undefined, so when expected ≤ 0 the
 * absolute change is returned instead: for accuracy and F1 that is on the same 0..1 scale; for an
 * error metric a training error of 0 means any live error is worse, measured in the target's units.
 */
export function performanceDrop(metric: PerformanceMetric, expected: number, live: number): number {
  const worse = metric === 'accuracy' || metric === 'f1' ? expected - live : live - expected;
  return expected > 0 ? worse / expected : worse;
}

/** The live value of `metric` in a performance snapshot; undefined before any label, or for a metric of the other task. */
export function liveMetric(current: PerformanceSnapshot, metric: PerformanceMetric): number | undefined {
  if (current.count === 0) return undefined;
  if (current.task === 'classification') return metric === 'accuracy' ? current.accuracy : metric === 'f1' ? current.macroF1 : undefined;
  return metric === 'mae' ? current.mae : metric === 'rmse' ? current.rmse : undefined;
}
