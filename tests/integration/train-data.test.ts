// trainModel on the data sources and preparation options: a regression CSV with missing values and a
// categorical column, JSONL with augmentation, and the monitor's labeled examples.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '../../src/core/index.js';
import { initTf, tf } from '../../src/core/tfjs.js';
import { inferTask, trainModel } from '../../src/train/trainer.js';

const WEATHER = ['clear', 'rain', 'snow'] as const;
const SLOWDOWN = { clear: 1, rain: 1.25, snow: 1.6 };
const DELAY = { clear: 0, rain: 3, snow: 8 };

/** Delivery minutes (the example model's formula), with some distances missing. */
function deliveryCsv(rows: number, seed: number): string {
  const random = seededRandom(seed);
  const lines = ['distance_km,weight_kg,hour,weather,minutes'];
  for (let i = 0; i < rows; i++) {
    const distance = 1 + random() * 14;
    const weight = random() * 20;
    const hour = 8 + random() * 14;
    const weather = WEATHER[Math.floor(random() * 3)]!;
    const rush = 9 * Math.exp(-((hour - 12) ** 2) / 4.5) + 12 * Math.exp(-((hour - 18.5) ** 2) / 4.5);
    const minutes = 8 + 2.4 * distance * SLOWDOWN[weather] + 0.35 * weight + rush + DELAY[weather] + (random() - 0.5) * 4;
    const shown = i % 25 === 3 ? '' : distance.toFixed(2);
    lines.push(`${shown},${weight.toFixed(1)},${hour.toFixed(2)},${weather},${minutes.toFixed(1)}`);
  }
  return `${lines.join('\n')}\n`;
}

