// The two places where PlatformaticKafkaBus replaces the client's own choice: the key partitioner
// (Java's, as partitionForKey and EmbeddedBus use) and the group assignor (co-partitioned).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultPartitioner } from '@platformatic/kafka';
import type { ClusterMetadata, ExtendedGroupProtocolSubscription } from '@platformatic/kafka';
import { coPartitionAssignments } from '../../src/core/bus/platformatic-kafka.js';
import { javaKeyPartition } from '../../src/core/bus/platformatic-kafka-producer.js';
import { partitionForKey } from '../../src/core/bus/types.js';

const keys = Array.from({ length: 2000 }, (_, i) => `pred-${i}-${(i * 7919).toString(36)}`);

describe('PlatformaticKafkaBus partitioner', () => {
  it('puts every key on the partition partitionForKey gives (Java murmur2), for 1 to 12 partitions', () => {
    for (let partitions = 1; partitions <= 12; partitions++) {
      for (const key of keys) {
        const raw = javaKeyPartition({ topic: 't' }, Buffer.from(key));
        // the producer applies the modulo with the topic's partition count
        assert.equal(raw % partitions, partitionForKey(key, partitions), `${key} on ${partitions} partitions`);
      }
    }
  });

  it('differs from the client default, which keeps the sign bit (why the bus sets its own)', () => {
    const differing = keys.filter((key) => defaultPartitioner({ topic: 't' }, Buffer.from(key)) % 3 !== partitionForKey(key, 3));
    assert.ok(differing.length > 0);
  });
});

describe('PlatformaticKafkaBus co-partition assignor', () => {
  it('gives partition p of every topic to member p mod n of the sorted member ids', () => {
    const members = new Map<string, ExtendedGroupProtocolSubscription>(['m-b', 'm-a'].map((memberId) => [memberId, { memberId, version: 0 }]));
    const topic = (partitionsCount: number) => ({ id: '', partitions: [], partitionsCount, lastUpdate: 0 });
    const metadata = { topics: new Map([['predictions', topic(5)], ['labels', topic(5)]]) } as unknown as ClusterMetadata;
    const out = new Map(coPartitionAssignments('m-a', members, new Set(['predictions', 'labels']), metadata).map((m) => [m.memberId, Object.fromEntries([...m.assignments].map(([t, a]) => [t, a.partitions]))]));
    assert.deepEqual(out.get('m-a'), { predictions: [0, 2, 4], labels: [0, 2, 4] });
    assert.deepEqual(out.get('m-b'), { predictions: [1, 3], labels: [1, 3] });
  });
});
