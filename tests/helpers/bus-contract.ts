// The EventBus contract, as one suite that every adapter runs (EmbeddedBus and KafkaBus, see
// tests/integration/event-bus-contract.test.ts). Each test uses topics and groups of its own, so
// runs never see each other's messages, even on a long-lived broker.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { partitionForKey } from '../../src/core/bus/types.js';
import type { BusMessage, DeliveryFailure, EventBus, OutgoingMessage, PartitionLag } from '../../src/core/bus/types.js';
import { keyPerPartition } from './partition-markers.js';
import { waitFor } from './wait.js';

export interface BusContractOptions {
  /** How long to wait for expected deliveries, in ms. @defaultValue 30000 */
  deliveryTimeoutMs?: number;
  /** Removes what the suite created (topics, groups) once it is done; for long-lived brokers. */
  cleanup?: (created: { topics: string[]; groups: string[] }) => Promise<void>;
}

const STEP = { timeout: 90_000 };

function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

const totalLag = (rows: PartitionLag[]) => rows.reduce((sum, row) => sum + row.lag, 0);

/** How many of `sent` each of `partitions` partitions holds, by the key partitioner. */
function perPartition(sent: OutgoingMessage[], partitions: number): number[] {
  const counts = Array.from({ length: partitions }, () => 0);
  for (const m of sent) counts[partitionForKey(m.key, partitions)]!++;
  return counts;
}

function collector() {
  const got: BusMessage[] = [];
  return { got, handle: async (batch: BusMessage[]) => void got.push(...batch), keys: () => got.map((m) => m.key) };
}

const MARKER = 'marker-';

const messages = (prefix: string, n: number): OutgoingMessage[] =>
  Array.from({ length: n }, (_, i) => ({
    key: `${prefix}${i}`,
    value: JSON.stringify({ schema: 1, id: `${prefix}${i}`, n: i }),
    headers: { ce_specversion: '1.0', ce_id: `${prefix}${i}`, seq: String(i) },
  }));

