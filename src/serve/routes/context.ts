import type { RequestHandler } from 'express';
import type { Config, Logger } from '../../core/index.js';
import type { ServeMetrics } from '../metrics.js';
import type { LabelSink } from '../event-sink.js';
import type { ModelEventFollower, ModelEventSink } from '../model-events.js';
import type { PredictionSink } from '../prediction-log.js';
import type { ModelRegistry } from '../registry.js';

/** What the route handlers share. */
export interface GatewayContext {
  config: Config;
  registry: ModelRegistry;
  metrics: ServeMetrics;
  logger: Logger;
  sink: PredictionSink;
  labels: LabelSink;
  /** Where the gateway's own model events go. */
  modelEvents: ModelEventSink;
  /** Follows the model events of the whole deployment (set once the bus is up); shows retrain jobs. */
  follower: ModelEventFollower | undefined;
  lifecycle: { shuttingDown: boolean };
  /** JSON body parsing (content-type check + size limit), placed after a route names its endpoint. */
  body: RequestHandler[];
}
