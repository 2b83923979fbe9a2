import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FeatureEncoder, manifestSchema } from '../../src/core/index.js';
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
