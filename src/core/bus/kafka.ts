// The Kafka adapter of the event bus, on kafkajs 2.2.4 (unmaintained since 2023, which is one
// reason it stays behind the EventBus port). Producer: idempotent, acks=all, one send at a time.
// Consumers: eachBatch with offsets committed only after the handler resolved, and a bounded
// in-place retry so one bad batch can neither stall a partition nor loop forever.
import { Kafka, PartitionAssigners, Partitioners, logLevel } from 'kafkajs';
import type { Admin, Consumer, EachBatchPayload, IHeaders, KafkaMessage, LogEntry, Producer, logCreator } from 'kafkajs';
import { describeError } from '../errors.js';
import { silentLogger } from '../logger.js';
import type { Logger } from '../logger.js';
import { coPartitionAssigner } from './co-partition-assigner.js';
import { REDELIVERY_DEFAULTS, partitionLag, redeliveryDelay } from './types.js';
import type {
  BusMessage,
  EventBus,
  OutgoingMessage,
  PartitionLag,
  RedeliveryOptions,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from './types.js';

export interface KafkaBusOptions extends RedeliveryOptions {
  /** `host:port` of one or more brokers (config `KAFKA_BROKERS`). */
  brokers: string[];
  /** @defaultValue 'driftgate' */
  clientId?: string;
  /** Time to open a TCP connection to a broker, in ms. @defaultValue 3000 */
  connectionTimeoutMs?: number;
  /** Time a broker has to answer one request, in ms. @defaultValue 25000 */
  requestTimeoutMs?: number;
  /**
   * kafkajs' retry of a failed request, for every client (producer, consumers, admin). The
   * producer keeps this bound too, although kafkajs suggests unbounded retries for idempotence:
   * a send must fail in bounded time so the publisher's breaker can open and spool.
   * @defaultValue `{ retries: 5, initialRetryTimeMs: 300, maxRetryTimeMs: 30000 }`
   */
  retry?: { retries?: number; initialRetryTimeMs?: number; maxRetryTimeMs?: number };
  /** Consumer group session timeout, in ms. @defaultValue 30000 */
  sessionTimeoutMs?: number;
  /** @defaultValue 3000 */
  heartbeatIntervalMs?: number;
  /** Longest a fetch waits for new messages, in ms; it also bounds how long stop() waits. @defaultValue 1000 */
  maxWaitTimeMs?: number;
  /** Most messages handed to one handler call (kafkajs batches are split). @defaultValue 500 */
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

/** kafkajs' own log lines, at warn and error only, into our structured logger. */
function bridgeLogs(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _time, logger: _name, ...extra } = log;
      const fields = { kafkajs: namespace, ...extra };
      // Said once per producer; bounded retries are on purpose here (see KafkaBusOptions.retry).
      if (message.startsWith('Limiting retries for the idempotent producer')) logger.debug(`kafkajs: ${message}`, fields);
      else if (level === logLevel.ERROR) logger.error(`kafkajs: ${message}`, fields);
      else if (level === logLevel.WARN) logger.warn(`kafkajs: ${message}`, fields);
    };
}

function headerValues(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value !== undefined) out[name] = value.toString();
  }
  return out;
}

