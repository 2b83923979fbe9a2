// One contract, every runtime: the same suite runs against onnxruntime-node (ONNX), tfjs layers and
// tfjs graph models. Each must answer rows x outputWidth float32 values for any batch size, give the
// same answer for the same rows wherever they sit in a batch, survive concurrent calls, and fail to
// open (not crash) on a broken model. Then how a worker thread is ended: at once when it runs
// JavaScript, after its call returns when it is inside onnxruntime's native code.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inputWidth, outputWidth, parseManifest, seededRandom } from '../../src/core/index.js';
import { tf } from '../../src/core/tfjs.js';
import type { Manifest } from '../../src/core/index.js';
import { RuntimeUnavailableError, WorkerRuntime, openRuntime } from '../../src/serve/index.js';
import { timeOnnxCalls, writeSlowModel } from '../helpers/slow-model.js';
import type { ModelRuntime, RuntimeOptions } from '../../src/serve/index.js';

const root = resolve(import.meta.dirname, '../..');
const base: RuntimeOptions = { onnx: { intraOpThreads: 1, interOpThreads: 1, graphOptimization: 'all' }, tfjsBackend: 'auto' };

const cases = [
  { label: 'ONNX (onnxruntime-node)', dir: join(root, 'models/iris-onnx/1'), broken: 'model.onnx' },
  { label: 'tfjs layers model', dir: join(root, 'models/iris-tfjs/1'), broken: 'weights.bin' },
  { label: 'tfjs graph model', dir: join(root, 'tests/fixtures/graph-model'), broken: 'model.json' },
  { label: 'ONNX regression with one-hot input', dir: join(root, 'models/delivery-onnx/1'), broken: 'model.onnx' },
  { label: 'tfjs regression with one-hot input', dir: join(root, 'models/delivery-tfjs/1'), broken: 'weights.bin' },
];

const timeOnnx = (dir: string) => timeOnnxCalls(join(dir, 'model.onnx'), 1);

function manifestOf(dir: string): Manifest {
  return parseManifest(JSON.parse(readFileSync(join(dir, 'driftgate.json'), 'utf8')));
}

function randomRows(rows: number, width: number, seed: number): Float32Array {
  const rnd = seededRandom(seed);
  return Float32Array.from({ length: rows * width }, () => rnd() * 4 - 2);
}

