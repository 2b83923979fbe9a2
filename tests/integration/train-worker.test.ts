// runTraining: training and writing in a worker thread, with progress events, a plain-data result,
// a caller's event loop that stays free, bad-input errors that keep their code, and cancellation that
// leaves the repository untouched.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isDriftgateError } from '../../src/core/index.js';
import type { TrainEvent, TrainOptions } from '../../src/train/types.js';
import { runTraining } from '../../src/train/worker.js';

const IRIS_CSV = resolve(import.meta.dirname, '../../examples/iris.csv');

const iris = (epochs: number): TrainOptions => ({
  data: { kind: 'csv', path: IRIS_CSV },
  target: 'species',
  modelName: 'iris',
  seed: 3,
  hyperparameters: { epochs, learningRate: 0.02, network: { hidden: [{ units: 16 }] } },
  earlyStopping: false,
});

void describe('runTraining', () => {
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'dg-train-worker-'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  test('trains off the caller thread, forwards progress and returns a summary with the version written', async () => {
    const repo = join(work, 'ok');
    const events: TrainEvent[] = [];
    // A timer on this thread keeps ticking while the worker trains: the event loop is free.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    try {
      const outcome = await runTraining(iris(15), { repo, onEvent: (e) => events.push(e) });
      assert.equal(outcome.version, 1);
      assert.equal(outcome.dir, join(repo, 'iris', '1'));
      assert.equal(outcome.history.length, 15);
      assert.equal('model' in outcome, false, 'the model stays in the worker');
      assert.equal('splitRows' in outcome, false, 'the training rows stay in the worker');
      assert.equal(outcome.manifest.version, 1);
      assert.equal(outcome.manifest.format, 'tfjs-layers');
      assert.deepEqual(
        outcome.network.map((l) => l.name),
        ['hidden_1', 'output'],
      );
      assert.equal(structuredClone(outcome).version, 1, 'the summary is plain data');
      assert.deepEqual((await readdir(outcome.dir)).sort(), ['driftgate.json', 'model.json', 'report.html', 'training-sample.jsonl', 'weights.bin']);
    } finally {
      clearInterval(timer);
    }
    assert.ok(ticks >= 5, `the caller's timer ran ${ticks} times during training`);
    const epochs = events.filter((e): e is Extract<TrainEvent, { type: 'epoch' }> => e.type === 'epoch');
    assert.equal(epochs.length, 15);
    assert.deepEqual(
      epochs.map((e) => e.record.epoch),
      Array.from({ length: 15 }, (_, i) => i + 1),
    );
    assert.ok(events.some((e) => e.type === 'stage' && e.stage === 'train'));
  });

  test('bad data rejects with the INVALID_INPUT code and writes nothing', async () => {
    const repo = join(work, 'bad');
    await assert.rejects(runTraining({ ...iris(2), target: 'colour' }, { repo }), (err: unknown) => {
      assert.ok(isDriftgateError(err), String(err));
      assert.equal(err.code, 'INVALID_INPUT');
      assert.match(err.message, /unknown target column "colour"/);
      return true;
    });
    assert.deepEqual(await readdir(repo).catch(() => []), []);
  });

  test('aborting during training rejects with an AbortError and leaves the repository empty', async () => {
    const repo = join(work, 'cancelled');
    const controller = new AbortController();
    let abortedAt = 0;
    const run = runTraining(iris(5000), {
      repo,
      signal: controller.signal,
      // A long grace: the run must stop by itself at the next batch, not by being terminated.
      cancelGraceMs: 60_000,
      onEvent: (e) => {
        if (e.type === 'epoch' && e.record.epoch === 3) {
          abortedAt = Date.now();
          controller.abort();
        }
      },
    });
    await assert.rejects(run, (err: Error) => err.name === 'AbortError');
    const latency = Date.now() - abortedAt;
    assert.ok(latency < 5000, `the worker stopped ${latency} ms after the abort`);
    assert.deepEqual(await readdir(repo).catch(() => []), []);
  });

  test('an already aborted signal rejects at once', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(runTraining(iris(2), { repo: join(work, 'never'), signal: controller.signal }), (err: Error) => err.name === 'AbortError');
  });
});
