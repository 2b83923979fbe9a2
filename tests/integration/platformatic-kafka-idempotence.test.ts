// Both Kafka adapters publish through an idempotent producer: the broker holds every record batch
// they write with the producer id the broker gave it (with the batch's sequence number, this lets
// the broker drop a resent batch instead of writing it twice). Read here from the log itself (a raw fetch of the record batches),
// not from either adapter's settings.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Consumer } from '@platformatic/kafka';
import type { RecordsBatch } from '@platformatic/kafka';
import { KafkaBus } from '../../src/core/bus/kafka.js';
import { PlatformaticKafkaBus } from '../../src/core/bus/platformatic-kafka.js';
import type { EventBus } from '../../src/core/bus/types.js';
import { kafkaBrokers, uniqueTopic } from '../helpers/kafka.js';

const PARTITIONS = 3;

/** Every record batch of `topic`, partition by partition, fetched from offset 0 outside any group. */
async function recordBatches(brokers: string[], topic: string): Promise<RecordsBatch[]> {
  const reader = new Consumer({ clientId: 'driftgate-idempotence-check', groupId: uniqueTopic('driftgate-idempotence'), bootstrapBrokers: brokers });
  try {
    const metadata = await reader.metadata({ topics: [topic], forceUpdate: true });
    const info = metadata.topics.get(topic)!;
    const batches: RecordsBatch[] = [];
    for (let partition = 0; partition < info.partitionsCount; partition++) {
      const response = await reader.fetch({
        node: info.partitions[partition]!.leader,
        topics: [{ topicId: info.id, partitions: [{ partition, fetchOffset: 0n, currentLeaderEpoch: -1, lastFetchedEpoch: -1, partitionMaxBytes: 1 << 20 }] }],
        maxWaitTime: 100,
      });
      for (const t of response.responses) for (const p of t.partitions) batches.push(...(p.records ?? []));
    }
    return batches;
  } finally {
    await reader.close();
  }
}

const adapters: [string, (brokers: string[]) => EventBus][] = [
  ['KafkaBus (kafkajs)', (brokers) => new KafkaBus({ brokers, clientId: 'driftgate-idempotence', kafkaLogLevel: 'nothing' })],
  ['PlatformaticKafkaBus', (brokers) => new PlatformaticKafkaBus({ brokers, clientId: 'driftgate-idempotence' })],
];

describe('Kafka adapters publish idempotently', () => {
  const buses: EventBus[] = [];
  after(async () => {
    for (const bus of buses) await bus.close().catch(() => undefined);
  });

  for (const [name, make] of adapters) {
    it(`${name}: every batch it writes carries a producer id`, { timeout: 60_000 }, async (t) => {
      const found = await kafkaBrokers();
      if ('skip' in found) return t.skip(found.skip);
      const bus = make(found);
      buses.push(bus);
      const topic = uniqueTopic('driftgate.idempotence');
      await bus.ensureTopics([{ name: topic, partitions: PARTITIONS, replicationFactor: 1 }]);
      for (let round = 0; round < 3; round++) {
        await bus.publish(topic, Array.from({ length: 20 }, (_, i) => ({ key: `k-${round}-${i}`, value: `v-${round}-${i}` })));
      }
      const batches = await recordBatches(found, topic);
      assert.equal(batches.reduce((sum, b) => sum + b.records.length, 0), 60, 'all 60 records, once each');
      for (const batch of batches) {
        // A producer that is not idempotent writes -1 here (its sequence numbers are not checked).
        assert.ok(batch.producerId >= 0n, `batch at ${batch.firstOffset} has producer id ${batch.producerId}`);
      }
      // One producer wrote them all: the sends reused it (it is replaced only after a failed send).
      assert.equal(new Set(batches.map((b) => b.producerId)).size, 1);
      await bus.close();
    });
  }
});
