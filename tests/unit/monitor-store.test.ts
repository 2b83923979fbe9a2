import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { silentLogger } from '../../src/core/index.js';
import { MonitorStore } from '../../src/monitor/store.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dg-store-'));
  dirs.push(dir);
  return join(dir, 'monitor.db');
}

const prediction = (id: string, ts: number, model = 'iris') => ({
  id,
  model,
  version: 1,
  ts,
  features: JSON.stringify({ x: ts }),
  output: JSON.stringify({ label: 'a', probabilities: { a: 1 } }),
});
const label = (id: string, ts: number, value: string | number = 'a', model = 'iris') => ({ id, model, label: JSON.stringify(value), ts });

describe('MonitorStore join', () => {
  it('joins a label that arrives after its prediction', () => {
    const store = new MonitorStore({ path: ':memory:' });
    assert.deepEqual(store.addPrediction(prediction('p1', 1000)), { status: 'pending' });
    const joined = store.addLabel(label('p1', 5000));
    assert.equal(joined.status, 'joined');
    assert.equal(joined.status === 'joined' && joined.prediction.ts, 1000);
    assert.deepEqual(store.pendingCounts(), { predictions: 0, labels: 0 });
    const [example] = store.labeledExamples('iris');
    assert.deepEqual(example?.features, { x: 1000 });
    assert.equal(example?.label, 'a');
    assert.equal(example?.labeledTs, 5000);
    store.close();
  });

  it('keeps a label that arrives first and joins it when the prediction comes', () => {
    const store = new MonitorStore({ path: ':memory:' });
    assert.deepEqual(store.addLabel(label('p1', 900, 'b')), { status: 'early' });
    assert.deepEqual(store.pendingCounts(), { predictions: 0, labels: 1 });
    const result = store.addPrediction(prediction('p1', 1000));
    assert.equal(result.status, 'joined');
    assert.equal(result.status === 'joined' && JSON.parse(result.label), 'b');
    assert.deepEqual(store.pendingCounts(), { predictions: 0, labels: 0 });
    assert.equal(store.labeledCount('iris'), 1);
    store.close();
  });

  it('ignores redelivered predictions and labels by id', () => {
    const store = new MonitorStore({ path: ':memory:' });
    store.addPrediction(prediction('p1', 1000));
    assert.deepEqual(store.addPrediction(prediction('p1', 1000)), { status: 'duplicate' });
    store.addLabel(label('p1', 2000));
    assert.deepEqual(store.addLabel(label('p1', 2000)), { status: 'duplicate', sameValue: true });
    assert.deepEqual(store.addPrediction(prediction('p1', 1000)), { status: 'duplicate' });
    store.addLabel(label('early', 2000));
    assert.deepEqual(store.addLabel(label('early', 2000)), { status: 'duplicate', sameValue: true });
    assert.equal(store.labeledCount('iris'), 1);
    store.close();
  });
});

