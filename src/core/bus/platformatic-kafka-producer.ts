// The @platformatic/kafka adapter's producer: idempotent, acks=all, one send at a time, replaced
// after any failed send, and partitioning keys the way Java clients and EmbeddedBus do.
import { Producer } from '@platformatic/kafka';
import type { MessageToProduce } from '@platformatic/kafka';
import { describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { SendQueue } from './kafka-bus-parts.js';
import { closeForced } from './platformatic-kafka-client.js';
import type { PlatformaticClientSettings } from './platformatic-kafka-client.js';
import { murmur2 } from './types.js';
import type { OutgoingMessage } from './types.js';

const ignore = () => undefined;

/**
 * Java's partitioner before the modulo, which the producer applies with the topic's partition
 * count: so the partition equals partitionForKey. The library's own default partitioner keeps
 * the sign bit (`>>> 0` instead of `& 0x7fffffff`), which sends about half the keys elsewhere.
 */
export function javaKeyPartition(_message: MessageToProduce, key: Buffer | undefined): number {
  return key ? murmur2(key) & 0x7fffffff : 0;
}

export class PlatformaticSender {
  private producer: Producer | undefined;
  /** One send at a time: the idempotent producer's sequence numbers assume it (maxInflights 1). */
  private readonly sends = new SendQueue();

  constructor(
    private readonly client: PlatformaticClientSettings,
    private readonly logger: Logger,
  ) {}

  publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    return this.sends.run(() => this.send(topic, messages));
  }

  /** Waits for the sends in progress, then closes the producer. */
  async close(): Promise<void> {
    await this.sends.idle();
    const producer = this.producer;
    this.producer = undefined;
    await (producer ? closeForced(producer) : Promise.resolve()).catch((err: unknown) => this.logger.warn('Kafka producer did not close cleanly', { error: describeError(err) }));
  }

  private current(): Producer {
    if (this.producer) return this.producer;
    const producer = new Producer({
      ...this.client,
      idempotent: true,
      acks: -1,
      autocreateTopics: false,
      partitioner: javaKeyPartition,
    });
    // Without a listener an 'error' event would end the process; a failed send rejects anyway.
    producer.on('error', (err: unknown) => this.logger.warn('Kafka producer error', { error: describeError(err) }));
    this.producer = producer;
    return producer;
  }

  private async send(topic: string, messages: OutgoingMessage[]): Promise<void> {
    const producer = this.current();
    try {
      await producer.send({
        messages: messages.map((m) => ({
          topic,
          key: Buffer.from(m.key),
          value: Buffer.from(m.value),
          ...(m.headers ? { headers: headerBuffers(m.headers) } : {}),
        })),
      });
    } catch (err) {
      this.discard(producer);
      throw err;
    }
  }

  /**
   * After a failed send the producer's sequence numbers cannot be trusted: they advance only on
   * success, yet the broker may have written the batch (a timeout, a connection lost after the
   * write), so the next batch would reuse them and be dropped as a duplicate while reported as
   * written. A new producer gets a new producer id: a resent batch can be duplicated, never lost.
   */
  private discard(producer: Producer): void {
    if (this.producer !== producer) return;
    this.producer = undefined;
    closeForced(producer).catch(ignore);
  }
}

function headerBuffers(headers: Record<string, string>): Map<Buffer, Buffer> {
  const out = new Map<Buffer, Buffer>();
  for (const [name, value] of Object.entries(headers)) out.set(Buffer.from(name), Buffer.from(value));
  return out;
}
