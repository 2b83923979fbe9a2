// EmbeddedBus behaviour beyond the shared contract (tests/helpers/bus-contract.ts): partitioning
// that matches Kafka's, retention (and counting what it cost a group), bounded redelivery with skip
// and report, several members of one group, delivery that never runs inside publish, and delivery
// that leaves the event loop free between batches and sizes batches to a time budget.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Partitioners } from 'kafkajs';
import { Registry } from 'prom-client';
import { EmbeddedBus } from '../../src/core/bus/embedded.js';
import { createLogger } from '../../src/core/logger.js';
import { murmur2, partitionForKey } from '../../src/core/bus/types.js';
import type { BusMessage, DeliveryFailure } from '../../src/core/bus/types.js';
import { waitFor } from '../helpers/wait.js';

/** How long to wait for an expected delivery; generous, since a loaded machine only makes it slower. */
const DELIVERY_MS = 10_000;

const msg = (key: string, value = key, headers?: Record<string, string>) => ({ key, value, ...(headers ? { headers } : {}) });

describe('partitionForKey', () => {
  it('matches kafkajs DefaultPartitioner (Java murmur2) for every key', () => {
    const kafkajs = Partitioners.DefaultPartitioner();
    for (const partitions of [1, 3, 7, 12]) {
      const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({ partitionId: i, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
      for (let i = 0; i < 300; i++) {
        const key = i % 3 === 0 ? `pred-${i}` : `ключ-${i}-${'x'.repeat(i % 5)}`;
        const expected = kafkajs({ topic: 't', partitionMetadata, message: { key, value: null } });
        assert.equal(partitionForKey(key, partitions), expected, `key ${key} over ${partitions}`);
      }
    }
  });

  it('murmur2 of the empty input is the known Kafka value', () => {
    // Kafka's Utils.murmur2(new byte[0]) == 275646681
    assert.equal(murmur2(new Uint8Array(0)), 275646681);
  });
});

describe('EmbeddedBus', () => {
  it('refuses unknown topics, bad partition counts and any use after close()', async () => {
    const bus = new EmbeddedBus();
    await assert.rejects(bus.publish('nope', [msg('a')]), /unknown topic "nope"/);
    await assert.rejects(bus.subscribe({ groupId: 'g', topics: ['nope'], handle: async () => undefined }), /unknown topic/);
    await assert.rejects(bus.ensureTopics([{ name: 't', partitions: 0, replicationFactor: 1 }]), /partitions/);
    await bus.close();
    await assert.rejects(bus.publish('nope', [msg('a')]), /closed/);
  });

  it('never calls a handler inside publish', async () => {
    const bus = new EmbeddedBus();
    await bus.ensureTopics([{ name: 't', partitions: 1, replicationFactor: 1 }]);
    let inPublish = false;
    let calledInside = false;
    let calls = 0;
    await bus.subscribe({
      groupId: 'g',
      topics: ['t'],
      handle: async () => {
        calls++;
        if (inPublish) calledInside = true;
      },
    });
    inPublish = true;
    const published = bus.publish('t', [msg('a')]);
    inPublish = false;
    await published;
    await waitFor('delivery', DELIVERY_MS, () => calls === 1);
    assert.equal(calledInside, false);
    await bus.close();
  });

  it('keeps only the newest retentionMessages per partition; a slow group continues from the oldest kept', async () => {
    const bus = new EmbeddedBus({ retentionMessages: 5 });
    await bus.ensureTopics([{ name: 't', partitions: 1, replicationFactor: 1 }]);
    // Retention is per partition; 3000 messages also exercise trimming the dropped prefix.
    await bus.publish('t', Array.from({ length: 3000 }, (_, i) => msg('k', String(i))));
    const got: BusMessage[] = [];
    const sub = await bus.subscribe({ groupId: 'g', topics: ['t'], fromBeginning: true, handle: async (b) => void got.push(...b) });
    await waitFor('the retained messages', DELIVERY_MS, () => got.length === 5);
    assert.deepEqual(got.map((m) => m.value.toString()), ['2995', '2996', '2997', '2998', '2999']);
    assert.deepEqual(got.map((m) => m.offset), ['2995', '2996', '2997', '2998', '2999']);
    await sub.stop();
    await bus.close();
  });

  it('counts what a group lost to the retention in a metric, and logs it at most once a minute', async () => {
    const registry = new Registry();
    const warnings: Array<Record<string, unknown>> = [];
    const logger = createLogger('warn', {}, (line) => warnings.push(JSON.parse(line) as Record<string, unknown>));
    const bus = new EmbeddedBus({ retentionMessages: 5, registry, logger });
    await bus.ensureTopics([{ name: 't', partitions: 1, replicationFactor: 1 }]);
    const skipped = async (group: string) =>
      (await registry.getSingleMetric('driftgate_events_retention_skipped_total')!.get()).values.find((v) => v.labels['group'] === group && v.labels['topic'] === 't')?.value ?? 0;
    const received: Record<string, string[]> = { g: [], late: [] };
    const join = (group: 'g' | 'late') =>
      bus.subscribe({ groupId: group, topics: ['t'], fromBeginning: true, handle: async (b) => void received[group]!.push(...b.map((m) => m.value.toString())) });

    // Both groups commit the first message, then stop consuming while 3000 more arrive.
    await bus.publish('t', [msg('k', 'first')]);
    for (const group of ['g', 'late'] as const) {
      const sub = await join(group);
      await waitFor(`${group} to read the first message`, DELIVERY_MS, () => received[group]!.length === 1);
      await sub.stop();
    }
    await bus.publish('t', Array.from({ length: 3000 }, (_, i) => msg('k', String(i))));

    await join('g');
    await waitFor('the retained messages', DELIVERY_MS, () => received['g']!.length === 6);
    assert.deepEqual(received['g']!.slice(1), ['2995', '2996', '2997', '2998', '2999']);
    assert.equal(await skipped('g'), 2995);
    // A group that keeps up loses nothing more.
    await bus.publish('t', [msg('k', 'more')]);
    await waitFor('the next message', DELIVERY_MS, () => received['g']!.length === 7);
    assert.equal(await skipped('g'), 2995);

    await join('late');
    await waitFor('the late group', DELIVERY_MS, () => received['late']!.length === 6);
    assert.equal(await skipped('late'), 2996);
    assert.equal(bus.lostToRetention, 2995 + 2996);
    assert.equal(warnings.length, 1, 'one line per minute, however many groups fall behind');
    assert.match(String(warnings[0]!['msg']), /fell behind the retention/);
    assert.equal(warnings[0]!['skipped'], 2995);
    assert.equal(warnings[0]!['groupId'], 'g');
    await bus.close();
  });

  it('lets timers and I/O run between deliveries, not only after a whole backlog', async () => {
    const bus = new EmbeddedBus({ maxBatchSize: 1 });
    await bus.ensureTopics([{ name: 't', partitions: 1, replicationFactor: 1 }]);
    await bus.publish('t', Array.from({ length: 200 }, (_, i) => msg('k', String(i))));
    let calls = 0;
    const seenBy: Record<string, number> = {};
    await bus.subscribe({ groupId: 'g', topics: ['t'], fromBeginning: true, handle: async () => void calls++ });
    // A handler that resolves at once must not chain the deliveries on microtasks only.
    setImmediate(() => (seenBy['immediate'] = calls));
    setTimeout(() => (seenBy['timer'] = calls), 0);
    await waitFor('all 200', DELIVERY_MS, () => calls === 200);
    assert.ok(seenBy['immediate']! <= 2, `deliveries before a setImmediate callback ran: ${seenBy['immediate']}`);
    assert.ok(seenBy['timer']! < 200, `deliveries before a timer ran: ${seenBy['timer']}`);
    await bus.close();
  });

  it('sizes batches so one handler call takes about deliveryBudgetMs, within maxBatchSize', async () => {
    const bus = new EmbeddedBus({ maxBatchSize: 1000, deliveryBudgetMs: 10 });
    await bus.ensureTopics([{ name: 'slow', partitions: 1, replicationFactor: 1 }, { name: 'quick', partitions: 1, replicationFactor: 1 }]);
    await bus.publish('slow', Array.from({ length: 3000 }, (_, i) => msg('k', String(i))));
    await bus.publish('quick', Array.from({ length: 5000 }, (_, i) => msg('k', String(i))));
    // A handler that works synchronously, 0.1 ms per message: 100 messages fill the budget.
    const slow: number[] = [];
    const values: string[] = [];
    await bus.subscribe({
      groupId: 'g',
      topics: ['slow'],
      fromBeginning: true,
      handle: async (batch) => {
        const until = performance.now() + batch.length * 0.1;
        while (performance.now() < until);
        slow.push(batch.length);
        values.push(...batch.map((m) => m.value.toString()));
      },
    });
    const quick: number[] = [];
    await bus.subscribe({ groupId: 'g2', topics: ['quick'], fromBeginning: true, handle: async (batch) => void quick.push(batch.length) });
    await waitFor('the slow topic', DELIVERY_MS, () => values.length === 3000);
    await waitFor('the quick topic', DELIVERY_MS, () => quick.reduce((a, b) => a + b, 0) === 5000);
    assert.deepEqual(values, Array.from({ length: 3000 }, (_, i) => String(i)), 'in order, each once');
    // Never more than the budget allows (a slower machine only makes batches smaller).
    assert.ok(Math.max(...slow) <= 150, `slow batches: ${slow}`);
    assert.ok(slow.length >= 20, `slow batches: ${slow}`);
    // A quick handler gets batches up to maxBatchSize.
    assert.ok(quick.every((n) => n <= 1000) && quick.includes(1000), `quick batches: ${quick}`);
    await bus.close();
  });

  it('hands out at most maxBatchSize messages per call, one partition per batch', async () => {
    const bus = new EmbeddedBus({ maxBatchSize: 4 });
    await bus.ensureTopics([{ name: 't', partitions: 3, replicationFactor: 1 }]);
    await bus.publish('t', Array.from({ length: 40 }, (_, i) => msg(`k${i}`)));
    const sizes: number[] = [];
    let total = 0;
    await bus.subscribe({
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
      handle: async (batch) => {
        sizes.push(batch.length);
        total += batch.length;
        assert.equal(new Set(batch.map((m) => m.partition)).size, 1);
      },
    });
    await waitFor('all 40', DELIVERY_MS, () => total === 40);
    assert.ok(sizes.every((s) => s <= 4), `sizes ${sizes}`);
    await bus.close();
  });

  it('redelivers a failing batch with backoff, then skips it after maxAttempts and reports it', async () => {
    const failures: DeliveryFailure[] = [];
    const bus = new EmbeddedBus({ maxAttempts: 3, retryBackoffMs: 10, maxRetryBackoffMs: 40, onError: (f) => failures.push(f) });
    await bus.ensureTopics([{ name: 't', partitions: 1, replicationFactor: 1 }]);
    await bus.publish('t', [msg('k', 'poison'), msg('k', 'also in the batch')]);
    const attempts: number[] = [];
    const good: string[] = [];
    await bus.subscribe({
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
      handle: async (batch) => {
        if (batch.some((m) => m.value.toString() === 'poison')) {
          attempts.push(Date.now());
          // More messages arrive while the batch is failing: a redelivery must not grow the batch.
          await bus.publish('t', [msg('k', `later-${attempts.length}`)]);
          assert.equal(batch.length, 2);
          throw new Error('cannot handle poison');
        }
        good.push(...batch.map((m) => m.value.toString()));
      },
    });
    await waitFor('the skip', DELIVERY_MS, () => failures.length === 1);
    assert.equal(attempts.length, 3);
    // 10 ms then 20 ms of backoff between the three attempts.
    assert.ok(attempts[2]! - attempts[0]! >= 25, `attempts at ${attempts.map((t) => t - attempts[0]!)}`);
    const [failure] = failures;
    assert.deepEqual(
      { ...failure, error: (failure!.error as Error).message },
      { groupId: 'g', topic: 't', partition: 0, firstOffset: '0', lastOffset: '1', count: 2, attempts: 3, error: 'cannot handle poison' },
    );
    // The group goes on with what came after the skipped batch.
    await waitFor('the later messages', DELIVERY_MS, () => good.length === 3);
    assert.deepEqual(good, ['later-1', 'later-2', 'later-3']);
    await bus.close();
  });

  it('a subscription onError wins over the bus hook', async () => {
    const busHook: DeliveryFailure[] = [];
    const ownHook: DeliveryFailure[] = [];
    const bus = new EmbeddedBus({ maxAttempts: 1, onError: (f) => busHook.push(f) });
    await bus.ensureTopics([{ name: 't', partitions: 1, replicationFactor: 1 }]);
    await bus.subscribe({
      groupId: 'g',
      topics: ['t'],
      handle: () => {
        throw new Error('synchronous throw');
      },
      onError: (f) => ownHook.push(f),
    });
    await bus.publish('t', [msg('a')]);
    await waitFor('the report', DELIVERY_MS, () => ownHook.length === 1);
    assert.equal(busHook.length, 0);
    await bus.close();
  });

  it('a partition in backoff does not hold up the others', async () => {
    // The failing partition's first backoff outlasts the test: everything the others deliver comes
    // while it waits, which its attempt count shows.
    const bus = new EmbeddedBus({ maxAttempts: 100, retryBackoffMs: 600_000 });
    await bus.ensureTopics([{ name: 't', partitions: 4, replicationFactor: 1 }]);
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    const stuck = partitionForKey('k0', 4);
    await bus.publish('t', keys.map((k) => msg(k)));
    const seen = new Set<string>();
    let stuckAttempts = 0;
    await bus.subscribe({
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
      handle: async (batch) => {
        if (batch[0]!.partition === stuck) {
          stuckAttempts++;
          throw new Error('this partition fails');
        }
        for (const m of batch) seen.add(m.key!);
      },
    });
    const others = keys.filter((k) => partitionForKey(k, 4) !== stuck);
    await waitFor('the other partitions', DELIVERY_MS, () => others.every((k) => seen.has(k)));
    assert.equal(stuckAttempts, 1, 'the other partitions were delivered during the failing one\'s first backoff');
    await bus.close();
  });

  it('several members of one group share the partitions; one leaving hands its partitions over', async () => {
    const bus = new EmbeddedBus();
    await bus.ensureTopics([{ name: 't', partitions: 4, replicationFactor: 1 }]);
    const byMember: Array<Set<number>> = [new Set(), new Set()];
    const values: string[] = [];
    const subs = await Promise.all(
      byMember.map((partitions) =>
        bus.subscribe({
          groupId: 'shared',
          topics: ['t'],
          handle: async (batch) => {
            for (const m of batch) {
              partitions.add(m.partition);
              values.push(m.value.toString());
            }
          },
        }),
      ),
    );
    await bus.publish('t', Array.from({ length: 40 }, (_, i) => msg(`k${i}`, `a${i}`)));
    await waitFor('first round', DELIVERY_MS, () => values.length === 40);
    assert.equal(byMember[0]!.size + byMember[1]!.size, 4, 'each partition went to exactly one member');
    for (const p of byMember[0]!) assert.ok(!byMember[1]!.has(p));

    await subs[0]!.stop();
    byMember[1]!.clear();
    await bus.publish('t', Array.from({ length: 40 }, (_, i) => msg(`k${i}`, `b${i}`)));
    await waitFor('second round', DELIVERY_MS, () => values.length === 80);
    assert.equal(byMember[1]!.size, 4, 'the remaining member now has every partition');
    assert.equal(new Set(values).size, 80, 'nothing delivered twice');
    await bus.close();
  });

  it('stop() waits for the batch in progress and commits it', async () => {
    const bus = new EmbeddedBus();
    await bus.ensureTopics([{ name: 't', partitions: 1, replicationFactor: 1 }]);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = false;
    let finished = false;
    const sub = await bus.subscribe({
      groupId: 'g',
      topics: ['t'],
      handle: async () => {
        started = true;
        await gate;
        finished = true;
      },
    });
    await bus.publish('t', [msg('a')]);
    await waitFor('the handler to start', DELIVERY_MS, () => started);
    const stopping = sub.stop();
    // The handler stays busy a while after stop() was called: stop() must wait for it.
    setTimeout(release, 20);
    await stopping;
    assert.equal(finished, true);
    // Committed: a new member of the group gets nothing old. The one partition delivers in order,
    // so had 'a' not been committed it would come before the marker published after it.
    const again: BusMessage[] = [];
    await bus.subscribe({ groupId: 'g', topics: ['t'], fromBeginning: true, handle: async (b) => void again.push(...b) });
    await bus.publish('t', [msg('marker')]);
    await waitFor('the marker', DELIVERY_MS, () => again.length > 0 && again.at(-1)!.key === 'marker');
    assert.deepEqual(again.map((m) => m.key), ['marker']);
    await bus.close();
  });
});
