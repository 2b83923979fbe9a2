// DiskSpool (order, bound, restart, damaged files) and the EventPublisher's use of it over a bus
// that can be switched off: breaker, spooling, replay in order, close and restart.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { EventPublisher } from '../../src/core/bus/publisher.js';
import { DiskSpool } from '../../src/core/bus/spool.js';
import type { SpoolDropReason, SpoolRecord } from '../../src/core/bus/spool.js';
import type { EventBus, OutgoingMessage, PartitionLag, Subscription } from '../../src/core/bus/types.js';
import { waitFor } from '../helpers/wait.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'driftgate-spool-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const rec = (i: number, topic = 't'): SpoolRecord => ({
  topic,
  message: { key: `k${i}`, value: JSON.stringify({ n: i }), headers: { ce_id: `id-${i}` } },
});
const numbers = (records: SpoolRecord[]) => records.map((r) => (JSON.parse(r.message.value) as { n: number }).n);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const segments = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();

describe('DiskSpool', () => {
  it('gives records back in the order they were appended, keys, values and headers intact', () => {
    const spool = new DiskSpool({ dir: tempDir() });
    spool.append([rec(0), rec(1, 'other')]);
    spool.append([rec(2), rec(3)]);
    assert.equal(spool.size, 4);
    assert.ok(spool.bytes > 0);
    const all = spool.peek(10);
    assert.deepEqual(numbers(all), [0, 1, 2, 3]);
    assert.deepEqual(all[1], rec(1, 'other'));
    assert.deepEqual(numbers(spool.peek(2)), [0, 1], 'peek does not remove');
    spool.ack(3);
    assert.equal(spool.size, 1);
    assert.deepEqual(numbers(spool.peek(10)), [3]);
    spool.close();
  });

  it('stays within maxBytes by dropping the oldest records, and counts them', () => {
    const drops: Array<[number, SpoolDropReason]> = [];
    const spool = new DiskSpool({ dir: tempDir(), maxBytes: 4096, segmentBytes: 512, onDrop: (n, reason) => drops.push([n, reason]) });
    for (let i = 0; i < 300; i++) spool.append([rec(i)]);
    assert.ok(spool.bytes <= 4096, `bytes ${spool.bytes}`);
    assert.ok(spool.dropped > 0);
    assert.equal(spool.size + spool.dropped, 300);
    assert.equal(drops.reduce((sum, [n]) => sum + n, 0), spool.dropped);
    assert.ok(drops.every(([, reason]) => reason === 'spool_full'));
    // What is left is the newest records, contiguous and in order.
    assert.deepEqual(numbers(spool.peek(1000)), range(spool.dropped, 300));
    spool.close();
  });

  it('drops a single record larger than a quarter of the bound as too_large', () => {
    const drops: SpoolDropReason[] = [];
    const spool = new DiskSpool({ dir: tempDir(), maxBytes: 4096, onDrop: (_n, reason) => drops.push(reason) });
    spool.append([rec(0), { topic: 't', message: { key: 'big', value: 'x'.repeat(2000) } }, rec(1)]);
    assert.deepEqual(numbers(spool.peek(10)), [0, 1]);
    assert.deepEqual(drops, ['too_large']);
    spool.close();
  });

  it('a new instance on the same directory continues where the last one stopped', () => {
    const dir = tempDir();
    const first = new DiskSpool({ dir, segmentBytes: 300 });
    first.append(range(0, 10).map((i) => rec(i)));
    first.ack(3);
    first.close();

    const second = new DiskSpool({ dir, segmentBytes: 300 });
    assert.equal(second.size, 7);
    assert.deepEqual(numbers(second.peek(100)), range(3, 10));
    second.append([rec(10)]);
    second.ack(2);
    // No close(): like a process that was killed. Appends are plain writes, already in the OS.
    const third = new DiskSpool({ dir, segmentBytes: 300 });
    assert.deepEqual(numbers(third.peek(100)), range(5, 11));
    third.close();
  });

  it('acks across segment boundaries and deletes fully sent segments', () => {
    const dir = tempDir();
    const spool = new DiskSpool({ dir, segmentBytes: 256 });
    spool.append(range(0, 20).map((i) => rec(i)));
    const before = segments(dir).length;
    assert.ok(before >= 4, `${before} segments`);
    const batch = spool.peek(7);
    assert.deepEqual(numbers(batch), range(0, 7));
    spool.ack(batch.length);
    assert.ok(segments(dir).length < before, 'a fully sent segment is deleted');
    spool.close();
    const reopened = new DiskSpool({ dir, segmentBytes: 256 });
    assert.deepEqual(numbers(reopened.peek(100)), range(7, 20));
    reopened.close();
  });

  it('drained to empty leaves no segment files, and later appends survive a restart', () => {
    const dir = tempDir();
    const spool = new DiskSpool({ dir, segmentBytes: 256 });
    spool.append(range(0, 10).map((i) => rec(i)));
    spool.ack(10);
    assert.equal(spool.size, 0);
    assert.equal(spool.bytes, 0);
    assert.deepEqual(segments(dir), []);
    spool.close();

    const again = new DiskSpool({ dir, segmentBytes: 256 });
    again.append([rec(10), rec(11)]);
    again.close();
    const third = new DiskSpool({ dir, segmentBytes: 256 });
    assert.deepEqual(numbers(third.peek(10)), [10, 11]);
    third.close();
  });

  it('skips a torn last line after a crash, and appends after it stay readable', () => {
    const dir = tempDir();
    const spool = new DiskSpool({ dir });
    spool.append(range(0, 5).map((i) => rec(i)));
    spool.close();
    const [last] = segments(dir).slice(-1);
    appendFileSync(join(dir, last!), '{"topic":"t","key":"k5","val');

    const reopened = new DiskSpool({ dir });
    assert.equal(reopened.size, 5);
    assert.ok(readFileSync(join(dir, last!), 'utf8').endsWith('\n'), 'the torn tail was cut off');
    reopened.append([rec(5)]);
    reopened.close();
    assert.deepEqual(numbers(new DiskSpool({ dir }).peek(10)), range(0, 6));
  });

  it('a sent line damaged on disk afterwards neither loses an unsent record nor resends one on reopen', () => {
    const dir = tempDir();
    const spool = new DiskSpool({ dir });
    spool.append(range(0, 5).map((i) => rec(i)));
    assert.deepEqual(numbers(spool.peek(2)), [0, 1]);
    spool.ack(2);
    spool.close();
    // Damage both sent lines in place: the first no longer parses, the second holds invalid UTF-8.
    const [file] = segments(dir);
    const data = readFileSync(join(dir, file!));
    const second = data.indexOf(0x0a) + 1;
    data[0] = '#'.charCodeAt(0);
    data.fill(0xff, second + 5, second + 9);
    writeFileSync(join(dir, file!), data);

    const reopened = new DiskSpool({ dir });
    assert.equal(reopened.size, 3);
    assert.deepEqual(numbers(reopened.peek(10)), [2, 3, 4], 'record 2 is not lost, records 0 and 1 are not sent again');
    reopened.ack(1);
    reopened.close();
    const third = new DiskSpool({ dir });
    assert.deepEqual(numbers(third.peek(10)), [3, 4]);
    third.close();
  });

  it('cuts a torn last line that follows invalid UTF-8 at its first byte; records before it and new appends stay readable', () => {
    const dir = tempDir();
    const spool = new DiskSpool({ dir });
    spool.append(range(0, 3).map((i) => rec(i)));
    spool.close();
    const [file] = segments(dir);
    const path = join(dir, file!);
    // A damaged line of bytes that are not UTF-8, then a record torn by a crash.
    const damaged = Buffer.concat([Buffer.from('{"topic":"t","key":"'), Buffer.alloc(40, 0xfe), Buffer.from('"}\n')]);
    appendFileSync(path, damaged);
    const cutAt = readFileSync(path).length;
    appendFileSync(path, '{"topic":"t","key":"k3","value":"{\\"n\\":3}","hea');

    const reopened = new DiskSpool({ dir });
    assert.equal(reopened.size, 3);
    const after = readFileSync(path);
    assert.equal(after.length, cutAt, 'cut right after the last newline, not before it nor past the end');
    assert.equal(after.indexOf(0), -1, 'no zero bytes added');
    reopened.append([rec(3), rec(4)]);
    reopened.ack(1);
    reopened.close();
    const third = new DiskSpool({ dir });
    assert.deepEqual(numbers(third.peek(10)), [1, 2, 3, 4]);
    assert.equal(readFileSync(path).length, cutAt, 'a second reopen leaves the file as it is');
    third.close();
  });

  it('reads a cursor of the old format (a record count) and rewrites it as a byte offset', () => {
    const dir = tempDir();
    writeFileSync(join(dir, '0000000000000001.jsonl'), range(0, 4).map((i) => JSON.stringify({ topic: 't', key: `k${i}`, value: `{"n":${i}}` }) + '\n').join(''));
    writeFileSync(join(dir, 'cursor.json'), JSON.stringify({ segment: 1, acked: 2 }));
    const spool = new DiskSpool({ dir });
    assert.deepEqual(numbers(spool.peek(10)), [2, 3]);
    const cursor = JSON.parse(readFileSync(join(dir, 'cursor.json'), 'utf8')) as Record<string, unknown>;
    const twoLines = readFileSync(join(dir, '0000000000000001.jsonl'), 'utf8').split('\n').slice(0, 2).join('\n').length + 1;
    assert.deepEqual(cursor, { version: 2, segment: 1, offset: twoLines });
    spool.ack(1);
    spool.close();
    assert.deepEqual(numbers(new DiskSpool({ dir }).peek(10)), [3]);
  });

  it('skips a damaged line in the middle and a damaged cursor without failing', () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, '0000000000000001.jsonl'),
      [JSON.stringify({ topic: 't', key: 'k0', value: '{"n":0}' }), 'not json', '{"topic":1}', JSON.stringify({ topic: 't', key: 'k1', value: '{"n":1}' })].join('\n') + '\n',
    );
    writeFileSync(join(dir, 'cursor.json'), '{oops');
    const spool = new DiskSpool({ dir });
    assert.equal(spool.size, 2);
    assert.deepEqual(numbers(spool.peek(10)), [0, 1]);
    spool.close();
  });
});

