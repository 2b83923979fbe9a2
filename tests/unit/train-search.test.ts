// Hyperparameter search scheduling and sampling, with a fake objective and a fake clock: which trials
// run how long, who is promoted, what is recorded, and that every runner is disposed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_SEARCH_SPACE,
  defaultMinEpochs,
  rungEpochs,
  rungsNeeded,
  sampleConfigurations,
  successiveHalving,
  survivors,
} from '../../src/train/search.js';
import type { TrialRunner } from '../../src/train/search.js';
import type { Hyperparameters, TrialRecord } from '../../src/train/types.js';

const BASE: Hyperparameters = { learningRate: 0.01, batchSize: 32, epochs: 27, optimizer: 'adam' };

void describe('sampleConfigurations', () => {
  void test('same seed, same configurations; another seed, others', () => {
    const a = sampleConfigurations(8, BASE, 7);
    assert.deepEqual(sampleConfigurations(8, BASE, 7), a);
    assert.notDeepEqual(sampleConfigurations(8, BASE, 8), a);
  });

  void test('draws stay inside the space; unsearched fields come from the base', () => {
    const space = DEFAULT_SEARCH_SPACE;
    const configs = sampleConfigurations(200, { ...BASE, optimizer: 'rmsprop' }, 1);
    for (const c of configs) {
      assert.ok(c.learningRate >= space.learningRate[0] && c.learningRate <= space.learningRate[1]);
      assert.ok(space.batchSizes.includes(c.batchSize));
      assert.ok(c.l2! >= space.l2[0] && c.l2! <= space.l2[1]);
      assert.ok(c.dropout! >= space.dropout[0] && c.dropout! <= space.dropout[1]);
      const hidden = c.network!.hidden!;
      assert.ok(space.depth.includes(hidden.length));
      assert.ok(hidden.every((h) => h.units === hidden[0]!.units && space.units.includes(h.units)));
      assert.equal(c.optimizer, 'rmsprop');
      assert.equal(c.epochs, 27);
    }
    // Every batch size and depth shows up in 200 draws.
    assert.deepEqual(new Set(configs.map((c) => c.batchSize)), new Set(space.batchSizes));
    assert.deepEqual(new Set(configs.map((c) => c.network!.hidden!.length)), new Set(space.depth));
  });

  void test('the learning rate is log-uniform: each decade gets a share proportional to its log width', () => {
    const configs = sampleConfigurations(4000, BASE, 3, { space: { ...DEFAULT_SEARCH_SPACE, learningRate: [1e-4, 1e-1] } });
    const decades = [0, 0, 0];
    for (const c of configs) decades[Math.min(2, Math.floor(Math.log10(c.learningRate) + 4))]!++;
    for (const count of decades) assert.ok(Math.abs(count / 4000 - 1 / 3) < 0.03, `decade shares ${decades.join(', ')}`);
  });

  void test('without architecture the network is left alone, and the other draws do not move', () => {
    const withNet = sampleConfigurations(5, BASE, 11);
    const without = sampleConfigurations(5, BASE, 11, { architecture: false });
    without.forEach((c, i) => {
      assert.equal(c.network, undefined);
      assert.equal(c.learningRate, withNet[i]!.learningRate);
      assert.equal(c.batchSize, withNet[i]!.batchSize);
    });
  });

  void test('rejects a bad count or space', () => {
    assert.throws(() => sampleConfigurations(0, BASE, 1), RangeError);
    assert.throws(() => sampleConfigurations(2, BASE, 1, { space: { ...DEFAULT_SEARCH_SPACE, learningRate: [0, 1] } }), RangeError);
    assert.throws(() => sampleConfigurations(2, BASE, 1, { space: { ...DEFAULT_SEARCH_SPACE, batchSizes: [] } }), RangeError);
  });
});

