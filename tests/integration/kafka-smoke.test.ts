// Proves that kafkajs 2.2.4 works against the development broker (Kafka 4.x, which dropped the
// oldest protocol versions): admin topic creation, an idempotent producer, a consumer group reading
// with eachBatch and committing by hand, and committed offsets that a later group member honours.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Partitioners } from 'kafkajs';
import type { Admin, Consumer, EachBatchPayload, IHeaders, Kafka, Producer } from 'kafkajs';
import { createTopics, kafkaBrokers, testKafka, uniqueTopic } from '../helpers/kafka.js';
import { keyPerPartition } from '../helpers/partition-markers.js';
import { waitFor } from '../helpers/wait.js';

const PARTITIONS = 3;
const MESSAGE_COUNT = 30;
/** Each step gets its own bound, so a hung client fails the step instead of stalling the file. */
const STEP = { timeout: 60_000 };

type Received = { partition: number; offset: string; key: string; value: string; headers: IHeaders };

/** Runs `work`, giving up after `ms` so a hung disconnect cannot keep the test process alive. */
async function bounded(what: string, ms: number, work: () => Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      work(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function header(headers: IHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value[0] : value)?.toString();
}

/**
 * Consumes with eachBatch the way the monitor will: resolve each processed offset, heartbeat,
 * stop early when the batch went stale, then commit what was resolved (autoCommit is off, so
 * these commits are the only ones).
 */
function collectInto(received: Received[]) {
  return async ({
    batch,
    resolveOffset,
    heartbeat,
    commitOffsetsIfNecessary,
    uncommittedOffsets,
    isRunning,
    isStale,
  }: EachBatchPayload): Promise<void> => {
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break;
      received.push({
        partition: batch.partition,
        offset: message.offset,
        key: message.key?.toString() ?? '',
        value: message.value?.toString() ?? '',
        headers: message.headers ?? {},
      });
      resolveOffset(message.offset);
      await heartbeat();
    }
    await commitOffsetsIfNecessary(uncommittedOffsets());
  };
}

