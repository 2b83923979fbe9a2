import type { RequestHandler } from 'express';
import type { Config, Logger, ModelRepository } from '../../core/index.js';
import type { ServeMetrics } from '../metrics.js';
import type { LabelSink } from '../event-sink.js';
import type { ModelEventFollower, ModelEventSink } from '../model-events.js';
import type { PredictionSink } from '../prediction-log.js';
import type { ModelRegistry } from '../registry.js';
import type { MonitorView } from '../status/monitor-view.js';

/** What the route handlers share. */
export interface GatewayContext {
  config: Config;
  registry: ModelRegistry;
  /** The model repository (manifests, lineage and reports for the status page). */
  repo: ModelRepository;
  metrics: ServeMetrics;
  logger: Logger;
  sink: PredictionSink;
  labels: LabelSink;
  /** Where the gateway's own model events go. */
  modelEvents: ModelEventSink;
  /** Follows the model events of the whole deployment (set once the bus is up); shows retrain jobs. */
  follower: ModelEventFollower | undefined;
  /** The drift monitor's numbers for the status page (set by the composition root); none while unset. */
  monitorView: MonitorView | undefined;
  lifecycle: { shuttingDown: boolean };
  /** JSON body parsing (content-type check + size limit), placed after a route names its endpoint. */
  body: RequestHandler[];
}