void describe('trainModel data sources and preparation', () => {
  let baseline = 0;
  let dir: string;
  before(async () => {
    await initTf();
    baseline = tf.memory().numTensors;
    dir = await mkdtemp(join(tmpdir(), 'driftgate-train-data-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    assert.equal(tf.memory().numTensors, baseline, 'tensors leaked');
  });

  void test('CSV regression: inferred task, imputed and one-hot columns, metrics in minutes', async (t) => {
    const path = join(dir, 'delivery.csv');
    await writeFile(path, deliveryCsv(1200, 4));
    const result = await trainModel({
      data: { kind: 'csv', path },
      target: 'minutes',
      modelName: 'delivery',
      hyperparameters: { epochs: 60, batchSize: 32, learningRate: 0.01 },
      earlyStopping: { patience: 10 },
    });
    try {
      assert.equal(result.task, 'regression');
      assert.equal(result.labels, undefined);
      assert.equal(result.outputName, 'minutes');
      assert.deepEqual(
        result.features,
        [
          { name: 'distance_km', type: 'numeric' },
          { name: 'weight_kg', type: 'numeric' },
          { name: 'hour', type: 'numeric' },
          { name: 'weather', type: 'categorical', categories: ['clear', 'rain', 'snow'] },
        ],
      );
      assert.equal(result.model.inputs[0]!.shape[1], 6);
      // 48 distances are missing; each is filled with the training split's median.
      const distance = result.cleaning.columns['distance_km']!;
      assert.equal(distance.missing, 48);
      assert.equal(distance.filled, 48);
      assert.equal(distance.strategy, 'median');
      assert.equal(typeof distance.fillValue, 'number');
      assert.ok(result.test.task === 'regression' && result.baseline?.task === 'regression');
      t.diagnostic(`test r2 ${result.test.r2}, rmse ${result.test.rmse} min; untrained baseline r2 ${result.baseline.r2}`);
      assert.ok(result.test.r2 > 0.85, `test r2 ${result.test.r2}`);
      // A new regression output starts at the training mean, so even the untrained network is near R² 0.
      assert.ok(Math.abs(result.baseline.r2) < 1, `baseline r2 ${result.baseline.r2}`);
      assert.ok(result.history.every((r) => Object.keys(r.metrics).sort().join() === 'mae,val_mae'));
      assert.equal(result.errorAnalysis.sliceMetric, 'mae');
      assert.ok(result.reference.prediction?.type === 'numeric' && result.reference.label?.type === 'numeric');
      // The reference holds what clients send: missing distances are left out, not imputed.
      const profiled = result.reference.features['distance_km']!.count;
      assert.ok(profiled < result.rows.train && profiled >= result.rows.train - 48, `${profiled} of ${result.rows.train} training distances profiled`);
      assert.deepEqual(Object.keys((result.reference.features['weather'] as { counts: object }).counts), ['clear', 'rain', 'snow']);
    } finally {
      result.model.dispose();
    }
  });

  void test('JSONL with augmentation: oversampling, noise and mixup add training rows only', async () => {
    const random = seededRandom(8);
    const lines: string[] = [];
    for (let i = 0; i < 300; i++) {
      const rare = i % 6 === 0;
      const a = random() * 2 - 1 + (rare ? 2 : 0);
      const b = random() * 2 - 1;
      lines.push(JSON.stringify({ a, b, colour: i % 2 ? 'red' : 'blue', kind: rare ? 'rare' : 'common' }));
    }
    const path = join(dir, 'rare.jsonl');
    await writeFile(path, lines.join('\n'));
    const result = await trainModel({
      data: { kind: 'jsonl', path },
      target: 'kind',
      modelName: 'rare',
      augment: { oversample: true, noise: { std: 0.05, copies: 1 }, mixup: { alpha: 0.4, copies: 1 } },
      hyperparameters: { epochs: 15, batchSize: 32 },
    });
    try {
      assert.equal(result.task, 'classification');
      assert.deepEqual(result.labels, ['common', 'rare']);
      const { train } = result.rows;
      const rare = result.reference.label?.type === 'categorical' ? result.reference.label.counts['rare']! : 0;
      // Oversampling brings "rare" up to "common"; then one noisy and one mixed copy of every row.
      const balanced = 2 * (train - rare);
      assert.equal(result.rows.augmented, balanced * 3 - train);
      assert.ok(result.test.task === 'classification' && result.test.accuracy > 0.9, `test accuracy ${(result.test as { accuracy: number }).accuracy}`);
      assert.equal(result.validation.n, result.rows.validation, 'validation rows are not augmented');
    } finally {
      result.model.dispose();
    }
  });

  void test('labeled examples in the monitor\'s format', async () => {
    const random = seededRandom(2);
    const examples = Array.from({ length: 200 }, () => {
      const x = random() * 10;
      return { features: { x, size: x > 5 ? 'big' : 'small' }, label: x > 5 ? 'high' : 'low' };
    });
    const result = await trainModel({ data: { kind: 'examples', examples }, target: 'label', modelName: 'examples', hyperparameters: { epochs: 20 } });
    try {
      assert.deepEqual(result.features.map((f) => f.name), ['x', 'size']);
      assert.deepEqual(result.labels, ['high', 'low']);
      assert.ok(result.test.task === 'classification' && result.test.accuracy > 0.9);
    } finally {
      result.model.dispose();
    }
  });

  void test('inferTask: text or few integers are classes, other numbers a regression', () => {
    const table = (values: unknown[]) => ({ columns: ['y'], rows: values.map((y) => ({ y })) });
    assert.equal(inferTask(table(['a', 'b', null]), 'y'), 'classification');
    assert.equal(inferTask(table([0, 1, 1, '2', 2]), 'y'), 'classification');
    assert.equal(inferTask(table([0.5, 1, 2]), 'y'), 'regression');
    assert.equal(inferTask(table(Array.from({ length: 30 }, (_, i) => i)), 'y'), 'regression');
  });

  void test('bad input is a DataError naming the problem', async () => {
    const csv = join(dir, 'tiny.csv');
    await writeFile(csv, 'a,y\n1,x\n2,y\n3,x\n');
    const isDataError = (pattern: RegExp) => (err: Error) => err.name === 'DataError' && pattern.test(err.message);
    await assert.rejects(trainModel({ data: { kind: 'csv', path: join(dir, 'missing.csv') }, target: 'y', modelName: 'm' }), (err: Error) => err.name === 'DataError');
    await assert.rejects(trainModel({ data: { kind: 'csv', path: csv }, target: 'nope', modelName: 'm' }), isDataError(/unknown target column "nope"/));
    await assert.rejects(trainModel({ data: { kind: 'csv', path: csv }, target: 'y', modelName: 'm' }), isDataError(/split is empty/));
    await assert.rejects(
      trainModel({ data: { kind: 'csv', path: csv }, target: 'y', modelName: 'm', hyperparameters: { learningRate: -1 } }),
      isDataError(/learning rate/),
    );
    await assert.rejects(trainModel({ data: { kind: 'csv', path: csv }, target: 'y', modelName: '../evil' }), isDataError(/invalid model name/));
  });
});
