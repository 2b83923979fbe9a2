// The composition root: builds the event bus (Kafka when KAFKA_BROKERS is set, else embedded),
// creates the topics, starts the event publisher with its on-disk spool, and the gateway that
// publishes predictions and labels through it. Shut down in reverse order.
import { Registry } from 'prom-client';
import { DiskSpool, EventPublisher, KafkaThreadBus, ModelRepository, createEventBus, describeError, eventTopicSpecs, topicNames } from '../core/index.js';
import type { Config, EventBus, Logger } from '../core/index.js';
import { busConfig } from './bus-config.js';
import { startRetrainer } from '../lifecycle/index.js';
import type { RunningRetrainer } from '../lifecycle/index.js';
import { loadPolicy, startMonitor, startMonitorThread } from '../monitor/index.js';
import type { MonitorThread, RunningMonitor } from '../monitor/index.js';
import { ModelEventFollower, createGateway, createServeMetrics, embeddedMonitorView, parseSampling, publishingModelEvents, publishingSinks, remoteMonitorView } from '../serve/index.js';
import type { Gateway } from '../serve/index.js';
import { trainingBackend } from './retrain-backend.js';

export interface Driftgate {
  config: Config;
  bus: EventBus;
  publisher: EventPublisher;
  gateway: Gateway;
  port: number;
  /** The gRPC port, unless DRIFTGATE_GRPC_PORT is 0. */
  grpcPort: number | undefined;
  /** The embedded drift monitor, unless DRIFTGATE_MONITOR is off. */
  monitor: EmbeddedMonitor | undefined;
  /** The embedded retrain loop, unless DRIFTGATE_RETRAIN is off. */
  retrainer: RunningRetrainer | undefined;
  /** Follows model events so promotions and rollbacks made anywhere swap in at once. */
  follower: ModelEventFollower;
  close(): Promise<void>;
}


/** The embedded monitor, in its own worker thread (`thread`) or on the gateway's (`inProcess`). */
export interface EmbeddedMonitor {
  /** Bound port of its HTTP endpoints, when they run. */
  port: number | undefined;
  thread?: MonitorThread | undefined;
  inProcess?: RunningMonitor | undefined;
  close(): Promise<void>;
}

/**
 * Starts the embedded monitor. In a worker thread (the default) it shares nothing with serving but
 * the bus: its metrics are merged into the gateway's /metrics and the status page asks it over the
 * thread's port. On the gateway's thread it shares the registry and is read directly.
 */
async function startEmbeddedMonitor(config: Config, bus: EventBus, repo: ModelRepository, logger: Logger, gateway: Gateway, registry: Registry, port: number | null | undefined): Promise<EmbeddedMonitor> {
  const httpPort = port === undefined ? config.monitorPort : port;
  if (config.monitorThread) {
    const thread = await startMonitorThread({ config, bus, busConfig: busConfig(config), logger, port: httpPort, registry });
    gateway.context.metrics.sources.push(() => thread.metrics());
    gateway.context.monitorView = { source: 'embedded', summaries: () => thread.summaries(), timeline: (model) => thread.timeline(model), problem: () => thread.problem() };
    return {
      // A restarted thread binds its HTTP port again (a new one when the configured port is 0).
      get port() {
        return thread.port;
      },
      thread,
      close: () => thread.close(),
    };
  }
  const inProcess = await startMonitor({ config, bus, manifests: repo, logger, registry, port: httpPort, gather: false });
  gateway.context.monitorView = embeddedMonitorView(inProcess.monitor);
  return { port: inProcess.port, inProcess, close: () => inProcess.close() };
}

/** The gateway's bus: on Kafka its client runs in a worker thread unless DRIFTGATE_KAFKA_THREAD is off. */
function servingBus(config: Config, logger: Logger, registry: Registry): EventBus {
  if (config.kafkaBrokers.length > 0 && config.kafkaThread) return new KafkaThreadBus(busConfig(config), { logger, registry });
  return createEventBus(busConfig(config), logger, registry);
}