// node:test's describe/it return promises the runner itself tracks; `void` tells the linter so.
describe('kafkajs 2.2.4 against the development broker', () => {
  let skipReason: string | undefined;
  let brokers: string[] = [];
  let kafka: Kafka | undefined;
  let admin: Admin | undefined;
  let producer: Producer | undefined;
  // Every client a step connects, so after() can disconnect them all (disconnect is idempotent).
  const clients: Array<Admin | Producer | Consumer> = [];

  const topic = uniqueTopic('driftgate.smoke');
  const groupId = uniqueTopic('driftgate-smoke-group');
  const sent = Array.from({ length: MESSAGE_COUNT }, (_, i) => ({
    key: `key-${i}`,
    value: JSON.stringify({ schema: 1, id: `key-${i}`, n: i }),
    headers: { ce_specversion: '1.0', ce_id: `id-${i}`, ce_type: 'driftgate.smoke', seq: String(i) },
  }));
  const firstRun: Received[] = [];

  before(
    async () => {
      const found = await kafkaBrokers();
      if ('skip' in found) {
        skipReason = found.skip;
        return;
      }
      brokers = found;
      kafka = testKafka(brokers, 'driftgate-smoke');
      admin = kafka.admin();
      clients.push(admin);
      await admin.connect();
    },
    { timeout: 360_000 },
  );

  after(
    async () => {
      // Leave the long-lived development broker as it was: drop the group and the topic.
      if (admin && brokers.length > 0) {
        const cleaner = admin;
        await bounded('cleanup', 15_000, async () => {
          await cleaner.deleteGroups([groupId]).catch(() => undefined);
          await cleaner.deleteTopics({ topics: [topic], timeout: 10_000 }).catch(() => undefined);
        }).catch(() => undefined);
      }
      for (const client of clients.reverse()) {
        await bounded('disconnect', 15_000, () => client.disconnect()).catch(() => undefined);
      }
    },
    { timeout: 90_000 },
  );

  function groupMember(client: Kafka): Consumer {
    const consumer = client.consumer({
      groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      // Short fetch long-polls: disconnect waits for the fetch in flight.
      maxWaitTimeInMs: 500,
    });
    clients.push(consumer);
    return consumer;
  }

  function ready(): Admin {
    assert.ok(admin, 'admin client was not connected in before()');
    return admin;
  }

  it('creates a 3-partition topic through the admin API', STEP, async (t) => {
    if (skipReason !== undefined) return t.skip(skipReason);
    const cluster = await ready().describeCluster();
    assert.equal(cluster.brokers.length, 1, 'a single-node development broker');

    await createTopics(brokers, [topic], PARTITIONS);
    const metadata = await ready().fetchTopicMetadata({ topics: [topic] });
    const partitions = metadata.topics[0]?.partitions ?? [];
    assert.equal(partitions.length, PARTITIONS);
    for (const p of partitions) assert.ok(p.leader >= 0, `partition ${p.partitionId} has a leader`);
  });

  it('sends keyed messages with headers idempotently', STEP, async (t) => {
    if (skipReason !== undefined) return t.skip(skipReason);
    assert.ok(kafka);
    producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // The Java client's murmur2 partitioner: a key lands where Java producers would put it.
      createPartitioner: Partitioners.DefaultPartitioner,
      // An idempotent producer should not give up on a retriable error (kafkajs warns when retries
      // are capped); the test's own timeout bounds the wait instead.
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 2_000 },
    });
    clients.push(producer);
    await producer.connect();

    // One send at a time: concurrent sends on an idempotent kafkajs producer can fail with
    // OUT_OF_ORDER_SEQUENCE_NUMBER (kafkajs#598).
    for (let i = 0; i < sent.length; i += 10) {
      const records = await producer.send({ topic, acks: -1, messages: sent.slice(i, i + 10) });
      for (const r of records) assert.equal(r.errorCode, 0, `partition ${r.partition} write failed`);
    }

    const offsets = await ready().fetchTopicOffsets(topic);
    const total = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    assert.equal(total, MESSAGE_COUNT);
    // 30 fixed keys hash onto every one of the 3 partitions with kafkajs' default partitioner.
    assert.equal(offsets.filter((p) => Number(p.high) > 0).length, PARTITIONS);
  });

  it('consumes all of them in a group with eachBatch and commits', STEP, async (t) => {
    if (skipReason !== undefined) return t.skip(skipReason);
    assert.ok(kafka);
    const consumer = groupMember(kafka);
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: collectInto(firstRun) });

    await waitFor(`${MESSAGE_COUNT} messages`, 30_000, () => firstRun.length >= MESSAGE_COUNT);
    // Leaving the group hands its partitions back, so the next member starts from the commits.
    await consumer.disconnect();

    assert.equal(firstRun.length, MESSAGE_COUNT, 'each message exactly once');
    const byKey = new Map(firstRun.map((m) => [m.key, m]));
    for (const expected of sent) {
      const got = byKey.get(expected.key);
      assert.ok(got, `received ${expected.key}`);
      assert.equal(got.value, expected.value);
      for (const [name, value] of Object.entries(expected.headers)) {
        assert.equal(header(got.headers, name), value, `${expected.key} header ${name}`);
      }
    }
    // Within a partition, messages arrive in the order they were written.
    for (let p = 0; p < PARTITIONS; p++) {
      const seqs = firstRun.filter((m) => m.partition === p).map((m) => Number(header(m.headers, 'seq')));
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `partition ${p} in order`);
    }
  });

  it('a later group member gets only messages written after the commits', STEP, async (t) => {
    if (skipReason !== undefined) return t.skip(skipReason);
    assert.ok(kafka && producer);
    const laterRun: Received[] = [];
    const consumer = groupMember(kafka);
    let joined = false;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joined = true;
    });
    await consumer.connect();
    // fromBeginning only applies to partitions without a committed offset: with the commits in
    // place this consumer must start at the end.
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: collectInto(laterRun) });
    await waitFor('the group join', 30_000, () => joined);

    // A fresh message on every partition proves the consumer is fetching each. A partition delivers
    // in order, so a wrongly replayed old message would have come before the fresh one on its partition.
    const fresh = keyPerPartition('after-commit-', PARTITIONS).map((key, i) => ({ key, value: 'fresh', headers: { seq: String(MESSAGE_COUNT + i) } }));
    await producer.send({ topic, acks: -1, messages: fresh });
    await waitFor('a fresh message on every partition', 20_000, () => fresh.every((f) => laterRun.some((m) => m.key === f.key)));
    await consumer.disconnect();

    assert.deepEqual(
      laterRun.map((m) => [m.partition, m.key]).sort(),
      fresh.map((f, partition) => [partition, f.key]),
      'only the messages written after the commits, one on each partition',
    );
  });

  it('committed group offsets equal the high watermarks', STEP, async (t) => {
    if (skipReason !== undefined) return t.skip(skipReason);
    const watermarks = await ready().fetchTopicOffsets(topic);
    const committed = await ready().fetchOffsets({ groupId, topics: [topic] });
    const partitions = committed.find((c) => c.topic === topic)?.partitions ?? [];
    assert.equal(partitions.length, PARTITIONS);
    for (const w of watermarks) {
      const c = partitions.find((p) => p.partition === w.partition);
      assert.equal(c?.offset, w.high, `partition ${w.partition} committed up to its high watermark`);
    }
  });
});