describe('MonitorStore join by (model, id)', () => {
  it('joins a label only to the prediction of the model it names; one id may serve several models', () => {
    const store = new MonitorStore({ path: ':memory:' });
    store.addPrediction({ ...prediction('p1', 1000, 'delivery'), output: JSON.stringify({ value: 31 }) });
    assert.deepEqual(store.addLabel(label('p1', 2000, 'a', 'iris')), { status: 'early' }, 'the delivery prediction is not iris\'s');
    assert.deepEqual(
      store.pairsOf('p1').sort((x, y) => x.model.localeCompare(y.model)),
      [
        { model: 'delivery', hasPrediction: true, hasLabel: false, prediction: { model: 'delivery', version: 1, ts: 1000, output: '{"value":31}' } },
        { model: 'iris', hasPrediction: false, hasLabel: true },
      ],
    );
    const iris = store.addPrediction(prediction('p1', 1500, 'iris'));
    assert.equal(iris.status === 'joined' && JSON.parse(iris.label), 'a');
    const delivery = store.addLabel(label('p1', 2500, 30.5, 'delivery'));
    assert.equal(delivery.status === 'joined' && delivery.prediction.model, 'delivery');
    assert.equal(store.labeledExamples('iris')[0]?.label, 'a');
    assert.equal(store.labeledExamples('delivery')[0]?.label, 30.5);
    assert.deepEqual(store.pendingCounts(), { predictions: 0, labels: 0 });
    store.close();
  });

  it('keeps the first label of a pair, joined or early, and tells a repeat from a contradiction', () => {
    const store = new MonitorStore({ path: ':memory:' });
    store.addPrediction(prediction('p1', 1000));
    assert.equal(store.addLabel(label('p1', 2000, 'a')).status, 'joined');
    assert.deepEqual(store.addLabel(label('p1', 2100, 'b')), { status: 'duplicate', sameValue: false });
    assert.deepEqual(store.addLabel(label('p1', 2200, 'a')), { status: 'duplicate', sameValue: true });
    assert.equal(store.labeledExamples('iris')[0]?.label, 'a');
    assert.deepEqual(store.addLabel(label('p2', 2000, 'b')), { status: 'early' });
    assert.deepEqual(store.addLabel(label('p2', 2100, 'a')), { status: 'duplicate', sameValue: false });
    const joined = store.addPrediction(prediction('p2', 2500));
    assert.equal(joined.status === 'joined' && JSON.parse(joined.label), 'b');
    store.close();
  });

  it('writes nothing for a pair the judge refuses, and drops an early label it refuses', () => {
    const store = new MonitorStore({ path: ':memory:' });
    store.addPrediction(prediction('p1', 1000));
    assert.deepEqual(store.addLabel(label('p1', 2000, 'zebra'), () => 'no zebras'), { status: 'rejected', reason: 'no zebras' });
    assert.deepEqual(store.pendingCounts(), { predictions: 1, labels: 0 });
    assert.equal(store.addLabel(label('p1', 2100, 'a'), () => undefined).status, 'joined');

    store.addLabel(label('p2', 2000, 'zebra'));
    const result = store.addPrediction(prediction('p2', 2500), (l) => (JSON.parse(l) === 'zebra' ? 'no zebras' : undefined));
    assert.deepEqual(result, { status: 'pending', rejectedLabel: { label: '"zebra"', labeledTs: 2000, reason: 'no zebras' } });
    assert.deepEqual(store.pendingCounts(), { predictions: 1, labels: 0 }, 'the prediction waits for a label it can take');
    assert.equal(store.addLabel(label('p2', 2600, 'a')).status, 'joined');
    assert.equal(store.labeledCount('iris'), 2);
    store.close();
  });

  it('joins through the waiting prediction the checks saw, and treats a hint another label used up as a duplicate', () => {
    const store = new MonitorStore({ path: ':memory:' });
    store.addPrediction(prediction('p1', 1000));
    const [seen] = store.pairsOf('p1');
    assert.ok(seen?.hasPrediction);
    const first = store.addLabel(label('p1', 2000, 'a'), undefined, seen.prediction);
    assert.equal(first.status === 'joined' && first.prediction.ts, 1000);
    assert.deepEqual(store.addLabel(label('p1', 2000, 'b'), undefined, seen.prediction), { status: 'duplicate', sameValue: false });
    assert.deepEqual(store.pendingCounts(), { predictions: 0, labels: 0 });
    assert.equal(store.labeledExamples('iris')[0]?.label, 'a');
    // null: the checks saw no prediction of the pair; two labels of one batch, the second a duplicate
    assert.deepEqual(store.addLabel(label('p2', 2000, 'a'), undefined, null), { status: 'early' });
    assert.deepEqual(store.addLabel(label('p2', 2000, 'a'), undefined, null), { status: 'duplicate', sameValue: true });
    store.close();
  });
});

