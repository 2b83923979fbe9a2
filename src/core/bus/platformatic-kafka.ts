// The Kafka adapter of the event bus on @platformatic/kafka, a maintained pure-TypeScript client
// (1.x, the last line for Node 20), as an alternative to KafkaBus on kafkajs. Same promises as
// KafkaBus: an idempotent acks=all producer with serialised sends, replaced after a failed send
// (platformatic-kafka-producer.ts); at-least-once subscriptions with bounded redelivery that outlive
// a broker restart (platformatic-kafka-subscription.ts); topics and lag through an admin client
// that never joins a group (platformatic-kafka-admin.ts).
import { Consumer } from '@platformatic/kafka';
import type { ClusterMetadata, ExtendedGroupProtocolSubscription, GroupPartitionsAssignments } from '@platformatic/kafka';
import { DriftgateError } from '../errors.js';
import { silentLogger } from '../logger.js';
import type { Logger } from '../logger.js';
import { CO_PARTITION_ASSIGNER, assignCoPartitioned } from './co-partition-assigner.js';
import type { KafkaBusOptions } from './kafka.js';
import { reportSkipped } from './kafka-batch.js';
import { KafkaBusShell, kafkaBusSettings } from './kafka-bus-parts.js';
import type { KafkaBusSettings } from './kafka-bus-parts.js';
import { PlatformaticTopicAdmin } from './platformatic-kafka-admin.js';
import { PlatformaticSender } from './platformatic-kafka-producer.js';
import type { PlatformaticClientSettings } from './platformatic-kafka-client.js';
import { PlatformaticSubscription } from './platformatic-kafka-subscription.js';
import type { SubscribeOptions, Subscription } from './types.js';

/**
 * The options of KafkaBus that mean the same here. `retry.retries` bounds every client's retries
 * (the producer's too, so that a send fails in bounded time and the publisher can spool);
 * `retry.initialRetryTimeMs` is the wait between two tries (this client does not grow it).
 */
export type PlatformaticKafkaBusOptions = Omit<KafkaBusOptions, 'kafkaLogLevel'>;

/**
 * The co-partition assignor (co-partition-assigner.ts) in this client's shape. With one member the
 * client assigns everything to it without asking.
 */
export function coPartitionAssignments(
  _self: string,
  members: Map<string, ExtendedGroupProtocolSubscription>,
  topics: Set<string>,
  metadata: ClusterMetadata,
): GroupPartitionsAssignments[] {
  const partitions = new Map([...topics].map((t) => [t, Array.from({ length: metadata.topics.get(t)?.partitionsCount ?? 0 }, (_, p) => p)] as const));
  return [...assignCoPartitioned([...members.keys()], partitions)].map(([memberId, assignment]) => ({
    memberId,
    assignments: new Map(Object.entries(assignment).map(([topic, list]) => [topic, { topic, partitions: list }])),
  }));
}

export class PlatformaticKafkaBus extends KafkaBusShell {
  protected readonly logger: Logger;
  private readonly client: PlatformaticClientSettings;
  private readonly settings: KafkaBusSettings;
  protected readonly admin: PlatformaticTopicAdmin;
  protected readonly sender: PlatformaticSender;

  constructor(private readonly options: PlatformaticKafkaBusOptions) {
    super();
    if (options.brokers.length === 0) throw new DriftgateError('INTERNAL', 'PlatformaticKafkaBus needs at least one broker');
    this.logger = options.logger ?? silentLogger;
    this.settings = kafkaBusSettings(options);
    this.client = {
      clientId: options.clientId ?? 'driftgate',
      bootstrapBrokers: options.brokers,
      connectTimeout: options.connectionTimeoutMs ?? 3_000,
      timeout: this.settings.requestTimeoutMs,
      retries: options.retry?.retries ?? 5,
      retryDelay: options.retry?.initialRetryTimeMs ?? 300,
    };
    this.admin = new PlatformaticTopicAdmin(this.client, this.settings.requestTimeoutMs, this.logger);
    this.sender = new PlatformaticSender(this.client, this.logger);
  }

  async subscribe(opts: SubscribeOptions): Promise<Subscription> {
    this.assertOpen();
    const { sessionTimeoutMs, heartbeatIntervalMs } = this.settings;
    const subscription = new PlatformaticSubscription(opts, {
      createConsumer: () =>
        new Consumer({
          ...this.client,
          groupId: opts.groupId,
          sessionTimeout: sessionTimeoutMs,
          rebalanceTimeout: sessionTimeoutMs,
          heartbeatInterval: heartbeatIntervalMs,
          // keeps partition p of every subscribed topic on one member, so predictions and labels
          // keyed by the same id reach the same monitor
          protocols: [{ name: CO_PARTITION_ASSIGNER, version: 0 }],
          partitionAssigner: coPartitionAssignments,
        }),
      maxWaitTimeMs: this.settings.maxWaitTimeMs,
      settings: this.settings,
      report: (failure) => reportSkipped(opts.onError ?? this.options.onError, this.logger, failure),
      logger: this.logger,
    });
    subscription.begin();
    await subscription.awaitFirstFetch(this.settings.subscribeTimeoutMs);
    return this.subscriptions.add(subscription);
  }
}