/** A bus whose publish can be switched to failing, recording what it accepted. */
class SwitchableBus implements EventBus {
  readonly kind = 'embedded' as const;
  down = false;
  delayMs = 0;
  readonly accepted: Array<{ topic: string; message: OutgoingMessage }> = [];
  readonly calls: number[] = [];

  async ensureTopics(): Promise<void> {}
  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    this.calls.push(messages.length);
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.down) throw new Error('bus unreachable');
    for (const message of messages) this.accepted.push({ topic, message });
  }
  async subscribe(): Promise<Subscription> {
    throw new Error('not used');
  }
  async consumerLag(): Promise<PartitionLag[]> {
    throw new Error('not used');
  }
  async close(): Promise<void> {}
}

/** How long to wait for the publisher to get somewhere. */
const WAIT_MS = 5_000;

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const values = (await registry.getSingleMetric(name)!.get()).values;
  const match = values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want));
  return match?.value ?? 0;
}

const accepted = (bus: SwitchableBus) => bus.accepted.map((a) => (JSON.parse(a.message.value) as { n: number }).n);
const fast = { lingerMs: 5, breakerResetMs: 100, retryDelayMs: 20, sendTimeoutMs: 1_000 };

describe('EventPublisher with a DiskSpool', () => {
  it('batches by size and by linger time', async () => {
    const bus = new SwitchableBus();
    const publisher = new EventPublisher({ bus, registry: new Registry(), maxBatchSize: 100, lingerMs: 30 });
    const started = Date.now();
    publisher.enqueue('t', [rec(0).message]);
    await waitFor('the lone message', WAIT_MS, () => bus.accepted.length === 1);
    assert.ok(Date.now() - started >= 25, 'a partial batch waits for the linger time');
    publisher.enqueue('t', range(1, 1001).map((i) => rec(i).message));
    await waitFor('1000 more', WAIT_MS, () => bus.accepted.length === 1001);
    assert.ok(bus.calls.every((n) => n <= 100), `calls ${bus.calls}`);
    assert.deepEqual(accepted(bus), range(0, 1001));
    await publisher.close();
  });

  it('spools while the bus is down, opens the breaker, and replays in order before newer events', async () => {
    const bus = new SwitchableBus();
    const registry = new Registry();
    const spool = new DiskSpool({ dir: tempDir() });
    const publisher = new EventPublisher({ bus, registry, spool, ...fast });
    publisher.enqueue('t', range(0, 10).map((i) => rec(i).message));
    await waitFor('the first events', WAIT_MS, () => bus.accepted.length === 10);

    bus.down = true;
    for (let i = 10; i < 60; i++) {
      // enqueue neither throws nor waits, whatever the bus does
      publisher.enqueue(i % 2 ? 'a' : 'b', [rec(i).message]);
      await new Promise((r) => setTimeout(r, 1));
    }
    await waitFor('the breaker to open', WAIT_MS, () => publisher.breakerState === 'open');
    await waitFor('every event in the spool', WAIT_MS, () => publisher.spooled === 50 && publisher.buffered === 0);
    assert.equal(await metric(registry, 'driftgate_event_breaker_state'), 2);
    assert.equal(await metric(registry, 'driftgate_events_spooled'), 50);
    assert.ok((await metric(registry, 'driftgate_events_spool_bytes')) > 0);
    assert.ok((await metric(registry, 'driftgate_events_failed_total', { topic: 'a' })) + (await metric(registry, 'driftgate_events_failed_total', { topic: 'b' })) > 0);

    bus.down = false;
    publisher.enqueue('a', [rec(60).message]);
    await waitFor('everything', WAIT_MS, () => bus.accepted.length >= 61 && publisher.spooled === 0);
    assert.equal(publisher.breakerState, 'closed');
    // Within each topic the order is the order of enqueue, spooled events before the newer one.
    for (const topic of ['a', 'b']) {
      const seen = bus.accepted.filter((x) => x.topic === topic).map((x) => (JSON.parse(x.message.value) as { n: number }).n);
      assert.deepEqual(seen, [...new Set(seen)].sort((p, q) => p - q), `topic ${topic} in order without repeats`);
    }
    assert.equal(new Set(accepted(bus)).size, 61);
    assert.equal(await metric(registry, 'driftgate_events_published_total', { topic: 'a' }), 26);
    await publisher.close();
  });

  it('close() puts what it could not send into the spool; a new publisher on the directory sends it', async () => {
    const dir = tempDir();
    const bus = new SwitchableBus();
    bus.down = true;
    const first = new EventPublisher({ bus, registry: new Registry(), spool: new DiskSpool({ dir }), ...fast, breakerResetMs: 60_000 });
    first.enqueue('t', range(0, 25).map((i) => rec(i).message));
    const started = Date.now();
    await first.close({ timeoutMs: 500 });
    assert.ok(Date.now() - started < 2_000);
    assert.equal(bus.accepted.length, 0);

    bus.down = false;
    const registry = new Registry();
    const second = new EventPublisher({ bus, registry, spool: new DiskSpool({ dir }), ...fast });
    await waitFor('the spooled events', WAIT_MS, () => bus.accepted.length === 25);
    assert.deepEqual(accepted(bus), range(0, 25));
    await waitFor('an empty spool', WAIT_MS, () => second.spooled === 0);
    await second.close();
  });

  it('spills the oldest to the spool when the memory buffer is over its bound', async () => {
    const bus = new SwitchableBus();
    bus.delayMs = 20;
    const spool = new DiskSpool({ dir: tempDir() });
    const publisher = new EventPublisher({ bus, registry: new Registry(), spool, maxBuffered: 20, maxBatchSize: 10, lingerMs: 0 });
    publisher.enqueue('t', range(0, 200).map((i) => rec(i).message));
    assert.equal(publisher.buffered, 200, 'enqueue itself does no I/O');
    await new Promise((r) => setImmediate(r));
    assert.ok(publisher.buffered <= 20, `buffered ${publisher.buffered}`);
    assert.ok(publisher.spooled > 0);
    await waitFor('all delivered', 10_000, () => new Set(accepted(bus)).size === 200);
    await publisher.close();
  });

  it('without a spool, failed sends and events after close are counted as dropped', async () => {
    const bus = new SwitchableBus();
    bus.down = true;
    const registry = new Registry();
    const publisher = new EventPublisher({ bus, registry, ...fast, breakerResetMs: 60_000 });
    publisher.enqueue('t', range(0, 5).map((i) => rec(i).message));
    await waitFor('the drop', WAIT_MS, () => publisher.buffered === 0);
    await publisher.close({ timeoutMs: 100 });
    publisher.enqueue('t', [rec(99).message]);
    assert.equal(await metric(registry, 'driftgate_events_dropped_total', { reason: 'no_spool' }), 5);
    assert.equal(await metric(registry, 'driftgate_events_dropped_total', { reason: 'closed' }), 1);
  });

  it('counts the spool dropping its oldest records in driftgate_events_dropped_total', async () => {
    const bus = new SwitchableBus();
    bus.down = true;
    const registry = new Registry();
    const spool = new DiskSpool({ dir: tempDir(), maxBytes: 4096, segmentBytes: 512 });
    const publisher = new EventPublisher({ bus, registry, spool, ...fast, breakerResetMs: 60_000 });
    publisher.enqueue('t', range(0, 300).map((i) => rec(i).message));
    await waitFor('the spool to fill', WAIT_MS, () => publisher.buffered === 0 && spool.dropped > 0);
    assert.equal(await metric(registry, 'driftgate_events_dropped_total', { reason: 'spool_full' }), spool.dropped);
    assert.equal(spool.size + spool.dropped, 300);
    await publisher.close({ timeoutMs: 100 });
  });
});