for (const c of cases) for (const thread of ['inline', 'worker'] as const) {
  describe(`ModelRuntime contract: ${c.label}, ${thread}`, () => {
    const options: RuntimeOptions = { ...base, thread };
    let runtime: ModelRuntime;
    let manifest: Manifest;
    let inW: number;
    let outW: number;

    before(async () => {
      manifest = manifestOf(c.dir);
      inW = inputWidth(manifest.features);
      outW = outputWidth(manifest);
      runtime = await openRuntime(c.dir, manifest, options);
    });
    after(async () => runtime?.dispose());

    it('reports the manifest format', () => {
      assert.equal(runtime.format, manifest.format);
    });

    it('answers rows x outputWidth finite values for batch sizes 1, 7 and 64', async () => {
      for (const rows of [1, 7, 64]) {
        const out = await runtime.run(randomRows(rows, inW, rows), rows);
        assert.ok(out instanceof Float32Array);
        assert.equal(out.length, rows * outW);
        assert.ok(out.every(Number.isFinite));
        if (manifest.task === 'classification') {
          for (let r = 0; r < rows; r++) {
            const sum = out.slice(r * outW, (r + 1) * outW).reduce((a, b) => a + b, 0);
            assert.ok(Math.abs(sum - 1) < 1e-4, `row ${r} probabilities sum to ${sum}`);
          }
        }
      }
    });

    it('gives a row the same answer alone and inside a batch', async () => {
      const batch = randomRows(9, inW, 42);
      const together = await runtime.run(batch, 9);
      for (const r of [0, 4, 8]) {
        const alone = await runtime.run(batch.slice(r * inW, (r + 1) * inW), 1);
        for (let k = 0; k < outW; k++) {
          const a = alone[k]!;
          const b = together[r * outW + k]!;
          assert.ok(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(a)), `row ${r} col ${k}: ${a} vs ${b}`);
        }
      }
    });

    it('handles concurrent calls without mixing them up', async () => {
      const inputs = Array.from({ length: 8 }, (_, i) => randomRows(3, inW, 100 + i));
      const sequential: Float32Array[] = [];
      for (const x of inputs) sequential.push(await runtime.run(x, 3));
      const parallel = await Promise.all(inputs.map((x) => runtime.run(x, 3)));
      parallel.forEach((p, i) => assert.deepEqual(Array.from(p), Array.from(sequential[i]!)));
    });

    // Tensors are counted on this thread, so the check applies to the inline runtime (the worker
    // runs the very same runtime class in its own thread).
    if (thread === 'inline') {
      it('leaks no tensors across calls', async () => {
        await runtime.run(randomRows(4, inW, 1), 4);
        const baseline = tf.memory().numTensors;
        for (let i = 0; i < 20; i++) await runtime.run(randomRows(4, inW, i), 4);
        assert.equal(tf.memory().numTensors, baseline);
      });
    }

    it('fails to open, with an error naming the problem, when a model file is broken', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'dg-broken-'));
      try {
        cpSync(c.dir, dir, { recursive: true });
        writeFileSync(join(dir, c.broken), c.broken.endsWith('.json') ? '{"not": "a model"' : Buffer.from('garbage'));
        await assert.rejects(openRuntime(dir, manifest, options), (err: Error) => err.message.length > 0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

describe('OnnxRuntime input/output names', () => {
  it('refuses a manifest whose tensor names the model does not have', async () => {
    const dir = join(root, 'models/iris-onnx/1');
    const manifest = manifestOf(dir);
    for (const thread of ['inline', 'worker'] as const) {
      await assert.rejects(openRuntime(dir, { ...manifest, input: 'nope' }, { ...base, thread }), /no input named "nope" \(it has features\)/);
      await assert.rejects(openRuntime(dir, { ...manifest, output: 'nope' }, { ...base, thread }), /no output named "nope"/);
    }
  });
});

describe('WorkerRuntime', () => {
  it('keeps the event loop free while a model computes, and refuses calls once disposed', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'dg-slow-'));
    const dir = writeSlowModel(repo);
    const manifest = manifestOf(dir);
    const runtime = await openRuntime(dir, manifest, { ...base, thread: 'worker' });
    try {
      // The slow model computes for hundreds of ms; a 10 ms timer must fire long before it answers.
      let answered = false;
      const call = runtime.run(Float32Array.from([1, 2, 3, 4]), 1).then((out) => ((answered = true), out));
      await new Promise((r) => setTimeout(r, 10));
      assert.equal(answered, false, 'the timer fired while the worker was still computing');
      assert.equal((await call).length, 3);
      // dispose() lets a call already queued finish, then ends the thread; later calls fail clearly.
      const pending = runtime.run(Float32Array.from([1, 2, 3, 4]), 1);
      await runtime.dispose();
      assert.equal((await pending).length, 3);
      await assert.rejects(runtime.run(Float32Array.from([1, 2, 3, 4]), 1), /unloaded|exited/);
    } finally {
      await runtime.dispose();
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it('hears of a crashed thread: onBroken listeners are told once, calls fail with RuntimeUnavailableError', async () => {
    const dir = join(root, 'models/iris-onnx/1');
    const runtime = (await openRuntime(dir, manifestOf(dir), { ...base, thread: 'worker' })) as WorkerRuntime;
    try {
      const heard: Error[] = [];
      runtime.onBroken((err) => heard.push(err));
      runtime.crash('boom');
      assert.equal(await runtime.exited, 1);
      assert.equal(heard.length, 1);
      assert.match(heard[0]!.message, /model worker crashed: boom/);
      await assert.rejects(runtime.run(Float32Array.from([1, 2, 3, 4]), 1), RuntimeUnavailableError);
    } finally {
      await runtime.dispose();
    }
  });

  it('terminates a thread spinning in a JavaScript loop at once when ended', async () => {
    const dir = join(root, 'models/iris-onnx/1');
    const runtime = await WorkerRuntime.load(dir, manifestOf(dir), { ...base, thread: 'worker' }, new URL('../helpers/stuck-worker.mjs', import.meta.url));
    const heard: Error[] = [];
    runtime.onBroken((err) => heard.push(err));
    assert.equal((await runtime.run(new Float32Array(4), 1)).length, 3, 'zero input is answered');
    const stuck = runtime.run(Float32Array.from([1, 2, 3, 4]), 1).then(() => undefined, (err: unknown) => err);
    await new Promise((r) => setTimeout(r, 100)); // time for the thread to be spinning when end() comes
    const reason = new Error('hung');
    const endedAt = performance.now();
    await runtime.end(reason);
    assert.ok(performance.now() - endedAt < 5000, 'the busy thread stopped promptly');
    assert.equal(await stuck, reason);
    assert.equal(heard.length, 0, 'ending on purpose is not reported as breaking');
    await runtime.dispose();
  });

  it('ends a thread computing in onnxruntime only after its call returns, skipping the calls queued behind it', async () => {
    // terminate() during a native call would abort this whole process once the call returns.
    const repo = mkdtempSync(join(tmpdir(), 'dg-slow-'));
    const dir = writeSlowModel(repo, { iterations: 450 });
    const runtime = (await openRuntime(dir, manifestOf(dir), { ...base, thread: 'worker' })) as WorkerRuntime;
    try {
      const row = Float32Array.from([1, 2, 3, 4]);
      const calls = [1, 2, 3].map(() => runtime.run(row, 1).then(() => undefined, (err: unknown) => err));
      await new Promise((r) => setTimeout(r, 200)); // time for the first call to be inside onnxruntime when end() comes
      const reason = new Error('hung');
      const endedAt = performance.now();
      const ended = runtime.end(reason);
      for (const call of calls) assert.equal(await call, reason);
      assert.ok(performance.now() - endedAt < 100, 'the calls fail at once');
      await ended;
      const exitMs = performance.now() - endedAt;
      // One call takes about 1.5 s on a quiet core; computing the two queued calls too would take 3 times that.
      const [oneCall] = await timeOnnx(dir);
      assert.ok(exitMs < oneCall! * 2, `the thread ended ${exitMs.toFixed(0)} ms after end(); one call takes ${oneCall!.toFixed(0)} ms`);
    } finally {
      await runtime.dispose();
      rmSync(repo, { recursive: true, force: true });
    }
  });
});
