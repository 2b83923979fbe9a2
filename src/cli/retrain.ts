// `driftgate retrain`: the retrain loop as its own process, a member of a Kafka consumer group (key =
// model, so one member owns a model). It reads joined examples and model events from Kafka, trains in
// worker threads, and promotes through the shared model repository; gateways follow the events.
import { ConfigError, ModelRepository, createEventBus, describeError, eventTopicSpecs } from '../core/index.js';
import type { Config, Logger } from '../core/index.js';
import { startRetrainer } from '../lifecycle/index.js';
import { trainingBackend } from './retrain-backend.js';
import { exitOnSignals } from './shutdown.js';
import { busConfig } from './bus-config.js';

export async function retrainCommand(config: Config, logger: Logger): Promise<void> {
  if (config.kafkaBrokers.length === 0) {
    throw new ConfigError([
      'KAFKA_BROKERS: `driftgate retrain` reads the event streams from Kafka; set KAFKA_BROKERS (the embedded bus lives inside `driftgate serve`, which runs its own retrainer)',
    ]);
  }
  const bus = createEventBus(busConfig(config), logger.child({ component: 'bus' }));
  try {
    await bus.ensureTopics(eventTopicSpecs(busConfig(config)));
  } catch (err) {
    logger.warn('could not create the event topics', { error: describeError(err) });
  }
  const repo = new ModelRepository(config.modelRepo, { logger });
  const running = await startRetrainer({
    config,
    bus,
    repo,
    backend: trainingBackend(config, repo),
    logger: logger.child({ component: 'retrainer' }),
  });
  logger.info('retrainer running', { port: running.port, group: config.retrainGroup, brokers: config.kafkaBrokers, store: config.retrainStore });
  exitOnSignals(logger, async () => {
    await running.close();
    await bus.close();
  });
}
