// One subscription of the Kafka adapter, kept alive over a succession of kafkajs consumers.
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { FirstFetch, RestartPacing } from './kafka-bus-parts.js';
import type { SubscribeOptions } from './types.js';

const ignore = () => undefined;

export interface SubscriptionDeps {
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
export class KafkaSubscription {
  private consumer: Consumer | undefined;
  private stopped = false;
  private readonly restarts = new RestartPacing();
  /** The first fetch of any of this subscription's consumers. */
  private readonly firstFetch = new FirstFetch();

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
      this.restarts.succeeded();
      this.firstFetch.reached();
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

  /** Waits up to `timeoutMs` for the first fetch after the group join (FirstFetch.wait). */
  awaitFirstFetch(timeoutMs: number): Promise<void> {
    return this.firstFetch.wait(timeoutMs, this.deps.logger, this.opts.groupId);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.restarts.cancel();
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
    this.restarts.schedule(this.deps.logger, fields, () => {
      if (this.stopped) return;
      this.start().catch((err: unknown) => {
        if (!this.stopped) this.scheduleRestart({ groupId: this.opts.groupId, error: describeError(err) });
      });
    });
  }
}
