// The in-process event bus for single-machine mode: the same model as Kafka (topics split into
// partitions by key, an append-only log per partition, consumer groups with committed offsets,
// at-least-once delivery of batches) without a broker. Everything lives in memory, so "durably
// accepted" here means accepted by this process: a restart loses what consumers had not committed.
//
// Consumers run on the event loop of the process that serves requests, so delivery must never hog
// it: every delivery is followed by a turn of the event loop (setImmediate, so I/O callbacks run,
// not just microtasks), and a member sizes its batches so that one handler call takes about
// `deliveryBudgetMs` (the monitor applies a batch synchronously, in one SQLite transaction).
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import { silentLogger } from '../logger.js';
import type { Logger } from '../logger.js';
import { DriftgateError, describeError } from '../errors.js';
import { BATCH_DEFAULTS, REDELIVERY_DEFAULTS, partitionForKey, partitionLag, redeliveryDelay } from './types.js';
import type {
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

export interface EmbeddedBusOptions extends RedeliveryOptions {
  /** Messages kept per partition; beyond it the oldest are dropped, consumed or not. @defaultValue 100000 */
  retentionMessages?: number | undefined;
  /** Most messages handed to one handler call. @defaultValue `BATCH_DEFAULTS.consumerBatchSize` (2000) */
  maxBatchSize?: number;
  /**
   * Time one handler call should take, in ms. Batches start small and are sized from the measured
   * time per message so a call takes about this long (never more than `maxBatchSize` messages),
   * which bounds how long a handler that works synchronously holds the event loop. @defaultValue 20
   */
  deliveryBudgetMs?: number;
  /** Where the bus counts events a group lost to the retention; no metric when unset. */
  registry?: Registry;
  logger?: Logger;
}

/** Batch size a member starts with, before it has measured its handler. */
const FIRST_BATCH = 64;
/** At most one log line per this many ms about events lost to the retention. */
const RETENTION_LOG_EVERY_MS = 60_000;

interface StoredMessage {
  key: string;
  value: string;
  headers: Record<string, string>;
}

/** One partition's log: offsets grow by one per message; the oldest fall off past the retention. */
class PartitionLog {
  private entries: StoredMessage[] = [];
  /** Index in `entries` of the earliest retained message (dropped ones are trimmed lazily). */
  private head = 0;
  /** Offset of `entries[0]`. */
  private base = 0;

  constructor(private readonly retention: number) {}

  /** Offset of the oldest message still kept. */
  get earliest(): number {
    return this.base + this.head;
  }

  /** Offset the next message will get (Kafka's high watermark). */
  get latest(): number {
    return this.base + this.entries.length;
  }

  append(message: StoredMessage): void {
    this.entries.push(message);
    if (this.latest - this.earliest > this.retention) this.head++;
    // Trim the dropped prefix now and then rather than shifting the array on every append.
    if (this.head >= 1024 && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.base += this.head;
      this.head = 0;
    }
  }

  read(from: number, max: number): { offset: number; message: StoredMessage }[] {
    const out: { offset: number; message: StoredMessage }[] = [];
    for (let offset = Math.max(from, this.earliest); offset < this.latest && out.length < max; offset++) {
      out.push({ offset, message: this.entries[offset - this.base]! });
    }
    return out;
  }
}

/** A group's progress on one partition. */
interface Cursor {
  topic: string;
  partition: number;
  /** Next offset the group has not committed; undefined until the group commits here. */
  committed: number | undefined;
  /** Next offset to deliver; undefined while no member consumes the partition. */
  position: number | undefined;
  /** A batch of this partition is with a handler right now. */
  busy: boolean;
  /** Failed deliveries of the batch at `position` so far. */
  failures: number;
  /** Last offset of the failed batch: a redelivery holds the same messages, no newer ones. */
  retryUntil: number;
  /** No redelivery before this time (ms since epoch). */
  notBefore: number;
}

interface Group {
  id: string;
  cursors: Map<string, Cursor>;
  /** In join order; a topic's partitions are dealt out among the members that subscribe to it. */
  members: GroupMember[];
}

const cursorKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export class EmbeddedBus implements EventBus {
  readonly kind = 'embedded' as const;
  private readonly topics = new Map<string, PartitionLog[]>();
  private readonly groups = new Map<string, Group>();
  private closed = false;
  private readonly retention: number;
  readonly settings: { maxBatchSize: number; deliveryBudgetMs: number; maxAttempts: number; retryBackoffMs: number; maxRetryBackoffMs: number };
  readonly logger: Logger;
  private readonly retentionMetric: Counter<'topic' | 'group'> | undefined;
  private skippedTotal = 0;
  /** Skips not yet in a log line, and when the last line was written. */
  private skippedUnlogged = 0;
  private lastSkipLog = -Infinity;

  constructor(private readonly options: EmbeddedBusOptions = {}) {
    this.retention = Math.max(1, options.retentionMessages ?? 100_000);
    this.settings = {
      maxBatchSize: Math.max(1, options.maxBatchSize ?? BATCH_DEFAULTS.consumerBatchSize),
      deliveryBudgetMs: Math.max(1, options.deliveryBudgetMs ?? 20),
      maxAttempts: Math.max(1, options.maxAttempts ?? REDELIVERY_DEFAULTS.maxAttempts),
      retryBackoffMs: options.retryBackoffMs ?? REDELIVERY_DEFAULTS.retryBackoffMs,
      maxRetryBackoffMs: options.maxRetryBackoffMs ?? REDELIVERY_DEFAULTS.maxRetryBackoffMs,
    };
    this.logger = options.logger ?? silentLogger;
    this.retentionMetric = options.registry
      ? new Counter({
          name: 'driftgate_events_retention_skipped_total',
          help: 'Events a consumer group never received because the embedded bus dropped them past its retention first, by topic and group.',
          labelNames: ['topic', 'group'] as const,
          registers: [options.registry],
        })
      : undefined;
  }

  /** Events that consumer groups lost to the retention since the bus started (all groups together). */
  get lostToRetention(): number {
    return this.skippedTotal;
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    this.assertOpen();
    for (const spec of topics) {
      if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
        throw new DriftgateError('INTERNAL', `topic "${spec.name}": partitions must be a positive integer, got ${spec.partitions}`);
      }
      if (this.topics.has(spec.name)) continue;
      this.topics.set(
        spec.name,
        Array.from({ length: spec.partitions }, () => new PartitionLog(this.retention)),
      );
    }
  }

  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    this.assertOpen();
    const partitions = this.partitionsOf(topic);
    for (const m of messages) {
      partitions[partitionForKey(m.key, partitions.length)]!.append({ key: m.key, value: m.value, headers: { ...m.headers } });
    }
    if (messages.length === 0) return;
    for (const group of this.groups.values()) {
      for (const member of group.members) if (member.topics.includes(topic)) member.wake();
    }
  }

  async subscribe(opts: SubscribeOptions): Promise<Subscription> {
    this.assertOpen();
    const topics = [...new Set(opts.topics)];
    const logs = topics.map((t) => [t, this.partitionsOf(t)] as const);
    let group = this.groups.get(opts.groupId);
    if (!group) {
      group = { id: opts.groupId, cursors: new Map(), members: [] };
      this.groups.set(opts.groupId, group);
    }
    for (const [topic, partitions] of logs) {
      partitions.forEach((log, partition) => {
        const key = cursorKey(topic, partition);
        let cursor = group.cursors.get(key);
        if (!cursor) {
          cursor = { topic, partition, committed: undefined, position: undefined, busy: false, failures: 0, retryUntil: 0, notBefore: 0 };
          group.cursors.set(key, cursor);
        }
        // Like Kafka's auto.offset.reset: without a commit, start at the earliest or the latest.
        cursor.position ??= cursor.committed ?? (opts.fromBeginning ? log.earliest : log.latest);
      });
    }
    const member = new GroupMember(this, group, topics, opts);
    group.members.push(member);
    for (const m of group.members) m.wake();
    member.start();
    return { stop: () => this.leave(member) };
  }

  async consumerLag(groupId: string, topics: string[]): Promise<PartitionLag[]> {
    this.assertOpen();
    const group = this.groups.get(groupId);
    const rows: PartitionLag[] = [];
    for (const topic of new Set(topics)) {
      this.topics.get(topic)?.forEach((log, partition) => {
        const committed = group?.cursors.get(cursorKey(topic, partition))?.committed;
        rows.push(
          partitionLag(topic, partition, {
            startOffset: String(log.earliest),
            endOffset: String(log.latest),
            committedOffset: committed === undefined ? null : String(committed),
          }),
        );
      });
    }
    return rows;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const members = [...this.groups.values()].flatMap((g) => g.members);
    await Promise.all(members.map((m) => this.leave(m)));
  }

  /** @internal the log of one partition, for members. */
  log(topic: string, partition: number): PartitionLog {
    return this.partitionsOf(topic)[partition]!;
  }

  /** @internal counts (and now and then logs) messages a group lost because the retention dropped them first. */
  reportRetentionSkip(groupId: string, topic: string, partition: number, count: number): void {
    this.skippedTotal += count;
    this.skippedUnlogged += count;
    this.retentionMetric?.labels({ topic, group: groupId }).inc(count);
    const now = Date.now();
    if (now - this.lastSkipLog < RETENTION_LOG_EVERY_MS) return;
    this.logger.warn('embedded bus: a consumer group fell behind the retention; the oldest events were dropped before it read them', {
      groupId,
      topic,
      partition,
      skipped: this.skippedUnlogged,
      skippedTotal: this.skippedTotal,
      retentionMessages: this.retention,
    });
    this.skippedUnlogged = 0;
    this.lastSkipLog = now;
  }

  /** @internal the error hook for a skipped batch. */
  reportFailure(failure: DeliveryFailure, own: SubscribeOptions['onError']): void {
    const hook = own ?? this.options.onError;
    if (hook) {
      try {
        hook(failure);
      } catch (err) {
        this.logger.error('bus onError hook threw', { error: describeError(err) });
      }
      return;
    }
    this.logger.error('handler kept failing; batch skipped', { ...failure, error: describeError(failure.error) });
  }

  private async leave(member: GroupMember): Promise<void> {
    await member.stop();
    const group = member.group;
    const index = group.members.indexOf(member);
    if (index < 0) return;
    group.members.splice(index, 1);
    if (group.members.length === 0) {
      // Nobody consumes: the next member starts from the commits (or resets where there are none).
      for (const cursor of group.cursors.values()) cursor.position = cursor.committed;
    }
    for (const m of group.members) m.wake();
  }

  private partitionsOf(topic: string): PartitionLog[] {
    const partitions = this.topics.get(topic);
    if (!partitions) throw new DriftgateError('INTERNAL', `unknown topic "${topic}": create it with ensureTopics first`);
    return partitions;
  }

  private assertOpen(): void {
    if (this.closed) throw new DriftgateError('EVENT_BUS_UNAVAILABLE', 'the embedded event bus is closed');
  }
}

