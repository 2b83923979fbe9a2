// What the gateway publishes through: `enqueue` only pushes onto an in-memory queue, so a request
// never waits for Kafka or fails because of it. A single flush loop batches the queue (linger and
// batch size, which kafkajs lacks), sends through a circuit breaker around bus.publish, and puts
// whatever could not be sent into the DiskSpool. While the spool holds records, they are sent
// first, oldest first, so events reach the bus in order once it is back. Delivery is at least
// once: a send that timed out may still land, and its records are sent again from the spool.
import CircuitBreaker from 'opossum';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { breakerRejection, describeError } from '../errors.js';
import { silentLogger } from '../logger.js';
import type { Logger } from '../logger.js';
import type { DiskSpool, SpoolRecord } from './spool.js';
import { BATCH_DEFAULTS } from './types.js';
import type { EventBus, OutgoingMessage } from './types.js';

export interface PublisherOptions {
  /** Messages in one bus.publish call. @defaultValue `BATCH_DEFAULTS.publishBatchSize` (2000) */
  maxBatchSize?: number;
  /** How long a partial batch waits for more messages before it is sent, in ms. @defaultValue 20 */
  lingerMs?: number;
  /** Messages held in memory; past it the oldest move to the spool (without a spool: are dropped). @defaultValue 10000 */
  maxBuffered?: number;
  /** Time limit of one bus.publish, in ms; a send past it counts as failed. @defaultValue 10000 */
  sendTimeoutMs?: number;
  /** Failure share (%) of sends in the rolling window that opens the breaker. @defaultValue 50 */
  breakerErrorPercent?: number;
  /** Sends in the rolling window before the breaker may open. @defaultValue 1 */
  breakerVolumeThreshold?: number;
  /** How long the open breaker waits before a trial send, in ms. @defaultValue 5000 */
  breakerResetMs?: number;
  /** Pause after a failed send while the breaker is still closed, in ms. @defaultValue 1000 */
  retryDelayMs?: number;
}

export interface EventPublisherDeps extends PublisherOptions {
  bus: EventBus;
  /** Where the publisher's metrics go; one publisher per registry. */
  registry: Registry;
  /** Unsent events go here; without one they are counted as dropped. The publisher closes it. */
  spool?: DiskSpool;
  logger?: Logger;
}

export type DropReason = 'spool_full' | 'too_large' | 'no_spool' | 'buffer_full' | 'spool_error' | 'closed';

export const EVENT_BREAKER_STATE = { closed: 0, halfOpen: 1, open: 2 } as const;

