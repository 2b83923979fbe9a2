// The event bus: the port, its adapters (embedded; Kafka on kafkajs, on the calling thread or in a
// worker thread of its own), the on-disk spool and the publisher the gateway uses.
import type { Registry } from 'prom-client';
import { topicNames } from '../events.js';
import type { Logger } from '../logger.js';
import { EmbeddedBus } from './embedded.js';
import { KafkaBus } from './kafka.js';
import { BATCH_DEFAULTS } from './types.js';
import type { EventBus, TopicSpec } from './types.js';

export type {
  BusMessage,
  DeliveryFailure,
  EventBus,
  OutgoingMessage,
  PartitionLag,
  RedeliveryOptions,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from './types.js';
export { BATCH_DEFAULTS, REDELIVERY_DEFAULTS, murmur2, partitionForKey } from './types.js';
export { EmbeddedBus } from './embedded.js';
export type { EmbeddedBusOptions } from './embedded.js';
export { KafkaBus } from './kafka.js';
export type { KafkaBusOptions } from './kafka.js';
export { KafkaThreadBus } from './kafka-thread.js';
export type { KafkaThreadBusOptions } from './kafka-thread.js';
export { PortBus, hostBusOnPort } from './port-bus.js';
export type { BusHost } from './port-bus.js';
export { DiskSpool } from './spool.js';
export type { DiskSpoolOptions, SpoolDropReason, SpoolRecord } from './spool.js';
export { EVENT_BREAKER_STATE, EventPublisher } from './publisher.js';
export type { DropReason, EventPublisherDeps, PublisherOptions } from './publisher.js';

/**
 * The bus settings taken from the configuration (kept here, not imported from config.ts, so the
 * bus does not depend on the config module's shape). Empty `kafkaBrokers` selects EmbeddedBus.
 */
export interface BusConfig {
  kafkaBrokers: readonly string[];
  topicPrefix: string;
  /** @defaultValue 3 */
  topicPartitions?: number;
  /** @defaultValue 1 */
  topicReplicationFactor?: number;
  /** @defaultValue 'driftgate' */
  kafkaClientId?: string;
  /** @defaultValue 3000 */
  kafkaConnectionTimeoutMs?: number;
  /** @defaultValue 25000 */
  kafkaRequestTimeoutMs?: number;
  /** @defaultValue 5 */
  kafkaRetries?: number;
  /** Messages kept per partition by the embedded bus. @defaultValue 100000 */
  embeddedRetention?: number;
  /** Deliveries of a failing batch before it is skipped. @defaultValue 5 */
  consumerMaxAttempts?: number;
  /** Most messages handed to one handler call (one monitor transaction). @defaultValue `BATCH_DEFAULTS.consumerBatchSize` (2000) */
  consumerBatchSize?: number;
}

/**
 * The adapter the configuration asks for: Kafka when brokers are named, else the embedded bus.
 * `registry` receives the embedded bus's own metric (events lost to its retention).
 */
export function createEventBus(config: BusConfig, logger?: Logger, registry?: Registry): EventBus {
  const common = { maxAttempts: config.consumerMaxAttempts, maxBatchSize: config.consumerBatchSize ?? BATCH_DEFAULTS.consumerBatchSize, ...(logger ? { logger } : {}) };
  if (config.kafkaBrokers.length === 0) {
    return new EmbeddedBus({ ...common, retentionMessages: config.embeddedRetention, ...(registry ? { registry } : {}) });
  }
  return new KafkaBus({
    ...common,
    brokers: [...config.kafkaBrokers],
    clientId: config.kafkaClientId,
    connectionTimeoutMs: config.kafkaConnectionTimeoutMs,
    requestTimeoutMs: config.kafkaRequestTimeoutMs,
    retry: { retries: config.kafkaRetries },
  });
}

/** The four driftgate topics with the configured partitions and replication, for ensureTopics. */
export function eventTopicSpecs(config: BusConfig): TopicSpec[] {
  const names = topicNames(config.topicPrefix);
  return [names.predictions, names.labels, names.modelEvents, names.labeled, names.deadLetter].map((name) => ({
    name,
    partitions: config.topicPartitions ?? 3,
    replicationFactor: config.topicReplicationFactor ?? 1,
  }));
}
