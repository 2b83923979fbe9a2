import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FeatureEncoder, manifestSchema } from '../../src/core/index.js';

const manifest = manifestSchema.parse({
  name: 'm',
  version: 1,
  format: 'onnx',
  task: 'regression',
  input: 'x',
  output: 'y',
  features: [
    { name: 'a', type: 'numeric' },
    { name: 'color', type: 'categorical', categories: ['red', 'green', 'blue'] },
    { name: 'b', type: 'numeric' },
  ],
  preprocessing: { scalers: { a: { kind: 'standardize', mean: 10, std: 2 }, b: { kind: 'minmax', min: 0, max: 4 } } },
});

describe('FeatureEncoder', () => {
  const enc = new FeatureEncoder(manifest);

  it('scales numeric features and one-hot encodes categories in manifest order', () => {
    assert.equal(enc.width, 5);
    const out = enc.encodeRows([{ a: 12, color: 'blue', b: 1 }, [8, 'red', 4]]);
    assert.deepEqual(Array.from(out), [1, 0, 0, 1, 0.25, -1, 1, 0, 0, 1]);
  });

  it('names missing, unknown and mistyped features', () => {
    assert.throws(() => enc.encodeRows([{ a: 1, color: 'red' }]), /instances\[0\]: missing feature "b"/);
    assert.throws(() => enc.encodeRows([{ a: 1, color: 'red', b: 2, c: 3 }]), /unknown feature "c"/);
    assert.throws(() => enc.encodeRows([{ a: '1', color: 'red', b: 2 }]), /"a" must be a finite number, got the string "1"/);
    assert.throws(() => enc.encodeRows([{ a: 1, color: 'purple', b: 2 }]), /unknown category "purple"; known: red, green, blue/);
    assert.throws(() => enc.encodeRows([[1, 'red']]), /expected 3 values/);
    assert.throws(() => enc.encodeRows([{ a: null, color: 'red', b: 2 }]), /got null/);
    assert.throws(() => enc.encodeRows([{ a: 1e300, color: 'red', b: 2 }]), /out of the float32 range/);
  });

  it('cuts long client values short in its errors: unknown categories, unknown keys, wrong values', () => {
    const big = 'q'.repeat(1_000_000);
    const messageOf = (row: unknown): string => {
      try {
        enc.encodeRows([row as never]);
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('did not throw');
    };
    const category = messageOf({ a: 1, color: big, b: 2 });
    assert.match(category, /instances\[0\]: feature "color" has unknown category "q+…"; known: red, green, blue$/);
    assert.ok(category.length < 200, `${category.length} chars`);
    assert.match(messageOf({ a: 1, color: 'red', b: 2, [big]: 3 }), /unknown feature "q+…"; expected a, color, b$/);
    assert.ok(messageOf({ a: big, color: 'red', b: 2 }).length < 200);
    let deep: unknown = 1;
    for (let i = 0; i < 50_000; i++) deep = [deep];
    assert.match(messageOf({ a: deep, color: 'red', b: 2 }), /"a" must be a finite number, got \[\[\[\[…\]\]\]\]$/);
  });

  it('ignores extra columns of training rows only when asked', () => {
    const row = { a: 12, color: 'blue', b: 1, target: 3 };
    assert.throws(() => enc.encodeRows([row]), /unknown feature "target"/);
    assert.deepEqual(Array.from(enc.encodeRows([row], 'rows', { ignoreExtra: true })), [1, 0, 0, 1, 0.25]);
    assert.throws(() => enc.encodeRows([{ a: 1, target: 2 }], 'rows', { ignoreExtra: true }), /rows\[0\]: missing feature "color"/);
  });

  it('encodes unknown categories as zeros when the manifest says ignore', () => {
    const lenient = new FeatureEncoder({ ...manifest, preprocessing: { ...manifest.preprocessing, unknownCategory: 'ignore' } });
    assert.deepEqual(Array.from(lenient.encodeRows([{ a: 10, color: 'purple', b: 0 }])), [0, 0, 0, 0, 0]);
  });
});

describe('manifestSchema', () => {
  it('requires labels for classification and rejects unsafe names', () => {
    const base = { name: 'm', version: 1, format: 'onnx', task: 'classification', input: 'x', output: 'y', features: [{ name: 'a', type: 'numeric' }] };
    assert.equal(manifestSchema.safeParse(base).success, false);
    assert.equal(manifestSchema.safeParse({ ...base, labels: ['a', 'b'] }).success, true);
    assert.equal(manifestSchema.safeParse({ ...base, labels: ['a', 'b'], name: '../etc' }).success, false);
    assert.equal(manifestSchema.safeParse({ ...base, labels: ['a', 'b'], features: [{ name: 'a', type: 'numeric' }, { name: 'a', type: 'numeric' }] }).success, false);
  });
});
