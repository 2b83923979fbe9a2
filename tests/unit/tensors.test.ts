import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DriftgateError, FeatureEncoder, manifestSchema } from '../../src/core/index.js';
import { decodeInferInputs, flattenData } from '../../src/serve/tensors.js';

const numeric = manifestSchema.parse({
  name: 'iris',
  version: 1,
  format: 'onnx',
  task: 'classification',
  labels: ['a', 'b'],
  input: 'features',
  output: 'probabilities',
  features: [
    { name: 'x', type: 'numeric' },
    { name: 'y', type: 'numeric' },
  ],
  preprocessing: { scalers: { x: { kind: 'standardize', mean: 1, std: 2 } } },
});
const mixed = manifestSchema.parse({
  ...numeric,
  features: [...numeric.features, { name: 'c', type: 'categorical', categories: ['u', 'v'] }],
});
const t = (name: string, shape: number[], datatype: string, data: unknown[]) => ({ name, shape, datatype, data }) as never;

describe('flattenData', () => {
  it('accepts flat and nested data that match the shape', () => {
    assert.deepEqual(flattenData(t('a', [2, 2], 'FP32', [1, 2, 3, 4])), [1, 2, 3, 4]);
    assert.deepEqual(flattenData(t('a', [2, 2], 'FP32', [[1, 2], [3, 4]])), [1, 2, 3, 4]);
  });
  it('names shape mismatches', () => {
    assert.throws(() => flattenData(t('a', [2, 2], 'FP32', [1, 2, 3])), /shape \[2, 2\] needs 4 values, got 3/);
    assert.throws(() => flattenData(t('a', [2, 2], 'FP32', [[1, 2], [3]])), /data\[1\] should be a list of 2/);
    assert.throws(() => flattenData(t('a', [2], 'FP32', [[1], [2]])), /nested deeper/);
  });
});

describe('decodeInferInputs', () => {
  const enc = new FeatureEncoder(numeric);
  it('decodes one [N, F] tensor and applies preprocessing', () => {
    const d = decodeInferInputs(numeric, enc, [t('features', [2, 2], 'FP64', [3, 5, 1, 7])]);
    assert.equal(d.rows, 2);
    assert.deepEqual(Array.from(d.matrix), [1, 5, 0, 7]);
    assert.deepEqual(d.featureRows(), [{ x: 3, y: 5 }, { x: 1, y: 7 }]);
  });
  it('decodes one tensor per feature, including BYTES categories', () => {
    const menc = new FeatureEncoder(mixed);
    const d = decodeInferInputs(mixed, menc, [t('x', [2], 'INT32', [1, 3]), t('y', [2, 1], 'FP32', [0.5, 1]), t('c', [2], 'BYTES', ['v', 'u'])]);
    assert.deepEqual(Array.from(d.matrix), [0, 0.5, 0, 1, 1, 1, 1, 0]);
  });
  it('rejects wrong names, shapes, datatypes and values with a message naming them', () => {
    assert.throws(() => decodeInferInputs(numeric, enc, [t('feature', [1, 2], 'FP32', [1, 2])]), /unknown input "feature"; expected "features" or one input per feature/);
    assert.throws(() => decodeInferInputs(numeric, enc, [t('x', [1], 'FP32', [1])]), /missing input "y"/);
    assert.throws(() => decodeInferInputs(numeric, enc, [t('features', [1, 3], 'FP32', [1, 2, 3])]), /shape \[N, 2\]/);
    assert.throws(() => decodeInferInputs(numeric, enc, [t('features', [2], 'FP32', [1, 2])]), /shape \[N, 2\]/);
    assert.throws(() => decodeInferInputs(numeric, enc, [t('features', [1, 2], 'FP32', ['1', 2])]), /must be finite numbers, got "1"/);
    assert.throws(() => decodeInferInputs(numeric, enc, [t('features', [1, 2], 'FP32', ['NaN', 2])]), /finite numbers/);
    assert.throws(() => decodeInferInputs(numeric, enc, [t('features', [1, 2], 'FP32', [1e39, 2])]), /FP32 range/);
    assert.throws(() => decodeInferInputs(numeric, enc, [t('features', [1, 2], 'INT32', [1.5, 2])]), /not a valid INT32/);
    assert.throws(() => decodeInferInputs(numeric, enc, [t('features', [1, 2], 'BOOL', [1, 2])]), /BOOL data must be true or false/);
    assert.throws(() => decodeInferInputs(numeric, enc, [t('features', [1, 2], 'FP16', [1, 2])]), /FP16 is not supported/);
    assert.throws(() => decodeInferInputs(numeric, enc, [t('features', [0, 2], 'FP32', [])]), /holds no rows/);
    assert.throws(() => decodeInferInputs(numeric, enc, [t('x', [2], 'FP32', [1, 2]), t('y', [3], 'FP32', [1, 2, 3])]), /3 rows but other inputs have 2/);
    assert.throws(() => decodeInferInputs(numeric, enc, [t('x', [1], 'FP32', [1]), t('x', [1], 'FP32', [1])]), /appears twice/);
    const menc = new FeatureEncoder(mixed);
    assert.throws(() => decodeInferInputs(mixed, menc, [t('features', [1, 3], 'FP32', [1, 2, 3])]), /categorical ones, so send one input per feature/);
    assert.throws(() => decodeInferInputs(mixed, menc, [t('x', [1], 'FP32', [1]), t('y', [1], 'FP32', [1]), t('c', [1], 'FP32', [1])]), /send BYTES/);
  });
});

