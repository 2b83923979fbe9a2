// Cleaning with a report: invalid targets, coercion, duplicates, missing values per strategy, outlier
// clipping, and imputation fitted on one split and applied to another. Every number below is worked
// out by hand in the comments.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyClipper, applyImputer, cleanTable, fitClipper, fitImputer, parseCsv, selectColumns } from '../../src/train/data/index.js';
import type { ColumnSelection } from '../../src/train/data/index.js';

// 8 rows. Line 3 repeats line 2; line 7 has no target; a=100 is an outlier.
// After dropping those two, the 6 rows are:
//   a: 1, 2, 3, -, 100, 5     b: 10, -, 30, 40, 60, 20     color: red, blue, -, red, red, blue
const CSV = `a,b,color,y
1,10,red,yes
1,10,red,yes
2,,blue,no
3,30,,yes
,40,red,no
4,50,green,
100,60,red,no
5,20,blue,no
`;

function selection(csv = CSV, types?: Record<string, 'numeric' | 'categorical'>): ColumnSelection {
  return selectColumns(parseCsv(csv, { source: 't.csv' }), { target: 'y', ...(types ? { types } : {}) });
}

describe('cleanTable', () => {
  it('reports rows, drops, coercions, missing counts and default fills (median, mode)', () => {
    const { rows, report, imputer } = cleanTable(selection(), { task: 'classification' });
    assert.equal(report.rowsIn, 8);
    assert.equal(report.rowsOut, 6);
    assert.deepEqual(report.dropped, { missingTarget: 1, invalidTarget: 0, duplicate: 1, missingValue: 0 });
    assert.deepEqual(report.target, { name: 'y', coerced: 0, classes: { no: 4, yes: 2 } });
    // a: 6 numeric strings among the 7 rows with a target; median of 1 2 3 5 100 = 3.
    assert.deepEqual(report.columns.a, { type: 'numeric', coerced: 6, invalid: 0, missing: 1, strategy: 'median', filled: 1, fillValue: 3, clipped: 0 });
    // b: median of 10 20 30 40 60 = 30.
    assert.deepEqual(report.columns.b, { type: 'numeric', coerced: 6, invalid: 0, missing: 1, strategy: 'median', filled: 1, fillValue: 30, clipped: 0 });
    // color: red 3, blue 2.
    assert.deepEqual(report.columns.color, { type: 'categorical', coerced: 0, invalid: 0, missing: 1, strategy: 'mode', filled: 1, fillValue: 'red', clipped: 0 });
    assert.deepEqual(rows, [
      { a: 1, b: 10, color: 'red', y: 'yes' },
      { a: 2, b: 30, color: 'blue', y: 'no' },
      { a: 3, b: 30, color: 'red', y: 'yes' },
      { a: 3, b: 40, color: 'red', y: 'no' },
      { a: 100, b: 60, color: 'red', y: 'no' },
      { a: 5, b: 20, color: 'blue', y: 'no' },
    ]);
    assert.deepEqual(imputer?.columns.map((c) => c.value), [3, 30, 'red']);
  });

  it('mean, mode (ties to the smallest) and drop, per column', () => {
    const { rows, report } = cleanTable(selection(), { task: 'classification', missing: { columns: { a: 'mean', b: 'mode', color: 'drop' } } });
    // color=drop removes the row with a=3; a then has 1 2 100 5 (mean 27); b has 10 40 60 20, all once (mode 10).
    assert.equal(report.rowsOut, 5);
    assert.equal(report.dropped.missingValue, 1);
    assert.equal(report.columns.a!.fillValue, 27);
    assert.equal(report.columns.b!.fillValue, 10);
    assert.deepEqual(report.columns.color, { type: 'categorical', coerced: 0, invalid: 0, missing: 1, strategy: 'drop', filled: 0, clipped: 0 });
    assert.deepEqual(
      rows.map((r) => [r.a, r.b]),
      [
        [1, 10],
        [2, 10],
        [27, 40],
        [100, 60],
        [5, 20],
      ],
    );
  });

  it('mode of a categorical column breaks ties by code-unit order', () => {
    const csv = 'c,y\nred,a\nblue,b\nred,c\nblue,d\n,e\n';
    const { report } = cleanTable(selection(csv), { task: 'classification' });
    assert.equal(report.columns.c!.fillValue, 'blue');
  });

  it('clips IQR outliers before filling, so the mean is taken on clipped values', () => {
    const { rows, report } = cleanTable(selection(), { task: 'classification', outliers: { method: 'iqr', k: 1.5 }, missing: { numeric: 'mean' } });
    // a: sorted 1 2 3 5 100 -> Q1 2, Q3 5, IQR 3 -> bounds -2.5 and 9.5; 100 becomes 9.5.
    assert.deepEqual(report.columns.a!.bounds, { lower: -2.5, upper: 9.5 });
    assert.equal(report.columns.a!.clipped, 1);
    // mean of 1 2 3 9.5 5 = 4.1 (it would be 22.2 before clipping)
    assert.equal(report.columns.a!.fillValue, 4.1);
    // b: 10 20 30 40 60 -> Q1 20, Q3 40 -> bounds -10 and 70: nothing clipped; mean 32.
    assert.deepEqual(report.columns.b!.bounds, { lower: -10, upper: 70 });
    assert.equal(report.columns.b!.clipped, 0);
    assert.equal(report.columns.b!.fillValue, 32);
    assert.deepEqual(
      rows.map((r) => r.a),
      [1, 2, 3, 4.1, 9.5, 5],
    );
    assert.equal(report.columns.color!.bounds, undefined);
  });

  it('clips at quantile bounds, per column, with other columns exempt', () => {
    const { rows, report } = cleanTable(selection(), {
      task: 'classification',
      outliers: { columns: { a: { method: 'quantile', lower: 0.25, upper: 0.75 } } },
    });
    // a: 0.25 and 0.75 quantiles of 1 2 3 5 100 are 2 and 5: 1 -> 2, 100 -> 5; median after clipping of 2 2 3 5 5 = 3.
    assert.deepEqual(report.columns.a!.bounds, { lower: 2, upper: 5 });
    assert.equal(report.columns.a!.clipped, 2);
    assert.deepEqual(
      rows.map((r) => r.a),
      [2, 2, 3, 3, 5, 5],
    );
    assert.equal(report.columns.b!.bounds, undefined);
    assert.throws(
      () => cleanTable(selection(), { task: 'classification', outliers: { columns: { color: { method: 'iqr' } } } }),
      /outlier clipping applies to numeric columns; "color" is categorical/,
    );
    assert.throws(
      () => cleanTable(selection(), { task: 'classification', outliers: { method: 'quantile', lower: 0.9, upper: 0.1 } }),
      /quantile bounds need 0 <= lower < upper <= 1/,
    );
  });

  it('regression: numeric targets only, numeric strings coerced', () => {
    const csv = 'x,y\n1,1.5\n2,abc\n3,\n4, 7 \n5,-2\n';
    const { rows, report } = cleanTable(selection(csv), { task: 'regression' });
    assert.deepEqual(report.dropped, { missingTarget: 1, invalidTarget: 1, duplicate: 0, missingValue: 0 });
    assert.equal(report.target.coerced, 3);
    assert.equal(report.target.classes, undefined);
    assert.deepEqual(rows, [
      { x: 1, y: 1.5 },
      { x: 4, y: 7 },
      { x: 5, y: -2 },
    ]);
  });

  it('compares duplicates on typed values: "1" and "1.0" are the same number', () => {
    const { report } = cleanTable(selection('x,y\n1,a\n1.0,a\n1,b\n'), { task: 'classification' });
    assert.equal(report.dropped.duplicate, 1);
    assert.equal(report.rowsOut, 2);
  });

  it('a declared-numeric column reads junk as missing and counts it', () => {
    const csv = 'age,y\n31,a\noops,b\n40,a\n';
    const { rows, report } = cleanTable(selection(csv, { age: 'numeric' }), { task: 'classification' });
    assert.equal(report.columns.age!.invalid, 1);
    assert.equal(report.columns.age!.missing, 1);
    assert.equal(report.columns.age!.fillValue, 35.5);
    assert.deepEqual(
      rows.map((r) => r.age),
      [31, 35.5, 40],
    );
  });

  it('numbers and booleans in a categorical column become strings', () => {
    const s = selectColumns({ columns: ['c', 'y'], rows: [{ c: 1, y: 'a' }, { c: true, y: 'b' }, { c: 'x', y: 'a' }, { c: 'z', y: 'b' }] }, { target: 'y' });
    const { rows, report } = cleanTable(s, { task: 'classification' });
    assert.equal(report.columns.c!.coerced, 2);
    assert.deepEqual(
      rows.map((r) => r.c),
      ['1', 'true', 'x', 'z'],
    );
  });

  it('with fit: false leaves missing values for the caller to fill from the training split', () => {
    const { rows, report, imputer, clipper } = cleanTable(selection(), { task: 'classification', fit: false, outliers: { method: 'iqr' } });
    assert.equal(imputer, undefined);
    assert.equal(clipper, undefined);
    assert.equal(report.rowsOut, 6);
    assert.equal(report.columns.a!.filled, 0);
    assert.equal(report.columns.a!.fillValue, undefined);
    assert.deepEqual(
      rows.map((r) => r.a),
      [1, 2, 3, null, 100, 5],
    );
  });

  it('says why no rows are left after cleaning', () => {
    const s = selection('x,y\n1,\n,a\n,a\n2,\n');
    assert.throws(() => cleanTable(s, { task: 'classification', missing: { numeric: 'drop' } }), {
      name: 'DataError',
      message: 'no rows left after cleaning: 4 rows in; dropped 2 with a missing target, 1 duplicate, 1 missing a value in a column set to drop (x)',
    });
  });

  it('refuses a target with a single class after cleaning', () => {
    const s = selection('x,y\n1,a\n2,a\n3,\n');
    assert.throws(() => cleanTable(s, { task: 'classification' }), {
      name: 'DataError',
      message: 'target "y" has a single class ("a") after cleaning; classification needs at least two',
    });
  });

  it('refuses strategies that do not fit the column', () => {
    assert.throws(
      () => cleanTable(selection(), { task: 'classification', missing: { columns: { color: 'mean' } } }),
      /column "color" is categorical: fill it with "mode" or "drop" its rows, not "mean"/,
    );
    assert.throws(() => cleanTable(selection(), { task: 'classification', missing: { columns: { nope: 'drop' } } }), /unknown feature "nope"/);
  });
});

