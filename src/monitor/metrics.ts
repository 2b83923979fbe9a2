// The monitor's Prometheus metrics. Names are part of the contract (dashboards and alert rules read
// them); labels stay bounded: model, version, feature (the model's own feature names, or
// `__prediction__` / `__label__`), test, and small enums. Never prediction ids.
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

export function createMonitorMetrics(registry: Registry) {
  const registers = [registry];
  return { ...driftMetrics(registers), ...performanceMetrics(registers), ...joinMetrics(registers), ...processingMetrics(registers) };
}

export type MonitorMetrics = ReturnType<typeof createMonitorMetrics>;

/** Drift windows: per-column statistics and the dataset verdict. */
function driftMetrics(registers: Registry[]) {
  return {
    driftScore: new Gauge({
      name: 'driftgate_drift_score',
      help: 'Drift statistic of the last evaluated window: KS D, chi-squared statistic, PSI, normed Wasserstein or Jensen-Shannon distance.',
      labelNames: ['model', 'version', 'feature', 'test'] as const,
      registers,
    }),
    driftPValue: new Gauge({
      name: 'driftgate_drift_p_value',
      help: 'p-value of the last window (KS and chi-squared tests only).',
      labelNames: ['model', 'version', 'feature', 'test'] as const,
      registers,
    }),
    featureDrifted: new Gauge({
      name: 'driftgate_drift_feature_drifted',
      help: '1 when the column drifted in the last window, else 0.',
      labelNames: ['model', 'version', 'feature'] as const,
      registers,
    }),
    driftDetected: new Gauge({
      name: 'driftgate_drift_detected',
      help: '1 when the last window showed dataset drift (share of drifted features at or above the policy share), else 0.',
      labelNames: ['model', 'version'] as const,
      registers,
    }),
    driftShare: new Gauge({
      name: 'driftgate_drift_share',
      help: 'Share of drifted features in the last window.',
      labelNames: ['model', 'version'] as const,
      registers,
    }),
    windows: new Counter({
      name: 'driftgate_drift_windows_total',
      help: 'Windows evaluated, by kind (data, label) and result (drift, no_drift).',
      labelNames: ['model', 'version', 'kind', 'result'] as const,
      registers,
    }),
  };
}

/** Live performance over the rolling window of joined labels. */
function performanceMetrics(registers: Registry[]) {
  return {
    accuracy: new Gauge({ name: 'driftgate_model_accuracy', help: 'Live accuracy over the rolling window of joined labels.', labelNames: ['model', 'version'] as const, registers }),
    f1: new Gauge({ name: 'driftgate_model_f1', help: 'Live macro F1 over the rolling window of joined labels.', labelNames: ['model', 'version'] as const, registers }),
    mae: new Gauge({ name: 'driftgate_model_mae', help: 'Live mean absolute error over the rolling window of joined labels.', labelNames: ['model', 'version'] as const, registers }),
    rmse: new Gauge({ name: 'driftgate_model_rmse', help: 'Live root mean squared error over the rolling window of joined labels.', labelNames: ['model', 'version'] as const, registers }),
    performanceDrop: new Gauge({
      name: 'driftgate_model_performance_drop',
      help: 'Relative degradation of the policy metric against the version\'s validation metric from its manifest (positive = worse).',
      labelNames: ['model', 'version', 'metric'] as const,
      registers,
    }),
    performanceLabels: new Gauge({
      name: 'driftgate_model_performance_labels',
      help: 'Joined labels in the rolling performance window.',
      labelNames: ['model', 'version'] as const,
      registers,
    }),
  };
}

/** The join of predictions and labels: joined, expired, duplicate and waiting entries. */
function joinMetrics(registers: Registry[]) {
  return {
    labelsJoined: new Counter({ name: 'driftgate_labels_joined_total', help: 'Predictions joined with their label.', labelNames: ['model'] as const, registers }),
    expired: new Counter({
      name: 'driftgate_join_expired_total',
      help: 'Predictions that never got a label, and labels that never found their prediction, dropped by TTL or by their bound (reason="capacity": DRIFTGATE_JOIN_MAX_PENDING for predictions, DRIFTGATE_JOIN_MAX_EARLY_LABELS per model for labels).',
      labelNames: ['model', 'kind', 'reason'] as const,
      registers,
    }),
    duplicates: new Counter({
      name: 'driftgate_monitor_duplicates_total',
      help: 'Events ignored because their id was seen before (at-least-once redelivery).',
      labelNames: ['kind'] as const,
      registers,
    }),
    labelDuplicates: new Counter({
      name: 'driftgate_label_duplicates_total',
      help: 'Labels for a (model, prediction id) that already had one: ignored, the first label is kept. value="same" repeats it (a retry, a redelivery), value="different" contradicts it.',
      labelNames: ['model', 'value'] as const,
      registers,
    }),
    earlyLabels: new Gauge({
      name: 'driftgate_monitor_early_labels',
      help: 'Labels waiting for their prediction, per model (bounded per model by DRIFTGATE_JOIN_MAX_EARLY_LABELS).',
      labelNames: ['model'] as const,
      registers,
    }),
    labelCoverage: new Gauge({
      name: 'driftgate_label_coverage',
      help: 'Share of the model\'s predictions that got a label, among those joined or expired since the monitor\'s store began.',
      labelNames: ['model'] as const,
      registers,
    }),
    labelLag: new Histogram({
      name: 'driftgate_label_lag_seconds',
      help: 'Event time from a prediction to its label.',
      labelNames: ['model'] as const,
      buckets: [1, 10, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 7 * 24 * 3600],
      registers,
    }),
    pending: new Gauge({
      name: 'driftgate_monitor_pending',
      help: 'Entries waiting to be joined: predictions without a label yet, labels that came before their prediction.',
      labelNames: ['kind'] as const,
      registers,
    }),
  };
}

/** The consumer's progress, the policy's decisions and the time a batch takes. */
function processingMetrics(registers: Registry[]) {
  return {
    consumerLag: new Gauge({
      name: 'driftgate_monitor_consumer_lag',
      help: 'Messages on the monitor\'s topics not yet committed by its consumer group.',
      labelNames: ['topic'] as const,
      registers,
    }),
    eventTimeLag: new Gauge({
      name: 'driftgate_monitor_event_time_lag_seconds',
      help: 'Wall-clock time minus the event time of the newest event applied.',
      registers,
    }),
    decisions: new Counter({
      name: 'driftgate_monitor_decisions_total',
      help: 'Policy decisions, by type (drift.detected, retrain.requested, drift.cleared) and reason.',
      labelNames: ['model', 'type', 'reason'] as const,
      registers,
    }),
    lastDecision: new Gauge({
      name: 'driftgate_monitor_last_decision_timestamp_seconds',
      help: 'Event time of the last decision of each type.',
      labelNames: ['model', 'type'] as const,
      registers,
    }),
    batchDuration: new Histogram({
      name: 'driftgate_monitor_batch_duration_seconds',
      help: 'Time to apply one batch of events (join, statistics, policy, durable write).',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
  };
}
