// Applying a version's drift policy to what its windows and performance show: the verdict the policy
// judges, its new state, and the decisions with their evidence.
import type { ColumnDrift, DriftReport } from './drift.js';
import type { VersionState } from './model-state.js';
import { expectedMetric, performanceDrop } from './performance.js';
import type { PerformanceMetric } from './performance.js';
import { onPerformance, onWindow } from './policy.js';
import type { Decision, WindowVerdict } from './policy.js';
import { finiteOr } from './version-metrics.js';

function windowVerdict(report: DriftReport): WindowVerdict {
  return {
    windowIndex: report.windowIndex,
    endTime: report.endTime,
    datasetDrift: report.datasetDrift,
    share: report.share,
    samples: report.samples,
    drifted: report.features
      .filter((f) => f.drifted)
      .map((f) => (f.pValue === undefined ? { feature: f.column, test: f.test, score: f.score } : { feature: f.column, test: f.test, score: f.score, pValue: f.pValue })),
  };
}

function columnEvidence(c: ColumnDrift): Record<string, unknown> {
  return { test: c.test, score: finiteOr(c.score, null), pValue: c.pValue, drifted: c.drifted };
}

/**
 * Judges a closed data window and moves the version's policy state on. A drift.detected carries the
 * prediction's drift in this window and the label drift last seen as evidence.
 */
export function decideOnWindow(state: VersionState, report: DriftReport): Decision[] {
  const result = onWindow(state.policy, state.policyState, windowVerdict(report));
  state.policyState = result.state;
  const prediction = report.prediction;
  for (const decision of result.decisions) {
    if (prediction && decision.type === 'drift.detected') decision.evidence['prediction'] = columnEvidence(prediction);
    const label = state.lastLabelDrift;
    if (label && decision.type === 'drift.detected') decision.evidence['label'] = columnEvidence(label);
  }
  return result.decisions;
}

/**
 * Judges the live `metric` against the manifest's and moves the version's policy state on. `drop` is
 * the relative degradation, undefined when the manifest has no value for the metric.
 */
export function decideOnPerformance(
  state: VersionState,
  verdict: { time: number; metric: PerformanceMetric; live: number; labels: number },
): { drop: number | undefined; decisions: Decision[] } {
  const expected = expectedMetric(state.manifest.metrics, verdict.metric);
  const drop = expected === undefined ? undefined : performanceDrop(verdict.metric, expected, verdict.live);
  const { time, metric, live, labels } = verdict;
  const result = onPerformance(state.policy, state.policyState, { time, metric, live, expected, drop, labels });
  state.policyState = result.state;
  return { drop, decisions: result.decisions };
}
