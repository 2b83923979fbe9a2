import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { manifestMetricsSchema } from '../../src/core/index.js';
import { RollingPerformance, defaultMetric, expectedMetric, performanceDrop } from '../../src/monitor/performance.js';
import type { RollingPerformanceOptions } from '../../src/monitor/performance.js';

const classes: RollingPerformanceOptions = { task: 'classification', labels: ['a', 'b', 'c'], size: 10 };

function filled(opts: RollingPerformanceOptions, pairs: [string | number, string | number][]): RollingPerformance {
  const p = new RollingPerformance(opts);
  for (const [predicted, actual] of pairs) p.add(predicted, actual);
  return p;
}

// A small deterministic generator, so the long regression runs are the same on every machine.
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

describe('RollingPerformance, classification', () => {
  it('matches scikit-learn on a hand example with an unknown predicted class', () => {
    // y_true = [a, a, b, c, b], y_pred = [a, b, b, a, x]
    // f1_score(y_true, y_pred, labels=['a','b','c'], average='macro', zero_division=0) = 1/3
    // (per class 0.5, 0.5, 0); accuracy_score = 0.4
    const p = filled(classes, [['a', 'a'], ['b', 'a'], ['b', 'b'], ['a', 'c'], ['x', 'b']]);
    const current = p.current();
    assert.equal(current.task, 'classification');
    assert.ok(current.task === 'classification');
    assert.equal(current.count, 5);
    assert.ok(Math.abs(current.accuracy - 0.4) < 1e-12);
    assert.ok(Math.abs(current.macroF1 - 1 / 3) < 1e-12);
  });

  it('averages F1 over every label, a class absent from the window scoring 0 (sklearn: 2/3)', () => {
    const current = filled(classes, [['a', 'a'], ['a', 'a'], ['b', 'b']]).current();
    assert.ok(current.task === 'classification');
    assert.equal(current.accuracy, 1);
    assert.ok(Math.abs(current.macroF1 - 2 / 3) < 1e-12);
  });

  it('counts an unknown class as a miss even when prediction and label agree', () => {
    const current = filled(classes, [['x', 'x'], ['a', 'a']]).current();
    assert.ok(current.task === 'classification');
    assert.equal(current.accuracy, 0.5);
  });

  it('evicts the oldest example once the window is full', () => {
    const p = filled({ ...classes, size: 3 }, [['b', 'a'], ['b', 'a'], ['a', 'a'], ['a', 'a'], ['a', 'a']]);
    const current = p.current();
    assert.ok(current.task === 'classification');
    assert.equal(current.count, 3);
    assert.equal(current.accuracy, 1);
    assert.ok(Math.abs(current.macroF1 - 1 / 3) < 1e-12);
  });

  it('reports NaN for an empty window and refuses a classification window without labels', () => {
    const current = new RollingPerformance(classes).current();
    assert.ok(current.task === 'classification' && Number.isNaN(current.accuracy) && Number.isNaN(current.macroF1));
    assert.throws(() => new RollingPerformance({ task: 'classification', size: 5 }), RangeError);
    assert.throws(() => new RollingPerformance({ ...classes, size: 0 }), RangeError);
  });

  it('restores from JSON and continues exactly like the original', () => {
    const opts = { ...classes, size: 4 };
    const original = filled(opts, [['a', 'a'], ['x', 'b'], ['c', 'c'], ['a', 'b'], ['b', 'b']]);
    const restored = RollingPerformance.restore(JSON.parse(JSON.stringify(original.snapshot())), opts);
    assert.deepEqual(restored.current(), original.current());
    for (const [predicted, actual] of [['c', 'a'], ['b', 'b'], ['y', 'c']] as const) {
      original.add(predicted, actual);
      restored.add(predicted, actual);
      assert.deepEqual(restored.current(), original.current());
    }
  });

  it('keeps the newest examples when restored into a smaller window', () => {
    const original = filled(classes, [['b', 'a'], ['b', 'a'], ['a', 'a'], ['b', 'b']]);
    const smaller = RollingPerformance.restore(original.snapshot(), { ...classes, size: 2 });
    assert.deepEqual(smaller.current(), filled({ ...classes, size: 2 }, [['a', 'a'], ['b', 'b']]).current());
  });

  it('rejects a snapshot of the other task or a malformed one', () => {
    const regression = filled({ task: 'regression', size: 3 }, [[1, 2]]).snapshot();
    assert.throws(() => RollingPerformance.restore(regression, classes), /snapshot is for regression/);
    assert.throws(() => RollingPerformance.restore({ task: 'classification', examples: [[1]] }, classes), /malformed/);
  });
});