function toBusMessage(topic: string, partition: number, m: KafkaMessage): BusMessage {
  let headers: Record<string, string> | undefined;
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key ? m.key.toString('utf8') : null,
    value: m.value ?? Buffer.alloc(0),
    // Decoded on first use: consumers read the headers of few messages (dead letters), and turning
    // six header buffers into strings for every message cost the monitor about 4% of its CPU.
    get headers() {
      return (headers ??= headerValues(m.headers));
    },
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const ignore = () => undefined;

export class KafkaBus implements EventBus {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private readonly logger: Logger;
  private readonly settings: Required<
    Pick<
      KafkaBusOptions,
      'sessionTimeoutMs' | 'heartbeatIntervalMs' | 'maxWaitTimeMs' | 'maxBatchSize' | 'subscribeTimeoutMs' | 'requestTimeoutMs'
    >
  > & { maxAttempts: number; retryBackoffMs: number; maxRetryBackoffMs: number };
  private producer: Promise<Producer> | undefined;
  private admin: Promise<Admin> | undefined;
  /** Sends run one after another: concurrent sends on an idempotent producer break (kafkajs#598). */
  private sendChain: Promise<void> = Promise.resolve();
  private readonly subscriptions = new Set<KafkaSubscription>();
  private readonly retry: { retries: number; initialRetryTime: number; maxRetryTime: number };
  private closed = false;

  constructor(private readonly options: KafkaBusOptions) {
    if (options.brokers.length === 0) throw new Error('KafkaBus needs at least one broker');
    this.logger = options.logger ?? silentLogger;
    this.settings = {
      sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3_000,
      maxWaitTimeMs: options.maxWaitTimeMs ?? 1_000,
      maxBatchSize: Math.max(1, options.maxBatchSize ?? 500),
      subscribeTimeoutMs: options.subscribeTimeoutMs ?? 30_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 25_000,
      maxAttempts: Math.max(1, options.maxAttempts ?? REDELIVERY_DEFAULTS.maxAttempts),
      retryBackoffMs: options.retryBackoffMs ?? REDELIVERY_DEFAULTS.retryBackoffMs,
      maxRetryBackoffMs: options.maxRetryBackoffMs ?? REDELIVERY_DEFAULTS.maxRetryBackoffMs,
    };
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
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    this.assertOpen();
    if (topics.length === 0) return;
    const admin = await this.connectedAdmin();
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length > 0) {
      const created = await admin.createTopics({
        topics: missing.map((t) => ({ topic: t.name, numPartitions: t.partitions, replicationFactor: t.replicationFactor })),
        waitForLeaders: true,
        timeout: this.settings.requestTimeoutMs,
      });
      // false: another process created some of them first, and kafkajs skipped waiting for leaders.
      if (!created) await this.waitForLeaders(admin, missing.map((t) => t.name));
    }
    const present = topics.filter((t) => existing.has(t.name));
    if (present.length > 0) {
      const metadata = await admin.fetchTopicMetadata({ topics: present.map((t) => t.name) });
      for (const spec of present) {
        const have = metadata.topics.find((t) => t.name === spec.name)?.partitions.length ?? 0;
        if (have < spec.partitions) {
          this.logger.warn('topic exists with fewer partitions than configured; left as it is', {
            topic: spec.name,
            partitions: have,
            configured: spec.partitions,
          });
        }
      }
    }
  }

  publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the Kafka event bus is closed'));
    if (messages.length === 0) return Promise.resolve();
    const send = this.sendChain.then(() => this.send(topic, messages));
    this.sendChain = send.then(ignore, ignore);
    return send;
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
      consume: (payload) => this.consumeBatch(opts, payload),
      logger: this.logger,
    });
    try {
      await subscription.start();
    } catch (err) {
      await subscription.stop().catch(ignore);
      throw err;
    }
    // The first fetch after the group join comes after kafkajs resolved every assigned partition's
    // start offset; waiting for it makes "latest" mean "latest when subscribe() resolved".
    let timer: NodeJS.Timeout | undefined;
    const ready = await Promise.race([
      subscription.firstFetch.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), this.settings.subscribeTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (!ready) {
      this.logger.warn('Kafka consumer has not fetched yet; subscribe continues without waiting', {
        groupId: opts.groupId,
        waitedMs: this.settings.subscribeTimeoutMs,
      });
    }
    this.subscriptions.add(subscription);
    return {
      stop: async () => {
        if (!this.subscriptions.delete(subscription)) return;
        await subscription.stop();
      },
    };
  }

  /**
   * Through the admin client, so it reads offsets without joining the group. The topic list
   * comes first: offset requests for a topic that does not exist fail, after kafkajs' retries.
   */
  async consumerLag(groupId: string, topics: string[]): Promise<PartitionLag[]> {
    this.assertOpen();
    const admin = await this.connectedAdmin();
    const existing = new Set(await admin.listTopics());
    const present = [...new Set(topics)].filter((t) => existing.has(t));
    if (present.length === 0) return [];
    const [ends, commits] = await Promise.all([
      Promise.all(present.map((topic) => admin.fetchTopicOffsets(topic))),
      // Never resolveOffsets: it would write offsets for the group.
      admin.fetchOffsets({ groupId, topics: present }),
    ]);
    const rows: PartitionLag[] = [];
    present.forEach((topic, i) => {
      const committed = new Map(commits.find((c) => c.topic === topic)?.partitions.map((p) => [p.partition, p.offset]));
      const partitions = [...ends[i]!].sort((a, b) => a.partition - b.partition);
      for (const { partition, low, high } of partitions) {
        const offset = committed.get(partition);
        // kafkajs reports "no commit" as -1.
        const committedOffset = offset === undefined || BigInt(offset) < 0n ? null : offset;
        rows.push(partitionLag(topic, partition, { startOffset: low, endOffset: high, committedOffset }));
      }
    });
    return rows;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const subscriptions = [...this.subscriptions];
    this.subscriptions.clear();
    await Promise.all(subscriptions.map((s) => s.stop().catch((err: unknown) => this.logDisconnect('consumer', err))));
    await this.sendChain;
    if (this.producer) {
      const producer = await this.producer.catch(() => undefined);
      await producer?.disconnect().catch((err: unknown) => this.logDisconnect('producer', err));
    }
    if (this.admin) {
      const admin = await this.admin.catch(() => undefined);
      await admin?.disconnect().catch((err: unknown) => this.logDisconnect('admin', err));
    }
  }

  private async send(topic: string, messages: OutgoingMessage[]): Promise<void> {
    const producer = await this.connectedProducer();
    try {
      await producer.send({
        topic,
        acks: -1,
        messages: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
      });
    } catch (err) {
      await this.discardProducer(producer);
      throw err;
    }
  }

  /**
   * After a failed send the producer's idempotence state cannot be trusted. kafkajs rewinds the
   * partition sequence numbers when a send fails, yet the broker may have written the batch (a
   * timeout, a connection lost after the write). The next, different batch would then reuse those
   * numbers and the broker would drop it as a duplicate while reporting success: silent loss.
   * A new producer gets a new producer id and starts its sequences afresh, so a resent batch can
   * only be duplicated, never lost.
   */
  private async discardProducer(producer: Producer): Promise<void> {
    if (this.producer === undefined) return;
    const current = await this.producer.catch(() => undefined);
    if (current !== producer) return;
    this.producer = undefined;
    await producer.disconnect().catch((err: unknown) => this.logDisconnect('producer', err));
  }

  /**
   * One handler call per chunk of the kafkajs batch. A chunk is committed only after the handler
   * resolved; a failing chunk is retried here (with heartbeats, so the group keeps the member)
   * and skipped with a report after maxAttempts. When the consumer stops or the partition moves
   * to another member meanwhile, nothing is committed and the new owner gets the chunk again.
   */
  private async consumeBatch(opts: SubscribeOptions, payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, uncommittedOffsets, isRunning, isStale } = payload;
    const active = () => isRunning() && !isStale();
    const { maxBatchSize, maxAttempts, retryBackoffMs, maxRetryBackoffMs } = this.settings;
    for (let start = 0; start < batch.messages.length; start += maxBatchSize) {
      if (!active()) return;
      const chunk = batch.messages.slice(start, start + maxBatchSize);
      const messages = chunk.map((m) => toBusMessage(batch.topic, batch.partition, m));
      const first = chunk[0]!.offset;
      const last = chunk[chunk.length - 1]!.offset;
      for (let attempt = 1; ; attempt++) {
        try {
          await opts.handle(messages);
          break;
        } catch (error) {
          if (!active()) return;
          if (attempt >= maxAttempts) {
            this.report(opts, {
              groupId: opts.groupId,
              topic: batch.topic,
              partition: batch.partition,
              firstOffset: first,
              lastOffset: last,
              count: chunk.length,
              attempts: attempt,
              error,
            });
            break;
          }
          await this.pause(redeliveryDelay(attempt, retryBackoffMs, maxRetryBackoffMs), heartbeat, active);
          if (!active()) return;
        }
      }
      resolveOffset(last);
      await commitOffsetsIfNecessary(uncommittedOffsets());
      await heartbeat();
    }
  }

  /** Waits before a redelivery, heartbeating so a long backoff does not cost the group membership. */
  private async pause(ms: number, heartbeat: () => Promise<void>, active: () => boolean): Promise<void> {
    const until = Date.now() + ms;
    while (active() && Date.now() < until) {
      await sleep(Math.min(until - Date.now(), this.settings.heartbeatIntervalMs));
      await heartbeat();
    }
  }

  private report(opts: SubscribeOptions, failure: Parameters<NonNullable<SubscribeOptions['onError']>>[0]): void {
    const hook = opts.onError ?? this.options.onError;
    if (!hook) {
      this.logger.error('handler kept failing; batch skipped', { ...failure, error: describeError(failure.error) });
      return;
    }
    try {
      hook(failure);
    } catch (err) {
      this.logger.error('bus onError hook threw', { error: describeError(err) });
    }
  }

  private connectedProducer(): Promise<Producer> {
    if (this.producer) return this.producer;
    const connecting = (async () => {
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        // Java-compatible murmur2: the partition a key gets matches Java clients and EmbeddedBus.
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      try {
        await producer.connect();
      } catch (err) {
        await producer.disconnect().catch(ignore);
        throw err;
      }
      return producer;
    })();
    this.producer = connecting;
    // A failed connect is not kept: the next send tries again (the broker may be back by then).
    connecting.catch(() => {
      if (this.producer === connecting) this.producer = undefined;
    });
    return connecting;
  }

  private connectedAdmin(): Promise<Admin> {
    if (this.admin) return this.admin;
    const connecting = (async () => {
      const admin = this.kafka.admin();
      try {
        await admin.connect();
      } catch (err) {
        await admin.disconnect().catch(ignore);
        throw err;
      }
      return admin;
    })();
    this.admin = connecting;
    connecting.catch(() => {
      if (this.admin === connecting) this.admin = undefined;
    });
    return connecting;
  }

  private async waitForLeaders(admin: Admin, topics: string[]): Promise<void> {
    const deadline = Date.now() + this.settings.requestTimeoutMs;
    for (;;) {
      const metadata = await admin.fetchTopicMetadata({ topics }).catch(() => undefined);
      const led = metadata?.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
      if (led) return;
      if (Date.now() > deadline) throw new Error(`topics ${topics.join(', ')} have no leaders after ${this.settings.requestTimeoutMs} ms`);
      await sleep(100);
    }
  }

  private logDisconnect(client: string, err: unknown): void {
    this.logger.warn(`Kafka ${client} did not disconnect cleanly`, { error: describeError(err) });
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the Kafka event bus is closed');
  }
}

