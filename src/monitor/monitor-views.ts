// What the monitor shows an operator: a summary per version and a model's timeline.
import type { ColumnDrift, DriftReport } from './drift.js';
import type { PerformancePoint, WindowPoint } from './history.js';
import type { VersionState } from './model-state.js';
import { expectedMetric, liveMetric, performanceDrop } from './performance.js';
import type { PerformanceSnapshot } from './performance.js';
import type { ModelHistories } from './version-states.js';
import type { Task } from '../core/index.js';

/** What one version looks like to an operator (GET /monitor/models). */
export interface VersionSummary {
  model: string;
  version: number;
  reference: 'manifest' | 'live' | 'collecting';
  lastWindow: DriftReport | undefined;
  lastLabelDrift: ColumnDrift | undefined;
  performance: PerformanceSnapshot;
  expected: number | undefined;
  drop: number | undefined;
  policy: VersionState['policyState'];
}

/** A model's recent performance verdicts and drift windows over all its versions (GET /monitor/models/{m}/timeline). */
export interface ModelTimeline {
  model: string;
  task: Task;
  /** Oldest first, at most the limit asked for; `ts` in event time (ms). */
  points: (PerformancePoint & { version: number })[];
  /** Oldest first, at most the limit asked for. */
  windows: (WindowPoint & { version: number })[];
}

export function summarise(state: VersionState): VersionSummary {
  const { name: model, version } = state.manifest;
  const current = state.performance.current();
  const expected = expectedMetric(state.manifest.metrics, state.metric);
  const live = liveMetric(current, state.metric);
  return {
    model,
    version,
    reference: state.liveReference ? 'collecting' : state.manifest.reference ? 'manifest' : 'live',
    lastWindow: state.lastWindow,
    lastLabelDrift: state.lastLabelDrift,
    performance: current,
    expected,
    drop: expected === undefined || live === undefined ? undefined : performanceDrop(state.metric, expected, live),
    policy: state.policyState,
  };
}

/** The last `limit` performance points and `windowLimit` windows over all the model's versions, oldest first. */
export function timelineOf(model: string, { task, histories }: ModelHistories, limit: number, windowLimit: number): ModelTimeline {
  const points: ModelTimeline['points'] = [];
  const windows: ModelTimeline['windows'] = [];
  for (const [version, history] of histories) {
    for (const p of history.performance()) points.push({ ...p, version });
    for (const w of history.windows()) windows.push({ ...w, version });
  }
  const byTime = (a: { ts: number; version: number }, b: { ts: number; version: number }) => a.ts - b.ts || a.version - b.version;
  return { model, task, points: points.sort(byTime).slice(-limit), windows: windows.sort(byTime).slice(-windowLimit) };
}
