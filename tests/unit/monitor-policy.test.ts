import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  driftPolicySchema,
  initialPolicyState,
  monitorPolicySchema,
  onPerformance,
  onWindow,
  parsePolicyDocument,
  policyFor,
  resetForNewVersion,
} from '../../src/monitor/policy.js';
import type { Decision, DriftPolicyOverride, PolicyState } from '../../src/monitor/policy.js';

// A step of a sequence: a window at event time t that did (D) or did not (C) drift, a performance
// verdict with a drop and a label count, or the model starting to serve a new version.
type Step = { window: 'D' | 'C'; t: number } | { drop: number | undefined; labels?: number; t: number } | { newVersion: true };

function apply(override: DriftPolicyOverride, steps: Step[], start: PolicyState = initialPolicyState()) {
  const policy = driftPolicySchema.parse({ cooldownMs: 10_000, ...override });
  let state = start;
  const seen: string[] = [];
  const decisions: Decision[] = [];
  steps.forEach((step, i) => {
    let result: { state: PolicyState; decisions: Decision[] };
    if ('newVersion' in step) result = { state: resetForNewVersion(state), decisions: [] };
    else if ('window' in step) {
      const drifted = step.window === 'D';
      result = onWindow(policy, state, {
        windowIndex: i,
        endTime: step.t,
        datasetDrift: drifted,
        share: drifted ? 0.75 : 0,
        drifted: drifted ? [{ feature: 'x', test: 'ks', score: 0.4, pValue: 0.001 }] : [],
        samples: 500,
      });
    } else {
      result = onPerformance(policy, state, { time: step.t, metric: 'accuracy', live: 0.8, expected: 0.9, drop: step.drop, labels: step.labels ?? 300 });
    }
    state = result.state;
    for (const d of result.decisions) {
      decisions.push(d);
      seen.push(`${d.type === 'retrain.requested' ? `retrain:${d.reason}` : `${d.type.split('.')[1]}:${d.kind}`}@${d.time}`);
    }
  });
  return { seen, state, decisions };
}

const windows = (pattern: string, every = 1000): Step[] => [...pattern].map((c, i) => ({ window: c as 'D' | 'C', t: (i + 1) * every }));

