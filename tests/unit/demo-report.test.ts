// The demo's pure parts: the recovery verdict, the time-to-recover split, the --at flag, the timeline
// built from status snapshots, the traffic's drifts, and the /metrics fallback's parsing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/cli/args.js';
import { atFlag } from '../../src/cli/demo/flags.js';
import { metric, parseMetrics } from '../../src/cli/demo/observe.js';
import type { JobView, Snapshot } from '../../src/cli/demo/observe.js';
import { judge, recoverySplit, SPLIT_COLUMNS } from '../../src/cli/demo/report.js';
import type { Period } from '../../src/cli/demo/report.js';
import { Timeline } from '../../src/cli/demo/timeline.js';
import { irisTraffic, labelOf, loadIrisRows } from '../../src/cli/demo/traffic.js';

const period = (rows: number, accuracy: number, versions: string[]): Period => ({ rows, correct: Math.round(rows * accuracy), versions: new Set(versions) });

describe('the demo verdict', () => {
  const base = { initialVersion: '1', drifted: true, measuredAfter: true };
  it('recovers with a new version at 95% of the accuracy before', () => {
    const v = judge({ ...base, before: period(1000, 0.96, ['1']), during: period(500, 0.8, ['1']), after: period(500, 0.93, ['2']), finalVersion: '2' });
    assert.equal(v.recovered, true);
    assert.match(v.why, /version 2 serving \(was 1\)/);
  });
  it('does not recover below 95%, nor with the old version after a real drop', () => {
    assert.equal(judge({ ...base, before: period(1000, 0.96, ['1']), during: period(500, 0.8, ['1']), after: period(500, 0.9, ['2']), finalVersion: '2' }).recovered, false);
    assert.equal(judge({ ...base, before: period(1000, 0.96, ['1']), during: period(500, 0.8, ['1']), after: period(500, 0.95, ['1']), finalVersion: '1' }).recovered, false);
  });
  it('counts a drift that never cost accuracy as recovered without a new version', () => {
    const v = judge({ ...base, before: period(1000, 0.96, ['1']), during: period(500, 0.95, ['1']), after: period(500, 0.95, ['1']), finalVersion: '1' });
    assert.equal(v.recovered, true);
    assert.match(v.why, /accuracy never dropped/);
  });
  it('is not recovered when stopped before the drift or before the loop answered', () => {
    assert.equal(judge({ ...base, drifted: false, before: period(100, 0.96, ['1']), during: period(0, 0, []), after: period(0, 0, []), finalVersion: '1' }).recovered, false);
    assert.equal(judge({ ...base, measuredAfter: false, before: period(100, 0.96, ['1']), during: period(100, 0.7, ['1']), after: period(0, 0, []), finalVersion: '1' }).recovered, false);
  });
});

describe('the time-to-recover split', () => {
  it('adds up to onset → served, as bench/loop.ts splits it', () => {
    const onset = Date.parse('2026-01-01T00:00:10.000Z');
    const job: JobView = {
      id: 'j',
      state: 'promoted',
      trigger: { reason: 'performance', requestedAt: '2026-01-01T00:00:12.000Z' },
      updatedAt: '2026-01-01T00:00:16.000Z',
      phases: { data: 100, train: 3000, gate: 200, swap: 100 },
    };
    const split = recoverySplit(onset, onset + 7000, job);
    assert.deepEqual(split, { detect: 2, wait: 0.6, data: 0.1, train: 3, gate: 0.2, swap: 0.1, gateway: 1, total: 7 });
    const parts = SPLIT_COLUMNS.filter((c) => c !== 'total').reduce((sum, c) => sum + split[c]!, 0);
    assert.ok(Math.abs(parts - split.total!) < 1e-9);
    assert.deepEqual(recoverySplit(onset, onset + 7000, undefined), { total: 7 });
  });
});

describe('--at', () => {
  it('reads seconds or labels', () => {
    assert.deepEqual(atFlag('15'), { seconds: 15 });
    assert.deepEqual(atFlag('1m'), { seconds: 60 });
    assert.deepEqual(atFlag('600labels'), { labels: 600 });
    assert.deepEqual(atFlag('80l'), { labels: 80 });
    assert.throws(() => atFlag('soon'), UsageError);
  });
});

