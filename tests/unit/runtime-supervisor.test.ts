// The supervisor's decisions with stand-in runtimes (no threads): a broken runtime is replaced at
// once, failed restarts back off and stop after the configured attempts, a successful call resets the
// count, a runtime whose call ran past the caller's time limit is ended and replaced, and calls while
// no runtime answers fail at once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { RuntimeUnavailableError, SupervisedRuntime, restartDelayMs } from '../../src/serve/runtime/index.js';
import type { ModelRuntime, SupervisorEvent } from '../../src/serve/runtime/index.js';
import { waitFor } from '../helpers/wait.js';

/** A runtime stand-in: answers at once unless `hang` is set; `breakNow()` acts like its thread exiting. */
class FakeRuntime implements ModelRuntime {
  readonly format = 'onnx' as const;
  hang = false;
  ended: Error | undefined;
  disposed = false;
  private listener: ((err: Error) => void) | undefined;
  private readonly waiting: ((err: Error) => void)[] = [];

  constructor(readonly id: number) {}

  run(input: Float32Array): Promise<Float32Array> {
    if (this.ended || this.disposed) return Promise.reject(new RuntimeUnavailableError('gone'));
    if (this.hang) return new Promise((_resolve, reject) => this.waiting.push(reject));
    return Promise.resolve(Float32Array.from(input, (x) => x * 2));
  }

  onBroken(listener: (err: Error) => void): void {
    this.listener = listener;
  }

  breakNow(): void {
    this.ended = new RuntimeUnavailableError('model worker exited (code 1)');
    for (const reject of this.waiting.splice(0)) reject(this.ended);
    this.listener?.(this.ended);
  }

  async end(reason: Error): Promise<void> {
    this.ended = reason;
    for (const reject of this.waiting.splice(0)) reject(reason);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }
}

/** Opens FakeRuntimes; `failNext` makes that many opens fail first. */
function factory() {
  const opened: FakeRuntime[] = [];
  const openedAt: number[] = [];
  const events: SupervisorEvent[] = [];
  const f = {
    opened,
    openedAt,
    events,
    failNext: 0,
    open: async (): Promise<ModelRuntime> => {
      openedAt.push(performance.now());
      if (f.failNext > 0) {
        f.failNext--;
        throw new Error('model.onnx: no such file');
      }
      const rt = new FakeRuntime(opened.length);
      opened.push(rt);
      return rt;
    },
    onEvent: (e: SupervisorEvent) => events.push(e),
  };
  return f;
}

const ONE = Float32Array.from([1]);