describe('MonitorStore bounds', () => {
  it('expires predictions and labels older than the TTL, per model', () => {
    const store = new MonitorStore({ path: ':memory:' });
    store.addPrediction(prediction('old', 1000));
    store.addPrediction(prediction('other', 1500, 'delivery'));
    store.addPrediction(prediction('fresh', 9000));
    store.addLabel(label('orphan', 1200));
    const expired = store.expire(10_000, { ttlMs: 5000, maxPendingPredictions: 100, maxEarlyLabels: 100 });
    assert.deepEqual(
      expired.sort((a, b) => a.model.localeCompare(b.model) || a.kind.localeCompare(b.kind)),
      [
        { model: 'delivery', kind: 'prediction', reason: 'ttl', count: 1 },
        { model: 'iris', kind: 'label', reason: 'ttl', count: 1 },
        { model: 'iris', kind: 'prediction', reason: 'ttl', count: 1 },
      ],
    );
    assert.deepEqual(store.pendingCounts(), { predictions: 1, labels: 0 });
    // the expired prediction's label now waits as an early label (and expires in turn)
    assert.deepEqual(store.addLabel(label('old', 10_001)), { status: 'early' });
    store.close();
  });

  it('drops the oldest waiting entries beyond the pending bound', () => {
    const store = new MonitorStore({ path: ':memory:' });
    for (let i = 0; i < 10; i++) store.addPrediction(prediction(`p${i}`, 1000 + i));
    const expired = store.expire(2000, { ttlMs: 60_000, maxPendingPredictions: 6, maxEarlyLabels: 100 });
    assert.deepEqual(expired, [{ model: 'iris', kind: 'prediction', reason: 'capacity', count: 4 }]);
    assert.equal(store.pendingCounts().predictions, 6);
    assert.deepEqual(store.addLabel(label('p0', 2000)), { status: 'early' }, 'p0 was among the oldest and is gone');
    assert.equal(store.addLabel(label('p9', 2000)).status, 'joined');
    store.close();
  });

  it('bounds early labels per model: a flood of labels for one model drops only its own oldest', () => {
    const store = new MonitorStore({ path: ':memory:' });
    store.addLabel(label('d-early', 1000, 12, 'delivery'));
    for (let i = 0; i < 10; i++) store.addLabel(label(`flood-${i}`, 1001 + i));
    assert.deepEqual(store.pendingCounts(), { predictions: 0, labels: 11 });
    const expired = store.expire(2000, { ttlMs: 60_000, maxPendingPredictions: 100, maxEarlyLabels: 4 });
    assert.deepEqual(expired, [{ model: 'iris', kind: 'label', reason: 'capacity', count: 6 }]);
    assert.deepEqual(store.earlyLabelCounts(), new Map([['delivery', 1], ['iris', 4]]));
    assert.deepEqual(store.addLabel(label('flood-5', 2000)), { status: 'early' }, 'flood-5 was among the oldest and is gone');
    assert.deepEqual(store.addLabel(label('flood-9', 2000)), { status: 'duplicate', sameValue: true });
    const joined = store.addPrediction({ ...prediction('d-early', 1500, 'delivery'), output: JSON.stringify({ value: 11 }) });
    assert.equal(joined.status, 'joined', "the other model's early label survived the flood");
    store.close();
  });

  it('keeps only the newest joined examples of each model', () => {
    const store = new MonitorStore({ path: ':memory:', labeledWindow: 5 });
    for (let i = 0; i < 12; i++) {
      store.addPrediction(prediction(`p${i}`, i));
      store.addLabel(label(`p${i}`, 100 + i));
    }
    store.addPrediction(prediction('d0', 0, 'delivery'));
    store.addLabel(label('d0', 1, 3.5, 'delivery'));
    store.trimLabeled('iris', true);
    assert.equal(store.labeledCount('iris'), 5);
    assert.deepEqual(
      store.labeledExamples('iris').map((e) => e.id),
      ['p11', 'p10', 'p9', 'p8', 'p7'],
    );
    assert.equal(store.labeledCount('delivery'), 1);
    assert.equal(store.labeledExamples('delivery')[0]?.label, 3.5);
    store.close();
  });
});