interface SubscriptionDeps {
  /** A new kafkajs consumer; `restartOnFailure` says whether kafkajs may restart it after a crash. */
  createConsumer: (restartOnFailure: () => boolean) => Consumer;
  consume: (payload: EachBatchPayload) => Promise<void>;
  logger: Logger;
}

/**
 * One subscription over a succession of kafkajs consumers. kafkajs restarts a consumer after a
 * retriable crash only; after any other (no group coordinator yet, right after a broker restart,
 * is one) the consumer stays down, so a new one is started here, with a growing pause. Stopping
 * is sticky: a kafkajs restart that was already connecting when stop() came would otherwise bring
 * the consumer back, so a stopped subscription neither restarts nor delivers, and a consumer
 * that still joins the group leaves it again.
 */
class KafkaSubscription {
  private consumer: Consumer | undefined;
  private stopped = false;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private fetched!: () => void;
  /** Resolves at the first fetch of any of this subscription's consumers. */
  readonly firstFetch = new Promise<void>((resolve) => (this.fetched = resolve));

  constructor(
    private readonly opts: SubscribeOptions,
    private readonly deps: SubscriptionDeps,
  ) {}

  async start(): Promise<void> {
    const consumer = this.deps.createConsumer(() => !this.stopped);
    this.consumer = consumer;
    const current = () => !this.stopped && this.consumer === consumer;
    consumer.on(consumer.events.CRASH, ({ payload }) => this.crashed(consumer, payload.error, payload.restart));
    consumer.on(consumer.events.GROUP_JOIN, () => {
      if (!current()) void consumer.disconnect().catch(ignore);
    });
    consumer.on(consumer.events.FETCH, () => {
      this.failures = 0;
      this.fetched();
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: this.opts.topics, fromBeginning: this.opts.fromBeginning ?? false });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async (payload) => {
          if (current()) await this.deps.consume(payload);
        },
      });
    } catch (err) {
      await consumer.disconnect().catch(ignore);
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    // disconnect stops the run loop (waiting for the batch in progress) and leaves the group.
    await this.consumer?.disconnect();
  }

  private crashed(consumer: Consumer, error: Error, kafkajsRestarts: boolean): void {
    if (this.stopped || consumer !== this.consumer) return;
    const fields = { groupId: this.opts.groupId, error: describeError(error) };
    if (kafkajsRestarts) {
      this.deps.logger.warn('Kafka consumer crashed; kafkajs restarts it', fields);
      return;
    }
    this.scheduleRestart(fields);
  }

  private scheduleRestart(fields: Record<string, unknown>): void {
    this.failures++;
    const delayMs = redeliveryDelay(this.failures, 1_000, 30_000);
    this.deps.logger.warn('Kafka consumer stopped after an error; starting a new one', { ...fields, delayMs });
    this.restartTimer = setTimeout(() => {
      if (this.stopped) return;
      this.start().catch((err: unknown) => {
        if (!this.stopped) this.scheduleRestart({ groupId: this.opts.groupId, error: describeError(err) });
      });
    }, delayMs);
  }
}
