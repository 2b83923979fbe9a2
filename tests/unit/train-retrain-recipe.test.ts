// The retrain recipe: defaults, the champion's block with the caller's overrides on top, and the
// refusals that name the bad field.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DataError, DEFAULT_REPLAY_SHARE, DEFAULT_RETRAIN_EPOCHS, DEFAULT_RETRAIN_PATIENCE, DEFAULT_RETRAIN_START_FROM_EPOCH, resolveRetrainRecipe } from '../../src/train/index.js';

void describe('resolveRetrainRecipe', () => {
  test('no block: a short warm start with early stopping on val_loss, no search, a replay share', () => {
    const recipe = resolveRetrainRecipe(undefined);
    assert.deepEqual(recipe, {
      hyperparameters: {},
      epochs: DEFAULT_RETRAIN_EPOCHS,
      earlyStopping: { monitor: 'val_loss', patience: DEFAULT_RETRAIN_PATIENCE, minDelta: 0, startFromEpoch: DEFAULT_RETRAIN_START_FROM_EPOCH },
      replayShare: DEFAULT_REPLAY_SHARE,
    });
    assert.deepEqual([DEFAULT_RETRAIN_EPOCHS, DEFAULT_RETRAIN_PATIENCE, DEFAULT_RETRAIN_START_FROM_EPOCH, DEFAULT_REPLAY_SHARE], [50, 5, 10, 0.3]);
  });

  test('overrides win over the block, hyperparameters merged field by field', () => {
    const block = { hyperparameters: { learningRate: 0.002, batchSize: 16 }, epochs: 20, freeze: { firstK: 1 }, search: { trials: 4 } };
    const recipe = resolveRetrainRecipe(block, { hyperparameters: { learningRate: 0.005 }, earlyStopping: false, replayShare: 0 });
    assert.deepEqual(recipe.hyperparameters, { learningRate: 0.005, batchSize: 16 });
    assert.equal(recipe.epochs, 20);
    assert.equal(recipe.earlyStopping, false);
    assert.equal(recipe.replayShare, 0);
    assert.deepEqual(recipe.freeze, { firstK: 1 });
    assert.deepEqual(recipe.search, { trials: 4 });
  });

  test('a bad block or bad overrides are DataErrors naming the field', () => {
    const refuses = (fn: () => unknown, pattern: RegExp) => assert.throws(fn, (err: unknown) => err instanceof DataError && pattern.test(err.message));
    refuses(() => resolveRetrainRecipe({ epochs: 0 }, {}, 'm version 3'), /the retrain block of m version 3 is not a valid recipe: epochs: /);
    refuses(() => resolveRetrainRecipe({ epoch: 5 }), /Unrecognized key.*epoch/);
    refuses(() => resolveRetrainRecipe({ hyperparameters: { learningRate: -1 } }), /hyperparameters\.learningRate/);
    refuses(() => resolveRetrainRecipe({ earlyStopping: { monitor: 'val_auc' } }), /earlyStopping/);
    refuses(() => resolveRetrainRecipe('fast'), /must be an object, got "fast"/);
    refuses(() => resolveRetrainRecipe({}, { replayShare: -0.5 }), /overrides are not valid: replayShare/);
  });
});
