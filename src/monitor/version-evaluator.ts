// Feeding one version's windows and rolling performance, and judging them when a window closes or
// enough labels have joined: drift tests, gauges, then the policy.
import type { Logger } from '../core/index.js';
import type { BatchEffects } from './batch-effects.js';
import { evaluateLabels, evaluateWindow } from './drift.js';
import type { MonitorMetrics } from './metrics.js';
import { LABEL_COLUMN } from './model-state.js';
import type { VersionState } from './model-state.js';
import { liveMetric } from './performance.js';
import { decideOnPerformance, decideOnWindow } from './policy-application.js';
import { setLabelDriftGauges, setPerformanceGauges, setWindowGauges, versionLabels } from './version-metrics.js';

/** A joined prediction and label, as the windows and performance take it. */
export interface JoinedValues {
  predicted: string | number;
  /** The label as normalised for the version (class name or number). */
  actual: string | number;
  predictionTs: number;
  labelTs: number;
}

export class VersionEvaluator {
  constructor(
    private readonly metrics: MonitorMetrics,
    private readonly logger: Logger,
    /** Joined labels between two performance verdicts. */
    private readonly performanceEvery: number,
  ) {}

  /**
   * A prediction's row: part of the reference while the version collects one, else a row of its data
   * window, judging every window that closes.
   */
  addPrediction(state: VersionState, row: Record<string, number | string | null | undefined>, ts: number, effects: BatchEffects): void {
    if (state.collectReference(row)) return;
    state.window.add(row, ts);
    while (state.window.ready(ts)) this.evaluateDataWindow(state, effects);
  }

  /** A joined pair into the rolling performance (its counters once the batch has committed). */
  addJoined(state: VersionState, joined: JoinedValues, effects: BatchEffects): void {
    const { predicted, actual, predictionTs, labelTs } = joined;
    const model = state.manifest.name;
    state.performance.add(predicted, actual);
    state.joined += 1;
    effects.afterCommit(() => {
      this.metrics.labelsJoined.inc({ model });
      this.metrics.labelLag.observe({ model }, Math.max(0, labelTs - predictionTs) / 1000);
    });
  }

  /**
   * After addJoined: the label into the label window, judging every window that closes, and a
   * performance verdict every performanceEvery joined labels.
   */
  judgeJoined(state: VersionState, joined: Pick<JoinedValues, 'actual' | 'labelTs'>, effects: BatchEffects): void {
    const { actual, labelTs } = joined;
    state.labelWindow.add({ [LABEL_COLUMN]: actual }, labelTs);
    while (state.labelWindow.ready(labelTs)) this.evaluateLabelWindow(state, effects);
    if (state.joined % this.performanceEvery === 0) this.judgePerformance(state, labelTs, effects);
  }

  private evaluateDataWindow(state: VersionState, effects: BatchEffects): void {
    const contents = state.window.take();
    const references = state.references;
    if (!references) return;
    const policy = state.policy;
    const report = evaluateWindow({
      contents,
      references,
      features: state.featureNames,
      overrides: state.overrides,
      thresholds: policy.thresholds,
      datasetDriftShare: policy.datasetDriftShare,
      bonferroni: policy.bonferroni,
    });
    const labels = versionLabels(state);
    setWindowGauges(this.metrics, labels, report);
    effects.afterCommit(() => this.metrics.windows.inc({ ...labels, kind: 'data', result: report.datasetDrift ? 'drift' : 'no_drift' }));
    state.lastWindow = report;
    state.history.addWindow(report);
    const { name: model, version } = state.manifest;
    this.logger.debug('window evaluated', { model, version, window: report.windowIndex, share: report.share, drift: report.datasetDrift });
    for (const decision of decideOnWindow(state, report)) effects.decisions.push({ state, decision });
  }

  private evaluateLabelWindow(state: VersionState, effects: BatchEffects): void {
    const contents = state.labelWindow.take();
    const reference = state.labelReference;
    if (!reference) return;
    const drift = evaluateLabels(reference, contents, LABEL_COLUMN, state.policy.thresholds);
    if (!drift) return;
    const labels = versionLabels(state);
    setLabelDriftGauges(this.metrics, labels, drift);
    effects.afterCommit(() => this.metrics.windows.inc({ ...labels, kind: 'label', result: drift.drifted ? 'drift' : 'no_drift' }));
    state.lastLabelDrift = drift;
  }

  private judgePerformance(state: VersionState, time: number, effects: BatchEffects): void {
    const current = state.performance.current();
    const labels = versionLabels(state);
    state.history.addPerformance(time, current);
    setPerformanceGauges(this.metrics, labels, current);
    const metric = state.metric;
    const live = liveMetric(current, metric);
    if (live === undefined) return;
    const { drop, decisions } = decideOnPerformance(state, { time, metric, live, labels: current.count });
    if (drop !== undefined) this.metrics.performanceDrop.set({ ...labels, metric }, drop);
    for (const decision of decisions) effects.decisions.push({ state, decision });
  }
}
