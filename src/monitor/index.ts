// The monitoring context: joins predictions with labels, computes drift and live performance per
// served version, applies the drift policy and publishes its decisions.
export { DriftMonitor } from './monitor.js';
export type { DriftMonitorOptions, ModelTimeline, VersionSummary } from './monitor.js';
export { VersionHistory, DEFAULT_HISTORY_LIMITS } from './history.js';
export type { HistoryLimits, PerformancePoint, WindowPoint } from './history.js';
export { startMonitor, loadPolicy, monitorApp } from './service.js';
export type { MonitorDeps, RunningMonitor } from './service.js';
export { startMonitorThread } from './thread.js';
export type { MetricsJson, MonitorThread, MonitorThreadDeps } from './thread.js';
export { BatchGatherer } from './batch-gather.js';
export { MonitorStore } from './store.js';
export type { JoinedExample, MonitorStoreOptions, DecisionRecord } from './store.js';
export { ModelCatalog } from './catalog.js';
export type { ManifestSource } from './catalog.js';
export { createMonitorMetrics } from './metrics.js';
export type { MonitorMetrics } from './metrics.js';
export { driftPolicySchema, monitorPolicySchema, parsePolicyDocument, policyFor } from './policy.js';
export type { DriftPolicy, MonitorPolicy, Decision } from './policy.js';
export { PREDICTION_COLUMN, LABEL_COLUMN } from './model-state.js';