describe('RollingPerformance, regression', () => {
  it('computes MAE and RMSE over the window', () => {
    // errors 1, -2, 2 → MAE 5/3, RMSE sqrt(9/3)
    const current = filled({ task: 'regression', size: 3 }, [[100, 0], [2, 1], [0, 2], [5, 3]]).current();
    assert.ok(current.task === 'regression');
    assert.equal(current.count, 3);
    assert.ok(Math.abs(current.mae - 5 / 3) < 1e-12);
    assert.ok(Math.abs(current.rmse - Math.sqrt(3)) < 1e-12);
  });

  it('does not let floating-point drift build up over many evictions', () => {
    const size = 7;
    const p = new RollingPerformance({ task: 'regression', size });
    const rand = lcg(42);
    const errors: number[] = [];
    for (let i = 0; i < 1000; i++) {
      // An occasional huge error leaves rounding residue in the sums once it is evicted.
      const actual = rand() * 100;
      const predicted = actual + (rand() - 0.5) * (i % 50 === 0 ? 1e6 : 1);
      p.add(predicted, actual);
      errors.push(predicted - actual);
      const recent = errors.slice(-size);
      const mae = recent.reduce((s, e) => s + Math.abs(e), 0) / recent.length;
      const rmse = Math.sqrt(recent.reduce((s, e) => s + e * e, 0) / recent.length);
      const current = p.current();
      assert.ok(current.task === 'regression');
      // Right after the every-`size` recompute the sums are exact; in between the residue stays small.
      const tolerance = (i + 1) % size === 0 ? 1e-9 : 1e-3;
      assert.ok(Math.abs(current.mae - mae) < tolerance * Math.max(1, mae), `step ${i}: ${current.mae} vs ${mae}`);
      assert.ok(Math.abs(current.rmse - rmse) < tolerance * Math.max(1, rmse), `step ${i}: ${current.rmse} vs ${rmse}`);
    }
  });

  it('restores from JSON bit for bit, across recompute boundaries', () => {
    const opts = { task: 'regression' as const, size: 5 };
    const rand = lcg(7);
    const original = new RollingPerformance(opts);
    for (let i = 0; i < 13; i++) original.add(rand() * 10, rand() * 10);
    const restored = RollingPerformance.restore(JSON.parse(JSON.stringify(original.snapshot())), opts);
    for (let i = 0; i < 20; i++) {
      const [predicted, actual] = [rand() * 10, rand() * 10];
      original.add(predicted, actual);
      restored.add(predicted, actual);
      assert.deepEqual(restored.current(), original.current());
    }
  });

  it('throws on a non-finite value instead of poisoning the sums', () => {
    const p = new RollingPerformance({ task: 'regression', size: 3 });
    assert.throws(() => p.add(NaN, 1), RangeError);
    assert.throws(() => p.add(1, '2'), RangeError);
    assert.equal(p.count, 0);
  });
});

describe('expectedMetric', () => {
  const trainer = {
    validation: { accuracy: 0.91, macro: { f1: 0.88 } },
    test: { accuracy: 0.89, macro: { f1: 0.85 }, rmse: 3 },
  };
  const cases: [string, Record<string, unknown>, Parameters<typeof expectedMetric>[1], number | undefined][] = [
    ['flat classification manifest', { accuracy: 0.933333, log_loss: 0.13 }, 'accuracy', 0.933333],
    ['flat regression manifest', { rmse: 2.61, mae: 2.07, r2: 0.97 }, 'mae', 2.07],
    ['validation before test', trainer, 'accuracy', 0.91],
    ['macro.f1 of validation', trainer, 'f1', 0.88],
    ['test when validation lacks it', trainer, 'rmse', 3],
    ['flat macro_f1', { macro_f1: 0.7, f1: 0.6 }, 'f1', 0.7],
    ['flat f1', { f1: 0.6 }, 'f1', 0.6],
    ['missing', { accuracy: 0.9 }, 'rmse', undefined],
    ['not a number', { accuracy: '0.9' }, 'accuracy', undefined],
  ];
  for (const [name, metrics, metric, expected] of cases) {
    // Through the manifest's schema, as a loaded manifest's metrics are: a malformed score reads as absent.
    it(name, () => assert.equal(expectedMetric(manifestMetricsSchema.parse(metrics), metric), expected));
  }
});

describe('performanceDrop and defaultMetric', () => {
  const cases: [Parameters<typeof performanceDrop>[0], number, number, number][] = [
    ['accuracy', 0.9, 0.81, 0.1],
    ['f1', 0.8, 0.88, -0.1],
    ['rmse', 2, 2.5, 0.25],
    ['mae', 2, 1, -0.5],
    ['accuracy', 0, 0.2, -0.2],
    ['rmse', 0, 0.5, 0.5],
  ];
  for (const [metric, expected, live, drop] of cases) {
    it(`${metric}: expected ${expected}, live ${live} → ${drop}`, () => {
      assert.ok(Math.abs(performanceDrop(metric, expected, live) - drop) < 1e-12);
    });
  }
  it('defaults to accuracy for classification and rmse for regression', () => {
    assert.equal(defaultMetric('classification'), 'accuracy');
    assert.equal(defaultMetric('regression'), 'rmse');
  });
});
