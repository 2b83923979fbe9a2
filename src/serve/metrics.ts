// The gateway's Prometheus metrics, on a registry of its own. Labels are bounded: model and version
// only once the model is known to the registry, endpoint as a route template (HTTP) or a method path
// (gRPC), status as an HTTP status class (for gRPC, the class of the equivalent HTTP status).
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';

/** Metrics kept elsewhere (the monitor's worker thread) that the gateway's /metrics shows too, as prom-client's JSON. */
export type MetricsSource = () => Promise<MetricObjectWithValues<MetricValue<string>>[]>;

/** 100 µs to 10 s, roughly three buckets a decade. */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

export function createServeMetrics(registry: Registry = new Registry(), { processMetrics = true } = {}) {
  if (processMetrics) collectDefaultMetrics({ register: registry });
  const m = {
    registry,
    /** Added by the composition root; see `metricsText`. */
    sources: [] as MetricsSource[],
    requests: new Counter({
      name: 'driftgate_requests_total',
      help: 'Requests by protocol (http, grpc), model, version, endpoint template or gRPC method, and status class.',
      labelNames: ['protocol', 'model', 'version', 'endpoint', 'status'] as const,
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'driftgate_request_duration_seconds',
      help: 'Time from request arrival to response, by protocol, model, version, endpoint and status class.',
      labelNames: ['protocol', 'model', 'version', 'endpoint', 'status'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    inferenceDuration: new Histogram({
      name: 'driftgate_inference_duration_seconds',
      help: 'Time of one runtime call (one batch).',
      labelNames: ['model', 'version'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    queueDuration: new Histogram({
      name: 'driftgate_queue_duration_seconds',
      help: 'Time a request waited in the batch queue before its runtime call started.',
      labelNames: ['model', 'version'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'driftgate_batch_size',
      help: 'Rows in one runtime call.',
      labelNames: ['model', 'version'] as const,
      buckets: BATCH_BUCKETS,
      registers: [registry],
    }),
    predictions: new Counter({
      name: 'driftgate_predictions_total',
      help: 'Rows predicted, by model and version.',
      labelNames: ['model', 'version'] as const,
      registers: [registry],
    }),
    queueRows: new Gauge({
      name: 'driftgate_queue_rows',
      help: 'Rows waiting in the batch queue.',
      labelNames: ['model', 'version'] as const,
      registers: [registry],
    }),
    modelsLoaded: new Gauge({
      name: 'driftgate_models_loaded',
      help: 'Loaded versions per model.',
      labelNames: ['model'] as const,
      registers: [registry],
    }),
    servingVersion: new Gauge({
      name: 'driftgate_serving_version',
      help: 'The version that answers requests without a version, per model.',
      labelNames: ['model'] as const,
      registers: [registry],
    }),
    modelLoads: new Counter({
      name: 'driftgate_model_loads_total',
      help: 'Version loads by model and outcome (success, failure).',
      labelNames: ['model', 'outcome'] as const,
      registers: [registry],
    }),
    workerRestarts: new Counter({
      name: 'driftgate_model_worker_restarts_total',
      help: 'Model workers ended and replaced, by reason: exit (the thread exited or crashed) or timeout (it hung past the inference timeout).',
      labelNames: ['model', 'version', 'reason'] as const,
      registers: [registry],
    }),
    workerUp: new Gauge({
      name: 'driftgate_model_worker_up',
      help: 'Per loaded model version: 1 while its runtime answers, 0 while its worker is being replaced or could not be.',
      labelNames: ['model', 'version'] as const,
      registers: [registry],
    }),
    breakerState: new Gauge({
      name: 'driftgate_breaker_state',
      help: 'Circuit breaker per model version: 0 closed, 1 half-open, 2 open.',
      labelNames: ['model', 'version'] as const,
      registers: [registry],
    }),
    pointerProblems: new Counter({
      name: 'driftgate_serving_pointer_errors_total',
      help: 'Serving pointers (serving.json) found damaged or unreadable; the last good pointer is kept.',
      labelNames: ['model'] as const,
      registers: [registry],
    }),
  };
  return m;
}

export type ServeMetrics = ReturnType<typeof createServeMetrics>;

/** `2xx`, `4xx`, `5xx`: the status label of the request metrics, for HTTP and gRPC calls alike. */
export function statusClass(httpStatus: number): string {
  return `${Math.floor(httpStatus / 100)}xx`;
}

/**
 * The exposition text of /metrics: the gateway's registry, and every added source merged into it.
 * Series of one name from several places (the events-consumed counter, kept by consumers in both
 * threads, told apart by topic) are added up, as prom-client's cluster aggregation does.
 */
export async function metricsText(metrics: Pick<ServeMetrics, 'registry' | 'sources'>): Promise<string> {
  if (metrics.sources.length === 0) return metrics.registry.metrics();
  const parts = await Promise.all([metrics.registry.getMetricsAsJSON(), ...metrics.sources.map((source) => source())]);
  return AggregatorRegistry.aggregate(parts).metrics();
}