export interface StartOptions {
  /** Port of the embedded monitor's endpoints; null = none (its metrics still show on the gateway's /metrics). */
  monitorPort?: number | null;
}

export async function startDriftgate(config: Config, logger: Logger, opts: StartOptions = {}): Promise<Driftgate> {
  if (config.monitor) loadPolicy(config.monitorPolicy); // a bad policy stops start-up before anything runs
  const registry = new Registry();
  const metrics = createServeMetrics(registry);
  const bus = servingBus(config, logger.child({ component: 'bus' }), registry);
  const topics = topicNames(config.topicPrefix);
  // Kafka down at start must not keep serving down: the publisher spools, and topic creation is
  // retried in the background until the bus answers.
  let topicRetry: NodeJS.Timeout | undefined;
  const ensureTopics = async (): Promise<void> => {
    try {
      await bus.ensureTopics(eventTopicSpecs(busConfig(config)));
      if (topicRetry) logger.info('event topics created');
    } catch (err) {
      logger.warn('could not create the event topics; events are spooled until the bus answers', { error: describeError(err) });
      topicRetry = setTimeout(() => void ensureTopics(), 10_000);
      topicRetry.unref();
    }
  };
  // Wait briefly for the topics; a bus that does not answer soon is left to the retries.
  await Promise.race([ensureTopics(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
  const spool = new DiskSpool({ dir: config.spoolDir, maxBytes: config.spoolMaxBytes, logger: logger.child({ component: 'spool' }) });
  const publisher = new EventPublisher({
    bus,
    registry,
    spool,
    logger: logger.child({ component: 'publisher' }),
    lingerMs: config.publishLingerMs,
    maxBatchSize: config.publishBatchSize,
    maxBuffered: config.publishBuffer,
    sendTimeoutMs: config.publishSendTimeoutMs,
    breakerResetMs: config.publishBreakerResetMs,
  });
  const sinks = publishingSinks(publisher, topics, parseSampling(config.payloadSampling));
  const repo = new ModelRepository(config.modelRepo, {
    logger: logger.child({ component: 'repository' }),
    onPointerProblem: (model) => metrics.pointerProblems.inc({ model }),
  });
  const gateway = createGateway({
    config,
    logger: logger.child({ component: 'gateway' }),
    metrics,
    repo,
    sink: sinks.predictions,
    labels: sinks.labels,
    modelEvents: publishingModelEvents(publisher, topics),
  });
  const port = await gateway.listen();
  const grpcPort = config.grpcPort > 0 ? await gateway.listenGrpc() : undefined;
  await gateway.start();
  const follower = new ModelEventFollower({ bus, topics, registry: gateway.context.registry, logger: logger.child({ component: 'model-events' }), metricsRegistry: registry });
  await follower.start();
  gateway.context.follower = follower;
  // One scrape of the gateway shows serving and drift; the status page reads the embedded monitor,
  // else one running elsewhere when named.
  const monitor = config.monitor ? await startEmbeddedMonitor(config, bus, repo, logger.child({ component: 'monitor' }), gateway, registry, opts.monitorPort) : undefined;
  if (!monitor && config.monitorUrl) gateway.context.monitorView = remoteMonitorView({ url: config.monitorUrl, logger: logger.child({ component: 'status' }) });
  // The retrain loop trains in worker threads, so serving keeps its event loop while it runs.
  const retrainer = config.retrain
    ? await startRetrainer({
        config,
        bus,
        repo,
        backend: trainingBackend(config, repo),
        logger: logger.child({ component: 'retrainer' }),
        registry,
        port: null,
      })
    : undefined;
  return {
    config,
    bus,
    publisher,
    gateway,
    port,
    grpcPort,
    monitor,
    retrainer,
    follower,
    close: async () => {
      clearTimeout(topicRetry);
      await gateway.close();
      await follower.stop();
      await retrainer?.close();
      await publisher.close();
      await monitor?.close();
      await bus.close();
    },
  };
}
