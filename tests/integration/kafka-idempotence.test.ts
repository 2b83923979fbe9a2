// The Kafka adapter publishes through an idempotent producer: every record batch it writes carries the
// producer id the broker gave it (with the batch's sequence number, that lets the broker drop a resent
// batch instead of writing it twice). Read back from the log, as kafkajs decodes each record batch,
// not from the adapter's settings; a producer that is not idempotent writes -1 there.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KafkaBus } from '../../src/core/bus/kafka.js';
import { KafkaThreadBus } from '../../src/core/bus/kafka-thread.js';
import type { EventBus } from '../../src/core/bus/types.js';
import { silentLogger } from '../../src/core/logger.js';
import { deleteTopicsAndGroups, kafkaBrokers, testKafka, uniqueTopic } from '../helpers/kafka.js';
import { waitFor } from '../helpers/wait.js';

const PARTITIONS = 3;
const RECORDS = 60;

/** The producer id of every record in `topic`, read by a kafkajs consumer from the start of the log. */
async function producerIds(brokers: string[], topic: string, groupId: string): Promise<bigint[]> {
  const consumer = testKafka(brokers, 'driftgate-idempotence-check').consumer({ groupId, maxWaitTimeInMs: 250 });
  const ids: bigint[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        // kafkajs keeps the record batch's header on each message it decoded from it
        const context = (message as unknown as { batchContext?: { producerId?: string | number } }).batchContext;
        ids.push(BigInt(context?.producerId ?? -1));
      },
    });
    await waitFor(`${RECORDS} records read back`, 30_000, () => ids.length >= RECORDS);
  } finally {
    await consumer.disconnect();
  }
  return ids;
}

const adapters: [string, (brokers: string[]) => EventBus][] = [
  ['KafkaBus', (brokers) => new KafkaBus({ brokers, clientId: 'driftgate-idempotence', kafkaLogLevel: 'nothing' })],
  ['KafkaThreadBus', (brokers) => new KafkaThreadBus({ kafkaBrokers: brokers, topicPrefix: 'unused', kafkaClientId: 'driftgate-idempotence' }, { logger: silentLogger })],
];

describe('the Kafka adapter publishes idempotently', () => {
  for (const [name, make] of adapters) {
    it(`${name}: every batch it writes carries one producer id`, { timeout: 90_000 }, async (t) => {
      const found = await kafkaBrokers();
      if ('skip' in found) return t.skip(found.skip);
      const topic = uniqueTopic('driftgate.idempotence');
      const groupId = uniqueTopic('driftgate-idempotence-check');
      const bus = make(found);
      t.after(async () => {
        await bus.close();
        await deleteTopicsAndGroups(found, { topics: [topic], groups: [groupId] });
      });
      await bus.ensureTopics([{ name: topic, partitions: PARTITIONS, replicationFactor: 1 }]);
      for (let round = 0; round < 3; round++) {
        await bus.publish(topic, Array.from({ length: RECORDS / 3 }, (_, i) => ({ key: `k-${round}-${i}`, value: `v-${round}-${i}` })));
      }
      const ids = await producerIds(found, topic, groupId);
      assert.equal(ids.length, RECORDS, 'every record once');
      for (const id of ids) assert.ok(id >= 0n, `producer id ${id}: the producer is not idempotent`);
      // One producer wrote them all: sends reuse it (it is replaced only after a failed send).
      assert.equal(new Set(ids).size, 1);
    });
  }
});