export function busContractSuite(
  name: string,
  makeBus: () => Promise<EventBus | { skip: string }>,
  options: BusContractOptions = {},
): void {
  const deliveryMs = options.deliveryTimeoutMs ?? 30_000;
  const created = { topics: [] as string[], groups: [] as string[] };

  describe(`EventBus contract: ${name}`, () => {
    after(async () => {
      if (options.cleanup && (created.topics.length > 0 || created.groups.length > 0)) await options.cleanup(created);
    });

    /** A fresh bus for one test, closed when the test ends; undefined when the adapter is unavailable. */
    async function open(t: TestContext): Promise<EventBus | undefined> {
      const made = await makeBus();
      if ('skip' in made) {
        t.skip(made.skip);
        return undefined;
      }
      t.after(() => made.close());
      return made;
    }

    async function topic(bus: EventBus, partitions = 3): Promise<string> {
      const name = unique('contract');
      created.topics.push(name);
      await bus.ensureTopics([{ name, partitions, replicationFactor: 1 }]);
      return name;
    }

    function group(): string {
      const id = unique('contract-group');
      created.groups.push(id);
      return id;
    }

    /**
     * Proves that nothing more is coming to `c` without waiting a while: publishes a marker on every
     * partition of `name` and waits for all of them. A partition delivers in order, so what was
     * published before the markers has come by then or will not come. Returns what came besides markers.
     */
    async function settled(bus: EventBus, name: string, partitions: number, c: ReturnType<typeof collector>): Promise<BusMessage[]> {
      const markers = keyPerPartition(MARKER, partitions);
      await bus.publish(name, markers.map((key) => ({ key, value: 'marker' })));
      await waitFor('a marker from every partition', deliveryMs, () => markers.every((key) => c.got.some((m) => m.key === key)));
      return c.got.filter((m) => !m.key?.startsWith(MARKER));
    }

    it('ensureTopics is idempotent and takes existing and new topics together', STEP, async (t) => {
      const bus = await open(t);
      if (!bus) return;
      const first = await topic(bus);
      await bus.ensureTopics([{ name: first, partitions: 3, replicationFactor: 1 }]);
      const second = unique('contract');
      created.topics.push(second);
      await bus.ensureTopics([
        { name: first, partitions: 3, replicationFactor: 1 },
        { name: second, partitions: 2, replicationFactor: 1 },
      ]);
      await bus.publish(first, [{ key: 'a', value: '1' }]);
      await bus.publish(second, [{ key: 'b', value: '2' }]);
      const c = collector();
      await bus.subscribe({ groupId: group(), topics: [first, second], fromBeginning: true, handle: c.handle });
      await waitFor('one message from each topic', deliveryMs, () => c.got.length >= 2);
      assert.deepEqual(c.got.map((m) => m.topic).sort(), [first, second].sort());
    });

    it('a group consumes every published message with key, value and headers intact', STEP, async (t) => {
      const bus = await open(t);
      if (!bus) return;
      const name = await topic(bus);
      const sent = messages('m', 30);
      await bus.publish(name, sent.slice(0, 10));
      await bus.publish(name, sent.slice(10));
      const c = collector();
      await bus.subscribe({ groupId: group(), topics: [name], fromBeginning: true, handle: c.handle });
      await waitFor('30 messages', deliveryMs, () => c.got.length >= 30);
      const got = await settled(bus, name, 3, c);
      assert.equal(got.length, 30, 'each message once');
      const byKey = new Map(got.map((m) => [m.key, m]));
      for (const s of sent) {
        const m = byKey.get(s.key);
        assert.ok(m, `received ${s.key}`);
        assert.equal(m.topic, name);
        assert.ok(Buffer.isBuffer(m.value));
        assert.equal(m.value.toString('utf8'), s.value);
        assert.deepEqual(m.headers, s.headers);
        assert.match(m.offset, /^\d+$/);
        assert.ok(m.partition >= 0 && m.partition < 3);
      }
    });

    it('same key, same partition (Kafka default partitioner); order kept per key', STEP, async (t) => {
      const bus = await open(t);
      if (!bus) return;
      const name = await topic(bus);
      const keys = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
      const sent: OutgoingMessage[] = [];
      for (let i = 0; i < 60; i++) {
        const key = keys[i % keys.length]!;
        sent.push({ key, value: String(i), headers: { seq: String(i) } });
      }
      for (let i = 0; i < sent.length; i += 20) await bus.publish(name, sent.slice(i, i + 20));
      const c = collector();
      await bus.subscribe({ groupId: group(), topics: [name], fromBeginning: true, handle: c.handle });
      await waitFor('60 messages', deliveryMs, () => c.got.length >= 60);
      for (const key of keys) {
        const mine = c.got.filter((m) => m.key === key);
        assert.deepEqual([...new Set(mine.map((m) => m.partition))], [partitionForKey(key, 3)], `${key} on one partition`);
        const seqs = mine.map((m) => Number(m.headers.seq));
        assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `${key} in order`);
        const offsets = mine.map((m) => BigInt(m.offset));
        assert.ok(offsets.every((o, i) => i === 0 || o > offsets[i - 1]!), `${key} offsets increase`);
      }
    });

    it('two groups each receive every message', STEP, async (t) => {
      const bus = await open(t);
      if (!bus) return;
      const name = await topic(bus);
      await bus.publish(name, messages('g', 12));
      const a = collector();
      const b = collector();
      await bus.subscribe({ groupId: group(), topics: [name], fromBeginning: true, handle: a.handle });
      await bus.subscribe({ groupId: group(), topics: [name], fromBeginning: true, handle: b.handle });
      await waitFor('both groups', deliveryMs, () => a.got.length >= 12 && b.got.length >= 12);
      const expected = messages('g', 12).map((m) => m.key).sort();
      assert.deepEqual([...a.keys()].sort(), expected);
      assert.deepEqual([...b.keys()].sort(), expected);
    });

    it('members of a group own the same partition numbers of every topic, so equal keys meet in one member', STEP, async (t) => {
      const bus = await open(t);
      if (!bus) return;
      const left = await topic(bus);
      const right = await topic(bus);
      const id = group();
      const members = [collector(), collector()];
      for (const m of members) await bus.subscribe({ groupId: id, topics: [left, right], fromBeginning: false, handle: m.handle });
      // Both members hold partitions once each has received something; until then one may own all.
      // A round of messages every 300 ms (time for the group to settle) until both have had some.
      let round = 0;
      const bothHold = async () => {
        if (members.every((m) => m.got.length > 0)) return true;
        await bus.publish(left, messages(`warm${round++}-`, 12));
        return false;
      };
      await waitFor('the second member to get a partition', deliveryMs, bothHold, 300);
      const before = members.map((m) => m.got.length);
      await bus.publish(left, messages('pair', 30));
      await bus.publish(right, messages('pair', 30));
      const fresh = (i: number) => members[i]!.got.slice(before[i]).filter((m) => m.key?.startsWith('pair'));
      await waitFor('every pair', deliveryMs, () => fresh(0).length + fresh(1).length >= 60);
      for (let i = 0; i < 30; i++) {
        const owners = [left, right].map((tp) => [0, 1].filter((k) => fresh(k).some((m) => m.topic === tp && m.key === `pair${i}`)));
        assert.deepEqual(owners[0], owners[1], `pair${i} went to members ${JSON.stringify(owners)}`);
        assert.equal(owners[0]!.length, 1);
      }
      assert.ok(fresh(0).length > 0 && fresh(1).length > 0, 'both members took part');
    });

    it('a group that committed and subscribes again receives only newer messages', STEP, async (t) => {
      const bus = await open(t);
      if (!bus) return;
      const name = await topic(bus);
      const id = group();
      await bus.publish(name, messages('old', 6));
      const first = collector();
      const sub = await bus.subscribe({ groupId: id, topics: [name], fromBeginning: true, handle: first.handle });
      await waitFor('the first 6', deliveryMs, () => first.got.length >= 6);
      await sub.stop();

      await bus.publish(name, messages('new', 4));
      const second = collector();
      // fromBeginning only matters without a commit: this group has commits, so it resumes there.
      await bus.subscribe({ groupId: id, topics: [name], fromBeginning: true, handle: second.handle });
      await waitFor('the 4 newer', deliveryMs, () => second.got.length >= 4);
      const got = await settled(bus, name, 3, second);
      assert.deepEqual(got.map((m) => m.key).sort(), ['new0', 'new1', 'new2', 'new3']);
    });

    it('a batch whose handler throws is not committed and comes again', STEP, async (t) => {
      const bus = await open(t);
      if (!bus) return;
      const name = await topic(bus, 1);
      await bus.publish(name, messages('r', 5));
      const handled: string[] = [];
      let failedKeys: Array<string | null> = [];
      let calls = 0;
      await bus.subscribe({
        groupId: group(),
        topics: [name],
        fromBeginning: true,
        handle: async (batch) => {
          calls++;
          if (calls === 1) {
            failedKeys = batch.map((m) => m.key);
            throw new Error('first delivery fails');
          }
          for (const m of batch) handled.push(m.key!);
        },
      });
      await waitFor('all 5 after the failure', deliveryMs, () => new Set(handled).size >= 5);
      assert.ok(calls >= 2);
      assert.ok(failedKeys.length > 0);
      for (const key of failedKeys) assert.ok(handled.includes(key!), `${key} redelivered`);
    });

    it('a batch that keeps failing is skipped after bounded retries and reported; the group goes on', STEP, async (t) => {
      const bus = await open(t);
      if (!bus) return;
      const name = await topic(bus, 1);
      await bus.publish(name, [{ key: 'poison', value: 'not an event' }]);
      const failures: DeliveryFailure[] = [];
      const handled: string[] = [];
      let poisonDeliveries = 0;
      await bus.subscribe({
        groupId: group(),
        topics: [name],
        fromBeginning: true,
        handle: async (batch) => {
          if (batch.some((m) => m.key === 'poison')) {
            poisonDeliveries++;
            throw new Error('cannot parse');
          }
          for (const m of batch) handled.push(m.key!);
        },
        onError: (failure) => failures.push(failure),
      });
      await waitFor('the skip report', deliveryMs, () => failures.length >= 1);
      await bus.publish(name, messages('after-poison', 3));
      await waitFor('the messages after the poison', deliveryMs, () => handled.length >= 3);
      assert.equal(failures.length, 1);
      const [failure] = failures;
      assert.equal(failure!.topic, name);
      assert.equal(failure!.firstOffset, '0');
      assert.equal(failure!.attempts, poisonDeliveries);
      assert.ok(poisonDeliveries >= 2, 'retried before skipping');
      assert.match(String((failure!.error as Error).message), /cannot parse/);
      assert.deepEqual(handled.sort(), ['after-poison0', 'after-poison1', 'after-poison2']);
    });

    it('a new group with fromBeginning: false skips what was published before it subscribed', STEP, async (t) => {
      const bus = await open(t);
      if (!bus) return;
      const name = await topic(bus);
      await bus.publish(name, messages('before', 5));
      const c = collector();
      await bus.subscribe({ groupId: group(), topics: [name], fromBeginning: false, handle: c.handle });
      await bus.publish(name, messages('after', 3));
      await waitFor('the 3 newer', deliveryMs, () => c.got.length >= 3);
      const got = await settled(bus, name, 3, c);
      assert.deepEqual(got.map((m) => m.key).sort(), ['after0', 'after1', 'after2']);
    });

    it('stop() ends delivery; what came later waits for the group', STEP, async (t) => {
      const bus = await open(t);
      if (!bus) return;
      const name = await topic(bus);
      const id = group();
      const c = collector();
      const sub = await bus.subscribe({ groupId: id, topics: [name], fromBeginning: true, handle: c.handle });
      await bus.publish(name, messages('s', 2));
      await waitFor('the first 2', deliveryMs, () => c.got.length >= 2);
      await sub.stop();
      await sub.stop();
      await bus.publish(name, messages('late', 3));
      const next = collector();
      await bus.subscribe({ groupId: id, topics: [name], fromBeginning: true, handle: next.handle });
      await waitFor('the 3 later ones', deliveryMs, () => next.got.length >= 3);
      // A member still consuming would have fetched them before a new member could join and get
      // them all (or have kept some of them from it).
      assert.equal(c.got.length, 2, 'nothing after stop()');
      assert.deepEqual([...next.keys()].sort(), ['late0', 'late1', 'late2']);
    });

    it('consumerLag of a group that never consumed is every retained message; unknown topics give no rows', STEP, async (t) => {
      const bus = await open(t);
      if (!bus) return;
      const name = await topic(bus);
      const sent = messages('lag', 10);
      await bus.publish(name, sent);
      const missing = unique('contract-missing');
      const rows = await bus.consumerLag(group(), [name, missing]);
      const counts = perPartition(sent, 3);
      assert.deepEqual(
        rows,
        counts.map((n, partition) => ({ topic: name, partition, endOffset: String(n), committedOffset: null, lag: n })),
      );
      assert.deepEqual(await bus.consumerLag(group(), [missing]), []);
      assert.deepEqual(await bus.consumerLag(group(), []), []);
    });

    it('consumerLag counts what a group has not committed and drops to 0 once it has handled it', STEP, async (t) => {
      const bus = await open(t);
      if (!bus) return;
      const name = await topic(bus);
      const id = group();
      const lag = () => bus.consumerLag(id, [name]);
      const old = messages('old', 6);
      await bus.publish(name, old);
      const first = collector();
      const sub = await bus.subscribe({ groupId: id, topics: [name], fromBeginning: true, handle: first.handle });
      await waitFor('the first 6', deliveryMs, () => first.got.length >= 6);
      let caughtUp: PartitionLag[] = [];
      await waitFor(() => `lag 0 after the first 6: ${JSON.stringify(caughtUp)}`, deliveryMs, async () => totalLag((caughtUp = await lag())) === 0, 50);
      assert.equal(caughtUp.length, 3);
      for (const row of caughtUp) {
        // A partition the group never received anything on has nothing to commit.
        if (row.endOffset !== '0') assert.equal(row.committedOffset, row.endOffset, `partition ${row.partition} committed`);
      }
      await sub.stop();

      const fresh = messages('new', 4);
      await bus.publish(name, fresh);
      const behind = await lag();
      const oldCounts = perPartition(old, 3);
      const newCounts = perPartition(fresh, 3);
      assert.deepEqual(
        behind.map((row) => [row.partition, row.endOffset, row.lag]),
        newCounts.map((n, partition) => [partition, String(oldCounts[partition]! + n), n]),
      );
      assert.equal(totalLag(behind), 4);

      const second = collector();
      await bus.subscribe({ groupId: id, topics: [name], fromBeginning: true, handle: second.handle });
      await waitFor('the 4 newer', deliveryMs, () => second.got.length >= 4);
      let rows: PartitionLag[] = [];
      await waitFor(() => `lag 0 after the 4 newer: ${JSON.stringify(rows)}`, deliveryMs, async () => totalLag((rows = await lag())) === 0, 50);
    });

    it('close() stops subscriptions and refuses later use', STEP, async (t) => {
      const made = await makeBus();
      if ('skip' in made) return t.skip(made.skip);
      const bus = made;
      const name = await topic(bus);
      const c = collector();
      await bus.subscribe({ groupId: group(), topics: [name], fromBeginning: true, handle: c.handle });
      await bus.publish(name, messages('c', 3));
      await waitFor('3 messages', deliveryMs, () => c.got.length >= 3);
      const started = Date.now();
      await bus.close();
      assert.ok(Date.now() - started < 20_000, 'close() within 20 s');
      await bus.close();
      await assert.rejects(bus.publish(name, messages('x', 1)));
      await assert.rejects(async () => bus.subscribe({ groupId: group(), topics: [name], handle: c.handle }));
      await assert.rejects(bus.consumerLag(group(), [name]));
    });
  });
}
