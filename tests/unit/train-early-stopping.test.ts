// Early stopping: the patience rule on scripted metric sequences, option resolution, and the tracker's
// copy of the best weights (restored, and freed).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf } from '../../src/core/tfjs.js';
import { BestWeightsTracker, INITIAL_PATIENCE, monitorMode, observeEpoch, resolveEarlyStopping } from '../../src/train/early-stopping.js';
import type { EarlyStoppingConfig } from '../../src/train/early-stopping.js';

/** Feeds a sequence through the rule; returns the epoch (1-based) it stops at, or undefined, and the best epoch. */
function script(values: readonly number[], config: Pick<EarlyStoppingConfig, 'patience' | 'minDelta' | 'mode'>): { stoppedAt: number | undefined; bestEpoch: number | undefined; improved: boolean[] } {
  let state = INITIAL_PATIENCE;
  const improved: boolean[] = [];
  for (let i = 0; i < values.length; i++) {
    const step = observeEpoch(state, i + 1, values[i]!, config);
    state = step.state;
    improved.push(step.improved);
    if (step.stop) return { stoppedAt: i + 1, bestEpoch: state.bestEpoch, improved };
  }
  return { stoppedAt: undefined, bestEpoch: state.bestEpoch, improved };
}

void describe('observeEpoch (the patience rule)', () => {
  void test('a loss that keeps falling never stops', () => {
    const r = script([1, 0.9, 0.8, 0.7, 0.6], { patience: 1, minDelta: 0, mode: 'min' });
    assert.equal(r.stoppedAt, undefined);
    assert.equal(r.bestEpoch, 5);
  });

  void test('stops `patience` epochs after the best one, which it remembers', () => {
    //                 1    2    3    4     5    6
    const values = [1.0, 0.5, 0.6, 0.55, 0.7, 0.4];
    const r = script(values, { patience: 3, minDelta: 0, mode: 'min' });
    assert.equal(r.stoppedAt, 5);
    assert.equal(r.bestEpoch, 2);
    assert.deepEqual(r.improved, [true, true, false, false, false]);
  });

  void test('patience 0 stops at the first epoch without improvement', () => {
    const r = script([3, 2, 2.5, 1], { patience: 0, minDelta: 0, mode: 'min' });
    assert.equal(r.stoppedAt, 3);
    assert.equal(r.bestEpoch, 2);
  });

  void test('an improvement resets the wait', () => {
    const r = script([5, 6, 4, 6, 3, 6, 6], { patience: 2, minDelta: 0, mode: 'min' });
    assert.equal(r.stoppedAt, 7);
    assert.equal(r.bestEpoch, 5);
  });

  void test('minDelta: gains no larger than it do not count', () => {
    const r = script([1.0, 0.95, 0.9, 0.85], { patience: 2, minDelta: 0.1, mode: 'min' });
    // 0.95 and 0.9 are within 0.1 of 1.0; stops after two of them with epoch 1 still the best.
    assert.equal(r.stoppedAt, 3);
    assert.equal(r.bestEpoch, 1);
    const bigger = script([1.0, 0.85, 0.7], { patience: 1, minDelta: 0.1, mode: 'min' });
    assert.equal(bigger.stoppedAt, undefined);
    assert.equal(bigger.bestEpoch, 3);
  });

  void test('max mode for accuracy; equal values are not improvements', () => {
    const r = script([0.5, 0.8, 0.8, 0.8], { patience: 2, minDelta: 0, mode: 'max' });
    assert.equal(r.stoppedAt, 4);
    assert.equal(r.bestEpoch, 2);
  });

  void test('NaN never improves and never becomes the best', () => {
    const r = script([Number.NaN, 2, Number.NaN, Number.NaN], { patience: 2, minDelta: 0, mode: 'min' });
    assert.deepEqual(r.improved, [false, true, false, false]);
    assert.equal(r.bestEpoch, 2);
    assert.equal(r.stoppedAt, 4);
  });
});

void describe('resolveEarlyStopping and monitorMode', () => {
  void test('defaults: val_loss, patience 10, minDelta 0, min', () => {
    assert.deepEqual(resolveEarlyStopping(undefined), { monitor: 'val_loss', patience: 10, minDelta: 0, startFromEpoch: 0, mode: 'min' });
    assert.equal(resolveEarlyStopping(false), undefined);
    assert.deepEqual(resolveEarlyStopping({ monitor: 'val_accuracy', patience: 3 }), { monitor: 'val_accuracy', patience: 3, minDelta: 0, startFromEpoch: 0, mode: 'max' });
  });

  void test('direction follows the metric name', () => {
    for (const name of ['val_accuracy', 'accuracy', 'val_acc', 'val_auc', 'val_r2']) assert.equal(monitorMode(name), 'max', name);
    for (const name of ['val_loss', 'loss', 'val_mae', 'mae', 'val_mse']) assert.equal(monitorMode(name), 'min', name);
  });

  void test('rejects a bad patience or minDelta', () => {
    assert.throws(() => resolveEarlyStopping({ patience: -1 }), RangeError);
    assert.throws(() => resolveEarlyStopping({ patience: 1.5 }), RangeError);
    assert.throws(() => resolveEarlyStopping({ patience: 2, minDelta: -0.1 }), RangeError);
  });
});

