// BatchGatherer: bus batches share monitor transactions, each batch settles with its own transaction,
// and transactions run one at a time in arrival order. Fake timers: nothing here waits on real time.
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { EventBatch, LabelEvent, PredictionEvent } from '../../src/core/index.js';
import { BatchGatherer } from '../../src/monitor/index.js';

const prediction = (id: string) => ({ id }) as PredictionEvent;
const label = (id: string) => ({ id }) as LabelEvent;
const ids = (b: EventBatch) => [...b.predictions.map((p) => p.id), ...b.labels.map((l) => `label:${l.id}`)];

/** An apply that records what it got and finishes when told. */
function recorder() {
  const applied: string[][] = [];
  const finish: ((err?: Error) => void)[] = [];
  const apply = (batch: EventBatch) =>
    new Promise<void>((resolve, reject) => {
      applied.push(ids(batch));
      finish.push((err) => (err ? reject(err) : resolve()));
    });
  return { applied, finish, apply };
}

function settled(p: Promise<void>): () => string {
  let state = 'pending';
  p.then(
    () => (state = 'resolved'),
    (err: Error) => (state = `rejected: ${err.message}`),
  );
  return () => state;
}

describe('BatchGatherer', () => {
  it('puts the batches that arrive within the wait into one transaction, and settles each with it', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const r = recorder();
    const g = new BatchGatherer(r.apply, 50, 1000);
    const a = settled(g.add({ predictions: [prediction('p1')], labels: [] }));
    t.mock.timers.tick(20);
    const b = settled(g.add({ predictions: [prediction('p2')], labels: [label('p1')] }));
    await nextTurn();
    assert.deepEqual(r.applied, [], 'nothing applied before the wait is over');
    t.mock.timers.tick(30);
    await nextTurn();
    assert.deepEqual(r.applied, [['p1', 'p2', 'label:p1']]);
    assert.equal(a(), 'pending', 'a batch is not done before its transaction is');
    r.finish[0]!();
    await nextTurn();
    assert.equal(a(), 'resolved');
    assert.equal(b(), 'resolved');
  });

  it('sends at once when the gathered events reach the limit', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const r = recorder();
    const g = new BatchGatherer(r.apply, 50, 3);
    void g.add({ predictions: [prediction('p1'), prediction('p2')], labels: [] });
    await nextTurn();
    assert.deepEqual(r.applied, []);
    void g.add({ predictions: [prediction('p3')], labels: [] });
    await nextTurn();
    assert.deepEqual(r.applied, [['p1', 'p2', 'p3']], 'went without the timer');
    t.mock.timers.tick(50);
    await nextTurn();
    assert.equal(r.applied.length, 1, 'the cleared timer sends nothing more');
  });

  it('fails every batch of a failed transaction, and goes on with the next', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const r = recorder();
    const g = new BatchGatherer(r.apply, 10, 100);
    const a = settled(g.add({ predictions: [prediction('p1')], labels: [] }));
    const b = settled(g.add({ predictions: [prediction('p2')], labels: [] }));
    t.mock.timers.tick(10);
    await nextTurn();
    r.finish[0]!(new Error('disk full'));
    await nextTurn();
    assert.equal(a(), 'rejected: disk full');
    assert.equal(b(), 'rejected: disk full');
    const c = settled(g.add({ predictions: [prediction('p1')], labels: [] }));
    t.mock.timers.tick(10);
    await nextTurn();
    r.finish[1]!();
    await nextTurn();
    assert.equal(c(), 'resolved');
    assert.deepEqual(r.applied, [['p1', 'p2'], ['p1']]);
  });

  it('runs one transaction at a time: the next gathered batch waits for the one in progress', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const r = recorder();
    const g = new BatchGatherer(r.apply, 10, 100);
    void g.add({ predictions: [prediction('p1')], labels: [] });
    t.mock.timers.tick(10);
    await nextTurn();
    void g.add({ predictions: [prediction('p2')], labels: [] });
    t.mock.timers.tick(10);
    await nextTurn();
    assert.deepEqual(r.applied, [['p1']], 'the second waits while the first is applied');
    r.finish[0]!();
    await nextTurn();
    await nextTurn();
    assert.deepEqual(r.applied, [['p1'], ['p2']]);
  });
});
