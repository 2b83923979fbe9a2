// Publishing a transactional outbox: a store writes the messages it means to publish in the same
// transaction as the state they announce, and this sends them afterwards, oldest first, one publish
// per run of entries for the same topic (so each topic keeps the outbox's order), removing each run
// once the bus took it. A failure leaves the rest for the next call. The monitor and the retrainer
// both use it.
import type { EventBus, OutgoingMessage } from './bus/types.js';

export interface OutboxEntry {
  seq: number;
  topic: string;
  key: string;
  /** The OutgoingMessage as JSON. */
  value: string;
}

export interface OutboxStore {
  outbox(limit: number): OutboxEntry[];
  removeOutbox(upToSeq: number): void;
}

/** Sends everything the outbox holds; throws (leaving the unsent entries) when the bus refuses. */
export async function drainOutbox(store: OutboxStore, bus: EventBus, pageSize = 500): Promise<void> {
  for (;;) {
    const entries = store.outbox(pageSize);
    const first = entries[0];
    if (!first) return;
    const end = entries.findIndex((e) => e.topic !== first.topic);
    const run = end === -1 ? entries : entries.slice(0, end);
    await bus.publish(first.topic, run.map((e) => JSON.parse(e.value) as OutgoingMessage));
    store.removeOutbox(run[run.length - 1]!.seq);
  }
}
