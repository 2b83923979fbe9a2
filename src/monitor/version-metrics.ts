// The monitor's gauges and log lines for what it judged: drift windows, label drift, performance and
// decisions.
import type { Logger } from '../core/index.js';
import type { ColumnDrift, DriftReport } from './drift.js';
import type { MonitorMetrics } from './metrics.js';
import { LABEL_COLUMN } from './model-state.js';
import type { VersionState } from './model-state.js';
import type { PerformanceSnapshot } from './performance.js';
import type { Decision } from './policy.js';

/** The version's labels on every per-version metric. */
export function versionLabels(state: VersionState): { model: string; version: string } {
  const { name: model, version } = state.manifest;
  return { model, version: String(version) };
}

/** JSON and Prometheus both dislike Infinity (an unseen category gives a chi-squared of Infinity). */
export function finiteOr<T>(x: number, fallback: T): number | T {
  return Number.isFinite(x) ? x : fallback;
}

function setColumnDrift(metrics: MonitorMetrics, labels: { model: string; version: string }, c: ColumnDrift, feature: string): void {
  metrics.driftScore.set({ ...labels, feature, test: c.test }, finiteOr(c.score, 1e9));
  if (c.pValue !== undefined) metrics.driftPValue.set({ ...labels, feature, test: c.test }, c.pValue);
  metrics.featureDrifted.set({ ...labels, feature }, c.drifted ? 1 : 0);
}

/** Gauges of a data window's report. */
export function setWindowGauges(metrics: MonitorMetrics, labels: { model: string; version: string }, report: DriftReport): void {
  for (const c of report.columns) setColumnDrift(metrics, labels, c, c.column);
  metrics.driftShare.set(labels, report.share);
  metrics.driftDetected.set(labels, report.datasetDrift ? 1 : 0);
}

/** Gauges of a label window's drift. */
export function setLabelDriftGauges(metrics: MonitorMetrics, labels: { model: string; version: string }, drift: ColumnDrift): void {
  setColumnDrift(metrics, labels, drift, LABEL_COLUMN);
}

/** Gauges of the rolling performance. */
export function setPerformanceGauges(metrics: MonitorMetrics, labels: { model: string; version: string }, current: PerformanceSnapshot): void {
  if (current.task === 'classification') {
    metrics.accuracy.set(labels, current.accuracy);
    metrics.f1.set(labels, current.macroF1);
  } else {
    metrics.mae.set(labels, current.mae);
    metrics.rmse.set(labels, current.rmse);
  }
  metrics.performanceLabels.set(labels, current.count);
}

/** Logs and metrics of a decision, once its transaction has committed. */
export function reportDecision(metrics: MonitorMetrics, logger: Logger, state: VersionState, decision: Decision): void {
  const { name: model, version } = state.manifest;
  const reason = 'reason' in decision ? decision.reason : decision.kind;
  metrics.decisions.inc({ model, type: decision.type, reason });
  metrics.lastDecision.set({ model, type: decision.type }, decision.time / 1000);
  logger.info('monitor decision', { model, version, type: decision.type, reason, evidence: decision.evidence });
}
