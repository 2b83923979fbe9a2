// The serving context: gateway, model registry and repository, runtimes, batching, metrics.
export { createGateway, versionSettings } from './gateway.js';
export type { Gateway, GatewayDeps } from './gateway.js';
export { ModelRegistry } from './registry.js';
export type { ModelStatus, VersionStatus, RegistryOptions } from './registry.js';

export { createServeMetrics, metricsText, LATENCY_BUCKETS } from './metrics.js';
export type { MetricsSource, ServeMetrics } from './metrics.js';
export { DynamicBatcher } from './batcher.js';
export type { BatcherOptions } from './batcher.js';
export { openRuntime, OnnxRuntime, TfjsRuntime, WorkerRuntime, SupervisedRuntime, RuntimeUnavailableError } from './runtime/index.js';
export type { ModelRuntime, RuntimeOptions, RuntimeHealth } from './runtime/index.js';
export { discardPredictions } from './prediction-log.js';
export { ModelEventFollower, publishingModelEvents, discardModelEvents } from './model-events.js';
export type { ModelEventSink, ModelRefresher, SeenModelEvent } from './model-events.js';
export { publishingSinks, parseSampling, discardLabels } from './event-sink.js';
export type { LabelSink, SamplingRates } from './event-sink.js';
export type { PredictionRecord, PredictionSink, PredictionOutput } from './prediction-log.js';
export { buildOpenApi } from './openapi.js';
export { embeddedMonitorView, remoteMonitorView } from './status/monitor-view.js';
export type { MonitorView, MonitoredVersion, MonitoredTimeline, RemoteMonitorOptions } from './status/monitor-view.js';
