// Loading tabular data: the CSV parser's RFC 4180 edge cases, JSON Lines, in-memory labeled examples,
// and the DataErrors that name the file, line and column.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { DataError, fromExamples, parseCsv, parseJsonl, readCsv, readJsonl } from '../../src/train/data/index.js';

const fixtures = resolve(import.meta.dirname, '../fixtures/data');

describe('parseCsv', () => {
  it('unquotes fields holding delimiters and doubled quotes', () => {
    const t = parseCsv('a,b\n"x, y","he said ""hi"""\n');
    assert.deepEqual(t.columns, ['a', 'b']);
    assert.deepEqual(t.rows, [{ a: 'x, y', b: 'he said "hi"' }]);
  });

  it('keeps line breaks inside quoted fields and counts physical lines', () => {
    const t = parseCsv('a,b\n"line1\nline2",2\n3,4\n');
    assert.deepEqual(t.rows, [
      { a: 'line1\nline2', b: '2' },
      { a: '3', b: '4' },
    ]);
    assert.deepEqual(t.lines, [2, 4]);
  });

  it('ends records at CRLF, LF or a lone CR, leaving no CR in values', () => {
    assert.deepEqual(parseCsv('a,b\r\n1,2\r\n3,4\r\n').rows, [
      { a: '1', b: '2' },
      { a: '3', b: '4' },
    ]);
    assert.deepEqual(parseCsv('a\r1\r2').rows, [{ a: '1' }, { a: '2' }]);
  });

  it('drops a byte-order mark from the first column name', () => {
    const t = parseCsv('\uFEFFid,v\n1,2');
    assert.deepEqual(t.columns, ['id', 'v']);
    assert.deepEqual(t.rows, [{ id: '1', v: '2' }]);
  });

  it('skips blank lines, including the trailing one', () => {
    const t = parseCsv('a\n1\n\n2\n\n');
    assert.deepEqual(t.rows, [{ a: '1' }, { a: '2' }]);
    assert.deepEqual(t.lines, [2, 4]);
  });

  it('reads empty fields and NA texts as null, unless naValues says otherwise', () => {
    const t = parseCsv('a,b,c,d\n1,,NA, N/A \n2,x,"",\n');
    assert.deepEqual(t.rows, [
      { a: '1', b: null, c: null, d: null },
      { a: '2', b: 'x', c: null, d: null },
    ]);
    assert.deepEqual(parseCsv('a,b\nNA,\n', { naValues: [] }).rows, [{ a: 'NA', b: '' }]);
  });

  it('uses a configurable delimiter', () => {
    const t = parseCsv('a;b\n"1;5";2,5\n', { delimiter: ';' });
    assert.deepEqual(t.rows, [{ a: '1;5', b: '2,5' }]);
    assert.throws(() => parseCsv('a\n1', { delimiter: '"' }), /delimiter must be one character/);
  });

  it('keeps a quote inside an unquoted field as a literal character', () => {
    assert.deepEqual(parseCsv('size\n5" pipe\n').rows, [{ size: '5" pipe' }]);
  });

  it('refuses a ragged row, naming the line it starts on', () => {
    assert.throws(() => parseCsv('a,b\n1,2\n"x\ny",2,3\n', { source: 'in.csv' }), (err: unknown) => {
      assert.ok(err instanceof DataError);
      assert.equal(err.message, 'in.csv line 3: expected 2 fields like the header, got 3');
      assert.equal(err.line, 3);
      assert.equal(err.code, 'INVALID_INPUT');
      return true;
    });
    assert.throws(() => parseCsv('a,b\n1\n'), /CSV line 2: expected 2 fields like the header, got 1/);
  });

  it('refuses unclosed quotes and text after a closing quote', () => {
    assert.throws(() => parseCsv('a\n1\n"open\n\n'), /CSV line 3: a quoted field is never closed/);
    assert.throws(() => parseCsv('a,b\n"x"y,2\n'), /CSV line 2: unexpected "y" after a closing quote/);
  });

  it('refuses duplicate and empty column names, and a header without rows', () => {
    assert.throws(() => parseCsv('a,b,a\n1,2,3\n'), /CSV line 1: duplicate column name "a" \(columns 1 and 3\)/);
    assert.throws(() => parseCsv('a,,c\n1,2,3\n'), /column 2 of the header has no name/);
    assert.throws(() => parseCsv('a,b\n'), /CSV has a header but no data rows/);
  });

  it('keeps a column named __proto__ as an ordinary column', () => {
    const t = parseCsv('__proto__,b\n1,2\n');
    assert.deepEqual(Object.keys(t.rows[0]!), ['__proto__', 'b']);
    assert.equal(Object.getPrototypeOf(t.rows[0]), Object.prototype);
  });
});