void describe('rung arithmetic', () => {
  void test('rungEpochs grows by eta up to the cap', () => {
    assert.deepEqual(rungEpochs(1, 3, 27), [1, 3, 9, 27]);
    assert.deepEqual(rungEpochs(2, 3, 20), [2, 6, 18, 20]);
    assert.deepEqual(rungEpochs(5, 2, 5), [5]);
    assert.deepEqual(rungEpochs(10, 3, 4), [4]);
    assert.throws(() => rungEpochs(0, 3, 10), RangeError);
    assert.throws(() => rungEpochs(1, 1, 10), RangeError);
  });

  void test('survivors keep 1/eta, at least one', () => {
    assert.equal(survivors(9, 3), 3);
    assert.equal(survivors(10, 3), 3);
    assert.equal(survivors(2, 3), 1);
    assert.equal(survivors(1, 3), 1);
  });

  void test('rungsNeeded and defaultMinEpochs', () => {
    assert.equal(rungsNeeded(1, 3), 1);
    assert.equal(rungsNeeded(5, 3), 1); // 5 -> 1 after the first rung
    assert.equal(rungsNeeded(6, 3), 2); // 6 -> 2 -> 1
    assert.equal(rungsNeeded(20, 3), 3); // 20 -> 6 -> 2 -> 1
    assert.equal(defaultMinEpochs(20, 3, 90), 10); // rungs 10, 30, 90
    assert.equal(defaultMinEpochs(20, 3, 5), 1);
  });
});

/** A fake objective: a trial's score at E epochs is quality · (1 - 1/(E+1)); it logs every call. */
function fakeObjective(quality: (config: Hyperparameters) => number) {
  const calls: { id: number; epochs: number }[] = [];
  const disposed = new Set<number>();
  const started: number[] = [];
  const start = (config: Hyperparameters, id: number): TrialRunner => {
    started.push(id);
    let done = 0;
    return {
      advance: async (total) => {
        assert.ok(total > done, 'a trial only ever trains further');
        assert.ok(!disposed.has(id), 'no training after dispose');
        done = total;
        calls.push({ id, epochs: total });
        return quality(config) * (1 - 1 / (total + 1));
      },
      dispose: () => {
        assert.ok(!disposed.has(id), 'disposed once');
        disposed.add(id);
      },
    };
  };
  return { calls, disposed, started, start };
}

/** Configurations whose learning rate encodes the quality the fake objective reads back. */
function configsWithQuality(qualities: readonly number[]): Hyperparameters[] {
  return qualities.map((q) => ({ ...BASE, learningRate: q }));
}

