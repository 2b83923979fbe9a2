// `driftgate train`'s early-stopping flags: parsed with the command's own flag table, turned into
// the trainer's options, and refused in combinations that contradict each other.
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import { describe, it } from 'node:test';
import { TRAIN_FLAG_SPEC, trainOptionsFromFlags } from '../../src/cli/train-flags.js';

function optionsFor(...extra: string[]) {
  const { values } = parseArgs({ args: ['--data', 'iris.csv', '--target', 'species', '--model', 'iris', ...extra], options: TRAIN_FLAG_SPEC, strict: true });
  return trainOptionsFromFlags(values);
}

void describe('train flags: early stopping', () => {
  void it('leaves early stopping to the trainer when no flag is given', () => {
    assert.equal(optionsFor().earlyStopping, undefined);
  });

  void it('takes patience, monitor, min-delta and start-from-epoch together', () => {
    assert.deepEqual(optionsFor('--patience', '4', '--monitor', 'val_accuracy', '--min-delta', '0.01', '--start-from-epoch', '10').earlyStopping, {
      patience: 4,
      monitor: 'val_accuracy',
      minDelta: 0.01,
      startFromEpoch: 10,
    });
    assert.deepEqual(optionsFor('--start-from-epoch', '5').earlyStopping, { patience: 10, startFromEpoch: 5 });
  });

  void it('refuses a negative or fractional start-from-epoch, and any tuning beside --no-early-stopping', () => {
    assert.throws(() => optionsFor('--start-from-epoch', '-1'), /start-from-epoch/);
    assert.throws(() => optionsFor('--start-from-epoch', '1.5'), /start-from-epoch/);
    assert.throws(() => optionsFor('--no-early-stopping', '--start-from-epoch', '3'), /--no-early-stopping cannot be combined with .*--start-from-epoch/);
    assert.equal(optionsFor('--no-early-stopping').earlyStopping, false);
  });
});
