// The training sample a version carries: how rows are drawn (all of a small split, a seeded ordered
// draw from a large one), its JSON lines, and the reader's refusals.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifestSchema } from '../../src/core/index.js';
import type { Manifest } from '../../src/core/index.js';
import { drawTrainingSample, readTrainingSample } from '../../src/train/index.js';

const rows = (n: number, offset = 0) => Array.from({ length: n }, (_, i) => ({ b: `c${(i + offset) % 3}`, a: i + offset, y: i % 2 === 0 ? 'even' : 'odd', extra: 'x' }));
const columns = { features: ['a', 'b'], target: 'y' };

function manifestWith(artifacts: Record<string, unknown> | undefined): Manifest {
  return manifestSchema.parse({
    name: 'm',
    version: 2,
    format: 'onnx',
    task: 'regression',
    features: [{ name: 'a', type: 'numeric' }],
    input: 'x',
    output: 'y',
    ...(artifacts ? { artifacts } : {}),
  });
}

void describe('drawTrainingSample', () => {
  test('keeps small splits whole, in order, one JSON line per row with features in the given order', () => {
    const drawn = drawTrainingSample({ train: rows(3), test: rows(2, 100) }, columns);
    assert.equal(drawn.train, 3);
    assert.equal(drawn.holdout, 2);
    const lines = drawn.text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines[0], { split: 'train', features: { a: 0, b: 'c0' }, label: 'even' });
    assert.deepEqual(lines.map((l) => l['split']), ['train', 'train', 'train', 'holdout', 'holdout']);
    assert.deepEqual(lines.map((l) => (l['features'] as { a: number }).a), [0, 1, 2, 100, 101]);
    assert.ok(drawn.text.endsWith('\n'));
  });

  test('draws a seeded, ordered subset from a large split, and leaves out rows without a label', () => {
    const train = rows(1000);
    const a = drawTrainingSample({ train, test: [] }, columns, { rows: 20, seed: 5 });
    const b = drawTrainingSample({ train, test: [] }, columns, { rows: 20, seed: 5 });
    const c = drawTrainingSample({ train, test: [] }, columns, { rows: 20, seed: 6 });
    assert.equal(a.text, b.text);
    assert.notEqual(a.text, c.text);
    assert.equal(a.train, 20);
    const picked = a.text.trimEnd().split('\n').map((l) => (JSON.parse(l) as { features: { a: number } }).features.a);
    assert.deepEqual(picked, [...picked].sort((x, y) => x - y), 'kept in split order');
    assert.equal(new Set(picked).size, 20, 'without replacement');

    const unlabelled = drawTrainingSample({ train: [{ a: 1, b: null, y: null }, { a: 2, b: 'c', y: 3 }, { a: Number.NaN, b: 'c', y: 'z' }], test: [] }, columns);
    assert.equal(unlabelled.train, 2);
    assert.match(unlabelled.text, /^\{"split":"train","features":\{"a":2,"b":"c"\},"label":3\}\n\{"split":"train","features":\{"a":null,"b":"c"\},"label":"z"\}\n$/);
    assert.equal(drawTrainingSample({ train: [], test: [] }, columns).text, '');
    assert.throws(() => drawTrainingSample({ train: [], test: [] }, columns, { rows: -1 }), /rows must be an integer >= 0/);
  });
});

void describe('readTrainingSample', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dg-sample-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('reads train and holdout rows back; a version without one has none', async () => {
    await writeFile(join(dir, 'training-sample.jsonl'), drawTrainingSample({ train: rows(3), test: rows(1) }, columns).text);
    const sample = await readTrainingSample(dir, manifestWith({ trainingSample: 'training-sample.jsonl' }));
    assert.equal(sample?.train.length, 3);
    assert.deepEqual(sample?.holdout, [{ features: { a: 0, b: 'c0' }, label: 'even' }]);
    assert.equal(await readTrainingSample(dir, manifestWith(undefined)), undefined);
    assert.equal(await readTrainingSample(dir, manifestWith({ onnx: 'model.onnx' })), undefined);
  });

  test('refuses a name that leaves the directory, a missing file and a bad line', async () => {
    await assert.rejects(readTrainingSample(dir, manifestWith({ trainingSample: '../x.jsonl' })), /must be a file name in the version directory/);
    await assert.rejects(readTrainingSample(dir, manifestWith({ trainingSample: 'nope.jsonl' })), /cannot read the training sample .*nope\.jsonl/);
    await writeFile(join(dir, 'bad.jsonl'), '{"split":"train","features":{"a":1},"label":"x"}\n{"split":"test","features":{},"label":1}\n');
    await assert.rejects(readTrainingSample(dir, manifestWith({ trainingSample: 'bad.jsonl' })), /bad\.jsonl line 2 is not a sample row: split/);
    await writeFile(join(dir, 'junk.jsonl'), 'not json\n');
    await assert.rejects(readTrainingSample(dir, manifestWith({ trainingSample: 'junk.jsonl' })), /junk\.jsonl line 1 is not JSON/);
  });
});
