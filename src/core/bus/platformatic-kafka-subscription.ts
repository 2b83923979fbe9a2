// One subscription of the @platformatic/kafka adapter: a consumer in the group, its message stream
// read in batches and handed over per partition (kafka-batch.ts), and a new consumer after a
// failure, so the subscription outlives a broker restart.
import type { Consumer, Message, MessagesStream } from '@platformatic/kafka';
import { describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { deliverInChunks } from './kafka-batch.js';
import { closeForced } from './platformatic-kafka-client.js';
import type { ChunkSettings } from './kafka-batch.js';
import { FirstFetch, RestartPacing, lazyBusMessage } from './kafka-bus-parts.js';
import type { BusMessage, DeliveryFailure, SubscribeOptions } from './types.js';

const ignore = () => undefined;
const noHeartbeat = () => Promise.resolve();

export interface PlatformaticSubscriptionDeps {
  /** A new consumer of the subscription's group (not yet joined). */
  createConsumer: () => Consumer;
  /** Longest a fetch waits for new messages, in ms. */
  maxWaitTimeMs: number;
  settings: ChunkSettings;
  report: (failure: DeliveryFailure) => void;
  logger: Logger;
}

function headerValues(headers: Map<Buffer, Buffer>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headers) out[name.toString()] = value.toString();
  return out;
}

function toBusMessage(m: Message): BusMessage {
  return lazyBusMessage(m.topic, m.partition, m.offset.toString(), m.key, m.value, m.headers, headerValues);
}

/** The stream's messages by partition, each list in offset order. */
function byPartition(messages: Message[]): BusMessage[][] {
  const groups = new Map<string, BusMessage[]>();
  for (const m of messages) {
    const key = `${m.topic}:${m.partition}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(toBusMessage(m));
  }
  return [...groups.values()];
}

function owns(consumer: Consumer, topic: string, partition: number): boolean {
  return consumer.assignments?.some((a) => a.topic === topic && a.partitions.includes(partition)) ?? false;
}

export class PlatformaticSubscription {
  private consumer: Consumer | undefined;
  private stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  private loop: Promise<void> = Promise.resolve();
  private wake: () => void = ignore;
  private stopped = false;
  private readonly restarts = new RestartPacing();
  /** Reached once the first consumer has its start offsets (or has fetched). */
  private readonly firstFetch = new FirstFetch();

  constructor(
    private readonly opts: SubscribeOptions,
    private readonly deps: PlatformaticSubscriptionDeps,
  ) {}

  /**
   * Starts the first consumer. A failure to join (a broker that just started has no group
   * coordinator yet) is retried like any later failure, so this never throws; awaitFirstFetch
   * bounds the wait.
   */
  begin(): void {
    this.start().catch((err: unknown) => {
      if (!this.stopped) this.scheduleRestart({ groupId: this.opts.groupId, error: describeError(err) });
    });
  }

  private async start(): Promise<void> {
    const consumer = this.deps.createConsumer();
    this.consumer = consumer;
    consumer.on('error', (err: unknown) => this.failed(consumer, err));
    let stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>;
    try {
      // Joins the group first, then reads each assigned partition from the group's commit, or
      // from the start or the end of the log when the group has none.
      stream = await consumer.consume({
        topics: this.opts.topics,
        mode: 'committed',
        fallbackMode: this.opts.fromBeginning ? 'earliest' : 'latest',
        autocommit: false,
        maxWaitTime: this.deps.maxWaitTimeMs,
        highWaterMark: this.deps.settings.maxBatchSize,
      });
    } catch (err) {
      await closeForced(consumer).catch(ignore);
      throw err;
    }
    if (this.stopped || this.consumer !== consumer) {
      await closeForced(consumer).catch(ignore);
      return;
    }
    this.stream = stream;
    const ready = () => {
      this.restarts.succeeded();
      this.firstFetch.reached();
    };
    stream.on('offsets', ready);
    stream.on('fetch', ready);
    stream.on('error', (err: unknown) => this.failed(consumer, err));
    // A 'readable' listener keeps the stream paused, so it fetches only as fast as batches are handled.
    stream.on('readable', () => this.wake());
    stream.on('close', () => this.wake());
    this.loop = this.run(consumer, stream).catch((err: unknown) => this.failed(consumer, err));
  }

  /**
   * Waits up to `timeoutMs` until the consumer knows where it starts on its partitions (its stream
   * has listed the offsets), so that "latest" means "latest when subscribe() resolved".
   */
  awaitFirstFetch(timeoutMs: number): Promise<void> {
    return this.firstFetch.wait(timeoutMs, this.deps.logger, this.opts.groupId);
  }

  /** Stops delivery after the chunk in progress, then leaves the group. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.restarts.cancel();
    this.wake();
    await this.loop;
    await this.release();
  }

  private async run(consumer: Consumer, stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>): Promise<void> {
    const current = () => !this.stopped && this.consumer === consumer && !stream.destroyed;
    while (current()) {
      const ready: Message[] = [];
      for (let m: Message | null; (m = stream.read() as Message | null) !== null; ) ready.push(m);
      if (ready.length === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      for (const messages of byPartition(ready)) {
        const { topic, partition } = messages[0]!;
        const active = () => current() && owns(consumer, topic, partition);
        if (!active()) {
          this.rewind(stream, topic, partition, messages[0]!.offset);
          continue;
        }
        await deliverInChunks(
          this.opts,
          {
            topic,
            partition,
            messages,
            active,
            heartbeat: noHeartbeat, // the client heartbeats on its own timer
            commit: (last) => consumer.commit({ offsets: [{ topic, partition, offset: BigInt(last) + 1n, leaderEpoch: -1 }] }),
          },
          this.deps.settings,
          this.deps.report,
        );
      }
    }
  }

  /**
   * Messages of a partition this member no longer owns are dropped unhandled. Should the partition
   * come back before anyone commits, the stream would resume after them; moving its position back
   * makes it read them again instead.
   */
  private rewind(stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>, topic: string, partition: number, offset: string): void {
    const key = `${topic}:${partition}`;
    const position = stream.offsetsToFetch.get(key);
    if (position === undefined || position > BigInt(offset)) stream.offsetsToFetch.set(key, BigInt(offset));
  }

  private async release(): Promise<void> {
    const consumer = this.consumer;
    const stream = this.stream;
    this.stream = undefined;
    await stream?.close().catch(ignore);
    // force: closes what streams are left and leaves the group; a broker that is down makes it fail,
    // and then there is nothing left to leave.
    if (consumer) await closeForced(consumer).catch(ignore);
  }

  private failed(consumer: Consumer, error: unknown): void {
    if (this.stopped || consumer !== this.consumer) return;
    this.consumer = undefined;
    this.wake();
    const stream = this.stream;
    this.stream = undefined;
    void stream?.close().catch(ignore);
    void closeForced(consumer).catch(ignore);
    this.scheduleRestart({ groupId: this.opts.groupId, error: describeError(error) });
  }

  private scheduleRestart(fields: Record<string, unknown>): void {
    this.restarts.schedule(this.deps.logger, fields, () => {
      if (!this.stopped) this.begin();
    });
  }
}
