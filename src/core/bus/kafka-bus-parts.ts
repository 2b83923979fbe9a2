// The parts of the Kafka adapter that do not depend on the client library, so another client can be
// put behind the port by writing only what differs (an adapter on @platformatic/kafka was built this
// way and measured; docs/benchmarks.md, "Drift monitor"): the settings with their defaults, the
// serial send queue, a subscription's first-fetch wait and restart pacing, the set of live
// subscriptions, the lazily decoded message, and the EventBus methods that only delegate.
import { DriftgateError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ChunkSettings } from './kafka-batch.js';
import { logDisconnect } from './kafka-messages.js';
import type { KafkaBusOptions } from './kafka.js';
import { BATCH_DEFAULTS, REDELIVERY_DEFAULTS, redeliveryDelay } from './types.js';
import type { BusMessage, EventBus, OutgoingMessage, PartitionLag, SubscribeOptions, Subscription, TopicSpec } from './types.js';

const ignore = () => undefined;

export type KafkaBusSettings = ChunkSettings & Record<'sessionTimeoutMs' | 'maxWaitTimeMs' | 'subscribeTimeoutMs' | 'requestTimeoutMs', number>;

/** The options every Kafka adapter reads, with their documented defaults filled in. */
export function kafkaBusSettings(options: KafkaBusOptions): KafkaBusSettings {
  return {
    sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3_000,
    maxWaitTimeMs: options.maxWaitTimeMs ?? 1_000,
    maxBatchSize: Math.max(1, options.maxBatchSize ?? BATCH_DEFAULTS.consumerBatchSize),
    subscribeTimeoutMs: options.subscribeTimeoutMs ?? 30_000,
    requestTimeoutMs: options.requestTimeoutMs ?? 25_000,
    maxAttempts: Math.max(1, options.maxAttempts ?? REDELIVERY_DEFAULTS.maxAttempts),
    retryBackoffMs: options.retryBackoffMs ?? REDELIVERY_DEFAULTS.retryBackoffMs,
    maxRetryBackoffMs: options.maxRetryBackoffMs ?? REDELIVERY_DEFAULTS.maxRetryBackoffMs,
  };
}

/** Runs sends one after another (an idempotent producer's sequence numbers assume it); a failed send does not stop the next. */
export class SendQueue {
  private chain: Promise<void> = Promise.resolve();

  run(send: () => Promise<void>): Promise<void> {
    const next = this.chain.then(send);
    this.chain = next.then(ignore, ignore);
    return next;
  }

  /** Resolves when the sends queued so far have finished. */
  idle(): Promise<void> {
    return this.chain;
  }
}

/** Resolves at a subscription's first fetch; subscribe() waits for it, bounded. */
export class FirstFetch {
  private done!: () => void;
  private readonly fetched = new Promise<void>((resolve) => (this.done = resolve));

  reached(): void {
    this.done();
  }

  /**
   * Waits up to `timeoutMs` for the first fetch. It comes after the consumer fixed every assigned
   * partition's start offset, so waiting for it makes "latest" mean "latest when subscribe()
   * resolved". Past the timeout it logs and returns anyway.
   */
  async wait(timeoutMs: number, logger: Logger, groupId: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const ready = await Promise.race([this.fetched.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))]);
    clearTimeout(timer);
    if (!ready) logger.warn('Kafka consumer has not fetched yet; subscribe continues without waiting', { groupId, waitedMs: timeoutMs });
  }
}

/** Paces new consumers after failures: 1 s, doubled after each failure in a row, at most 30 s. */
export class RestartPacing {
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;

  /** A consumer fetched: the next failure starts the pacing afresh. */
  succeeded(): void {
    this.failures = 0;
  }

  schedule(logger: Logger, fields: Record<string, unknown>, restart: () => void): void {
    this.failures++;
    const delayMs = redeliveryDelay(this.failures, 1_000, 30_000);
    logger.warn('Kafka consumer stopped after an error; starting a new one', { ...fields, delayMs });
    this.timer = setTimeout(restart, delayMs);
  }

  cancel(): void {
    clearTimeout(this.timer);
  }
}

/** The subscriptions a bus has handed out and not yet stopped, so close() can stop them all. */
export class LiveSubscriptions {
  private readonly live = new Set<{ stop(): Promise<void> }>();

  /** Registers a started subscription and hands out its stop handle. */
  add(subscription: { stop(): Promise<void> }): Subscription {
    this.live.add(subscription);
    return {
      stop: async () => {
        if (!this.live.delete(subscription)) return;
        await subscription.stop();
      },
    };
  }

  async stopAll(onError: (err: unknown) => void): Promise<void> {
    const all = [...this.live];
    this.live.clear();
    await Promise.all(all.map((s) => s.stop().catch(onError)));
  }
}

/**
 * A BusMessage whose headers are decoded on first use: few consumers read them (dead letters), and
 * decoding six header buffers for every message cost the monitor about 4% of its CPU.
 */
export function lazyBusMessage<H>(
  topic: string,
  partition: number,
  offset: string,
  key: Buffer | null | undefined,
  value: Buffer | null | undefined,
  rawHeaders: H,
  decode: (raw: H) => Record<string, string>,
): BusMessage {
  let headers: Record<string, string> | undefined;
  return {
    topic,
    partition,
    offset,
    key: key ? key.toString('utf8') : null,
    value: value ?? Buffer.alloc(0),
    get headers() {
      return (headers ??= decode(rawHeaders));
    },
  };
}

/** What a Kafka adapter's admin side does for the bus. */
export interface TopicAdminPart {
  ensureTopics(topics: TopicSpec[]): Promise<void>;
  consumerLag(groupId: string, topics: string[]): Promise<PartitionLag[]>;
  close(): Promise<void>;
}

/** What a Kafka adapter's producer side does for the bus. */
export interface SenderPart {
  publish(topic: string, messages: OutgoingMessage[]): Promise<void>;
  /** Waits for the sends in progress, then lets the producer go. */
  close(): Promise<void>;
}

/**
 * The EventBus methods both Kafka adapters share: topics and lag go to the admin side, publish to
 * the sender, and close() stops every subscription before the sender and the admin. An adapter
 * adds subscribe(), registering what it starts in `subscriptions`.
 */
export abstract class KafkaBusShell implements EventBus {
  readonly kind = 'kafka' as const;
  protected readonly subscriptions = new LiveSubscriptions();
  protected closed = false;
  protected abstract readonly admin: TopicAdminPart;
  protected abstract readonly sender: SenderPart;
  protected abstract readonly logger: Logger;

  abstract subscribe(opts: SubscribeOptions): Promise<Subscription>;

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    this.assertOpen();
    await this.admin.ensureTopics(topics);
  }

  publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (this.closed) return Promise.reject(new DriftgateError('EVENT_BUS_UNAVAILABLE', 'the Kafka event bus is closed'));
    if (messages.length === 0) return Promise.resolve();
    return this.sender.publish(topic, messages);
  }

  async consumerLag(groupId: string, topics: string[]): Promise<PartitionLag[]> {
    this.assertOpen();
    return this.admin.consumerLag(groupId, topics);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.subscriptions.stopAll((err) => logDisconnect(this.logger, 'consumer', err));
    await this.sender.close();
    await this.admin.close();
  }

  protected assertOpen(): void {
    if (this.closed) throw new DriftgateError('EVENT_BUS_UNAVAILABLE', 'the Kafka event bus is closed');
  }
}