describe('the demo timeline', () => {
  const startedAt = Date.parse('2026-01-01T00:00:00.000Z');
  const at = (s: number) => new Date(startedAt + s * 1000).toISOString();
  const snapshot = (events: Snapshot['events'], jobs: JobView[]): Snapshot => ({ servingVersion: 1, live: null, events: [...events].reverse(), jobs: [...jobs].reverse() });

  it('tells the decisions, the job states, the gate and the promotion once each, in time order, with repeated requests folded', () => {
    const t = new Timeline(startedAt);
    const old = { id: 'old-job', state: 'promoted', trigger: { reason: 'manual', requestedAt: at(-600) }, phases: {} };
    assert.deepEqual(t.update(snapshot([{ type: 'retrain.requested', version: 1, ts: at(-600), summary: 'old' }], [old])), []);
    const events = [
      { type: 'drift.detected', version: 1, ts: at(12), summary: 'v1: accuracy 0.800 against 0.933 expected' },
      { type: 'retrain.requested', version: 1, ts: at(12), summary: 'retrain of v1 asked: performance' },
      { type: 'retrain.requested', version: 1, ts: at(13), summary: 'retrain of v1 asked: performance' },
    ];
    const job: JobView = { id: 'iris-onnx-1234567890', state: 'training', trigger: { reason: 'performance', requestedAt: at(12.1), since: at(10) }, champion: 1, phases: { data: 20 }, data: { train: 100, holdout: 40, replay: 0, window: 500 } };
    const lines = t.update(snapshot(events, [old, job])).map((l) => l.text);
    assert.deepEqual(lines, [
      'monitor: drift.detected (v1: accuracy 0.800 against 0.933 expected)',
      'monitor: retrain.requested (retrain of v1 asked: performance)',
      'retrain job …34567890 queued (trigger: performance, drift since +10.0s; champion v1)',
      'retrain job …34567890 training (100 rows to train on, 40 held out, 0 replayed)',
    ]);
    const done: JobView = {
      ...job,
      state: 'promoted',
      challenger: 2,
      trigger: { ...job.trigger, coalesced: 3 },
      phases: { data: 20, train: 1500, gate: 30, swap: 10 },
      gate: { metric: 'accuracy', holdout: { champion: { rows: 40, value: 0.8 }, challenger: { rows: 40, value: 0.975 } }, promote: true, reason: 'better' },
    };
    assert.deepEqual(
      t.update(snapshot(events, [old, done])).map((l) => l.text),
      [
        'gate: challenger 0.975 vs champion 0.800 accuracy on 40 held-out labels → promote',
        'retrain job …34567890 promoted: version 2 is the serving version [data 20 ms, train 1.50 s, gate 30 ms, swap 10 ms; 3 repeated requests folded in]',
      ],
    );
    assert.deepEqual(t.update(snapshot(events, [old, done])), [], 'nothing new, nothing said');
    assert.equal(t.promoted.get(job.id)?.challenger, 2);
    assert.deepEqual(t.detections, [startedAt + 12_000]);
  });
});

describe('the demo traffic', () => {
  const { rows } = loadIrisRows('models', 'iris-onnx');
  it('keeps the species until the concept changes, then labels by petal length', () => {
    const versicolor = { values: [6, 2.9, 4.5, 1.5] as [number, number, number, number], species: 'versicolor' };
    assert.equal(labelOf(versicolor, false), 'versicolor');
    assert.equal(labelOf(versicolor, true), 'virginica');
  });
  it('shifts the population to long petals under covariate drift and keeps the true species', () => {
    const next = irisTraffic(rows, 3);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const clean = next(2000, undefined);
    const shifted = next(2000, 'covariate');
    assert.ok(mean(shifted.map((s) => s.row['petal_length']!)) > mean(clean.map((s) => s.row['petal_length']!)) + 0.8);
    const setosa = (xs: typeof clean) => xs.filter((s) => s.label === 'setosa').length / xs.length;
    assert.ok(setosa(shifted) < 0.1 && setosa(clean) > 0.25);
    // True labels: a long-petalled versicolor stays versicolor.
    assert.ok(shifted.some((s) => s.label === 'versicolor' && s.row['petal_length']! > 4.5));
  });
});

describe('the /metrics fallback', () => {
  it('reads samples by name and labels in any order', () => {
    const samples = parseMetrics('# HELP x\ndriftgate_model_accuracy{version="1",model="iris-onnx"} 0.93\ndriftgate_serving_version{model="iris-onnx"} 2\n');
    assert.equal(metric(samples, 'driftgate_model_accuracy', { model: 'iris-onnx', version: '1' }), 0.93);
    assert.equal(metric(samples, 'driftgate_serving_version', { model: 'iris-onnx' }), 2);
    assert.equal(metric(samples, 'driftgate_serving_version', { model: 'other' }), undefined);
  });
});