describe('MonitorStore durability', () => {
  it('keeps everything across a reopen, and a failed transaction leaves nothing behind', () => {
    const path = tempDb();
    let store = new MonitorStore({ path });
    store.transaction(() => {
      store.addPrediction(prediction('p1', 1000));
      store.addLabel(label('p1', 2000));
      store.addPrediction(prediction('p2', 1100));
      store.putState('watermark', 2000);
      store.addOutbox('events', 'iris', '{"x":1}');
      store.addDecision('iris', 1, 'drift.detected', 2000, { share: 0.75 });
    });
    assert.throws(() =>
      store.transaction(() => {
        store.addPrediction(prediction('p3', 1200));
        throw new Error('crash in the middle');
      }),
    );
    store.close();

    store = new MonitorStore({ path });
    assert.equal(store.getState('watermark', z.number()), 2000);
    assert.deepEqual(store.pendingCounts(), { predictions: 1, labels: 0 });
    assert.deepEqual(store.addPrediction(prediction('p3', 1200)), { status: 'pending' }, 'p3 was rolled back');
    assert.deepEqual(store.addPrediction(prediction('p1', 1000)), { status: 'duplicate' });
    assert.equal(store.labeledCount('iris'), 1);
    const outbox = store.outbox();
    assert.equal(outbox.length, 1);
    store.removeOutbox(outbox[0]!.seq);
    assert.equal(store.outbox().length, 0);
    assert.deepEqual(store.decisions('iris').map((d) => [d.type, d.details]), [['drift.detected', { share: 0.75 }]]);
    // joins keep counting after a reopen: the newest example stays first
    store.addLabel(label('p2', 3000));
    assert.deepEqual(
      store.labeledExamples('iris').map((e) => e.id),
      ['p2', 'p1'],
    );
    store.close();
  });

  it('migrates a layout-1 file (keyed by id alone) in place, and refuses a layout it does not know', () => {
    const path = tempDb();
    const old = new Database(path);
    old.exec(`
      CREATE TABLE predictions (id TEXT PRIMARY KEY, model TEXT NOT NULL, version INTEGER, ts INTEGER, features TEXT, output TEXT,
        label TEXT, labeled_ts INTEGER, joined_seq INTEGER);
      CREATE INDEX predictions_waiting ON predictions(ts) WHERE label IS NULL;
      CREATE INDEX labels_waiting ON predictions(labeled_ts) WHERE features IS NULL;
      CREATE INDEX predictions_joined ON predictions(model, joined_seq) WHERE joined_seq IS NOT NULL;
      CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL);
      CREATE TABLE decisions (seq INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL, version INTEGER NOT NULL, type TEXT NOT NULL,
        time INTEGER NOT NULL, details TEXT NOT NULL);
      PRAGMA user_version = 1;
    `);
    const p = prediction('x', 0);
    const insert = old.prepare('INSERT INTO predictions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    insert.run('joined', 'iris', 1, 1000, p.features, p.output, '"a"', 1500, 1);
    insert.run('waiting', 'iris', 1, 1100, p.features, p.output, null, null, null);
    insert.run('early', 'iris', null, null, null, null, '"b"', 1200, null);
    old.prepare('INSERT INTO state VALUES (?, ?)').run('watermark', '1500');
    old.close();

    let store = new MonitorStore({ path });
    assert.equal(store.getState('watermark', z.number()), 1500);
    assert.deepEqual(store.pendingCounts(), { predictions: 1, labels: 1 });
    assert.equal(store.labeledCount('iris'), 1);
    assert.equal(store.addLabel(label('waiting', 2000, 'a')).status, 'joined');
    assert.equal(store.addPrediction(prediction('early', 1300)).status, 'joined');
    assert.deepEqual(store.addPrediction(prediction('joined', 1000, 'delivery')), { status: 'pending' }, 'the id is free for another model now');
    assert.deepEqual(store.labeledExamples('iris').map((e) => e.id), ['early', 'waiting', 'joined']);
    store.close();
    store = new MonitorStore({ path });
    assert.equal(store.labeledCount('iris'), 3, 'the migrated file opens again as layout 2');
    store.close();
    const check = new Database(path);
    assert.equal(check.pragma('user_version', { simple: true }), 2);
    check.pragma('user_version = 7');
    check.close();
    assert.throws(() => new MonitorStore({ path }), /has layout 7, this build reads layouts 1 and 2; move the file away/);
  });

  it('skips a stored row that no longer parses, and says so, instead of failing the read', () => {
    const path = tempDb();
    const warnings: { msg: string; fields: Record<string, unknown> | undefined }[] = [];
    const logger = { ...silentLogger, warn: (msg: string, fields?: Record<string, unknown>) => warnings.push({ msg, fields }) };
    let store = new MonitorStore({ path, logger });
    for (const id of ['good', 'not-json', 'bad-label']) {
      store.addPrediction(prediction(id, 1000));
      store.addLabel(label(id, 2000));
    }
    store.addDecision('iris', 1, 'drift.detected', 3000, { share: 0.5 });
    store.addDecision('iris', 1, 'drift.detected', 4000, { share: 0.75 });
    store.close();
    const db = new Database(path);
    db.prepare("UPDATE predictions SET features = '{not json' WHERE id = 'not-json'").run();
    db.prepare("UPDATE predictions SET label = '[1, 2]' WHERE id = 'bad-label'").run();
    db.prepare("UPDATE decisions SET details = '\"a string\"' WHERE time = 3000").run();
    db.close();

    store = new MonitorStore({ path, logger });
    assert.deepEqual(store.labeledExamples('iris').map((e) => e.id), ['good']);
    assert.deepEqual(store.decisions('iris').map((d) => d.details), [{ share: 0.75 }]);
    assert.deepEqual(
      warnings.map((w) => [w.msg, w.fields?.['id'] ?? w.fields?.['table']]),
      [
        ['skipping a stored row that does not fit its schema', 'bad-label'],
        ['skipping a stored row that is not valid JSON', 'not-json'],
        ['skipping a stored row that does not fit its schema', 'decisions'],
      ],
    );
    store.close();
  });

  it('reads state through its schema: a value that is not JSON or does not fit is logged and absent', () => {
    const path = tempDb();
    const warnings: { msg: string; fields: Record<string, unknown> | undefined }[] = [];
    const logger = { ...silentLogger, warn: (msg: string, fields?: Record<string, unknown>) => warnings.push({ msg, fields }) };
    let store = new MonitorStore({ path, logger });
    const coverage = z.object({ joined: z.number(), expired: z.number() });
    store.putState('coverage:iris', { joined: 3, expired: 1 });
    store.putState('coverage:wine', { joined: 'three' });
    store.putState('watermark', 1500);
    store.close();
    const db = new Database(path);
    db.prepare("UPDATE state SET value = '15OO' WHERE key = 'watermark'").run();
    db.close();

    store = new MonitorStore({ path, logger });
    assert.deepEqual(store.getState('coverage:iris', coverage), { joined: 3, expired: 1 });
    assert.equal(store.getState('coverage:wine', coverage), undefined);
    assert.equal(store.getState('watermark', z.number()), undefined);
    assert.equal(store.getState('never-stored', z.number()), undefined);
    assert.deepEqual(
      warnings.map((w) => [w.msg, w.fields?.['key']]),
      [
        ['skipping a stored row that does not fit its schema', 'coverage:wine'],
        ['skipping a stored row that is not valid JSON', 'watermark'],
      ],
    );
    store.close();
  });

  it('lists state keys by prefix', () => {
    const store = new MonitorStore({ path: ':memory:' });
    store.putState('version:iris:1', {});
    store.putState('version:iris:2', {});
    store.putState('watermark', 1);
    assert.deepEqual(store.stateKeys('version:iris:'), ['version:iris:1', 'version:iris:2']);
    store.close();
  });
});