/** A FIFO over an array with a moving head: push and take are O(1) per record. */
class RecordQueue {
  private items: SpoolRecord[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(record: SpoolRecord): void {
    this.items.push(record);
  }

  take(n: number): SpoolRecord[] {
    const out = this.items.slice(this.head, this.head + n);
    this.head += out.length;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return out;
  }
}

/** What the flush loop is waiting for; decides which events wake it early. */
type Wait = 'idle' | 'linger' | 'hold' | 'pause';

function createMetrics(registry: Registry, state: { spool: DiskSpool | undefined; buffered: () => number }) {
  return {
    published: new Counter({
      name: 'driftgate_events_published_total',
      help: 'Events the bus accepted, by topic.',
      labelNames: ['topic'] as const,
      registers: [registry],
    }),
    failed: new Counter({
      name: 'driftgate_events_failed_total',
      help: 'Events in sends that failed or timed out (they are spooled and sent again), by topic.',
      labelNames: ['topic'] as const,
      registers: [registry],
    }),
    dropped: new Counter({
      name: 'driftgate_events_dropped_total',
      help: 'Events given up on, by reason (spool_full: oldest dropped past the spool bound).',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    spooled: new Gauge({
      name: 'driftgate_events_spooled',
      help: 'Events waiting in the on-disk spool.',
      registers: [registry],
      collect(this: Gauge) {
        this.set(state.spool?.size ?? 0);
      },
    }),
    spoolBytes: new Gauge({
      name: 'driftgate_events_spool_bytes',
      help: 'Bytes of the on-disk spool files.',
      registers: [registry],
      collect(this: Gauge) {
        this.set(state.spool?.bytes ?? 0);
      },
    }),
    buffered: new Gauge({
      name: 'driftgate_events_buffered',
      help: 'Events queued in memory for the next send.',
      registers: [registry],
      collect(this: Gauge) {
        this.set(state.buffered());
      },
    }),
    breakerState: new Gauge({
      name: 'driftgate_event_breaker_state',
      help: 'Circuit breaker around event publishing: 0 closed, 1 half-open, 2 open.',
      registers: [registry],
    }),
  };
}

export class EventPublisher {
  private readonly bus: EventBus;
  private readonly spool: DiskSpool | undefined;
  private readonly logger: Logger;
  private readonly settings: Required<PublisherOptions>;
  private readonly breaker: CircuitBreaker<[string, OutgoingMessage[]], void>;
  private readonly metrics: ReturnType<typeof createMetrics>;
  private readonly buffer = new RecordQueue();
  private waiting: Wait | undefined;
  private wakeUp: (() => void) | undefined;
  private spillScheduled = false;
  /** Records taken from the buffer whose send has not finished (spooled by close() if it must give up). */
  private inflight: SpoolRecord[] = [];
  private closing = false;
  /** Set by close(): the loop must not touch the spool any more, even when a send finishes later. */
  private stopped = false;
  private closePromise: Promise<void> | undefined;
  private readonly loop: Promise<void>;
  private readonly removeDropListener: (() => void) | undefined;

  constructor(deps: EventPublisherDeps) {
    this.bus = deps.bus;
    this.spool = deps.spool;
    this.logger = deps.logger ?? silentLogger;
    this.settings = {
      maxBatchSize: Math.max(1, deps.maxBatchSize ?? BATCH_DEFAULTS.publishBatchSize),
      lingerMs: Math.max(0, deps.lingerMs ?? 20),
      maxBuffered: Math.max(1, deps.maxBuffered ?? 10_000),
      sendTimeoutMs: deps.sendTimeoutMs ?? 10_000,
      breakerErrorPercent: deps.breakerErrorPercent ?? 50,
      breakerVolumeThreshold: deps.breakerVolumeThreshold ?? 1,
      breakerResetMs: deps.breakerResetMs ?? 5_000,
      retryDelayMs: deps.retryDelayMs ?? 1_000,
    };
    this.metrics = createMetrics(deps.registry, { spool: this.spool, buffered: () => this.buffer.length });
    this.removeDropListener = this.spool?.addDropListener((count, reason) => this.metrics.dropped.labels({ reason }).inc(count));

    const bus = this.bus;
    this.breaker = new CircuitBreaker((topic: string, messages: OutgoingMessage[]) => bus.publish(topic, messages), {
      name: 'event-bus',
      timeout: this.settings.sendTimeoutMs,
      errorThresholdPercentage: this.settings.breakerErrorPercent,
      volumeThreshold: this.settings.breakerVolumeThreshold,
      resetTimeout: this.settings.breakerResetMs,
    });
    this.metrics.breakerState.set(EVENT_BREAKER_STATE.closed);
    this.breaker.on('open', () => {
      this.metrics.breakerState.set(EVENT_BREAKER_STATE.open);
      this.logger.warn('event bus unreachable: breaker open, events go to the spool', { kind: bus.kind, spooled: this.spool?.size ?? 0 });
    });
    this.breaker.on('halfOpen', () => {
      this.metrics.breakerState.set(EVENT_BREAKER_STATE.halfOpen);
      this.wake(['idle', 'hold']);
    });
    this.breaker.on('close', () => {
      this.metrics.breakerState.set(EVENT_BREAKER_STATE.closed);
      this.logger.info('event bus reachable again: breaker closed', { kind: bus.kind, spooled: this.spool?.size ?? 0 });
      this.wake(['idle', 'hold']);
    });

    this.loop = this.run().catch((err: unknown) => {
      // Not expected: every step catches its own errors. Logged so it cannot pass silently.
      this.logger.error('event publisher loop failed; events stay in memory and spool', { error: describeError(err) });
    });
  }

  /**
   * Queues messages for `topic`. Synchronous, no I/O, O(1) per message; never throws for bus
   * trouble. After close() the messages are counted as dropped (reason `closed`).
   */
  enqueue(topic: string, messages: readonly OutgoingMessage[]): void {
    if (this.closing) {
      if (messages.length > 0) this.metrics.dropped.labels({ reason: 'closed' }).inc(messages.length);
      return;
    }
    const wasEmpty = this.buffer.length === 0;
    for (const message of messages) this.buffer.push({ topic, message });
    if (this.buffer.length > this.settings.maxBuffered && !this.spillScheduled) {
      // The spill writes to disk, so it runs on the next turn of the event loop, not in the caller.
      this.spillScheduled = true;
      setImmediate(() => this.spillOverflow());
    }
    if (wasEmpty) this.wake(['idle']);
    if (this.buffer.length >= this.settings.maxBatchSize) this.wake(['idle', 'linger']);
  }

  /** Messages waiting in memory. */
  get buffered(): number {
    return this.buffer.length;
  }

  /** Messages waiting in the spool. */
  get spooled(): number {
    return this.spool?.size ?? 0;
  }

  get breakerState(): keyof typeof EVENT_BREAKER_STATE {
    if (this.breaker.opened) return 'open';
    return this.breaker.halfOpen ? 'halfOpen' : 'closed';
  }

  /**
   * Sends what it can until `timeoutMs` passes, then puts everything unsent into the spool (so the
   * next start replays it) and closes the spool. Does not close the bus: the caller owns it.
   */
  close({ timeoutMs = 5_000 }: { timeoutMs?: number } = {}): Promise<void> {
    this.closePromise ??= this.shutdown(timeoutMs);
    return this.closePromise;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    this.closing = true;
    this.wake(['idle', 'linger', 'hold', 'pause']);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    this.stopped = true;
    const rest = [...this.inflight, ...this.buffer.take(this.buffer.length)];
    this.inflight = [];
    if (rest.length > 0) this.toSpool(rest, 'closed');
    this.breaker.shutdown();
    this.removeDropListener?.();
    try {
      this.spool?.close();
    } catch (err) {
      this.logger.error('event spool did not close cleanly', { error: describeError(err) });
    }
    if (rest.length > 0 || (this.spool?.size ?? 0) > 0) {
      this.logger.warn('event publisher closed with unsent events; the spool keeps them for the next start', {
        spooled: this.spool?.size ?? 0,
      });
    }
  }

  // ---- the flush loop -----------------------------------------------------------------------

  private async run(): Promise<void> {
    let lingered = false;
    for (;;) {
      if (this.stopped) return;
      const open = this.breaker.opened;
      if (!open && this.spool && this.spool.size > 0) {
        const sent = await this.replaySpool();
        // Closing with the bus still failing: the spool keeps the rest for the next start.
        if (!sent && this.closing) return;
        continue;
      }
      if (this.buffer.length === 0) {
        if (this.closing) return;
        await this.sleep('idle');
        continue;
      }
      if (!lingered && !this.closing && this.buffer.length < this.settings.maxBatchSize) {
        lingered = true;
        await this.sleep('linger', this.settings.lingerMs);
        continue;
      }
      lingered = false;
      if (this.breaker.opened) {
        if (this.spool) {
          this.toSpool(this.buffer.take(this.buffer.length), 'no_spool');
        } else {
          // No spool: keep them in memory (bounded by maxBuffered) until the breaker lets a trial through.
          if (this.closing) return;
          await this.sleep('hold');
        }
        continue;
      }
      await this.sendFromBuffer();
    }
  }

  private async sendFromBuffer(): Promise<void> {
    const batch = this.buffer.take(this.settings.maxBatchSize);
    this.inflight = batch;
    const unsent = await this.send(batch);
    if (this.stopped) return;
    this.inflight = [];
    if (unsent.length === 0) return;
    this.toSpool(unsent, 'no_spool');
    await this.pauseAfterFailure();
  }

  /** Sends the oldest spooled batch; true when it went through. */
  private async replaySpool(): Promise<boolean> {
    const spool = this.spool!;
    let batch: SpoolRecord[];
    try {
      batch = spool.peek(this.settings.maxBatchSize);
    } catch (err) {
      this.logger.error('event spool could not be read; retrying later', { error: describeError(err) });
      await this.pauseAfterFailure();
      return false;
    }
    if (batch.length === 0) {
      this.logger.error('event spool reports records but none are readable', { spooled: spool.size });
      await this.pauseAfterFailure();
      return false;
    }
    const unsent = await this.send(batch);
    if (this.stopped) return false;
    if (unsent.length > 0) {
      // All or nothing: acknowledging only the topics that went through would reorder the rest.
      // Those that did go through are sent again later (at least once, ids make that harmless).
      await this.pauseAfterFailure();
      return false;
    }
    try {
      spool.ack(batch.length);
    } catch (err) {
      this.logger.error('event spool could not record progress; records may be sent twice', { error: describeError(err) });
    }
    return true;
  }

  /** Sends a batch, one bus.publish per topic (order kept within a topic); returns the records not sent. */
  private async send(batch: SpoolRecord[]): Promise<SpoolRecord[]> {
    const byTopic = new Map<string, SpoolRecord[]>();
    for (const record of batch) {
      const list = byTopic.get(record.topic);
      if (list) list.push(record);
      else byTopic.set(record.topic, [record]);
    }
    const unsent: SpoolRecord[] = [];
    for (const [topic, records] of byTopic) {
      try {
        await this.breaker.fire(
          topic,
          records.map((r) => r.message),
        );
        this.metrics.published.labels({ topic }).inc(records.length);
      } catch (err) {
        unsent.push(...records);
        // A rejection by the open breaker is no attempt at all; only real failures count.
        if (breakerRejection(err) !== 'open') {
          this.metrics.failed.labels({ topic }).inc(records.length);
          this.logger.warn('event publish failed', { topic, count: records.length, error: describeError(err) });
        }
      }
    }
    return unsent;
  }

  /** Puts records into the spool; without a spool (or when it fails) they are counted as dropped. */
  private toSpool(records: SpoolRecord[], reasonWithoutSpool: DropReason): void {
    if (records.length === 0) return;
    if (!this.spool) {
      this.metrics.dropped.labels({ reason: reasonWithoutSpool }).inc(records.length);
      return;
    }
    try {
      this.spool.append(records);
    } catch (err) {
      this.metrics.dropped.labels({ reason: 'spool_error' }).inc(records.length);
      this.logger.error('event spool write failed; events dropped', { count: records.length, error: describeError(err) });
    }
  }

  /** Moves the oldest messages past the memory bound to the spool (or drops them without one). */
  private spillOverflow(): void {
    this.spillScheduled = false;
    if (this.stopped) return;
    const excess = this.buffer.length - this.settings.maxBuffered;
    if (excess <= 0) return;
    this.toSpool(this.buffer.take(excess), 'buffer_full');
  }

  private async pauseAfterFailure(): Promise<void> {
    // An open breaker does the waiting itself (until its trial send); otherwise pause briefly.
    if (this.closing || this.breaker.opened) return;
    await this.sleep('pause', this.settings.retryDelayMs);
  }

  private sleep(kind: Wait, ms?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        this.waiting = undefined;
        this.wakeUp = undefined;
        resolve();
      };
      if (ms !== undefined) timer = setTimeout(done, ms);
      this.waiting = kind;
      this.wakeUp = done;
    });
  }

  private wake(kinds: Wait[]): void {
    if (this.waiting !== undefined && kinds.includes(this.waiting)) this.wakeUp?.();
  }
}
