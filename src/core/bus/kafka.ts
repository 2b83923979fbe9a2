// The Kafka adapter of the event bus, on kafkajs 2.2.4 (unmaintained since 2023, which is one
// reason it stays behind the EventBus port). The adapter wires its parts together: topics and lag
// through the admin client (kafka-admin.ts), sends through one idempotent producer
// (kafka-producer.ts), and each subscription over its own consumers (kafka-subscription.ts), which
// hand batches over in committed chunks (kafka-batch.ts).
import { Kafka, PartitionAssigners, logLevel } from 'kafkajs';
import { DriftgateError } from '../errors.js';
import { silentLogger } from '../logger.js';
import type { Logger } from '../logger.js';
import { coPartitionAssigner } from './co-partition-assigner.js';
import { KafkaTopicAdmin } from './kafka-admin.js';
import { KafkaBusShell, kafkaBusSettings } from './kafka-bus-parts.js';
import type { KafkaBusSettings } from './kafka-bus-parts.js';
import { consumeInChunks, reportSkipped } from './kafka-batch.js';
import { bridgeLogs } from './kafka-messages.js';
import { KafkaSender } from './kafka-producer.js';
import { KafkaSubscription } from './kafka-subscription.js';
import type { RedeliveryOptions, SubscribeOptions, Subscription } from './types.js';

export interface KafkaBusOptions extends RedeliveryOptions {
  /** `host:port` of one or more brokers (config `KAFKA_BROKERS`). */
  brokers: string[];
  /** @defaultValue 'driftgate' */
  clientId?: string | undefined;
  /** Time to open a TCP connection to a broker, in ms. @defaultValue 3000 */
  connectionTimeoutMs?: number | undefined;
  /** Time a broker has to answer one request, in ms. @defaultValue 25000 */
  requestTimeoutMs?: number | undefined;
  /**
   * kafkajs' retry of a failed request, for every client (producer, consumers, admin). The
   * producer keeps this bound too, although kafkajs suggests unbounded retries for idempotence:
   * a send must fail in bounded time so the publisher's breaker can open and spool.
   * @defaultValue `{ retries: 5, initialRetryTimeMs: 300, maxRetryTimeMs: 30000 }`
   */
  retry?: { retries?: number | undefined; initialRetryTimeMs?: number; maxRetryTimeMs?: number };
  /** Consumer group session timeout, in ms. @defaultValue 30000 */
  sessionTimeoutMs?: number;
  /** @defaultValue 3000 */
  heartbeatIntervalMs?: number;
  /** Longest a fetch waits for new messages, in ms; it also bounds how long stop() waits. @defaultValue 1000 */
  maxWaitTimeMs?: number;
  /** Most messages handed to one handler call (kafkajs batches are split). @defaultValue `BATCH_DEFAULTS.consumerBatchSize` (2000) */
  maxBatchSize?: number;
  /**
   * How long subscribe() waits for the group join and the first fetch, so that a new group's
   * "latest" position is fixed before subscribe resolves. Past it, subscribe resolves anyway and logs.
   * @defaultValue 30000
   */
  subscribeTimeoutMs?: number;
  /** kafkajs messages at this level and above reach `logger`. @defaultValue 'warn' */
  kafkaLogLevel?: 'warn' | 'error' | 'nothing';
  logger?: Logger;
}

export class KafkaBus extends KafkaBusShell {
  private readonly kafka: Kafka;
  protected readonly logger: Logger;
  private readonly settings: KafkaBusSettings;
  protected readonly admin: KafkaTopicAdmin;
  protected readonly sender: KafkaSender;
  private readonly retry: { retries: number; initialRetryTime: number; maxRetryTime: number };

  constructor(private readonly options: KafkaBusOptions) {
    super();
    if (options.brokers.length === 0) throw new DriftgateError('INTERNAL', 'KafkaBus needs at least one broker');
    this.logger = options.logger ?? silentLogger;
    this.settings = kafkaBusSettings(options);
    this.retry = {
      retries: options.retry?.retries ?? 5,
      initialRetryTime: options.retry?.initialRetryTimeMs ?? 300,
      maxRetryTime: options.retry?.maxRetryTimeMs ?? 30_000,
    };
    const level = { warn: logLevel.WARN, error: logLevel.ERROR, nothing: logLevel.NOTHING }[options.kafkaLogLevel ?? 'warn'];
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'driftgate',
      brokers: options.brokers,
      connectionTimeout: options.connectionTimeoutMs ?? 3_000,
      requestTimeout: this.settings.requestTimeoutMs,
      retry: this.retry,
      logLevel: level,
      logCreator: bridgeLogs(this.logger),
    });
    this.admin = new KafkaTopicAdmin(this.kafka, this.settings.requestTimeoutMs, this.logger);
    this.sender = new KafkaSender(this.kafka, this.logger);
  }

  async subscribe(opts: SubscribeOptions): Promise<Subscription> {
    this.assertOpen();
    const subscription = new KafkaSubscription(opts, {
      createConsumer: (restartOnFailure) =>
        this.kafka.consumer({
          groupId: opts.groupId,
          allowAutoTopicCreation: false,
          sessionTimeout: this.settings.sessionTimeoutMs,
          heartbeatInterval: this.settings.heartbeatIntervalMs,
          maxWaitTimeInMs: this.settings.maxWaitTimeMs,
          // keeps partition p of every subscribed topic on one member, so predictions and labels
          // keyed by the same id reach the same monitor
          partitionAssigners: [coPartitionAssigner, PartitionAssigners.roundRobin],
          retry: { ...this.retry, restartOnFailure: async () => restartOnFailure() && !this.closed },
        }),
      consume: (payload) => consumeInChunks(opts, payload, this.settings, (failure) => reportSkipped(opts.onError ?? this.options.onError, this.logger, failure)),
      logger: this.logger,
    });
    try {
      await subscription.start();
    } catch (err) {
      await subscription.stop().catch(() => undefined);
      throw err;
    }
    await subscription.awaitFirstFetch(this.settings.subscribeTimeoutMs);
    return this.subscriptions.add(subscription);
  }
}
