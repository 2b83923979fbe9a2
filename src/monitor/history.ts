// A bounded record of what the monitor judged about one version over time: each performance verdict
// (every `performanceEvery` joined labels) and a compact line per drift window. It is what the status
// page draws as a chart; the decisions that act on the same judgements are in the store's history.
// Kept with the version's snapshot, so a restarted monitor still shows the recent past.
import { z } from 'zod';
import type { DriftReport } from './drift.js';
import type { PerformanceSnapshot } from './performance.js';
import type { Task } from '../core/index.js';

/** One performance verdict: the rolling window's quality at the event time of the label that completed it. */
export interface PerformancePoint {
  /** Event time of the judgement, ms since the epoch. */
  ts: number;
  /** Joined labels in the rolling window then. */
  labels: number;
  /** Classification: accuracy and macro F1. Regression: MAE and RMSE. */
  accuracy?: number;
  f1?: number;
  mae?: number;
  rmse?: number;
}

/** One drift window, with only what a chart needs per feature. */
export interface WindowPoint {
  /** Event time of the window's newest prediction, ms since the epoch. */
  ts: number;
  windowIndex: number;
  samples: number;
  share: number;
  detected: boolean;
  /** Feature columns in the version's order; a score of Infinity is kept as null. */
  features: { feature: string; test: string; score: number | null; pValue: number | null; drifted: boolean }[];
}

export interface HistoryLimits {
  /** Performance verdicts kept per version. @defaultValue 500 */
  points: number;
  /** Drift windows kept per version. @defaultValue 20 */
  windows: number;
}

export const DEFAULT_HISTORY_LIMITS: Readonly<HistoryLimits> = Object.freeze({ points: 500, windows: 20 });

const finiteOrNull = z.number().nullable();
/** A {@link VersionHistory.snapshot} as stored, to read it back. */
export const historySnapshotSchema = z.object({
  /** [ts, labels, accuracy | mae, f1 | rmse], oldest first: compact, since it is written with every batch. */
  points: z.array(z.tuple([z.number(), z.number(), finiteOrNull, finiteOrNull])),
  windows: z.array(
    z.object({
      ts: z.number(),
      windowIndex: z.number(),
      samples: z.number(),
      share: z.number(),
      detected: z.boolean(),
      features: z.array(z.object({ feature: z.string(), test: z.string(), score: finiteOrNull, pValue: finiteOrNull, drifted: z.boolean() })),
    }),
  ),
});

export class VersionHistory {
  private points: PerformancePoint[] = [];
  private windowPoints: WindowPoint[] = [];

  constructor(
    private readonly task: Task,
    private readonly limits: HistoryLimits = DEFAULT_HISTORY_LIMITS,
  ) {}

  /** Records a verdict; an empty window (no labels) has nothing to show and is skipped. */
  addPerformance(ts: number, current: PerformanceSnapshot): void {
    if (current.count === 0) return;
    const point: PerformancePoint =
      current.task === 'classification'
        ? { ts, labels: current.count, accuracy: current.accuracy, f1: current.macroF1 }
        : { ts, labels: current.count, mae: current.mae, rmse: current.rmse };
    push(this.points, point, this.limits.points);
  }

  addWindow(report: DriftReport): void {
    push(
      this.windowPoints,
      {
        ts: report.endTime,
        windowIndex: report.windowIndex,
        samples: report.samples,
        share: report.share,
        detected: report.datasetDrift,
        features: report.features.map((f) => ({ feature: f.column, test: f.test, score: finite(f.score), pValue: f.pValue === undefined ? null : finite(f.pValue), drifted: f.drifted })),
      },
      this.limits.windows,
    );
  }

  /** Performance verdicts, oldest first. */
  performance(): readonly PerformancePoint[] {
    return this.points;
  }

  /** Drift windows, oldest first. */
  windows(): readonly WindowPoint[] {
    return this.windowPoints;
  }

  snapshot(): z.infer<typeof historySnapshotSchema> {
    const classification = this.task === 'classification';
    return {
      points: this.points.map((p) => [p.ts, p.labels, finite((classification ? p.accuracy : p.mae) ?? NaN), finite((classification ? p.f1 : p.rmse) ?? NaN)]),
      windows: this.windowPoints,
    };
  }

  /** Rebuilds a history from {@link VersionHistory.snapshot}; a missing or malformed one starts empty. */
  static restore(json: unknown, task: Task, limits: HistoryLimits = DEFAULT_HISTORY_LIMITS): VersionHistory {
    const history = new VersionHistory(task, limits);
    const parsed = historySnapshotSchema.safeParse(json);
    if (!parsed.success) return history;
    const classification = task === 'classification';
    for (const [ts, labels, a, b] of parsed.data.points.slice(-limits.points)) {
      const point: PerformancePoint = { ts, labels };
      if (classification) {
        if (a !== null) point.accuracy = a;
        if (b !== null) point.f1 = b;
      } else {
        if (a !== null) point.mae = a;
        if (b !== null) point.rmse = b;
      }
      history.points.push(point);
    }
    history.windowPoints = parsed.data.windows.slice(-limits.windows);
    return history;
  }
}

function push<T>(list: T[], item: T, limit: number): void {
  list.push(item);
  if (list.length > limit) list.splice(0, list.length - limit);
}

function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
