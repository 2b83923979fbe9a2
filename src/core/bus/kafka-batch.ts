// How the Kafka adapters hand a fetched batch to a subscriber: in chunks, each committed only after
// the handler resolved, with a bounded in-place retry so one bad chunk can neither stall a partition
// nor loop forever. `deliverInChunks` knows no client library; `consumeInChunks` feeds it kafkajs batches.
import { setTimeout as sleep } from 'node:timers/promises';
import type { EachBatchPayload } from 'kafkajs';
import { describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { toBusMessage } from './kafka-messages.js';
import { redeliveryDelay } from './types.js';
import type { BusMessage, DeliveryFailure, SubscribeOptions } from './types.js';

export interface ChunkSettings {
  /** Most messages handed to one handler call. */
  maxBatchSize: number;
  maxAttempts: number;
  retryBackoffMs: number;
  maxRetryBackoffMs: number;
  /** Longest pause between two heartbeats while waiting to redeliver. */
  heartbeatIntervalMs: number;
}

/**
 * One partition's fetched messages as either Kafka adapter sees them: where they came from, whether
 * they are still this member's to handle, and how to commit after a handled chunk.
 */
export interface ChunkSource {
  topic: string;
  partition: number;
  messages: BusMessage[];
  /** False once the consumer stops or the partition moved to another member. */
  active: () => boolean;
  /** Keeps the group membership alive during a long backoff (a no-op for clients that heartbeat by themselves). */
  heartbeat: () => Promise<void>;
  /** Commits everything up to and including `lastOffset`. */
  commit: (lastOffset: string) => Promise<void>;
}

/**
 * One handler call per chunk of at most maxBatchSize messages. A chunk is committed only after the
 * handler resolved; a failing chunk is retried here (with heartbeats, so the group keeps the
 * member) and skipped with a report after maxAttempts. When the consumer stops or the partition
 * moves to another member meanwhile, nothing is committed and the new owner gets the chunk again.
 */
export async function deliverInChunks(
  opts: SubscribeOptions,
  source: ChunkSource,
  settings: ChunkSettings,
  report: (failure: DeliveryFailure) => void,
): Promise<void> {
  const { topic, partition, active, heartbeat } = source;
  const { maxBatchSize, maxAttempts, retryBackoffMs, maxRetryBackoffMs } = settings;
  for (let start = 0; start < source.messages.length; start += maxBatchSize) {
    if (!active()) return;
    const messages = source.messages.slice(start, start + maxBatchSize);
    const first = messages[0]!.offset;
    const last = messages[messages.length - 1]!.offset;
    for (let attempt = 1; ; attempt++) {
      try {
        await opts.handle(messages);
        break;
      } catch (error) {
        if (!active()) return;
        if (attempt >= maxAttempts) {
          report({ groupId: opts.groupId, topic, partition, firstOffset: first, lastOffset: last, count: messages.length, attempts: attempt, error });
          break;
        }
        await pause(redeliveryDelay(attempt, retryBackoffMs, maxRetryBackoffMs), settings.heartbeatIntervalMs, heartbeat, active);
        if (!active()) return;
      }
    }
    await source.commit(last);
    await heartbeat();
  }
}

/** A kafkajs batch through deliverInChunks, committed through kafkajs' offset resolution. */
export async function consumeInChunks(
  opts: SubscribeOptions,
  payload: EachBatchPayload,
  settings: ChunkSettings,
  report: (failure: DeliveryFailure) => void,
): Promise<void> {
  const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, uncommittedOffsets, isRunning, isStale } = payload;
  const source: ChunkSource = {
    topic: batch.topic,
    partition: batch.partition,
    messages: batch.messages.map((m) => toBusMessage(batch.topic, batch.partition, m)),
    active: () => isRunning() && !isStale(),
    heartbeat,
    commit: async (lastOffset) => {
      resolveOffset(lastOffset);
      await commitOffsetsIfNecessary(uncommittedOffsets());
    },
  };
  await deliverInChunks(opts, source, settings, report);
}

/** Waits before a redelivery, heartbeating so a long backoff does not cost the group membership. */
async function pause(ms: number, heartbeatIntervalMs: number, heartbeat: () => Promise<void>, active: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (active() && Date.now() < until) {
    await sleep(Math.min(until - Date.now(), heartbeatIntervalMs));
    await heartbeat();
  }
}

/** Tells the subscriber's hook (else the bus's, else the log) that a chunk was skipped. */
export function reportSkipped(hook: SubscribeOptions['onError'], logger: Logger, failure: DeliveryFailure): void {
  if (!hook) {
    logger.error('handler kept failing; batch skipped', { ...failure, error: describeError(failure.error) });
    return;
  }
  try {
    hook(failure);
  } catch (err) {
    logger.error('bus onError hook threw', { error: describeError(err) });
  }
}
