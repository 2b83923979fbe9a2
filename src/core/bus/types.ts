// The event bus port. Two adapters implement it: KafkaBus (several processes, real Kafka) and
// EmbeddedBus (one process, the `npm start` default). Both share the contract suite in
// tests/helpers/bus-contract.ts, so code above the port cannot tell them apart except by `kind`.

export interface OutgoingMessage {
  key: string;
  value: string;
  headers?: Record<string, string>;
}

export interface BusMessage {
  topic: string;
  partition: number;
  /** Kafka offsets are 64-bit, so they travel as decimal strings. */
  offset: string;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
}

/** A batch the handler kept failing on and that the adapter skipped so the group does not stall. */
export interface DeliveryFailure {
  groupId: string;
  topic: string;
  partition: number;
  firstOffset: string;
  lastOffset: string;
  count: number;
  attempts: number;
  error: unknown;
}

export interface SubscribeOptions {
  groupId: string;
  topics: string[];
  /** Where a group without a committed offset starts: earliest (true) or latest (false). @defaultValue false */
  fromBeginning?: boolean;
  /** at-least-once: offsets of a batch are committed only after this resolves */
  handle: (messages: BusMessage[]) => Promise<void>;
  /**
   * The handler's work runs on another thread (it only waits on this one): the embedded bus then
   * hands it batches of up to its maximum size instead of sizing them so that a call holds this
   * thread's event loop for about its delivery budget. Kafka ignores it. @defaultValue false
   */
  offThread?: boolean;
  /**
   * Called when a batch is skipped after the adapter's bounded retries; the adapter's own
   * `onError` (or a log line) is used when this is unset.
   */
  onError?: (failure: DeliveryFailure) => void;
}

export interface Subscription {
  /** Stops delivery; resolves after the batch in progress (if any) has finished. */
  stop(): Promise<void>;
}

export interface TopicSpec {
  name: string;
  partitions: number;
  replicationFactor: number;
}

/**
 * How far one consumer group is behind on one partition. Offsets are decimal strings like
 * BusMessage.offset; `lag` is a number because a backlog never nears 2^53 messages.
 */
export interface PartitionLag {
  topic: string;
  partition: number;
  /** next offset to be written */
  endOffset: string;
  /** the group's committed offset, or null when it has none */
  committedOffset: string | null;
  /**
   * messages not yet committed by the group: end − committed (end − start, the whole retained
   * log, when nothing is committed). Like Kafka's own tools, a commit older than the retained log
   * still counts from the commit; never negative.
   */
  lag: number;
}

export interface EventBus {
  readonly kind: 'kafka' | 'embedded';
  /** Creates missing topics; topics that exist already are left as they are. */
  ensureTopics(topics: TopicSpec[]): Promise<void>;
  /** Resolves when the messages are durably accepted (acks=all for Kafka). Same key, same partition. */
  publish(topic: string, messages: OutgoingMessage[]): Promise<void>;
  subscribe(opts: SubscribeOptions): Promise<Subscription>;
  /**
   * The group's lag on every partition of `topics`, by topic in the order given, then by partition.
   * Reads offsets only: it neither joins the group nor moves its commits, so it works while the
   * group's members run and for a group that never consumed. Topics that do not exist give no
   * rows. Rejects when the offsets cannot be read (a broker that is down).
   */
  consumerLag(groupId: string, topics: string[]): Promise<PartitionLag[]>;
  /** Stops every subscription, then releases the adapter's connections. */
  close(): Promise<void>;
}

/** How an adapter retries a batch whose handler throws before it skips the batch. */
export interface RedeliveryOptions {
  /** Deliveries of one batch before it is skipped and reported. @defaultValue 5 */
  maxAttempts?: number | undefined;
  /** Wait before the first redelivery, doubled after each failure. @defaultValue 200 */
  retryBackoffMs?: number;
  /** Upper bound of that wait. @defaultValue 5000 */
  maxRetryBackoffMs?: number;
  /** Called for every skipped batch (unless the subscription has its own `onError`). */
  onError?: (failure: DeliveryFailure) => void;
}

export const REDELIVERY_DEFAULTS = { maxAttempts: 5, retryBackoffMs: 200, maxRetryBackoffMs: 5000 } as const;

/**
 * Batch sizes of the bus, the one place their defaults are written: the adapters and the publisher
 * fall back to them, and the configuration's DRIFTGATE_CONSUMER_BATCH_SIZE and
 * DRIFTGATE_PUBLISH_BATCH_SIZE default to them.
 */
export const BATCH_DEFAULTS = {
  /** Most messages handed to one consumer handler call (one monitor transaction). */
  consumerBatchSize: 2000,
  /** Messages in one publisher send (one broker round trip with acks=all). */
  publishBatchSize: 2000,
} as const;

/**
 * One partition's lag row from its retained log (`startOffset` up to `endOffset`, exclusive) and
 * the group's commit there, if any. Both adapters build their rows with it, so they count alike.
 */
export function partitionLag(
  topic: string,
  partition: number,
  offsets: { startOffset: string; endOffset: string; committedOffset: string | null },
): PartitionLag {
  const from = BigInt(offsets.committedOffset ?? offsets.startOffset);
  const behind = BigInt(offsets.endOffset) - from;
  return {
    topic,
    partition,
    endOffset: offsets.endOffset,
    committedOffset: offsets.committedOffset,
    lag: behind > 0n ? Number(behind) : 0,
  };
}

/** The wait before redelivery number `failures` (1-based). */
export function redeliveryDelay(failures: number, base: number, max: number): number {
  return Math.min(max, base * 2 ** Math.max(0, failures - 1));
}

/**
 * Kafka's default partitioner for keyed records: murmur2 of the key's UTF-8 bytes, made positive,
 * modulo the partition count. Both adapters use it, so a key maps to the same partition number
 * in the embedded bus as in Kafka (and as with the Java client).
 */
export function partitionForKey(key: string, partitions: number): number {
  return (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions;
}

/** MurmurHash2, 32-bit, with the seed Kafka uses. */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = (0x9747b28c ^ length) | 0;
  const whole = length - (length % 4);
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = length % 4;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) {
    h ^= data[whole]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}
