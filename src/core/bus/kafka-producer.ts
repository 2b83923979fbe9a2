// The Kafka adapter's producer: idempotent, acks=all, one send at a time, and replaced after any
// failed send.
import { Partitioners } from 'kafkajs';
import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from '../logger.js';
import { SendQueue } from './kafka-bus-parts.js';
import { LazyConnection } from './kafka-connection.js';
import { logDisconnect } from './kafka-messages.js';
import type { OutgoingMessage } from './types.js';

export class KafkaSender {
  private readonly producer: LazyConnection<Producer>;
  /** Sends run one after another: concurrent sends on an idempotent producer break (kafkajs#598). */
  private readonly sends = new SendQueue();

  constructor(
    kafka: Kafka,
    private readonly logger: Logger,
  ) {
    this.producer = new LazyConnection(() =>
      kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        // Java-compatible murmur2: the partition a key gets matches Java clients and EmbeddedBus.
        createPartitioner: Partitioners.DefaultPartitioner,
      }),
    );
  }

  publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    return this.sends.run(() => this.send(topic, messages));
  }

  /** Waits for the sends in progress, then disconnects the producer. */
  async close(): Promise<void> {
    await this.sends.idle();
    const producer = await this.producer.current();
    await producer?.disconnect().catch((err: unknown) => logDisconnect(this.logger, 'producer', err));
  }

  private async send(topic: string, messages: OutgoingMessage[]): Promise<void> {
    const producer = await this.producer.get();
    try {
      await producer.send({
        topic,
        acks: -1,
        messages: messages.map((m) => ({ key: m.key, value: m.value, ...(m.headers ? { headers: m.headers } : {}) })),
      });
    } catch (err) {
      await this.discard(producer);
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
  private async discard(producer: Producer): Promise<void> {
    if (!(await this.producer.forget(producer))) return;
    await producer.disconnect().catch((err: unknown) => logDisconnect(this.logger, 'producer', err));
  }
}
