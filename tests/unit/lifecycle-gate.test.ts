import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideGate, estimateOnset, hashSeed, improvementOf, liveScore, sampleRows, selectExamples, watchShortfall } from '../../src/lifecycle/index.js';
import type { Example, GateRules } from '../../src/lifecycle/index.js';

const rules: GateRules = { margin: 0.01, tolerance: 0.02, checkReference: true, minHoldoutRows: 50 };

describe('the champion/challenger gate', () => {
  it('promotes a challenger that beats the champion by the margin on the holdout', () => {
    const d = decideGate({ metric: 'accuracy', higherIsBetter: true, holdout: { champion: { rows: 100, value: 0.6 }, challenger: { rows: 100, value: 0.9 } } }, rules);
    assert.equal(d.promote, true);
    assert.ok(Math.abs(d.improvement - 0.3) < 1e-12);
    assert.match(d.reason, /improvement 0\.3000/);
  });

  it('rejects a challenger that is better by less than the margin, and one that is worse', () => {
    const tie = decideGate({ metric: 'accuracy', higherIsBetter: true, holdout: { champion: { rows: 100, value: 0.9 }, challenger: { rows: 100, value: 0.905 } } }, rules);
    assert.equal(tie.promote, false);
    assert.match(tie.reason, /below the margin 0\.01/);
    const worse = decideGate({ metric: 'accuracy', higherIsBetter: true, holdout: { champion: { rows: 100, value: 0.9 }, challenger: { rows: 100, value: 0.3 } } }, rules);
    assert.equal(worse.promote, false);
  });

  it('judges errors by relative reduction: a lower MAE is better', () => {
    assert.ok(Math.abs(improvementOf(10, 8, false) - 0.2) < 1e-12);
    assert.ok(improvementOf(10, 12, false) < 0);
    const d = decideGate({ metric: 'mae', higherIsBetter: false, holdout: { champion: { rows: 80, value: 10 }, challenger: { rows: 80, value: 9.95 } } }, rules);
    assert.equal(d.promote, false, '0.5% lower MAE is below a 1% margin');
    assert.equal(decideGate({ metric: 'mae', higherIsBetter: false, holdout: { champion: { rows: 80, value: 10 }, challenger: { rows: 80, value: 6 } } }, rules).promote, true);
  });

  it('after data drift, rejects a challenger that forgot the reference holdout; after a concept change it does not look', () => {
    const scores = {
      metric: 'accuracy',
      higherIsBetter: true,
      holdout: { champion: { rows: 100, value: 0.7 }, challenger: { rows: 100, value: 0.9 } },
      reference: { champion: { rows: 30, value: 0.95 }, challenger: { rows: 30, value: 0.8 } },
    };
    const drift = decideGate(scores, rules);
    assert.equal(drift.promote, false);
    assert.match(drift.reason, /reference holdout/);
    assert.ok(Math.abs(drift.regression! - 0.15) < 1e-12);
    assert.equal(decideGate(scores, { ...rules, checkReference: false }).promote, true);
  });

  it('refuses to decide on too few holdout rows, and on a non-finite score', () => {
    assert.match(decideGate({ metric: 'accuracy', higherIsBetter: true, holdout: { champion: { rows: 5, value: 0 }, challenger: { rows: 5, value: 1 } } }, rules).reason, /needs 50/);
    assert.equal(decideGate({ metric: 'mae', higherIsBetter: false, holdout: { champion: { rows: 90, value: 1 }, challenger: { rows: 90, value: NaN } } }, rules).promote, false);
  });
});

function example(i: number, over: Partial<Example> = {}): Example {
  return { id: `p${i}`, model: 'm', version: 1, ts: 1000 * i, labelTs: 1000 * i + 500, features: { x: i }, label: 'a', output: { label: 'a', probabilities: { a: 1 } }, ...over };
}

