// Starting the retrainer: its store, the Retrainer on the bus, and (standalone) a small HTTP server with
// its metrics and jobs. The same function serves `driftgate retrain` (its own process on Kafka) and
// `driftgate serve` (in the gateway's process, on the embedded bus, sharing the gateway's registry).
import type express from 'express';
import { Registry } from 'prom-client';
import { checkModelName, listenStatus, statusApp, topicNames } from '../core/index.js';
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
  const server = wanted === null ? undefined : await listenStatus(retrainerApp(retrainer, registry, logger), wanted, config.host);
  return {
    retrainer,
    store,
    registry,
    port: server?.port,
    close: async () => {
      await server?.close();
      await retrainer.stop();
      store.close();
    },
  };
}

/** The standalone retrainer's endpoints: metrics, liveness, and each model's jobs. */
export function retrainerApp(retrainer: Pick<Retrainer, 'jobs'>, registry: Registry, logger?: Logger): express.Express {
  return statusApp(
    registry,
    (app) => {
      app.get('/retrain/models/:model/jobs', (req, res) => {
        const model = checkModelName(String(req.params.model));
        res.json({ model, jobs: retrainer.jobs(model) });
      });
    },
    logger,
  );
}