void describe('BestWeightsTracker', () => {
  let baseline = 0;
  before(async () => {
    await initTf();
    baseline = tf.memory().numTensors;
  });
  after(() => assert.equal(tf.memory().numTensors, baseline, 'tensors leaked'));

  /** A one-layer model whose single weight is set to `value` (simulates an epoch's update). */
  function setWeight(model: tf.LayersModel, value: number): void {
    const w = tf.tensor2d([[value]]);
    const b = tf.tensor1d([0]);
    model.setWeights([w, b]);
    tf.dispose([w, b]);
  }
  const weightOf = (model: tf.LayersModel): number => (model.getWeights()[0]!.dataSync()[0] as number);

  void test('restores the weights of the best epoch, not the last, and frees its copy', () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
    try {
      const tracker = new BestWeightsTracker({ monitor: 'val_loss', patience: 2, minDelta: 0, startFromEpoch: 0, mode: 'min' });
      const losses = [0.9, 0.4, 0.6, 0.7];
      let stoppedAt: number | undefined;
      for (let epoch = 1; epoch <= losses.length; epoch++) {
        setWeight(model, epoch * 10); // the weights "epoch" e ends with
        if (tracker.update(epoch, losses[epoch - 1]!, model)) {
          stoppedAt = epoch;
          break;
        }
      }
      assert.equal(stoppedAt, 4);
      assert.equal(tracker.bestEpoch, 2);
      assert.equal(tracker.bestValue, 0.4);
      assert.equal(weightOf(model), 40);
      assert.equal(tracker.restore(model), true);
      assert.equal(weightOf(model), 20);
      const held = tf.memory().numTensors;
      tracker.dispose();
      assert.equal(tf.memory().numTensors, held - 2, 'the kernel and bias copies are freed');
      assert.equal(weightOf(model), 20, 'the restored weights outlive the copy');
    } finally {
      model.dispose();
    }
  });

  void test('restore without any finite value recorded is a no-op', () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
    try {
      const tracker = new BestWeightsTracker({ monitor: 'val_loss', patience: 5, minDelta: 0, startFromEpoch: 0, mode: 'min' });
      tracker.update(1, Number.NaN, model);
      assert.equal(tracker.restore(model), false);
      tracker.dispose();
    } finally {
      model.dispose();
    }
  });

  void test('startFromEpoch: the first epochs of a phase neither stop the run nor become the best; a value from before the phase still counts', () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
    try {
      // A warm start whose validation loss is best at once and then worse while the model relearns.
      const losses = [0.1, 0.5, 0.6, 0.7, 0.4, 0.3, 0.35, 0.36];
      const run = (startFromEpoch: number) => {
        const tracker = new BestWeightsTracker({ monitor: 'val_loss', patience: 2, minDelta: 0, startFromEpoch, mode: 'min' });
        let stoppedAt: number | undefined;
        for (let epoch = 1; epoch <= losses.length && stoppedAt === undefined; epoch++) {
          setWeight(model, epoch * 10);
          if (tracker.update(epoch, losses[epoch - 1]!, model)) stoppedAt = epoch;
        }
        tracker.restore(model);
        tracker.dispose();
        return { stoppedAt, best: tracker.bestEpoch, weight: weightOf(model) };
      };
      assert.deepEqual(run(0), { stoppedAt: 3, best: 1, weight: 10 });
      assert.deepEqual(run(3), { stoppedAt: 8, best: 6, weight: 60 });

      // Second phase starting at epoch 11: the first phase's end (epoch 10) is watched, 11-12 are not.
      const tracker = new BestWeightsTracker({ monitor: 'val_loss', patience: 1, minDelta: 0, startFromEpoch: 2, mode: 'min' }, 11);
      setWeight(model, 100);
      assert.equal(tracker.update(10, 0.2, model), false);
      for (const [epoch, loss] of [[11, 0.1], [12, 0.1]] as const) {
        setWeight(model, epoch * 10);
        assert.equal(tracker.update(epoch, loss, model), false, `epoch ${epoch} is skipped`);
      }
      setWeight(model, 130);
      assert.equal(tracker.update(13, 0.25, model), true, 'epoch 13 is the first watched, and no better');
      assert.equal(tracker.bestEpoch, 10);
      tracker.restore(model);
      assert.equal(weightOf(model), 100);
      tracker.dispose();
    } finally {
      model.dispose();
    }
  });

  void test('resolveEarlyStopping checks startFromEpoch', () => {
    assert.equal(resolveEarlyStopping(undefined)!.startFromEpoch, 0);
    assert.equal(resolveEarlyStopping({ patience: 3, startFromEpoch: 10 })!.startFromEpoch, 10);
    assert.throws(() => resolveEarlyStopping({ patience: 3, startFromEpoch: -1 }), /startFromEpoch must be an integer >= 0, got -1/);
    assert.throws(() => resolveEarlyStopping({ patience: 3, startFromEpoch: 1.5 }), /startFromEpoch/);
  });
});
