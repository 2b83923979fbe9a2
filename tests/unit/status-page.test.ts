// The status page's pure parts: one-line event summaries, the versions' headline metric, and the
// browser script itself (it parses, and never hands data to the HTML parser).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summarizeEvent } from '../../src/serve/status/event-summary.js';
import { APP_JS } from '../../src/serve/status/ui/app-script.js';
import { headlineOf, versionInfoOf } from '../../src/serve/status/versions.js';
import { parseManifest } from '../../src/core/index.js';

describe('model event summaries', () => {
  it('say what the monitor saw and what the loop did, from the details each publisher sends', () => {
    assert.equal(
      summarizeEvent({ type: 'drift.detected', version: 1, details: { kind: 'performance', metric: 'accuracy', live: 0.792, expected: 0.9, drop: 0.12, labels: 500 } }),
      'v1: accuracy 0.792 against 0.900 expected (drop 12%) over 500 labels',
    );
    assert.equal(
      summarizeEvent({ type: 'drift.detected', version: 3, details: { kind: 'data', share: 0.5, features: [{ feature: 'f2' }, { feature: 'f3' }] } }),
      'v3: input drift in 50% of the features (f2, f3)',
    );
    assert.equal(summarizeEvent({ type: 'retrain.requested', version: 1, details: { reason: 'data_drift' } }), 'retrain of v1 asked: data drift');
    assert.equal(summarizeEvent({ type: 'retrain.started', version: 1, details: { job: 'iris-onnx-mbx1k2-abcdef01', data: { train: 240, holdout: 60 } } }), 'fine-tuning v1: 240 rows to train on, 60 held out (job abcdef01)');
    const record = { gate: { metric: 'accuracy', holdout: { champion: { value: 0.7, rows: 60 }, challenger: { value: 0.95, rows: 60 } } } };
    assert.equal(summarizeEvent({ type: 'model.promoted', version: 2, details: { from: 1, by: 'retrainer', record } }), 'v2 serves instead of v1: holdout accuracy 0.950 vs 0.700');
    assert.equal(summarizeEvent({ type: 'model.promoted', version: 2, details: { from: 1, by: 'admin' } }), 'v2 serves instead of v1 (by admin)');
    assert.equal(summarizeEvent({ type: 'model.rolled_back', version: 1, details: { from: 2, live: 0.61, baseline: 0.9 } }), 'back to v1 from v2: live 0.61 vs baseline 0.90');
    assert.equal(summarizeEvent({ type: 'retrain.failed', version: 1, details: {} }), 'retrain of v1 failed');
  });
});

describe('version details', () => {
  const base = {
    name: 'm',
    version: 2,
    format: 'onnx',
    task: 'classification',
    labels: ['a', 'b'],
    features: [{ name: 'x', type: 'numeric' }],
    input: 'in',
    output: 'out',
  };

  it('take the headline from the test split, else validation, else the top level', () => {
    assert.deepEqual(headlineOf(parseManifest({ ...base, metrics: { test: { accuracy: 0.8 }, validation: { accuracy: 0.9 } } })), { name: 'accuracy', value: 0.8 });
    assert.deepEqual(headlineOf(parseManifest({ ...base, metrics: { accuracy: 0.93 } })), { name: 'accuracy', value: 0.93 });
    assert.deepEqual(headlineOf(parseManifest({ ...base, task: 'regression', labels: undefined, metrics: { validation: { mae: 2 } } })), { name: 'mae', value: 2 });
    assert.equal(headlineOf(parseManifest({ ...base, metrics: {} })), undefined);
  });

  it('read the lineage the trainer writes', () => {
    const info = versionInfoOf(parseManifest({ ...base, stage: 'candidate', lineage: { parent: null, from: { model: 'm', version: 1 }, trigger: 'retrain:performance', job: 'j1', createdAt: '2026-01-01T00:00:00Z' } }));
    assert.deepEqual(info, { task: 'classification', stage: 'candidate', createdAt: '2026-01-01T00:00:00Z', parent: 1, trigger: 'retrain:performance', job: 'j1' });
    assert.equal(versionInfoOf(parseManifest({ ...base, lineage: { from: { model: 'other', version: 4 } } })).parent, undefined, 'a base of another model is no parent');
  });
});

describe('the page script', () => {
  it('parses, uses no template literal (it lives in one) and never parses data as HTML', () => {
    assert.doesNotThrow(() => new Function(APP_JS));
    assert.ok(!APP_JS.includes('`'));
    for (const sink of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(', 'new Function']) assert.ok(!APP_JS.includes(sink), `uses ${sink}`);
  });
});