describe('readCsv', () => {
  it('reads a file with a BOM, CRLF, quotes, an embedded line break and a trailing blank line', async () => {
    const t = await readCsv(resolve(fixtures, 'quirks.csv'));
    assert.deepEqual(t.columns, ['id', 'name', 'score', 'note', 'species']);
    assert.equal(t.rows.length, 3);
    assert.deepEqual(t.rows[0], { id: '1', name: 'Smith, Ann', score: '3.5', note: 'said "hi"', species: 'setosa' });
    assert.deepEqual(t.rows[1], { id: '2', name: 'Bob', score: null, note: 'two\r\nlines', species: 'versicolor' });
    assert.deepEqual(t.rows[2], { id: '3', name: null, score: '4', note: null, species: 'setosa' });
    assert.deepEqual(t.lines, [2, 3, 5]);
    assert.equal(t.source, resolve(fixtures, 'quirks.csv'));
  });

  it('names the file in every error', async () => {
    const ragged = resolve(fixtures, 'ragged.csv');
    await assert.rejects(readCsv(ragged), { name: 'DataError', message: `${ragged} line 3: expected 2 fields like the header, got 3` });
    const missing = resolve(fixtures, 'no-such.csv');
    await assert.rejects(readCsv(missing), { name: 'DataError', message: `cannot read data file ${missing}: no such file` });
    const empty = resolve(fixtures, 'empty.csv');
    await assert.rejects(readCsv(empty), { name: 'DataError', message: `data file ${empty} is empty` });
    await assert.rejects(readCsv(fixtures), /cannot read data file .*: it is a directory/);
    const dup = resolve(fixtures, 'duplicate-header.csv');
    await assert.rejects(readCsv(dup), { message: `${dup} line 1: duplicate column name "a" (columns 1 and 3)` });
  });
});

describe('JSON Lines', () => {
  it('reads one object per line, skipping blank lines; columns are the union of keys', async () => {
    const t = await readJsonl(resolve(fixtures, 'rows.jsonl'));
    assert.deepEqual(t.columns, ['x', 'c', 'y', 'extra']);
    assert.deepEqual(t.rows, [
      { x: 1, c: 'red', y: 'a' },
      { x: 2.5, y: 'b', extra: true },
      { x: null, c: 'blue', y: 'a' },
    ]);
    assert.deepEqual(t.lines, [1, 3, 5]);
  });

  it('names the line of invalid JSON or a non-object', async () => {
    const bad = resolve(fixtures, 'bad.jsonl');
    await assert.rejects(readJsonl(bad), (err: unknown) => {
      assert.ok(err instanceof DataError);
      assert.match(err.message, new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} line 3: invalid JSON \\(`));
      assert.equal(err.line, 3);
      return true;
    });
    assert.throws(() => parseJsonl('{"a":1}\n[1,2]\n'), /JSONL line 2: expected a JSON object, got an array/);
    assert.throws(() => parseJsonl('\n\n'), /JSONL has no data rows/);
  });
});

describe('fromExamples', () => {
  it('turns labeled examples into a table with the target last', () => {
    const t = fromExamples([
      { features: { a: 1, b: 'x' }, label: 'yes' },
      { features: { b: 'y', c: true }, label: 0 },
    ]);
    assert.deepEqual(t.columns, ['a', 'b', 'c', 'label']);
    assert.deepEqual(t.rows, [
      { a: 1, b: 'x', label: 'yes' },
      { b: 'y', c: true, label: 0 },
    ]);
    assert.equal(fromExamples([{ features: { a: 1 }, label: 2 }], 'target').columns.at(-1), 'target');
  });

  it('refuses no examples and a feature named like the target', () => {
    assert.throws(() => fromExamples([]), /no labeled examples given/);
    assert.throws(() => fromExamples([{ features: { label: 1 }, label: 2 }]), /examples\[0\]: feature "label" has the target column's name/);
  });
});