describe('decodeInferInputs on hostile values', () => {
  const enc = new FeatureEncoder(numeric);
  const deep = (depth: number) => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = [v];
    return v;
  };
  const messageOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof DriftgateError, `a DriftgateError, not ${String(err)}`);
      assert.equal(err.status, 400);
      return err.message;
    }
    throw new Error('did not throw');
  };

  it('an element nested 50,000 levels deep in FP32 or BOOL data gives a short 400 message, not a RangeError', () => {
    for (const datatype of ['FP32', 'BOOL', 'INT32']) {
      const message = messageOf(() => decodeInferInputs(numeric, enc, [t('features', [1, 2], datatype, [datatype === 'BOOL' ? true : 2, deep(50_000)])]));
      assert.match(message, /element 1: .*got \[\[\[\[…\]\]\]\]$/);
      assert.ok(message.length < 200, message);
    }
  });

  it('a 1 MB string element, a 1 MB input name and many unknown input names are cut short', () => {
    const big = 'x'.repeat(1_000_000);
    assert.ok(messageOf(() => decodeInferInputs(numeric, enc, [t('features', [1, 2], 'FP32', [big, 2])])).length < 200);
    assert.ok(messageOf(() => decodeInferInputs(numeric, enc, [t('features', [1, 2], 'BOOL', [big, 2])])).length < 200);
    assert.ok(messageOf(() => decodeInferInputs(numeric, enc, [t(big, [1], 'FP32', [1])])).length < 300);
    const many = Array.from({ length: 1000 }, (_, i) => t(`${big.slice(0, 1000)}${i}`, [1], 'FP32', [1]));
    const message = messageOf(() => decodeInferInputs(numeric, enc, many));
    assert.match(message, /and 995 more/);
    assert.ok(message.length < 600, `${message.length} chars`);
  });

  it('a long unknown category is cut short', () => {
    const menc = new FeatureEncoder(mixed);
    const message = messageOf(() => decodeInferInputs(mixed, menc, [t('x', [1], 'FP32', [1]), t('y', [1], 'FP32', [1]), t('c', [1], 'BYTES', ['w'.repeat(1_000_000)])]));
    assert.match(message, /unknown category "w+…"; known: u, v$/);
    assert.ok(message.length < 200, `${message.length} chars`);
  });
});
