// `driftgate monitor`: the drift monitor as its own process, a member of a Kafka consumer group, so
// monitors scale by partition independently of the gateways. It reads manifests from the same model
// repository the gateways serve.
import { ConfigError, ModelRepository, createEventBus, describeError, eventTopicSpecs } from '../core/index.js';
import type { Config, Logger } from '../core/index.js';
import { loadPolicy, startMonitor } from '../monitor/index.js';
import { exitOnSignals } from './shutdown.js';
import { busConfig } from './bus-config.js';

export async function monitorCommand(config: Config, logger: Logger): Promise<void> {
  if (config.kafkaBrokers.length === 0) {
    throw new ConfigError([
      'KAFKA_BROKERS: `driftgate monitor` reads the event streams from Kafka; set KAFKA_BROKERS (the embedded bus lives inside `driftgate serve`, which runs its own monitor)',
    ]);
  }
  loadPolicy(config.monitorPolicy); // a bad policy stops here, before any connection
  const bus = createEventBus(busConfig(config), logger.child({ component: 'bus' }));
  try {
    await bus.ensureTopics(eventTopicSpecs(busConfig(config)));
  } catch (err) {
    // The consumer retries on its own; topics may also be created by the gateways.
    logger.warn('could not create the event topics', { error: describeError(err) });
  }
  const running = await startMonitor({ config, bus, manifests: new ModelRepository(config.modelRepo), logger: logger.child({ component: 'monitor' }) });
  logger.info('monitor running', { port: running.port, group: config.monitorGroup, brokers: config.kafkaBrokers, store: config.monitorStore });
  exitOnSignals(logger, async () => {
    await running.close();
    await bus.close();
  });
}
