// Seeded train/validation/test splits (plain and stratified) and the data fingerprint.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cleanTable, dataFingerprint, parseCsv, parseJsonl, selectColumns, splitIndices, splitRows } from '../../src/train/data/index.js';
import { allocate } from '../../src/train/data/split.js';

const fractions = { train: 0.6, validation: 0.2, test: 0.2 };
const labelled = (counts: Record<string, number>): { id: number; y: string }[] =>
  Object.entries(counts).flatMap(([y, n]) => Array.from({ length: n }, () => y)).map((y, id) => ({ id, y }));
const countBy = (rows: { y: string }[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const r of rows) out[r.y] = (out[r.y] ?? 0) + 1;
  return out;
};

describe('allocate (largest remainder)', () => {
  it('rounds sizes by largest remainder, ties to train then validation', () => {
    assert.deepEqual(allocate(10, { train: 0.7, validation: 0.15, test: 0.15 }), [7, 2, 1]); // 7, 1.5, 1.5
    assert.deepEqual(allocate(100, { train: 0.7, validation: 0.15, test: 0.15 }), [70, 15, 15]);
    assert.deepEqual(allocate(3, fractions), [2, 1, 0]); // 1.8, .6, .6
    assert.deepEqual(allocate(2, fractions), [1, 1, 0]); // 1.2, .4, .4
    assert.deepEqual(allocate(0, fractions), [0, 0, 0]);
  });

  it('a class too small for every split lands in train first', () => {
    assert.deepEqual(allocate(1, fractions), [1, 0, 0]);
    // .1, .45, .45 would give the row to validation; train takes it.
    assert.deepEqual(allocate(1, { train: 0.1, validation: 0.45, test: 0.45 }), [1, 0, 0]);
  });
});

describe('splitRows', () => {
  const rows = Array.from({ length: 100 }, (_, id) => ({ id }));

  it('cuts by the fractions, disjoint and complete, each split in original order', () => {
    const s = splitRows(rows, { train: 0.7, validation: 0.15, test: 0.15 }, { seed: 1 });
    assert.deepEqual([s.train.length, s.validation.length, s.test.length], [70, 15, 15]);
    const all = [...s.train, ...s.validation, ...s.test].map((r) => r.id).sort((a, b) => a - b);
    assert.deepEqual(all, rows.map((r) => r.id));
    for (const part of [s.train, s.validation, s.test]) {
      assert.deepEqual(part.map((r) => r.id), [...part.map((r) => r.id)].sort((a, b) => a - b));
    }
  });

  it('is reproducible for a seed and differs across seeds', () => {
    const a = splitIndices(rows, fractions, { seed: 7 });
    assert.deepEqual(splitIndices(rows, fractions, { seed: 7 }), a);
    assert.notDeepEqual(splitIndices(rows, fractions, { seed: 8 }).test, a.test);
  });

  it('stratified: every class keeps its proportions', () => {
    const data = labelled({ a: 60, b: 30, c: 10 });
    const s = splitRows(data, fractions, { stratifyBy: 'y', seed: 3 });
    assert.deepEqual(countBy(s.train), { a: 36, b: 18, c: 6 });
    assert.deepEqual(countBy(s.validation), { a: 12, b: 6, c: 2 });
    assert.deepEqual(countBy(s.test), { a: 12, b: 6, c: 2 });
    assert.deepEqual(splitRows(data, fractions, { stratifyBy: 'y', seed: 3 }), s);
  });

  it('stratified with a rare class: its single row goes to train', () => {
    const s = splitRows(labelled({ a: 10, rare: 1 }), fractions, { stratifyBy: 'y', seed: 5 });
    assert.deepEqual(countBy(s.train), { a: 6, rare: 1 });
    assert.deepEqual(countBy(s.validation), { a: 2 });
    assert.deepEqual(countBy(s.test), { a: 2 });
  });

  it('refuses bad fractions and an unknown stratifying column', () => {
    assert.throws(() => splitRows(rows, { train: 0.5, validation: 0.2, test: 0.2 }, { seed: 1 }), /split fractions must sum to 1: train 0.5 \+ validation 0.2 \+ test 0.2 = 0.9$/);
    assert.throws(() => splitRows(rows, { train: 0, validation: 0.5, test: 0.5 }, { seed: 1 }), /train must be above 0/);
    assert.throws(() => splitRows(rows, { train: 1.2, validation: -0.2, test: 0 }, { seed: 1 }), /train must be a number in \[0, 1\]/);
    assert.throws(() => splitRows(rows, fractions, { seed: 1, stratifyBy: 'label' }), /cannot stratify by unknown column "label"/);
  });
});

describe('dataFingerprint', () => {
  it('is the sha256 of the documented canonical text', () => {
    // printf 'driftgate-data-v1\n["a","b"]\n[1,"x"]\n[2.5,null]\n[0,{"number":"NaN"}]\n' | sha256sum
    const rows = [
      { a: 1, b: 'x', ignored: 'not hashed' },
      { a: 2.5, b: null },
      { a: -0, b: Number.NaN },
    ];
    assert.equal(dataFingerprint(rows, ['a', 'b']), 'd6c4c7516a71645cf9fd53231cd46385553564748641c51493e66d0da437fe81');
    assert.equal(dataFingerprint([], ['a', 'b']), '63ee1630cf90cbafaabd5c540d704f268fca4e1ed3fbcaa7cb41c4e641351f44');
  });

  it('changes with row order, types and columns; undefined hashes like null', () => {
    const rows = [
      { a: 1, b: 'x' },
      { a: 2, b: 'y' },
    ];
    const base = dataFingerprint(rows, ['a', 'b']);
    assert.equal(dataFingerprint([{ a: 1, b: 'x' }, { a: 2, b: 'y' }], ['a', 'b']), base);
    assert.notEqual(dataFingerprint([...rows].reverse(), ['a', 'b']), base);
    assert.notEqual(dataFingerprint([{ a: '1', b: 'x' }, { a: 2, b: 'y' }], ['a', 'b']), base);
    assert.notEqual(dataFingerprint(rows, ['b', 'a']), base);
    assert.equal(dataFingerprint([{ a: undefined }], ['a']), dataFingerprint([{ a: null }], ['a']));
    assert.notEqual(dataFingerprint([{ a: Number.NaN }], ['a']), dataFingerprint([{ a: null }], ['a']));
    assert.throws(() => dataFingerprint([{ a: [1] }], ['a']), /cannot fingerprint row 1: column "a" holds an array/);
  });

  it('CSV and JSONL copies of a data set agree once cleaned', () => {
    const fromCsv = selectColumns(parseCsv('x,c,y\n1,red,a\n2.5,blue,b\n'), { target: 'y' });
    const fromJsonl = selectColumns(parseJsonl('{"x":1,"c":"red","y":"a"}\n{"x":2.5,"c":"blue","y":"b"}\n'), { target: 'y' });
    const columns = ['x', 'c', 'y'];
    const a = cleanTable(fromCsv, { task: 'classification' }).rows;
    const b = cleanTable(fromJsonl, { task: 'classification' }).rows;
    assert.equal(dataFingerprint(a, columns), dataFingerprint(b, columns));
  });
});
