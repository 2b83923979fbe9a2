// Choosing the target and feature columns of a table, and deciding each feature's type.
import { DataError } from './errors.js';
import { isMissing, isScalar, makeRow, parseNumber, rowLocation, showValue } from './values.js';
import type { ColumnType, RawTable, TypedColumn } from './values.js';

export interface SelectOptions {
  /** The column to predict. */
  target: string;
  /** Feature columns, in the order the model will take them. @defaultValue every column but the target, in file order */
  features?: readonly string[];
  /** Columns left out of the features (ids, timestamps, leaks). @defaultValue `[]` */
  exclude?: readonly string[];
  /** Declared types; they replace inference for these columns. @defaultValue `{}` */
  types?: Readonly<Record<string, ColumnType>>;
}

/** The table narrowed to the target and the typed features. Rows keep only those columns. */
export interface ColumnSelection extends RawTable {
  target: string;
  features: TypedColumn[];
  /** Which features had their type declared rather than inferred. */
  declared: string[];
}

export function selectColumns(table: RawTable, options: SelectOptions): ColumnSelection {
  const present = new Set(table.columns);
  const where = table.source ? ` in ${table.source}` : '';
  const requireColumn = (name: string, role: string): void => {
    if (!present.has(name)) {
      throw new DataError(`unknown ${role} column ${JSON.stringify(name)}${where}; columns: ${table.columns.join(', ')}`, {
        ...(table.source === undefined ? {} : { source: table.source }),
        column: name,
      });
    }
  };

  const { target } = options;
  requireColumn(target, 'target');
  const exclude = new Set(options.exclude ?? []);
  for (const name of exclude) requireColumn(name, 'excluded');
  const types = options.types ?? {};
  for (const name of Object.keys(types)) {
    requireColumn(name, 'typed');
    const type = types[name];
    if (type !== 'numeric' && type !== 'categorical') {
      throw new DataError(`column ${JSON.stringify(name)}: type must be "numeric" or "categorical", got ${showValue(type)}`, { column: name });
    }
  }

  let names: string[];
  if (options.features) {
    const seen = new Set<string>();
    for (const name of options.features) {
      requireColumn(name, 'feature');
      if (name === target) throw new DataError(`column ${JSON.stringify(name)} is the target; it cannot also be a feature`, { column: name });
      if (seen.has(name)) throw new DataError(`feature ${JSON.stringify(name)} is listed twice`, { column: name });
      seen.add(name);
    }
    names = options.features.filter((name) => !exclude.has(name));
  } else {
    names = table.columns.filter((name) => name !== target && !exclude.has(name));
  }
  if (names.length === 0) throw new DataError(`no feature columns left${where} besides the target ${JSON.stringify(target)}`);

  const declared = names.filter((name) => Object.hasOwn(types, name));
  const features = names.map((name): TypedColumn => ({ name, type: Object.hasOwn(types, name) ? types[name]! : inferColumnType(table, name) }));
  const keep = [...names, target];
  const rows = table.rows.map((row) => makeRow(keep.map((name) => [name, row[name]] as const)));
  return {
    columns: keep,
    rows,
    ...(table.source === undefined ? {} : { source: table.source }),
    ...(table.lines === undefined ? {} : { lines: table.lines }),
    target,
    features,
    declared,
  };
}

/**
 * Infers a column's type from its non-missing values:
 * - numeric when every one is a finite number or a decimal string ("3", " -1.5e3 ");
 * - categorical when at most half of them are;
 * - otherwise (mostly numbers with some junk, e.g. "n/a" or "12kg") a DataError naming the column, the
 *   first offending row and its value, since guessing either way loses data silently. Declaring the
 *   column's type resolves it: categorical keeps every value as a category, numeric reads the junk as
 *   missing values (counted in the cleaning report).
 * A column with no values at all, or holding objects or arrays, is an error too.
 */
export function inferColumnType(table: RawTable, name: string): ColumnType {
  let numbers = 0;
  let others = 0;
  let firstOther: number | undefined;
  table.rows.forEach((row, i) => {
    const value = row[name];
    if (isMissing(value)) return;
    if (!isScalar(value)) {
      throw new DataError(`column ${JSON.stringify(name)}: ${rowLocation(table, i)} holds ${showValue(value)}; cells must be numbers, strings or booleans`, {
        column: name,
      });
    }
    if (parseNumber(value) !== undefined) numbers++;
    else {
      others++;
      firstOther ??= i;
    }
  });
  if (numbers + others === 0) {
    throw new DataError(`column ${JSON.stringify(name)} has no values (missing in every row); exclude it`, { column: name });
  }
  if (others === 0) return 'numeric';
  if (numbers <= others) return 'categorical';
  const i = firstOther!;
  throw new DataError(
    `non-numeric data in numeric column ${JSON.stringify(name)}: ${rowLocation(table, i)} has ${showValue(table.rows[i]![name])} ` +
      `(${others} of ${numbers + others} values are not numbers); fix the data, or declare the column's type ` +
      `(numeric reads such values as missing, categorical keeps them as categories)`,
    {
      column: name,
      ...(table.lines?.[i] === undefined ? {} : { line: table.lines[i] }),
      ...(table.source === undefined ? {} : { source: table.source }),
    },
  );
}
