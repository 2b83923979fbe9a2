// Early stopping inside trainModel: on small noisy data a large network overfits, training stops
// `patience` epochs after the best validation score, and the returned model scores exactly what the
// best epoch scored, not what the last one did.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../src/core/index.js';
import { initTf, tf } from '../../src/core/tfjs.js';
import type { RawTable } from '../../src/train/index.js';
import { trainModel } from '../../src/train/trainer.js';
import type { TrainOptions } from '../../src/train/types.js';

/** 10 features, 2 of them informative; classification labels flipped 25% of the time, or a noisy value. */
function noisyTable(rows: number, seed: number, task: 'classification' | 'regression'): RawTable {
  const random = seededRandom(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const columns = Array.from({ length: 10 }, (_, i) => `f${i}`);
  const out: Record<string, unknown>[] = [];
  for (let r = 0; r < rows; r++) {
    const x = columns.map(() => normal());
    const signal = x[0]! + 0.5 * x[1]! * x[1]!;
    const y = task === 'classification' ? ((signal > 0.5) !== random() < 0.25 ? 'yes' : 'no') : signal + normal();
    out.push({ ...Object.fromEntries(columns.map((c, i) => [c, x[i]])), y });
  }
  return { columns: [...columns, 'y'], rows: out };
}

const OVERFITTING: Partial<TrainOptions> = {
  target: 'y',
  modelName: 'noisy',
  seed: 3,
  split: { train: 0.5, validation: 0.25, test: 0.25 },
  hyperparameters: { epochs: 200, batchSize: 16, learningRate: 0.02, network: { hidden: [{ units: 64 }, { units: 64 }] } },
};

function near(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected}`);
}

void describe('early stopping in trainModel', () => {
  let baseline = 0;
  before(async () => {
    await initTf();
    baseline = tf.memory().numTensors;
  });
  after(() => assert.equal(tf.memory().numTensors, baseline, 'tensors leaked'));

  void test('val_loss: stops after `patience` epochs without improvement and restores the best epoch', async () => {
    const result = await trainModel({
      ...OVERFITTING,
      data: { kind: 'table', table: noisyTable(240, 1, 'classification') },
      earlyStopping: { monitor: 'val_loss', patience: 8 },
    } as TrainOptions);
    try {
      const { history, bestEpoch } = result;
      assert.ok(history.length < 200, 'stopped early');
      assert.equal(history.length, bestEpoch + 8);
      const best = history[bestEpoch - 1]!;
      const last = history.at(-1)!;
      assert.equal(best.valLoss, Math.min(...history.map((r) => r.valLoss)));
      assert.ok(last.valLoss - best.valLoss > 0.01, `the last epoch is clearly worse (${last.valLoss} vs ${best.valLoss})`);
      // The returned model, evaluated afresh on the validation split, scores the best epoch's loss.
      assert.ok(result.validation.task === 'classification');
      near(result.validation.logLoss, best.valLoss, 1e-4, 'validation log loss of the returned model');
      near(result.validation.accuracy, best.metrics['val_accuracy']!, 1e-6, 'validation accuracy of the returned model');
    } finally {
      result.model.dispose();
    }
  });

  void test('val_accuracy (maximised) restores the first epoch with the best accuracy', async () => {
    const result = await trainModel({
      ...OVERFITTING,
      data: { kind: 'table', table: noisyTable(240, 1, 'classification') },
      earlyStopping: { monitor: 'val_accuracy', patience: 6 },
    } as TrainOptions);
    try {
      const accuracies = result.history.map((r) => r.metrics['val_accuracy']!);
      const top = Math.max(...accuracies);
      assert.equal(result.bestEpoch, accuracies.indexOf(top) + 1);
      assert.ok(result.validation.task === 'classification');
      near(result.validation.accuracy, top, 1e-6, 'validation accuracy');
      near(result.validation.logLoss, result.history[result.bestEpoch - 1]!.valLoss, 1e-4, 'validation log loss');
    } finally {
      result.model.dispose();
    }
  });

  void test('regression, val_mae: the returned model has the best epoch\'s MAE and MSE', async () => {
    const result = await trainModel({
      ...OVERFITTING,
      data: { kind: 'table', table: noisyTable(240, 2, 'regression') },
      task: 'regression',
      earlyStopping: { monitor: 'val_mae', patience: 8 },
    } as TrainOptions);
    try {
      const best = result.history[result.bestEpoch - 1]!;
      assert.ok(result.history.length < 200);
      assert.deepEqual(Object.keys(best.metrics).sort(), ['mae', 'val_mae']);
      assert.ok(result.validation.task === 'regression');
      near(result.validation.mae, best.metrics['val_mae']!, 1e-4, 'validation MAE');
      near(result.validation.mse, best.valLoss, 1e-3, 'validation MSE');
      assert.ok(result.history.at(-1)!.metrics['val_mae']! > best.metrics['val_mae']!);
    } finally {
      result.model.dispose();
    }
  });

  void test('earlyStopping: false trains every epoch and keeps the last weights', async () => {
    const result = await trainModel({
      ...OVERFITTING,
      hyperparameters: { ...OVERFITTING.hyperparameters, epochs: 12 },
      data: { kind: 'table', table: noisyTable(240, 1, 'classification') },
      earlyStopping: false,
    } as TrainOptions);
    try {
      assert.equal(result.history.length, 12);
      assert.equal(result.bestEpoch, 12);
      assert.ok(result.validation.task === 'classification');
      // Accuracy rather than log loss here: twelve epochs at this rate leave some validation rows
      // predicted with near-zero probability, where tfjs (clipping at 1e-7) and the report (at 1e-15)
      // compute different losses.
      near(result.validation.accuracy, result.history[11]!.metrics['val_accuracy']!, 1e-6, 'validation accuracy');
    } finally {
      result.model.dispose();
    }
  });

  void test('an unknown monitor is refused before training', async () => {
    await assert.rejects(
      trainModel({ ...OVERFITTING, data: { kind: 'table', table: noisyTable(60, 1, 'classification') }, earlyStopping: { monitor: 'val_mae', patience: 2 } } as TrainOptions),
      (err: Error) => err.name === 'DataError' && /cannot monitor "val_mae".*val_loss, val_accuracy/.test(err.message),
    );
  });
});
