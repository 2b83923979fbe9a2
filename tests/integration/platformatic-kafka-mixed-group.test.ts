// A group whose members run different Kafka clients, as during a rolling switch from KafkaBus
// (kafkajs) to PlatformaticKafkaBus: both offer only the co-partition assignor by the same name,
// so whichever member leads, partition p of every topic stays on one member and a prediction meets
// its label.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { KafkaBus } from '../../src/core/bus/kafka.js';
import { PlatformaticKafkaBus } from '../../src/core/bus/platformatic-kafka.js';
import type { BusMessage, EventBus } from '../../src/core/bus/types.js';
import { kafkaBrokers, uniqueTopic } from '../helpers/kafka.js';
import { waitFor } from '../helpers/wait.js';

const timing = { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, maxWaitTimeMs: 250 };

describe('a consumer group of KafkaBus and PlatformaticKafkaBus members', () => {
  const buses: EventBus[] = [];
  after(async () => {
    for (const bus of buses) await bus.close().catch(() => undefined);
  });

  for (const leaderFirst of ['kafkajs', 'platformatic'] as const) {
    it(`keeps equal partition numbers together when the ${leaderFirst} member joins first`, { timeout: 90_000 }, async (t) => {
      const found = await kafkaBrokers();
      if ('skip' in found) return t.skip(found.skip);
      const kafkajs = new KafkaBus({ ...timing, brokers: found, clientId: 'driftgate-mixed', kafkaLogLevel: 'nothing' });
      const platformatic = new PlatformaticKafkaBus({ ...timing, brokers: found, clientId: 'driftgate-mixed' });
      const members = leaderFirst === 'kafkajs' ? [kafkajs, platformatic] : [platformatic, kafkajs];
      buses.push(...members);
      const [left, right] = [uniqueTopic('driftgate.mixed-left'), uniqueTopic('driftgate.mixed-right')];
      await kafkajs.ensureTopics([left, right].map((name) => ({ name, partitions: 4, replicationFactor: 1 })));
      const groupId = uniqueTopic('driftgate-mixed');
      const got: BusMessage[][] = [[], []];
      for (const [i, bus] of members.entries()) {
        await bus.subscribe({ groupId, topics: [left, right], handle: async (batch) => void got[i]!.push(...batch) });
      }
      // Until the group has settled with both members, one of them may hold every partition.
      let round = 0;
      await waitFor('both members to receive', 60_000, async () => {
        if (got.every((g) => g.length > 0)) return true;
        await kafkajs.publish(left, Array.from({ length: 12 }, (_, i) => ({ key: `warm${round}-${i}`, value: 'w' })));
        round++;
        return false;
      }, 300);
      const before = got.map((g) => g.length);
      const pairs = Array.from({ length: 40 }, (_, i) => ({ key: `pair${i}`, value: 'p' }));
      await kafkajs.publish(left, pairs);
      await platformatic.publish(right, pairs);
      const fresh = (i: number) => got[i]!.slice(before[i]).filter((m) => m.key?.startsWith('pair'));
      await waitFor('every pair', 30_000, () => fresh(0).length + fresh(1).length >= 80);
      for (const { key } of pairs) {
        const owners = [left, right].map((topic) => [0, 1].filter((i) => fresh(i).some((m) => m.topic === topic && m.key === key)));
        assert.deepEqual(owners[0], owners[1], `${key} went to members ${JSON.stringify(owners)}`);
        assert.equal(owners[0]!.length, 1);
      }
      await Promise.all(members.map((bus) => bus.close()));
    });
  }
});