describe('choosing the examples of a retrain', () => {
  const selection = { holdoutShare: 0.2, minHoldout: 10, minTrain: 20, maxTrain: 50 };

  it('holds out the newest share by event time, whatever the arrival order, and trains on older rows only', () => {
    const window = Array.from({ length: 100 }, (_, i) => example(i)).reverse();
    const s = selectExamples(window, selection);
    assert.equal(s.shortfall, undefined);
    assert.deepEqual(s.holdout.map((e) => e.ts), Array.from({ length: 20 }, (_, i) => 1000 * (80 + i)));
    assert.equal(s.train.length, 50, 'capped at maxTrain, the newest before the holdout');
    assert.equal(s.train[0]!.ts, 30_000);
    assert.ok(Math.max(...s.train.map((e) => e.ts)) < Math.min(...s.holdout.map((e) => e.ts)));
  });

  it('starts at the onset the trigger names, widened back to the fewest rows it may train on', () => {
    const window = Array.from({ length: 100 }, (_, i) => example(i));
    assert.equal(selectExamples(window, selection, 70_000).train[0]!.ts, 60_000, 'only 10 rows since the onset: widened to 20');
    assert.equal(selectExamples(window, selection, 40_000).train[0]!.ts, 40_000);
  });

  it('says how many examples are missing when the window is too small', () => {
    const s = selectExamples(Array.from({ length: 25 }, (_, i) => example(i)), selection);
    assert.deepEqual(s.train, []);
    assert.match(s.shortfall!, /25 labeled examples in the window; a retrain needs 30 \(20 to train on and 10 held out\)/);
  });

  it('draws the same replay rows for the same job and different ones for another', () => {
    const rows = Array.from({ length: 100 }, (_, i) => i);
    const a = sampleRows(rows, 10, hashSeed('job-1'));
    assert.deepEqual(a, sampleRows(rows, 10, hashSeed('job-1')));
    assert.notDeepEqual(a, sampleRows(rows, 10, hashSeed('job-2')));
    assert.equal(new Set(a).size, 10);
    assert.equal(sampleRows(rows, 500, 1).length, 100);
  });

  it('scores served predictions live: accuracy for classes, MAE for values', () => {
    const cls = [example(1), example(2, { label: 'b' }), example(3), example(4)];
    assert.deepEqual(liveScore(cls), { metric: 'accuracy', higherIsBetter: true, rows: 4, value: 0.75 });
    const reg = [example(1, { label: 3, output: { value: 1 } }), example(2, { label: 3, output: { value: 4 } })];
    assert.deepEqual(liveScore(reg), { metric: 'mae', higherIsBetter: false, rows: 2, value: 1.5 });
    assert.equal(liveScore([]), undefined);
  });

  it('after a concept change uses only rows since it began, and says how many are missing', () => {
    const window = Array.from({ length: 100 }, (_, i) => example(i));
    const strict = selectExamples(window, selection, 60_000, true);
    assert.equal(strict.shortfall, undefined);
    assert.ok(strict.train.every((e) => e.ts >= 60_000) && strict.holdout.every((e) => e.ts >= 60_000));
    assert.equal(strict.holdout.length + strict.train.length, 40);
    const short = selectExamples(window, selection, 85_000, true);
    assert.match(short.shortfall!, /15 labeled examples since the change began \(of 100 in the window\); a retrain needs 30/);
  });

  it('estimates when a concept change began from the served predictions going wrong', () => {
    const random = (() => {
      let s = 42;
      return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
    })();
    // right 95% of the time until row 120, then 60%
    const window = Array.from({ length: 200 }, (_, i) => {
      const right = random() < (i < 120 ? 0.95 : 0.6);
      return example(i, { label: right ? 'a' : 'b' });
    });
    const onset = estimateOnset(window)!;
    assert.ok(Math.abs(onset - 120_000) <= 10_000, `onset at ${onset}`);
    assert.equal(estimateOnset(Array.from({ length: 200 }, (_, i) => example(i))), undefined, 'no drop, no onset');
    assert.equal(estimateOnset(window.slice(0, 30)), undefined, 'too short to tell');
  });

  it('estimates the onset for a regressor from where its errors grow', () => {
    // 200 predictions off by about 2, then 100 off by about 18: the change at 200 s.
    const reg = (i: number, error: number): Example => ({
      id: `r${i}`,
      model: 'm',
      version: 1,
      ts: i * 1000,
      labelTs: i * 1000 + 500,
      features: {},
      label: 30,
      output: { value: 30 + (i % 2 ? error : -error) },
    });
    const window = [...Array.from({ length: 200 }, (_, i) => reg(i, 1 + (i % 5) * 0.5)), ...Array.from({ length: 100 }, (_, i) => reg(200 + i, 16 + (i % 5)))];
    const onset = estimateOnset(window)!;
    assert.ok(Math.abs(onset - 200_000) <= 10_000, `onset at ${onset}`);
    assert.equal(estimateOnset(Array.from({ length: 200 }, (_, i) => reg(i, 2))), undefined, 'errors that do not grow give no onset');
  });
});

describe('the post-promotion watch', () => {
  it('measures the shortfall in the gate\'s units: accuracy points, or the relative rise of an error', () => {
    assert.ok(Math.abs(watchShortfall({ baseline: 0.9, higherIsBetter: true }, { value: 0.8 }) - 0.1) < 1e-12);
    assert.ok(watchShortfall({ baseline: 0.9, higherIsBetter: true }, { value: 0.95 }) < 0, 'better than the baseline');
    assert.ok(Math.abs(watchShortfall({ baseline: 10, higherIsBetter: false }, { value: 12 }) - 0.2) < 1e-12);
    assert.equal(watchShortfall({ baseline: 0, higherIsBetter: false }, { value: 0 }), 0);
    assert.equal(watchShortfall({ baseline: 0, higherIsBetter: false }, { value: 1 }), Infinity);
  });
});