describe('fitImputer / applyImputer and fitClipper / applyClipper', () => {
  const features = [
    { name: 'x', type: 'numeric' as const },
    { name: 'c', type: 'categorical' as const },
  ];
  const train = [
    { x: 1, c: 'a' },
    { x: 2, c: 'b' },
    { x: 6, c: 'b' },
    { x: null, c: null },
  ];
  const test = [
    { x: null, c: null },
    { x: 100, c: 'z' },
  ];

  it('fills test rows with statistics of the training rows', () => {
    const imputer = fitImputer(train, features, { numeric: 'mean' });
    assert.deepEqual(imputer.columns, [
      { name: 'x', type: 'numeric', strategy: 'mean', value: 3 },
      { name: 'c', type: 'categorical', strategy: 'mode', value: 'b' },
    ]);
    const out = applyImputer(imputer, test);
    assert.deepEqual(out.rows, [
      { x: 3, c: 'b' },
      { x: 100, c: 'z' },
    ]);
    assert.deepEqual(out.filled, { x: 1, c: 1 });
    assert.equal(out.dropped, 0);
    assert.deepEqual(test[0], { x: null, c: null }, 'input rows are not modified');
    // Fitted on the test rows instead, the fill would have been 100: the split matters.
    assert.equal(fitImputer(test, features).columns[0]!.value, 100);
  });

  it('drop strategy removes rows on any split', () => {
    const imputer = fitImputer(train, features, { numeric: 'drop' });
    const out = applyImputer(imputer, test);
    assert.equal(out.dropped, 1);
    assert.deepEqual(out.rows, [{ x: 100, c: 'z' }]);
  });

  it('clips test rows at bounds fitted on training rows', () => {
    // train x: 1 2 6 -> Q1 1.5, Q3 4, IQR 2.5 -> bounds -2.25 and 7.75 with k = 1.5
    const clipper = fitClipper(train, features, { method: 'iqr' });
    assert.deepEqual(clipper.columns, [{ name: 'x', lower: -2.25, upper: 7.75 }]);
    const out = applyClipper(clipper, test);
    assert.deepEqual(out.rows, [
      { x: null, c: null },
      { x: 7.75, c: 'z' },
    ]);
    assert.deepEqual(out.clipped, { x: 1 });
  });

  it('cannot fill a column that has no values in the rows fitted on', () => {
    assert.throws(
      () => fitImputer([{ x: null, c: 'a' }], features),
      /cannot compute the median of column "x" to fill missing values: it has no values in the rows fitted on/,
    );
  });
});
