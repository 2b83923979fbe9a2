// How the Kafka adapter hands a kafkajs batch to a subscriber: in chunks, each committed only after
// the handler resolved, with a bounded in-place retry so one bad chunk can neither stall a partition
// nor loop forever.
import { setTimeout as sleep } from 'node:timers/promises';
import type { EachBatchPayload } from 'kafkajs';
import { describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { toBusMessage } from './kafka-messages.js';
import { redeliveryDelay } from './types.js';
import type { DeliveryFailure, SubscribeOptions } from './types.js';

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
 * One handler call per chunk of the kafkajs batch. A chunk is committed only after the handler
 * resolved; a failing chunk is retried here (with heartbeats, so the group keeps the member)
 * and skipped with a report after maxAttempts. When the consumer stops or the partition moves
 * to another member meanwhile, nothing is committed and the new owner gets the chunk again.
 */
export async function consumeInChunks(
  opts: SubscribeOptions,
  payload: EachBatchPayload,
  settings: ChunkSettings,
  report: (failure: DeliveryFailure) => void,
): Promise<void> {
  const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, uncommittedOffsets, isRunning, isStale } = payload;
  const active = () => isRunning() && !isStale();
  const { maxBatchSize, maxAttempts, retryBackoffMs, maxRetryBackoffMs } = settings;
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
          report({
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
        await pause(redeliveryDelay(attempt, retryBackoffMs, maxRetryBackoffMs), settings.heartbeatIntervalMs, heartbeat, active);
        if (!active()) return;
      }
    }
    resolveOffset(last);
    await commitOffsetsIfNecessary(uncommittedOffsets());
    await heartbeat();
  }
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