describe('SupervisedRuntime', () => {
  it('backs off 0, 250, 500, 1000 ms ... up to 10 s between restart attempts', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map(restartDelayMs), [0, 250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it('replaces a runtime that broke at once; calls meanwhile fail fast with RuntimeUnavailableError', async () => {
    const f = factory();
    const sup = await SupervisedRuntime.open({ open: f.open, restartAttempts: 3, onEvent: f.onEvent });
    try {
      assert.deepEqual(Array.from(await sup.run(ONE, 1)), [2]);
      f.opened[0]!.breakNow();
      assert.equal(sup.health.state, 'restarting');
      assert.match(sup.describeHealth() ?? '', /its worker broke \(model worker exited \(code 1\)\); restarting it \(attempt 1 of 3\)/);
      await assert.rejects(sup.run(ONE, 1), RuntimeUnavailableError);
      await waitFor('the restart', 5000, () => sup.health.state === 'ok');
      assert.equal(sup.current, f.opened[1]);
      assert.equal(f.opened[0]!.ended !== undefined, true, 'the broken runtime was ended');
      assert.deepEqual(Array.from(await sup.run(ONE, 1)), [2]);
      assert.deepEqual(
        f.events.map((e) => e.type),
        ['broken', 'restarted'],
      );
      assert.equal((f.events[0] as { reason: string }).reason, 'exit');
    } finally {
      await sup.dispose();
    }
  });

  it('retries a failed restart with backoff and gives up after the configured attempts', async () => {
    const f = factory();
    const sup = await SupervisedRuntime.open({ open: f.open, restartAttempts: 3, onEvent: f.onEvent });
    try {
      f.failNext = 10;
      const brokeAt = performance.now();
      f.opened[0]!.breakNow();
      await waitFor('giving up', 10_000, () => sup.health.state === 'failed');
      assert.deepEqual(
        f.events.map((e) => e.type),
        ['broken', 'restart-failed', 'restart-failed', 'restart-failed', 'gave-up'],
      );
      // Attempts 1..3 (opens 2..4) at about 0, 250 and 750 ms after the break.
      const at = f.openedAt.slice(1).map((t) => t - brokeAt);
      assert.equal(at.length, 3);
      assert.ok(at[0]! < 200, `first attempt at once (${at[0]!.toFixed(0)} ms)`);
      assert.ok(at[1]! - at[0]! >= 240, `second after 250 ms (${(at[1]! - at[0]!).toFixed(0)} ms)`);
      assert.ok(at[2]! - at[1]! >= 490, `third after 500 ms (${(at[2]! - at[1]!).toFixed(0)} ms)`);
      assert.match(sup.describeHealth() ?? '', /was not restarted after 3 attempts; last attempt: model\.onnx: no such file/);
      await assert.rejects(sup.run(ONE, 1), /not restarted/);
    } finally {
      await sup.dispose();
    }
  });

  it('never restarts with 0 attempts', async () => {
    const f = factory();
    const sup = await SupervisedRuntime.open({ open: f.open, restartAttempts: 0, onEvent: f.onEvent });
    f.opened[0]!.breakNow();
    assert.equal(sup.health.state, 'failed');
    assert.deepEqual(f.events.map((e) => e.type), ['broken', 'gave-up']);
    assert.equal(f.opened.length, 1);
    await sup.dispose();
  });

  it('counts restarts in a row: a successful call in between starts the count again', async () => {
    const f = factory();
    const sup = await SupervisedRuntime.open({ open: f.open, restartAttempts: 1, onEvent: f.onEvent });
    try {
      for (let i = 0; i < 3; i++) {
        f.opened.at(-1)!.breakNow();
        await waitFor(`restart ${i + 1}`, 5000, () => sup.health.state === 'ok');
        await sup.run(ONE, 1);
      }
      // Without a successful call, the second break in a row finds no attempt left.
      f.opened.at(-1)!.breakNow();
      await waitFor('restart 4', 5000, () => sup.health.state === 'ok');
      f.opened.at(-1)!.breakNow();
      assert.equal(sup.health.state, 'failed');
      assert.equal(f.opened.length, 5);
    } finally {
      await sup.dispose();
    }
  });

  it('ends a runtime whose call ran past the time limit of its caller, failing its waiting calls with that error, and serves from a fresh one', async () => {
    const f = factory();
    const sup = await SupervisedRuntime.open({ open: f.open, restartAttempts: 3, onEvent: f.onEvent });
    try {
      f.opened[0]!.hang = true;
      const input = Float32Array.from([1]);
      const hung = sup.run(input, 1).then(() => undefined, (e: unknown) => e);
      const queued = sup.run(Float32Array.from([2]), 1).then(() => undefined, (e: unknown) => e);
      const timeout = Object.assign(new Error('past the inference timeout'), { code: 'ETIMEDOUT' });
      sup.timedOut(input, timeout);
      assert.equal(await hung, timeout);
      assert.equal(await queued, timeout, 'calls queued behind the hung one fail with it');
      assert.equal(f.opened[0]!.ended, timeout, 'the hung runtime was ended');
      assert.deepEqual(f.events[0], { type: 'broken', reason: 'timeout', error: 'past the inference timeout' });
      await waitFor('the restart', 5000, () => sup.health.state === 'ok');
      assert.deepEqual(Array.from(await sup.run(ONE, 1)), [2]);
    } finally {
      await sup.dispose();
    }
  });

  it('leaves the runtime alone when the timed-out call no longer waits on it', async () => {
    const f = factory();
    const sup = await SupervisedRuntime.open({ open: f.open, restartAttempts: 3, onEvent: f.onEvent });
    try {
      const input = Float32Array.from([1]);
      await sup.run(input, 1);
      sup.timedOut(input, new Error('late'));
      assert.equal(sup.health.state, 'ok');
      // A call left on a runtime that was replaced since does not end the fresh one.
      f.opened[0]!.hang = true;
      const old = sup.run(input, 1).then(() => undefined, (e: unknown) => e);
      f.opened[0]!.breakNow();
      await old;
      await waitFor('the restart', 5000, () => sup.health.state === 'ok');
      sup.timedOut(input, new Error('late'));
      assert.equal(sup.health.state, 'ok');
      assert.equal(f.opened.length, 2);
    } finally {
      await sup.dispose();
    }
  });

  it('stops restarting once disposed', async (t) => {
    const f = factory();
    const sup = await SupervisedRuntime.open({ open: f.open, restartAttempts: 3 });
    // Fake time: the restart delays pass when the test says so, and all of them can pass at once.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    f.failNext = 1;
    f.opened[0]!.breakNow();
    // Attempt 1 fails; attempt 2 is due restartDelayMs(2) later. Dispose in between: nothing is opened later.
    t.mock.timers.tick(restartDelayMs(1));
    await nextTurn();
    assert.equal(f.openedAt.length, 2, 'the first attempt ran');
    await sup.dispose();
    t.mock.timers.tick(restartDelayMs(2) + restartDelayMs(3));
    await nextTurn();
    assert.equal(f.openedAt.length, 2, 'no attempt after dispose');
    assert.equal(f.opened[0]!.disposed, true);
  });
});
