// Metrics checked against scikit-learn on the cases in tests/fixtures/metrics/cases.json (made by
// make_fixtures.py in the same folder, which says how to regenerate them).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { classificationMetrics, regressionMetrics } from '../../src/train/eval/index.js';
import type { ClassificationReport } from '../../src/train/eval/index.js';

interface Scores {
  precision: number;
  recall: number;
  f1: number;
}

interface ClassificationCase {
  name: string;
  labels: string[];
  yTrue: number[];
  probabilities: number[][];
  expected: {
    yPred: number[];
    accuracy: number;
    precision: number[];
    recall: number[];
    f1: number[];
    support: number[];
    macro: Scores;
    weighted: Scores;
    rocAuc: number | null;
    confusionMatrix: number[][];
    logLoss: number;
  };
}

interface RegressionCase {
  name: string;
  yTrue: number[];
  yPred: number[];
  expected: { n: number; mse: number; rmse: number; mae: number; r2: number };
}

const fixtures = JSON.parse(readFileSync(new URL('../fixtures/metrics/cases.json', import.meta.url), 'utf8')) as {
  classification: ClassificationCase[];
  regression: RegressionCase[];
};

function near(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not within ${tolerance} of ${expected}`);
}

function assertMatches(report: ClassificationReport, c: ClassificationCase, tolerance: number, aucLossTolerance: number): void {
  const e = c.expected;
  const at = (what: string): string => `${c.name} ${what}`;
  assert.equal(report.n, c.yTrue.length);
  assert.deepEqual(report.labels, c.labels);
  near(report.accuracy, e.accuracy, tolerance, at('accuracy'));
  report.perClass.forEach((s, i) => {
    assert.equal(s.label, c.labels[i]);
    near(s.precision, e.precision[i]!, tolerance, at(`precision[${i}]`));
    near(s.recall, e.recall[i]!, tolerance, at(`recall[${i}]`));
    near(s.f1, e.f1[i]!, tolerance, at(`f1[${i}]`));
    assert.equal(s.support, e.support[i], at(`support[${i}]`));
  });
  for (const avg of ['macro', 'weighted'] as const) {
    for (const key of ['precision', 'recall', 'f1'] as const) {
      near(report[avg][key], e[avg][key], tolerance, at(`${avg} ${key}`));
    }
  }
  assert.deepEqual(report.confusionMatrix, e.confusionMatrix, at('confusion matrix'));
  if (e.rocAuc === null) assert.equal(report.rocAuc, null, at('ROC-AUC'));
  else near(report.rocAuc ?? Number.NaN, e.rocAuc, aucLossTolerance, at('ROC-AUC'));
  near(report.logLoss, e.logLoss, aucLossTolerance, at('log loss'));
}

void describe('classificationMetrics against scikit-learn', () => {
  assert.ok(fixtures.classification.length >= 6);
  for (const c of fixtures.classification) {
    void test(`${c.name} (rows of numbers, within 1e-9)`, () => {
      assertMatches(classificationMetrics(c.yTrue, c.probabilities, c.labels), c, 1e-9, 1e-9);
    });

    void test(`${c.name} (flat Float32Array, within 1e-6)`, () => {
      const flat = Float32Array.from(c.probabilities.flat());
      assertMatches(classificationMetrics(c.yTrue, flat, c.labels), c, 1e-6, 1e-6);
    });
  }
});

void describe('regressionMetrics against scikit-learn', () => {
  assert.ok(fixtures.regression.length >= 3);
  for (const c of fixtures.regression) {
    void test(`${c.name} (within 1e-9)`, () => {
      const report = regressionMetrics(c.yTrue, c.yPred);
      assert.equal(report.n, c.expected.n);
      for (const key of ['mse', 'rmse', 'mae', 'r2'] as const) near(report[key], c.expected[key], 1e-9, `${c.name} ${key}`);
    });
  }

  void test('the fixtures include a negative R^2 and both constant-target conventions', () => {
    const r2 = new Map(fixtures.regression.map((c) => [c.name, c.expected.r2]));
    assert.ok(r2.get('regression_negative_r2')! < 0);
    assert.equal(r2.get('regression_constant_true'), 0);
    assert.equal(r2.get('regression_constant_perfect'), 1);
  });
});
