// The event bus settings of a process, from its configuration. Kept apart from the composition root
// (stack.ts) so `driftgate monitor` and `driftgate retrain` do not load the gateway to read them.
import type { BusConfig, Config } from '../core/index.js';

export function busConfig(config: Config): BusConfig {
  return {
    kafkaBrokers: config.kafkaBrokers,
    topicPrefix: config.topicPrefix,
    topicPartitions: config.topicPartitions,
    topicReplicationFactor: config.topicReplication,
    kafkaClientId: config.kafkaClientId,
    kafkaConnectionTimeoutMs: config.kafkaConnectionTimeoutMs,
    kafkaRequestTimeoutMs: config.kafkaRequestTimeoutMs,
    kafkaRetries: config.kafkaRetries,
    embeddedRetention: config.embeddedRetention,
    consumerMaxAttempts: config.consumerMaxAttempts,
    consumerBatchSize: config.consumerBatchSize,
  };
}
