import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeValue, describeValues } from '../../src/core/index.js';

/** An array nested `depth` levels deep around 1, built without recursion. */
function deeplyNested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

describe('describeValue', () => {
  it('shows small values as JSON would, but numbers JSON cannot carry as themselves', () => {
    assert.equal(describeValue('wide'), '"wide"');
    assert.equal(describeValue(5.5), '5.5');
    assert.equal(describeValue(Infinity), 'Infinity');
    assert.equal(describeValue(-Infinity), '-Infinity');
    assert.equal(describeValue(null), 'null');
    assert.equal(describeValue(true), 'true');
    assert.equal(describeValue(undefined), 'nothing');
    assert.equal(describeValue([1, 'a', [true]]), '[1, "a", [true]]');
    assert.equal(describeValue({ v: 1, w: [2] }), '{"v": 1, "w": [2]}');
  });

  it('cuts a 1 MB string to the limit, marking the cut', () => {
    const text = describeValue('x'.repeat(1_000_000));
    assert.ok(text.length <= 80, `${text.length} chars`);
    assert.match(text, /^"x+…"$/);
    assert.ok(describeValue('y'.repeat(1000), 20).length <= 20);
  });

  it('never splits a surrogate pair', () => {
    const text = describeValue('😀'.repeat(100), 11);
    assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])/.test(text), JSON.stringify(text));
  });

  it('describes 50,000 levels of nesting without overflowing the stack (JSON.stringify throws)', () => {
    const deep = deeplyNested(50_000);
    assert.throws(() => JSON.stringify(deep), RangeError);
    assert.equal(describeValue(deep), '[[[[…]]]]');
  });

  it('reads only the start of a huge array or object', () => {
    const text = describeValue(Array.from({ length: 1_000_000 }, (_, i) => i));
    assert.ok(text.length <= 80, text);
    assert.match(text, /^\[0, 1, 2, .*…$/);
    const obj = describeValue(Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`key${i}`, 'v'.repeat(100)])));
    assert.ok(obj.length <= 80, obj);
    assert.ok(describeValue({ ['k'.repeat(10_000)]: 1 }).length <= 80);
  });

  it('describeValues shows a few values and counts the rest', () => {
    assert.equal(describeValues(['a', 'b']), '"a", "b"');
    assert.equal(describeValues(['a', 'b', 'c', 'd'], 2), '"a", "b" and 2 more');
    assert.ok(describeValues(Array(100_000).fill('z'.repeat(10_000))).length < 500);
  });
});
