// The gateway: builds the Express app from its parts, starts it and its gRPC server, and shuts both
// down gracefully.
import type { Server } from 'node:http';
import express from 'express';
import type { Express } from 'express';
import { DriftgateError, ModelRepository, createLogger } from '../core/index.js';
import type { Config, Logger } from '../core/index.js';
import { errorHandler, jsonBody, only, requestMetrics } from './http.js';
import { listenGrpc } from './grpc/server.js';
import type { GrpcServer } from './grpc/server.js';
import { createServeMetrics, metricsText } from './metrics.js';
import type { ServeMetrics } from './metrics.js';
import { buildOpenApi } from './openapi.js';
import { discardLabels } from './event-sink.js';
import { discardModelEvents } from './model-events.js';
import type { ModelEventSink } from './model-events.js';
import type { LabelSink } from './event-sink.js';
import { discardPredictions } from './prediction-log.js';
import type { PredictionSink } from './prediction-log.js';
import { ModelRegistry } from './registry.js';

import { adminRoutes } from './routes/admin.js';
import { statusRoutes } from './routes/status.js';
import type { MonitorView } from './status/monitor-view.js';
import type { GatewayContext } from './routes/context.js';
import { labelRoutes } from './routes/labels.js';
import { v1Routes } from './routes/v1.js';
import { healthRoutes, notFound, v2Routes } from './routes/v2.js';
import type { VersionSettings } from './served-version.js';

export interface GatewayDeps {
  config: Config;
  logger?: Logger;
  metrics?: ServeMetrics;
  sink?: PredictionSink;
  labels?: LabelSink;
  registry?: ModelRegistry;
  /** The model repository; one reading `config.modelRepo` when unset. */
  repo?: ModelRepository;
  /** Where the gateway's own model events go (admin promote/rollback, retrain requests). */
  modelEvents?: ModelEventSink;
  /** The drift monitor's numbers for the status page; it can also be set later on `context.monitorView`. */
  monitorView?: MonitorView;
}

export interface Gateway {
  app: Express;
  context: GatewayContext;
  /** Loads the models (start-up pass) and starts polling the repository. */
  start(): Promise<void>;
  /** Listens on the configured port; resolves with the bound port. */
  listen(port?: number, host?: string): Promise<number>;
  /**
   * Serves the Open Inference Protocol over gRPC (and gRPC health) on the configured gRPC port;
   * resolves with the bound port.
   */
  listenGrpc(port?: number, host?: string): Promise<number>;
  /** Readiness off, stop accepting, finish in-flight requests and calls (bounded by the grace period), free models. */
  close(): Promise<void>;
  server: Server | undefined;
  grpc: GrpcServer | undefined;
}

export function versionSettings(config: Config): VersionSettings {
  return {
    runtime: {
      thread: config.inferenceThread,
      onnx: { intraOpThreads: config.onnxIntraOpThreads, interOpThreads: config.onnxInterOpThreads, graphOptimization: config.onnxGraphOptimization },
      tfjsBackend: config.tfjsBackend,
    },
    batching: config.batching,
    maxBatchSize: config.maxBatchSize,
    maxQueueDelayUs: config.maxQueueDelayUs,
    maxQueueSize: config.maxQueueSize,
    inferTimeoutMs: config.inferTimeoutMs,
    breakerErrorPercent: config.breakerErrorPercent,
    breakerVolumeThreshold: config.breakerVolumeThreshold,
    breakerResetMs: config.breakerResetMs,
    warmupRuns: config.warmupRuns,
    workerRestartAttempts: config.workerRestartAttempts,
  };
}

export function createGateway(deps: GatewayDeps): Gateway {
  const { config } = deps;
  const logger = deps.logger ?? createLogger(config.logLevel, { component: 'gateway' });
  const metrics = deps.metrics ?? createServeMetrics();
  const repo = deps.repo ?? new ModelRepository(config.modelRepo, { logger, onPointerProblem: (model) => metrics.pointerProblems.inc({ model }) });
  const registry =
    deps.registry ??
    new ModelRegistry({
      repo,
      settings: versionSettings(config),
      metrics,
      logger,
      models: config.models,
      versionsLoaded: config.versionsLoaded,
      drainTimeoutMs: config.drainTimeoutMs,
      pollIntervalMs: config.pollIntervalMs,
    });
  const context: GatewayContext = { config, registry, repo, metrics, logger, sink: deps.sink ?? discardPredictions, labels: deps.labels ?? discardLabels, modelEvents: deps.modelEvents ?? discardModelEvents, follower: undefined, monitorView: deps.monitorView, lifecycle: { shuttingDown: false }, body: jsonBody(config.maxBodyBytes) };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(requestMetrics(metrics));
  app.use(healthRoutes(context));
  app.use((_req, res, next) => {
    if (context.lifecycle.shuttingDown) {
      res.setHeader('Connection', 'close');
      return next(new DriftgateError('SHUTTING_DOWN', 'the gateway is shutting down', { retryAfterSeconds: 1 }));
    }
    next();
  });
  app.use(v2Routes(context));
  app.use(v1Routes(context));
  app.use(labelRoutes(context));
  app.use(adminRoutes(context));
  app.use(statusRoutes(context));
  const openapi = buildOpenApi();
  app.all('/openapi.json', only('GET'), (_req, res) => {
    res.locals.endpoint = '/openapi.json';
    res.json(openapi);
  });
  app.all('/metrics', only('GET'), async (_req, res) => {
    res.locals.endpoint = '/metrics';
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.send(await metricsText(metrics));
  });
  app.use((req) => notFound(req));
  app.use(errorHandler(logger, config.maxBodyBytes));

  const closeHttp = async (server: Server) => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // A keep-alive connection whose request finishes during the grace period stays open (idle)
    // and would hold server.close() until the grace period ends; close such connections as they go idle.
    const sweep = setInterval(() => server.closeIdleConnections(), 100).unref();
    const grace = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), config.shutdownGraceMs).unref());
    const outcome = await Promise.race([closed, grace]);
    clearInterval(sweep);
    if (outcome === 'timeout') {
      logger.warn('shutdown grace period over; closing remaining connections');
      server.closeAllConnections();
    }
  };

  const gateway: Gateway = {
    app,
    context,
    server: undefined,
    grpc: undefined,
    start: () => registry.start(),
    listen: (port = config.port, host = config.host) =>
      new Promise((resolve, reject) => {
        const server = app.listen(port, host, (err?: Error) => {
          if (err) return reject(err);
          const addr = server.address();
          resolve(typeof addr === 'object' && addr ? addr.port : port);
        });
        server.keepAliveTimeout = 65_000;
        gateway.server = server;
      }),
    listenGrpc: async (port = config.grpcPort, host = config.host) => {
      gateway.grpc = await listenGrpc(context, port, host, logger.child({ component: 'grpc' }));
      return gateway.grpc.port;
    },
    close: async () => {
      if (context.lifecycle.shuttingDown) return;
      context.lifecycle.shuttingDown = true;
      gateway.grpc?.notifyHealth();
      // Both transports drain at once, within the one grace period.
      await Promise.all([gateway.server && closeHttp(gateway.server), gateway.grpc?.close(config.shutdownGraceMs)]);
      await registry.stop();
    },
  };
  return gateway;
}
