import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { DynamicBatcher } from '../../src/serve/batcher.js';
import type { BatcherOptions } from '../../src/serve/batcher.js';
import { DriftgateError } from '../../src/core/index.js';

// A runtime stand-in for pure batching logic: doubles each of two input columns into one output.
// A call finishes on the next turn of the event loop, not after a time: requests submitted in the
// same turn as the first one queue behind it, whatever the machine's load.
function recorder() {
  const calls: number[] = [];
  const run = async (input: Float32Array, rows: number) => {
    calls.push(rows);
    await nextTurn();
    const out = new Float32Array(rows);
    for (let i = 0; i < rows; i++) out[i] = input[i * 2]! * 2 + input[i * 2 + 1]!;
    return out;
  };
  return { calls, run };
}

const base: BatcherOptions = { enabled: true, maxBatchSize: 8, maxQueueDelayUs: 0, maxQueueRows: 100, label: 'm version 1' };
const row = (a: number, b: number) => Float32Array.from([a, b]);

describe('DynamicBatcher', () => {
  it('merges requests that arrive while a batch runs and routes each output back to its caller', async () => {
    const { calls, run } = recorder();
    const b = new DynamicBatcher(run, 2, 1, base);
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => b.submit(row(i, 1), 1)));
    assert.deepEqual(results.map((r) => Array.from(r)), Array.from({ length: 6 }, (_, i) => [i * 2 + 1]));
    // The first request runs alone (delay 0), the five that queued behind it ride in one batch.
    assert.deepEqual(calls, [1, 5]);
  });

  it('never exceeds maxBatchSize rows in one call', async () => {
    const { calls, run } = recorder();
    const b = new DynamicBatcher(run, 2, 1, { ...base, maxBatchSize: 3 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => b.submit(row(i, 0), 1)));
    assert.ok(calls.every((n) => n <= 3), `calls ${calls}`);
    assert.equal(calls.reduce((a, c) => a + c, 0), 10);
  });

  it('keeps multi-row requests whole and splits outputs per request', async () => {
    const { run } = recorder();
    const b = new DynamicBatcher(run, 2, 1, base);
    const [a, c] = await Promise.all([b.submit(Float32Array.from([1, 0, 2, 0]), 2), b.submit(Float32Array.from([3, 0, 4, 0, 5, 0]), 3)]);
    assert.deepEqual(Array.from(a!), [2, 4]);
    assert.deepEqual(Array.from(c!), [6, 8, 10]);
  });

  it('waits up to maxQueueDelayUs to fill a batch, then sends what it has', async (t) => {
    // Fake time: the batcher's timer and its performance.now() clock move only when the test says so.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let now = 0;
    t.mock.method(performance, 'now', () => now);
    const advance = (ms: number) => {
      now += ms;
      t.mock.timers.tick(ms);
    };
    const { calls, run } = recorder();
    const b = new DynamicBatcher(run, 2, 1, { ...base, maxQueueDelayUs: 30_000 });
    const first = b.submit(row(1, 0), 1);
    advance(29);
    assert.deepEqual(calls, [], 'the lone request waits for company');
    const second = b.submit(row(2, 0), 1);
    advance(1);
    assert.deepEqual(calls, [2], 'both leave together once the oldest has waited 30 ms');
    await Promise.all([first, second]);
    const third = b.submit(row(3, 0), 1);
    advance(29);
    assert.deepEqual(calls, [2]);
    advance(1);
    assert.deepEqual(calls, [2, 1], 'a request nobody joins leaves alone after the delay');
    assert.deepEqual(Array.from(await third), [6]);
  });

  it('refuses work beyond the queue bound with a retriable QUEUE_FULL error', async () => {
    const { run } = recorder();
    const b = new DynamicBatcher(run, 2, 1, { ...base, maxQueueRows: 4 });
    const accepted = [b.submit(row(0, 0), 1)]; // runs at once, so it does not count as queued
    for (let i = 0; i < 4; i++) accepted.push(b.submit(row(i, 0), 1));
    await assert.rejects(b.submit(row(9, 9), 1), (err: unknown) => {
      assert.ok(err instanceof DriftgateError);
      assert.equal(err.code, 'QUEUE_FULL');
      assert.equal(err.status, 503);
      assert.equal(err.retryAfterSeconds, 1);
      return true;
    });
    await Promise.all(accepted);
  });

  it('without batching runs each request on its own and bounds outstanding rows', async () => {
    const { calls, run } = recorder();
    const b = new DynamicBatcher(run, 2, 1, { ...base, enabled: false, maxQueueRows: 2 });
    const ok = [b.submit(row(1, 0), 1), b.submit(row(2, 0), 1)];
    await assert.rejects(b.submit(row(3, 0), 1), /overloaded/);
    await Promise.all(ok);
    assert.deepEqual(calls, [1, 1]);
  });

  it('fails every request of a batch when the runtime fails, and keeps going', async () => {
    let fail = true;
    const b = new DynamicBatcher(
      async (input, rows) => {
        await nextTurn();
        if (fail) throw new Error('boom');
        return input.slice(0, rows);
      },
      2,
      1,
      base,
    );
    const results = await Promise.allSettled([b.submit(row(1, 0), 1), b.submit(row(2, 0), 1)]);
    assert.ok(results.every((r) => r.status === 'rejected'));
    fail = false;
    assert.deepEqual(Array.from(await b.submit(row(7, 0), 1)), [7]);
  });

  it('rejects outputs of the wrong size instead of mis-assigning them', async () => {
    const b = new DynamicBatcher(async () => new Float32Array(3), 2, 1, base);
    await assert.rejects(b.submit(row(1, 1), 1), /expected 1 per row/);
  });

  it('refuses a request larger than the queue bound even when the queue is empty (413, not retriable)', async () => {
    for (const enabled of [true, false]) {
      const { calls, run } = recorder();
      const b = new DynamicBatcher(run, 2, 1, { ...base, enabled, maxQueueRows: 10 });
      await assert.rejects(b.submit(new Float32Array(11 * 2), 11), (err: unknown) => {
        assert.ok(err instanceof DriftgateError);
        assert.equal(err.code, 'PAYLOAD_TOO_LARGE');
        assert.equal(err.status, 413);
        assert.match(err.message, /queues at most 10 rows \(DRIFTGATE_MAX_QUEUE_SIZE\); this request holds 11/);
        return true;
      });
      assert.deepEqual(calls, [], 'nothing ran');
      assert.equal((await b.submit(new Float32Array(10 * 2), 10)).length, 10, 'a request of exactly the bound runs');
    }
  });

  it('splits a request larger than maxBatchSize into runtime calls of at most maxBatchSize rows, outputs in order', async () => {
    for (const enabled of [true, false]) {
      const { calls, run } = recorder();
      const b = new DynamicBatcher(run, 2, 1, { ...base, enabled, maxBatchSize: 8 });
      const rows = 21;
      const input = Float32Array.from({ length: rows * 2 }, (_, i) => (i % 2 === 0 ? i / 2 : 0));
      const out = await b.submit(input, rows);
      assert.deepEqual(Array.from(out), Array.from({ length: rows }, (_, r) => r * 2));
      assert.deepEqual(calls, [8, 8, 5], `enabled=${enabled}`);
      assert.equal(b.queuedRows, 0);
    }
  });

  it('a split request counts whole against the queue, and other requests still get their own answers', async () => {
    const { calls, run } = recorder();
    const b = new DynamicBatcher(run, 2, 1, { ...base, maxBatchSize: 4, maxQueueRows: 12 });
    const big = b.submit(new Float32Array(12 * 2).fill(1), 12);
    // 8 of its rows still wait behind its first chunk: 4 more would exceed the bound of 12
    await assert.rejects(b.submit(new Float32Array(5 * 2), 5), /overloaded: 8 rows are waiting/);
    const small = b.submit(row(4, 0), 1);
    assert.deepEqual(Array.from(await big), Array(12).fill(3));
    assert.deepEqual(Array.from(await small), [8]);
    assert.ok(calls.every((n) => n <= 4), `calls ${calls}`);
  });

  it('when one chunk of a split request fails, its other waiting chunks are dropped, not computed', async () => {
    const calls: number[] = [];
    const b = new DynamicBatcher(
      async (input, rows) => {
        calls.push(rows);
        await nextTurn();
        if (calls.length === 1) throw new Error('boom');
        return input.slice(0, rows);
      },
      2,
      1,
      { ...base, maxBatchSize: 4 },
    );
    await assert.rejects(b.submit(new Float32Array(16 * 2), 16), /boom/);
    assert.deepEqual(calls, [4]);
    assert.equal(b.queuedRows, 0);
    assert.deepEqual(Array.from(await b.submit(row(7, 0), 1)), [7]);
  });

  it('close() fails waiting requests and refuses new ones', async () => {
    const { run } = recorder();
    const b = new DynamicBatcher(run, 2, 1, base);
    const running = b.submit(row(1, 0), 1);
    const waiting = b.submit(row(2, 0), 1);
    b.close();
    await assert.rejects(waiting, /unloading/);
    await assert.rejects(b.submit(row(3, 0), 1), /unloading/);
    assert.deepEqual(Array.from(await running), [2]);
  });
});
