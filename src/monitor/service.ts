// Starting the monitor: its store, the manifest catalog, the policy, the consumer, and a small HTTP
// server with its metrics and status. The same function serves `driftgate monitor` (its own process
// on Kafka) and `driftgate serve` (in the gateway's process, on the embedded bus, sharing its registry).
import { readFileSync } from 'node:fs';
import type express from 'express';
import { Registry } from 'prom-client';
import { ConfigError, DriftgateError, describeError, listenStatus, statusApp, topicNames } from '../core/index.js';
import type { Config, EventBus, Logger } from '../core/index.js';
import { ModelCatalog } from './catalog.js';
import type { ManifestSource } from './catalog.js';
import { DriftMonitor } from './monitor.js';
import { monitorPolicySchema, parsePolicyDocument } from './policy.js';
import type { MonitorPolicy } from './policy.js';
import { MonitorStore } from './store.js';

export interface MonitorDeps {
  config: Config;
  bus: EventBus;
  /** Where manifests come from: the model repository the gateways serve. */
  manifests: ManifestSource;
  logger: Logger;
  /** Metrics go here; a fresh registry when unset. */
  registry?: Registry;
  /** Port of the HTTP endpoints; `config.monitorPort` when unset; null = no server. */
  port?: number | null | undefined;
  /** Gather bus batches into larger transactions (DRIFTGATE_MONITOR_GATHER_MS); off on a thread that serves requests. @defaultValue true */
  gather?: boolean;
}

export interface RunningMonitor {
  monitor: DriftMonitor;
  store: MonitorStore;
  registry: Registry;
  /** Bound port of the HTTP endpoints, when they run. */
  port: number | undefined;
  close(): Promise<void>;
}

/** Reads `DRIFTGATE_MONITOR_POLICY`: inline JSON, or the path of a JSON file. */
export function loadPolicy(raw: string | undefined): MonitorPolicy {
  if (raw === undefined) return monitorPolicySchema.parse({});
  const text = raw.trim().startsWith('{') ? raw : readPolicyFile(raw);
  try {
    return parsePolicyDocument(text);
  } catch (err) {
    throw new ConfigError([`DRIFTGATE_MONITOR_POLICY: ${describeError(err)}`]);
  }
}

function readPolicyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`DRIFTGATE_MONITOR_POLICY: cannot read ${path}: ${describeError(err)}`]);
  }
}

export async function startMonitor(deps: MonitorDeps): Promise<RunningMonitor> {
  const { config, bus, logger } = deps;
  const registry = deps.registry ?? new Registry();
  const policy = loadPolicy(config.monitorPolicy);
  const store = new MonitorStore({ path: config.monitorStore, labeledWindow: config.labeledWindow, logger: logger.child({ component: 'store' }) });
  const catalog = new ModelCatalog(deps.manifests, logger.child({ component: 'catalog' }));
  const monitor = new DriftMonitor({
    bus,
    topics: topicNames(config.topicPrefix),
    store,
    catalog,
    policy,
    registry,
    logger,
    groupId: config.monitorGroup,
    joinTtlMs: config.joinTtlMs,
    maxPending: config.joinMaxPending,
    maxEarlyLabels: config.joinMaxEarlyLabels,
    lagIntervalMs: config.monitorLagIntervalMs,
    gatherMs: deps.gather === false ? 0 : config.monitorGatherMs,
    gatherMaxEvents: config.consumerBatchSize,
  });
  try {
    await monitor.start();
  } catch (err) {
    store.close();
    throw err;
  }
  const wantedPort = deps.port === undefined ? config.monitorPort : deps.port;
  const server = wantedPort === null ? undefined : await listenStatus(monitorApp(monitor, registry, logger), wantedPort, config.host);
  return {
    monitor,
    store,
    registry,
    port: server?.port,
    close: async () => {
      await server?.close();
      await monitor.stop();
      store.close();
    },
  };
}

/** The monitor's HTTP endpoints: metrics, liveness, and what it currently thinks of each version. */
export function monitorApp(monitor: Pick<DriftMonitor, 'summaries' | 'timeline' | 'decisions'>, registry: Registry, logger?: Logger): express.Express {
  return statusApp(
    registry,
    (app) => {
      app.get('/monitor/models', (_req, res) => {
        res.json({ versions: monitor.summaries() });
      });
      // What the status page draws: performance verdicts and drift windows over time, all versions.
      app.get('/monitor/models/:model/timeline', (req, res) => {
        const timeline = monitor.timeline(req.params.model);
        if (!timeline) throw new DriftgateError('MODEL_NOT_FOUND', `the monitor knows no version of model ${JSON.stringify(req.params.model)}`);
        res.json(timeline);
      });
      app.get('/monitor/models/:model/decisions', (req, res) => {
        const raw = typeof req.query['limit'] === 'string' ? req.query['limit'] : '100';
        const limit = Number(raw);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
          throw new DriftgateError('INVALID_INPUT', `limit must be an integer from 1 to 1000, got ${JSON.stringify(raw)}`);
        }
        res.json({ decisions: monitor.decisions(req.params.model, limit) });
      });
    },
    logger,
  );
}
