// Starting the retrainer: its store, the Retrainer on the bus, and (standalone) a small HTTP server with
// its metrics and jobs. The same function serves `driftgate retrain` (its own process on Kafka) and
// `driftgate serve` (in the gateway's process, on the embedded bus, sharing the gateway's registry).
import type { Server } from 'node:http';
import express from 'express';
import { Registry } from 'prom-client';
import { checkModelName, describeError, isDriftgateError, topicNames } from '../core/index.js';
import type { Config, EventBus, Logger, ModelRepository } from '../core/index.js';
import { Retrainer } from './retrainer.js';
import type { RetrainBackend, RetrainSettings } from './retrainer.js';
import { RetrainStore } from './store.js';

export interface RetrainerDeps {
  config: Config;
  bus: EventBus;
  repo: ModelRepository;
  backend: RetrainBackend;
  logger: Logger;
  /** Metrics go here; a fresh registry when unset. */
  registry?: Registry;
  /** Port of the HTTP endpoints; `config.retrainPort` when unset; null = no server. */
  port?: number | null;
}

export interface RunningRetrainer {
  retrainer: Retrainer;
  store: RetrainStore;
  registry: Registry;
  port: number | undefined;
  close(): Promise<void>;
}

/** The loop's settings, from the configuration. */
export function retrainSettings(config: Config): RetrainSettings {
  return {
    selection: {
      holdoutShare: config.retrainHoldoutShare,
      minHoldout: config.retrainMinHoldout,
      minTrain: config.retrainMinTrain,
      maxTrain: config.retrainMaxTrain,
    },
    replayShare: config.retrainReplayShare,
    gate: { margin: config.gateMargin, tolerance: config.gateTolerance },
    watchLabels: config.watchLabels,
    watchTolerance: config.watchTolerance,
    trainTimeoutMs: config.retrainTimeoutMs,
    waitMs: config.retrainWaitMs,
  };
}

export async function startRetrainer(deps: RetrainerDeps): Promise<RunningRetrainer> {
  const { config, logger } = deps;
  const registry = deps.registry ?? new Registry();
  const store = new RetrainStore({ path: config.retrainStore, window: config.retrainWindow });
  const retrainer = new Retrainer({
    bus: deps.bus,
    topics: topicNames(config.topicPrefix),
    store,
    repo: deps.repo,
    backend: deps.backend,
    registry,
    logger,
    groupId: config.retrainGroup,
    settings: retrainSettings(config),
  });
  try {
    await retrainer.start();
  } catch (err) {
    store.close();
    throw err;
  }
  const wanted = deps.port === undefined ? config.retrainPort : deps.port;
  let server: Server | undefined;
  let port: number | undefined;
  if (wanted !== null) {
    server = await listen(retrainerApp(retrainer, registry), wanted, config.host);
    const address = server.address();
    port = typeof address === 'object' && address ? address.port : wanted;
  }
  return {
    retrainer,
    store,
    registry,
    port,
    close: async () => {
      if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
      await retrainer.stop();
      store.close();
    },
  };
}

/** The standalone retrainer's endpoints: metrics, liveness, and each model's jobs. */
export function retrainerApp(retrainer: Retrainer, registry: Registry): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', registry.contentType);
    res.send(await registry.metrics());
  });
  app.get('/healthz', (_req, res) => {
    res.json({ live: true });
  });
  app.get('/retrain/models/:model/jobs', (req, res) => {
    try {
      const model = checkModelName(String(req.params.model));
      res.json({ model, jobs: retrainer.jobs(model) });
    } catch (err) {
      res.status(isDriftgateError(err) ? err.status : 500).json({ error: describeError(err) });
    }
  });
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  return app;
}

function listen(app: express.Express, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(server)));
    server.once('error', reject);
  });
}