describe('onWindow and onPerformance', () => {
  const cases: { name: string; override?: DriftPolicyOverride; steps: Step[]; expected: string[] }[] = [
    { name: 'K=2: the second drifted window enters drift and requests a retrain', steps: windows('DD'), expected: ['detected:data@2000', 'retrain:data_drift@2000'] },
    { name: 'K=3 counts only drifted windows in a row', override: { drift: { consecutiveWindows: 3 } }, steps: windows('DDCDDD'), expected: ['detected:data@6000', 'retrain:data_drift@6000'] },
    { name: 'one noisy drifted window does not enter drift', steps: windows('CDCCDC'), expected: [] },
    { name: 'no repeat while the drift lasts', steps: windows('DDDDD'), expected: ['detected:data@2000', 'retrain:data_drift@2000'] },
    {
      name: 'one clean window inside a drift period does not clear it; two do',
      steps: windows('DDCDCC'),
      expected: ['detected:data@2000', 'retrain:data_drift@2000', 'cleared:data@6000'],
    },
    {
      name: 'clearAfterWindows=1 clears on the first clean window',
      override: { drift: { clearAfterWindows: 1 } },
      steps: windows('DDC'),
      expected: ['detected:data@2000', 'retrain:data_drift@2000', 'cleared:data@3000'],
    },
    {
      name: 'a drift outlasting the cooldown is re-requested at its first drifted window after it',
      steps: [...windows('DD'), { window: 'D', t: 5000 }, { window: 'C', t: 12_500 }, { window: 'D', t: 13_000 }, { window: 'D', t: 14_000 }, { window: 'D', t: 23_000 }],
      expected: ['detected:data@2000', 'retrain:data_drift@2000', 'retrain:data_drift@13000', 'retrain:data_drift@23000'],
    },
    {
      name: 'drift re-entered within the cooldown is reported, its retrain waits for the cooldown',
      steps: [...windows('DDCCDD'), { window: 'D', t: 11_000 }, { window: 'D', t: 12_000 }],
      expected: ['detected:data@2000', 'retrain:data_drift@2000', 'cleared:data@4000', 'detected:data@6000', 'retrain:data_drift@12000'],
    },
    { name: "action 'report' reports drift and never requests a retrain", override: { drift: { action: 'report' } }, steps: windows('DDDDCCDD', 10_000), expected: ['detected:data@20000', 'cleared:data@60000', 'detected:data@80000'] },
    { name: 'too few labels decide nothing', steps: [{ drop: 0.5, labels: 199, t: 1 }], expected: [] },
    { name: 'no training metric decides nothing', steps: [{ drop: undefined, t: 1 }], expected: [] },
    {
      name: 'a drop past maxDrop degrades; recovery needs the drop below maxDrop × recoverBelow',
      steps: [{ drop: 0.05, t: 1000 }, { drop: 0.2, t: 2000 }, { drop: 0.3, t: 3000 }, { drop: 0.08, t: 4000 }, { drop: 0.04, t: 5000 }, { drop: 0.11, t: 6000 }],
      expected: ['detected:performance@2000', 'retrain:performance@2000', 'cleared:performance@5000', 'detected:performance@6000'],
    },
    {
      name: 'data and performance share the cooldown; a degradation in the hysteresis band is not re-requested',
      steps: [...windows('DD'), { drop: 0.2, t: 3000 }, { drop: 0.08, t: 13_000 }, { drop: 0.2, t: 14_000 }],
      expected: ['detected:data@2000', 'retrain:data_drift@2000', 'detected:performance@3000', 'retrain:performance@14000'],
    },
    { name: "performance.action 'report' reports a drop and never requests a retrain", override: { performance: { action: 'report' } }, steps: [{ drop: 0.2, t: 1000 }], expected: ['detected:performance@1000'] },
    { name: "drift.action 'report' leaves the performance rule alone", override: { drift: { action: 'report' } }, steps: [{ drop: 0.2, t: 1000 }], expected: ['detected:performance@1000', 'retrain:performance@1000'] },
    {
      name: 'a new version starts the states afresh but keeps the cooldown',
      steps: [...windows('DD'), { drop: 0.2, t: 2500 }, { newVersion: true }, { window: 'D', t: 3000 }, { window: 'D', t: 4000 }, { window: 'D', t: 12_000 }],
      expected: ['detected:data@2000', 'retrain:data_drift@2000', 'detected:performance@2500', 'detected:data@4000', 'retrain:data_drift@12000'],
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(apply(c.override ?? {}, c.steps).seen, c.expected));

  it('puts the drifted features, share, window and run length in the evidence', () => {
    const { decisions } = apply({}, windows('DD'));
    const detected = decisions[0]!;
    assert.equal(detected.type, 'drift.detected');
    assert.deepEqual(detected.evidence, {
      windowIndex: 1,
      windowEnd: 2000,
      share: 0.75,
      samples: 500,
      consecutiveWindows: 2,
      features: [{ feature: 'x', test: 'ks', score: 0.4, pValue: 0.001 }],
    });
    // The monitor adds to one decision's evidence; the other must not change with it.
    decisions[0]!.evidence['prediction'] = {};
    assert.equal(decisions[1]!.evidence['prediction'], undefined);
  });

  it('decides the same after a snapshot round trip through JSON', () => {
    const steps: Step[] = [...windows('DDCD'), { drop: 0.2, t: 4500 }, { window: 'C', t: 13_000 }, { window: 'D', t: 14_000 }, { drop: 0.3, t: 15_000 }, ...windows('CCDD', 20_000)];
    const whole = apply({}, steps);
    for (let cut = 0; cut <= steps.length; cut++) {
      const first = apply({}, steps.slice(0, cut));
      const restored = JSON.parse(JSON.stringify(first.state)) as PolicyState;
      const second = apply({}, steps.slice(cut), restored);
      assert.deepEqual([...first.seen, ...second.seen], whole.seen, `cut at ${cut}`);
      assert.deepEqual(second.state, whole.state);
    }
  });

  it('does not change the state it is given', () => {
    const state = initialPolicyState();
    const frozen = JSON.stringify(state);
    apply({}, windows('DDD'), state);
    assert.equal(JSON.stringify(state), frozen);
  });
});

describe('policy documents', () => {
  const defaults = {
    window: { size: 500, durationMs: 0, minSamples: 100 },
    reference: { liveSize: 500 },
    tests: {},
    thresholds: { pValue: 0.05, distance: 0.1 },
    datasetDriftShare: 0.5,
    bonferroni: false,
    drift: { consecutiveWindows: 2, clearAfterWindows: 2, action: 'retrain' },
    performance: { window: 500, maxDrop: 0.1, minLabels: 200, recoverBelow: 0.5, action: 'retrain' },
    cooldownMs: 3_600_000,
  };

  it('fills every default', () => {
    assert.deepEqual(parsePolicyDocument('{}'), { default: defaults, models: {} });
    assert.deepEqual(monitorPolicySchema.parse({}), { default: defaults, models: {} });
    assert.deepEqual(driftPolicySchema.parse({}), defaults);
  });

  it('deep-merges a model override over the default', () => {
    const config = parsePolicyDocument(
      JSON.stringify({
        default: { cooldownMs: 1000, tests: { a: 'psi' }, drift: { consecutiveWindows: 3 } },
        models: { iris: { window: { size: 1000, step: 250 }, tests: { b: 'ks' }, drift: { action: 'report' }, performance: { metric: 'f1' } } },
      }),
    );
    assert.deepEqual(policyFor(config, 'iris'), {
      ...defaults,
      window: { size: 1000, step: 250, durationMs: 0, minSamples: 100 },
      tests: { a: 'psi', b: 'ks' },
      drift: { consecutiveWindows: 3, clearAfterWindows: 2, action: 'report' },
      performance: { ...defaults.performance, metric: 'f1' },
      cooldownMs: 1000,
    });
    assert.equal(policyFor(config, 'delivery'), config.default);
    // A model named like an Object.prototype member is just a model without an override.
    assert.equal(policyFor(config, 'toString'), config.default);
  });

  const bad: [string, unknown, RegExp][] = [
    ['a bad value in an override', { models: { iris: { window: { size: 0 } } } }, /^models\.iris\.window\.size: Too small: expected number to be >0$/],
    ['an unknown option', { models: { iris: { windw: { size: 10 } } } }, /^models\.iris\.windw: Unknown option$/],
    ['an unknown test', { default: { tests: { f: 'anova' } } }, /^default\.tests\.f: Invalid option/],
    ['a step past the merged size', { default: { window: { size: 100 } }, models: { iris: { window: { step: 200 } } } }, /^models\.iris\.window\.step: must be at most window\.size$/],
    ['a sliding window past the kept-rows bound', { default: { window: { size: 20_000, step: 1000 } } }, /^default\.window\.size: a sliding window \(step < size\) holds at most 10000 predictions$/],
    ['minLabels past the window', { default: { performance: { window: 100 } } }, /^default\.performance\.minLabels: must be at most performance\.window$/],
    ['an override that is not an object', { models: { iris: 3 } }, /^models\.iris: expected an object$/],
    ['a document that is not an object', [], /^\(document\): /],
  ];
  for (const [name, doc, message] of bad) {
    it(`names the field of ${name}`, () => {
      assert.throws(() => parsePolicyDocument(JSON.stringify(doc)), (err: Error) => {
        assert.match(err.message, message);
        return true;
      });
    });
  }

  it('reports text that is not JSON', () => {
    assert.throws(() => parsePolicyDocument('{window:'), /^Error: not valid JSON/);
  });
});