/** One subscription: a loop that hands batches of its partitions to the handler, one at a time. */
class GroupMember {
  private running = false;
  private pending = false;
  private waiter: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private loop: Promise<void> = Promise.resolve();
  /** Where the last scan stopped, so partitions take turns. */
  private turn = 0;
  /** Messages for the next batch, adapted to the handler's measured speed (see deliveryBudgetMs). */
  private batchSize: number;
  /** Estimated time one message costs in a delivery, in ms; undefined before the first one. */
  private msPerMessage: number | undefined;

  constructor(
    private readonly bus: EmbeddedBus,
    readonly group: Group,
    readonly topics: string[],
    private readonly opts: SubscribeOptions,
  ) {
    // A handler working on another thread holds nothing here: it gets full batches from the start.
    this.batchSize = opts.offThread ? bus.settings.maxBatchSize : Math.min(FIRST_BATCH, bus.settings.maxBatchSize);
  }

  start(): void {
    this.running = true;
    this.loop = this.run().catch((err: unknown) => {
      this.bus.logger.error('embedded bus consumer loop failed', { groupId: this.group.id, error: describeError(err) });
    });
  }

  /** Something changed (a message, a member, a stop): look for work again. */
  wake(): void {
    this.pending = true;
    const resolve = this.waiter;
    this.waiter = undefined;
    resolve?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.pending = false;
      const next = this.pick();
      if (next.batch) {
        await this.deliver(next.batch.cursor, next.batch.entries);
        // A handler that resolves at once would otherwise chain deliveries on microtasks only, and
        // requests, timers and probes would wait for the whole backlog.
        await nextTurn();
      } else await this.idle(next.retryAt);
    }
    clearTimeout(this.timer);
  }

  /** The partitions of this member's topics that the group deals to it. */
  private assigned(): Cursor[] {
    const out: Cursor[] = [];
    for (const topic of this.topics) {
      const sharing = this.group.members.filter((m) => m.topics.includes(topic));
      const me = sharing.indexOf(this);
      for (const cursor of this.group.cursors.values()) {
        if (cursor.topic === topic && cursor.partition % sharing.length === me) out.push(cursor);
      }
    }
    return out;
  }

  private pick(): {
    batch?: { cursor: Cursor; entries: ReturnType<PartitionLog['read']> };
    retryAt?: number;
  } {
    const cursors = this.assigned();
    const now = Date.now();
    let retryAt: number | undefined;
    for (let i = 0; i < cursors.length; i++) {
      const index = (this.turn + i) % cursors.length;
      const cursor = cursors[index]!;
      if (cursor.busy || cursor.position === undefined) continue;
      const log = this.bus.log(cursor.topic, cursor.partition);
      // Messages past the retention are gone: continue from the oldest kept one, and say so.
      if (cursor.position < log.earliest) {
        this.bus.reportRetentionSkip(this.group.id, cursor.topic, cursor.partition, log.earliest - cursor.position);
        cursor.position = log.earliest;
      }
      if (cursor.position >= log.latest) continue;
      if (cursor.notBefore > now) {
        retryAt = Math.min(retryAt ?? Infinity, cursor.notBefore);
        continue;
      }
      this.turn = index + 1;
      // A redelivery holds exactly the failed batch, whatever size the budget asks for now.
      const size =
        cursor.failures > 0 ? Math.max(1, Math.min(this.bus.settings.maxBatchSize, cursor.retryUntil - cursor.position + 1)) : this.batchSize;
      return { batch: { cursor, entries: log.read(cursor.position, size) } };
    }
    return retryAt === undefined ? {} : { retryAt };
  }

  private async idle(retryAt: number | undefined): Promise<void> {
    if (this.pending || !this.running) return;
    await new Promise<void>((resolve) => {
      this.waiter = resolve;
      if (retryAt !== undefined) this.timer = setTimeout(() => this.wake(), Math.max(0, retryAt - Date.now()));
    });
    clearTimeout(this.timer);
  }

  /**
   * Sizes the next batch from the last one: `count` messages took `ms` (building the batch and the
   * handler call). The estimate of the time per message follows a slower batch at once and a
   * quicker one only gradually (a pause for GC or another process says nothing about the next
   * batch being quick), and the size grows by half at most per batch, and only after a full one.
   */
  private adaptBatchSize(count: number, ms: number): void {
    const { deliveryBudgetMs, maxBatchSize } = this.bus.settings;
    const sample = ms / count;
    const estimate = this.msPerMessage;
    this.msPerMessage = estimate === undefined || sample > estimate ? sample : estimate * 0.8 + sample * 0.2;
    const fits = Math.max(1, Math.floor(deliveryBudgetMs / Math.max(this.msPerMessage, 1e-6)));
    if (fits < this.batchSize) this.batchSize = fits;
    else if (count >= this.batchSize) this.batchSize = Math.min(maxBatchSize, fits, Math.ceil(this.batchSize * 1.5));
  }

  private async deliver(cursor: Cursor, entries: ReturnType<PartitionLog['read']>): Promise<void> {
    const started = performance.now();
    const first = entries[0]!.offset;
    const last = entries[entries.length - 1]!.offset;
    const batch: BusMessage[] = entries.map(({ offset, message }) => ({
      topic: cursor.topic,
      partition: cursor.partition,
      offset: String(offset),
      key: message.key,
      value: Buffer.from(message.value, 'utf8'),
      headers: { ...message.headers },
    }));
    cursor.busy = true;
    let error: unknown;
    let failed = false;
    try {
      // Through a promise, so a handler that throws synchronously counts as a failed batch too.
      await Promise.resolve().then(() => this.opts.handle(batch));
      if (!this.opts.offThread) this.adaptBatchSize(entries.length, performance.now() - started);
    } catch (err) {
      failed = true;
      error = err;
    } finally {
      cursor.busy = false;
    }
    const { maxAttempts, retryBackoffMs, maxRetryBackoffMs } = this.bus.settings;
    if (!failed) {
      cursor.committed = cursor.position = last + 1;
      cursor.failures = 0;
      return;
    }
    cursor.failures++;
    if (cursor.failures < maxAttempts) {
      // Not committed: the same batch comes again after a pause.
      cursor.retryUntil = last;
      cursor.notBefore = Date.now() + redeliveryDelay(cursor.failures, retryBackoffMs, maxRetryBackoffMs);
      return;
    }
    const attempts = cursor.failures;
    cursor.committed = cursor.position = last + 1;
    cursor.failures = 0;
    cursor.notBefore = 0;
    this.bus.reportFailure(
      {
        groupId: this.group.id,
        topic: cursor.topic,
        partition: cursor.partition,
        firstOffset: String(first),
        lastOffset: String(last),
        count: entries.length,
        attempts,
        error,
      },
      this.opts.onError,
    );
  }
}
