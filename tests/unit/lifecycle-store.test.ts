import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RetrainStore, liveScore } from '../../src/lifecycle/index.js';
import type { Example } from '../../src/lifecycle/index.js';

function example(i: number, version: number, right: boolean): Example {
  return { id: `p${i}`, model: 'm', version, ts: 1000 * i, labelTs: 1000 * i + 1, features: { x: i }, label: right ? 'a' : 'b', output: { label: 'a', probabilities: { a: 1 } } };
}

describe('the retrainer store', () => {
  it('keeps the newest examples per model, ignores redeliveries, and reads a version since a time', () => {
    const store = new RetrainStore({ path: ':memory:', window: 150 });
    // version 1 served well, then version 2, then version 1 again (forced back) and badly
    const old = Array.from({ length: 80 }, (_, i) => example(i, 1, true));
    const v2 = Array.from({ length: 40 }, (_, i) => example(100 + i, 2, true));
    const back = Array.from({ length: 20 }, (_, i) => example(200 + i, 1, false));
    assert.equal(store.addExamples([...old, ...v2, ...back]), 140);
    assert.equal(store.addExamples(back), 0, 'a redelivered batch adds nothing');
    assert.equal(store.addExamples(Array.from({ length: 20 }, (_, i) => example(300 + i, 2, true))), 20);
    assert.equal(store.countExamples('m'), 150, 'trimmed to the window');
    assert.equal(store.examples('m')[0]!.id, 'p10', 'the oldest went first');
    // The watch of version 1 forced back judges only what it predicted since: all wrong.
    assert.equal(liveScore(store.examplesOfVersion('m', 1, 100))!.value, 70 / 90);
    assert.equal(liveScore(store.examplesOfVersion('m', 1, 100, 200_000))!.value, 0);
    store.close();
  });
});
