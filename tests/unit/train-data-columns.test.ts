// Choosing target and feature columns, and inferring each feature's type.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { DataError, inferColumnType, parseCsv, parseJsonl, readCsv, selectColumns } from '../../src/train/data/index.js';

const fixtures = resolve(import.meta.dirname, '../fixtures/data');

describe('selectColumns', () => {
  const table = parseCsv('id,x,color,y\n1,0.5,red,a\n2,1.5,blue,b\n', { source: 'd.csv' });

  it('takes every column but the target and the excluded ones, typed, and keeps only those in rows', () => {
    const s = selectColumns(table, { target: 'y', exclude: ['id'] });
    assert.deepEqual(s.features, [
      { name: 'x', type: 'numeric' },
      { name: 'color', type: 'categorical' },
    ]);
    assert.equal(s.target, 'y');
    assert.deepEqual(s.columns, ['x', 'color', 'y']);
    assert.deepEqual(s.rows[0], { x: '0.5', color: 'red', y: 'a' });
    assert.deepEqual(s.lines, [2, 3]);
    assert.deepEqual(s.declared, []);
  });

  it('keeps the order of an explicit feature list and applies declared types', () => {
    const s = selectColumns(table, { target: 'y', features: ['color', 'id'], types: { id: 'categorical' } });
    assert.deepEqual(s.features, [
      { name: 'color', type: 'categorical' },
      { name: 'id', type: 'categorical' },
    ]);
    assert.deepEqual(s.declared, ['id']);
  });

  it('names unknown columns and the columns there are', () => {
    assert.throws(() => selectColumns(table, { target: 'label' }), {
      name: 'DataError',
      message: 'unknown target column "label" in d.csv; columns: id, x, color, y',
    });
    assert.throws(() => selectColumns(table, { target: 'y', features: ['x', 'z'] }), /unknown feature column "z" in d.csv/);
    assert.throws(() => selectColumns(table, { target: 'y', exclude: ['nope'] }), /unknown excluded column "nope"/);
    assert.throws(() => selectColumns(table, { target: 'y', types: { nope: 'numeric' } }), /unknown typed column "nope"/);
    assert.throws(() => selectColumns(table, { target: 'y', features: ['y'] }), /"y" is the target; it cannot also be a feature/);
    assert.throws(() => selectColumns(table, { target: 'y', exclude: ['id', 'x', 'color'] }), /no feature columns left in d.csv/);
  });
});

describe('inferColumnType', () => {
  const col = (values: unknown[]): ReturnType<typeof inferColumnType> =>
    inferColumnType({ columns: ['v'], rows: values.map((v) => ({ v })), source: 't' }, 'v');

  it('numeric: finite numbers and decimal strings, missing values ignored', () => {
    assert.equal(col([1, '2', ' -3.5e2 ', '.5', null, '', undefined, Number.NaN]), 'numeric');
  });

  it('categorical: at most half the values are numbers', () => {
    assert.equal(col(['red', 'blue', 'green']), 'categorical');
    assert.equal(col(['1', 'x']), 'categorical');
    assert.equal(col([true, false]), 'categorical');
    assert.equal(col(['0x10', '1_000', 'Infinity']), 'categorical'); // not decimal notation
  });

  it('mostly numbers with junk: an error naming the column, the row and the value', () => {
    assert.throws(() => col([1, 2, 'oops', 4]), (err: unknown) => {
      assert.ok(err instanceof DataError);
      assert.equal(
        err.message,
        'non-numeric data in numeric column "v": t row 3 has "oops" (1 of 4 values are not numbers); fix the data, ' +
          "or declare the column's type (numeric reads such values as missing, categorical keeps them as categories)",
      );
      assert.equal(err.column, 'v');
      return true;
    });
  });

  it('names the file line when the table came from a file', async () => {
    const path = resolve(fixtures, 'junk.csv');
    const table = await readCsv(path);
    assert.throws(() => selectColumns(table, { target: 'y' }), (err: unknown) => {
      assert.ok(err instanceof DataError);
      assert.match(err.message, /^non-numeric data in numeric column "age": .*junk\.csv line 4 has " n\/a " \(1 of 4 values are not numbers\)/);
      assert.equal(err.line, 4);
      return true;
    });
    // Declaring the type resolves it.
    assert.deepEqual(selectColumns(table, { target: 'y', types: { age: 'numeric' } }).features[0], { name: 'age', type: 'numeric' });
    assert.deepEqual(selectColumns(table, { target: 'y', types: { age: 'categorical' } }).features[0], { name: 'age', type: 'categorical' });
  });

  it('refuses a column with no values and cells holding objects', () => {
    assert.throws(() => col([null, '', undefined]), /column "v" has no values \(missing in every row\); exclude it/);
    const t = parseJsonl('{"v": 1}\n{"v": {"a": 1}}\n', 'in.jsonl');
    assert.throws(() => inferColumnType(t, 'v'), /column "v": in.jsonl line 2 holds an object/);
  });
});