void describe('successiveHalving', () => {
  void test('9 trials, eta 3: 9 at rung 0, the best 3 at rung 1, the winner decided there', async () => {
    const qualities = [0.5, 0.9, 0.1, 0.7, 0.3, 0.95, 0.2, 0.6, 0.8];
    const fake = fakeObjective((c) => c.learningRate);
    const done: TrialRecord[] = [];
    const out = await successiveHalving(configsWithQuality(qualities), { minEpochs: 1, maxEpochs: 27, eta: 3, onTrialDone: (t) => done.push(t) }, fake.start);
    assert.deepEqual(
      fake.calls.map((c) => c.epochs),
      [1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3],
    );
    assert.deepEqual(fake.calls.slice(9).map((c) => c.id), [1, 5, 8], 'the top third by score, in id order');
    assert.equal(out.best.id, 5);
    assert.equal(out.timedOut, false);
    assert.equal(out.trials.length, 9);
    assert.deepEqual(out.trials.map((t) => t.id), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    for (const t of out.trials) {
      const promoted = [1, 5, 8].includes(t.id);
      assert.equal(t.stoppedAtRung, promoted ? 1 : 0);
      assert.deepEqual(t.rungs.map((r) => r.epochs), promoted ? [1, 3] : [1]);
      assert.equal(t.finalScore, t.rungs.at(-1)!.score);
      assert.ok(t.durationMs >= 0);
    }
    assert.equal(done.length, 9, 'every trial is reported once');
    assert.equal(fake.disposed.size, 9, 'every runner is disposed');
  });

  void test('rungs stop at the epoch cap; the best at the last rung wins even if it scored lower earlier', async () => {
    // Trial 0 leads at 2 epochs; trial 2 overtakes it at 4.
    const scores: Record<number, Record<number, number>> = { 0: { 2: 0.8, 4: 0.82 }, 1: { 2: 0.7 }, 2: { 2: 0.75, 4: 0.95 }, 3: { 2: 0.1 } };
    const disposed: number[] = [];
    const out = await successiveHalving(
      configsWithQuality([0, 0, 0, 0]),
      { minEpochs: 2, maxEpochs: 4, eta: 2 },
      (_config, id) => ({ advance: async (e) => scores[id]![e]!, dispose: () => disposed.push(id) }),
    );
    // 4 trials at 2 epochs -> best 2 (trials 0 and 2) at 4 epochs (the cap) -> done.
    assert.deepEqual(out.trials.map((t) => t.rungs.map((r) => r.epochs)), [[2, 4], [2], [2, 4], [2]]);
    assert.equal(out.best.id, 2);
    assert.equal(disposed.length, 4);
  });

  void test('ties go to the lower id; NaN scores count as worst', async () => {
    const out = await successiveHalving(configsWithQuality([0, 0, 0]), { minEpochs: 1, maxEpochs: 1, eta: 3 }, (_c, id) => ({
      advance: async () => (id === 0 ? Number.NaN : 0.5),
      dispose: () => {},
    }));
    assert.equal(out.best.id, 1);
    assert.equal(out.trials[0]!.finalScore, Number.NEGATIVE_INFINITY);
  });

  void test('a time budget stops starting trials; the first always runs', async () => {
    let clock = 0;
    const fake = fakeObjective((c) => c.learningRate);
    const start = (config: Hyperparameters, id: number): TrialRunner => {
      const runner = fake.start(config, id);
      return {
        advance: async (e) => {
          clock += 100; // each rung of each trial takes 100 ms
          return runner.advance(e);
        },
        dispose: () => runner.dispose(),
      };
    };
    const out = await successiveHalving(configsWithQuality([0.1, 0.9, 0.5, 0.7, 0.2, 0.3]), { minEpochs: 1, maxEpochs: 9, eta: 3, timeBudgetMs: 250, now: () => clock }, start);
    assert.equal(out.timedOut, true);
    assert.deepEqual(fake.started, [0, 1, 2], 'trials start until the clock passes 250 ms');
    assert.equal(out.best.id, 1);
    assert.equal(out.trials.length, 3);
    assert.equal(fake.disposed.size, 3);

    clock = 0;
    const none = fakeObjective((c) => c.learningRate);
    const zero = await successiveHalving(configsWithQuality([0.1, 0.9]), { minEpochs: 1, maxEpochs: 3, eta: 3, timeBudgetMs: 0, now: () => clock }, none.start);
    assert.deepEqual(none.started, [0]);
    assert.equal(zero.best.id, 0);
  });

  void test('the same inputs give the same schedule and records', async () => {
    const configs = sampleConfigurations(7, BASE, 5);
    const run = async () => {
      const fake = fakeObjective((c) => c.learningRate * 10 + c.batchSize / 1000);
      const out = await successiveHalving(configs, { minEpochs: 1, maxEpochs: 9, eta: 2, now: () => 0 }, fake.start);
      return { calls: fake.calls, trials: out.trials, best: out.best.id };
    };
    assert.deepEqual(await run(), await run());
  });

  void test('a failing trial disposes every runner and reports nothing', async () => {
    const fake = fakeObjective((c) => c.learningRate);
    const done: TrialRecord[] = [];
    const start = (config: Hyperparameters, id: number): TrialRunner => {
      const runner = fake.start(config, id);
      return {
        advance: async (e) => {
          if (id === 2) throw new Error('boom');
          return runner.advance(e);
        },
        dispose: () => runner.dispose(),
      };
    };
    await assert.rejects(successiveHalving(configsWithQuality([0.1, 0.2, 0.3, 0.4]), { minEpochs: 1, maxEpochs: 9, eta: 3, onTrialDone: (t) => done.push(t) }, start), /boom/);
    assert.deepEqual([...fake.disposed].sort(), [0, 1, 2]);
    assert.equal(done.length, 0);
  });
});
