// The HTML training report: every section present, user data escaped, nothing loaded from the network.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf } from '../../src/core/tfjs.js';
import { renderReport } from '../../src/train/report.js';
import { escapeHtml, formatNumber } from '../../src/train/report-format.js';
import { niceTicks } from '../../src/train/report-charts.js';
import type { LineageEntry } from '../../src/train/lineage.js';
import type { TrainResult } from '../../src/train/types.js';
import { handmadeTrainResult } from '../helpers/train-result.js';

const HOSTILE = '<script>alert("x")</script>';
const CHAIN: LineageEntry[] = [
  { model: 'm', version: 2, found: true, trigger: 'drift', createdAt: '2025-03-01T00:00:00.000Z', headline: 'test accuracy 0.91', rows: 400 },
  { model: 'm', version: 1, found: true, trigger: 'manual', headline: 'test accuracy 0.88' },
];

let classification: TrainResult;
let regression: TrainResult;
let baseline = 0;

void describe('renderReport', () => {
  before(async () => {
    await initTf('cpu');
    baseline = tf.memory().numTensors;
    classification = await handmadeTrainResult({
      featureNames: [HOSTILE, 'width & <height>', 'colour'],
      oddCategory: '<img src=x onerror=alert(1)>',
      twoPhase: true,
      trials: 9,
      baseline: true,
      parent: { name: 'm', version: 2, dir: '/repo/m/2' },
    });
    regression = await handmadeTrainResult({ task: 'regression', epochs: 4 });
  });

  after(() => {
    classification.model.dispose();
    regression.model.dispose();
    assert.equal(tf.memory().numTensors, baseline, 'tensors leaked');
  });

  test('has every section of a classification report', () => {
    const html = renderReport(classification, CHAIN, { model: 'm', version: 3, createdAt: '2025-04-01T00:00:00.000Z', onnx: true });
    for (const id of ['summary', 'data', 'training', 'metrics', 'confusion', 'classes', 'slices', 'worst', 'search', 'hyperparameters', 'lineage']) {
      assert.match(html, new RegExp(`<section id="${id}">`), `section ${id}`);
    }
    assert.match(html, /<title>m version 3: training report<\/title>/);
    // Curves per epoch with both phases marked, and the best epoch.
    assert.match(html, /<svg class="chart"[^>]*aria-label="loss"/);
    assert.match(html, /aria-label="accuracy"/);
    assert.match(html, /class="band">head</);
    assert.match(html, /class="band">fine-tune</);
    assert.match(html, /best \(\d+\)/);
    // Confusion matrix cells are heat-coloured; all three labels head its columns.
    assert.match(html, /<td class="heat" style="background:rgba\(37,99,235,/);
    for (const label of ['alpha', 'beta', 'gamma']) assert.ok(html.includes(`<th>${label}</th>`), label);
    // The trial table lists every trial, and the lineage chain both parents.
    assert.equal((html.match(/<tr><td class="num">(★ )?\d+<\/td><td class="num">/g) ?? []).length >= 9, true);
    assert.match(html, /<b>m version 2<\/b> · drift/);
    assert.match(html, /<b>m version 1<\/b> · manual/);
    assert.match(html, /baseline \(validation\)/);
  });

  test('escapes feature names and values from the data', () => {
    const html = renderReport(classification, CHAIN, { model: 'm', version: 3 });
    assert.ok(!html.includes('<script'), 'a raw <script> tag made it into the report');
    assert.ok(!html.includes('<img'), 'a raw <img> tag made it into the report');
    assert.ok(html.includes(escapeHtml(HOSTILE)), 'the escaped feature name is shown');
    assert.ok(html.includes('width &amp; &lt;height&gt;'));
  });

  test('references no external resource', () => {
    for (const result of [classification, regression]) {
      const html = renderReport(result, [], { model: 'm', version: 1 });
      assert.doesNotMatch(html, /https?:\/\//i);
      assert.doesNotMatch(html, /<(link|script|img|iframe)\b/i);
      assert.doesNotMatch(html, /url\(/i);
    }
  });

  test('a regression report shows error metrics and no confusion matrix', () => {
    const html = renderReport(regression, [], { model: 'r', version: 1 });
    assert.doesNotMatch(html, /<section id="confusion">/);
    assert.match(html, /<td>RMSE<\/td>/);
    assert.match(html, /aria-label="mae"/);
    assert.match(html, /Trained from scratch/);
    assert.match(html, /No hyperparameter search was run/);
  });

  test('the run settings show the fine-tuning recipe, and the trial scores say what they measure', () => {
    const html = renderReport(classification, CHAIN, {
      recipe: {
        data: { kind: 'csv', path: 'data/<new>.csv' },
        target: 'species',
        modelName: 'm',
        base: { dir: 'models/m/2', freeze: { firstK: 1 }, twoPhase: { headEpochs: 5, lowLearningRate: 0.001 } },
        search: { trials: 9 },
      },
    });
    assert.match(html, /<h3>Run settings<\/h3>/);
    assert.match(html, /<td>base\.freeze\.firstK<\/td><td>1<\/td>/);
    assert.match(html, /<td>data\.path<\/td><td>data\/&lt;new&gt;\.csv<\/td>/);
    assert.match(html, /Score: val_loss at the trial&#39;s best epoch, negated so that higher is better/);
  });

  test('an ONNX export failure is reported', () => {
    const html = renderReport(regression, [], { onnxError: 'cannot export layer "conv" (Conv1D)' });
    assert.match(html, /ONNX export skipped: cannot export layer &quot;conv&quot; \(Conv1D\)/);
  });
});

void describe('report helpers', () => {
  test('escapeHtml covers the five special characters', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
  test('formatNumber keeps four significant digits and shows gaps', () => {
    assert.equal(formatNumber(0.123456), '0.1235');
    assert.equal(formatNumber(12), '12');
    assert.equal(formatNumber(Number.NaN), '–');
    assert.equal(formatNumber(null), '–');
  });
  test('niceTicks covers the range in round steps', () => {
    assert.deepEqual(niceTicks(0.12, 0.93, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    const flat = niceTicks(0.5, 0.5, 5);
    assert.ok(flat[0]! <= 0.5 && flat[flat.length - 1]! >= 0.5 && flat.length >= 2);
  });
});
