import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assignCoPartitioned } from '../../src/core/bus/co-partition-assigner.js';

describe('assignCoPartitioned', () => {
  it('gives each member the same partition numbers of every topic', () => {
    const topics = new Map([
      ['predictions', [2, 0, 1, 3, 4]],
      ['labels', [0, 1, 2, 3, 4]],
    ]);
    const out = assignCoPartitioned(['m-b', 'm-a'], topics);
    assert.deepEqual(out.get('m-a'), { predictions: [0, 2, 4], labels: [0, 2, 4] });
    assert.deepEqual(out.get('m-b'), { predictions: [1, 3], labels: [1, 3] });
  });

  it('leaves members beyond the partition count idle, and handles topics of different sizes', () => {
    const out = assignCoPartitioned(['a', 'b', 'c'], new Map([['t', [0, 1]], ['u', [0, 1, 2, 3]]]));
    assert.deepEqual(out.get('a'), { t: [0], u: [0, 3] });
    assert.deepEqual(out.get('b'), { t: [1], u: [1] });
    assert.deepEqual(out.get('c'), { u: [2] });
    assert.deepEqual([...assignCoPartitioned([], new Map([['t', [0]]]))], []);
  });
});
