// CSV loading (RFC 4180). A field is either plain text up to the next delimiter or line break, or
// enclosed in double quotes, in which case it may hold delimiters, line breaks and quotes written twice
// (""). Records end at CRLF, LF or a lone CR. Lenient on purpose in one place only: a quote in the
// middle of an unquoted field (5" pipe) is kept as a literal character, as most writers expect.
import { DataError } from './errors.js';
import { readTextFile } from './read-text.js';
import { makeRow } from './values.js';
import type { RawTable } from './values.js';

export interface CsvOptions {
  /** Field separator, one character other than a quote or a line break. @defaultValue `','` */
  delimiter?: string;
  /**
   * Field texts (compared after trimming whitespace) read as missing values (null). Pass `[]` to keep
   * every text; empty fields still count as missing downstream.
   * @defaultValue `['', 'NA', 'N/A', 'NaN', 'null']`
   */
  naValues?: readonly string[];
  /** Name used in error messages. @defaultValue `'CSV'` (readCsv passes the file path) */
  source?: string;
}

export const DEFAULT_NA_VALUES: readonly string[] = ['', 'NA', 'N/A', 'NaN', 'null'];

interface CsvRecord {
  fields: string[];
  /** Physical line the record starts on, 1-based. */
  line: number;
}

/** Reads a CSV file whose first record is the header. Cells are strings, or null for NA values. */
export async function readCsv(path: string, options: Omit<CsvOptions, 'source'> = {}): Promise<RawTable> {
  return parseCsv(await readTextFile(path), { ...options, source: path });
}

/** Parses CSV text whose first record is the header. Blank lines are skipped. */
export function parseCsv(text: string, options: CsvOptions = {}): RawTable {
  const source = options.source ?? 'CSV';
  const delimiter = options.delimiter ?? ',';
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new DataError(`CSV delimiter must be one character other than a quote or a line break, got ${JSON.stringify(delimiter)}`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const records = splitRecords(text, delimiter, source);
  const header = records[0];
  if (!header) throw new DataError(`${source} is empty`, { source });
  const columns = header.fields;
  const seen = new Map<string, number>();
  columns.forEach((name, i) => {
    if (name.trim() === '') {
      throw new DataError(`${source} line ${header.line}: column ${i + 1} of the header has no name`, { source, line: header.line });
    }
    const first = seen.get(name);
    if (first !== undefined) {
      throw new DataError(
        `${source} line ${header.line}: duplicate column name ${JSON.stringify(name)} (columns ${first + 1} and ${i + 1})`,
        { source, line: header.line, column: name },
      );
    }
    seen.set(name, i);
  });
  if (records.length === 1) throw new DataError(`${source} has a header but no data rows`, { source });

  const na = new Set(options.naValues ?? DEFAULT_NA_VALUES);
  const rows: Record<string, unknown>[] = [];
  const lines: number[] = [];
  for (let r = 1; r < records.length; r++) {
    const { fields, line } = records[r]!;
    if (fields.length !== columns.length) {
      throw new DataError(`${source} line ${line}: expected ${columns.length} fields like the header, got ${fields.length}`, {
        source,
        line,
      });
    }
    rows.push(makeRow(columns.map((name, i) => [name, na.has(fields[i]!.trim()) ? null : fields[i]!] as const)));
    lines.push(line);
  }
  return { columns: [...columns], rows, source, lines };
}

function isBreak(ch: string | undefined): boolean {
  return ch === '\n' || ch === '\r';
}

/** Index just past the line break at `i` (CRLF counts as one break). */
function skipBreak(text: string, i: number): number {
  return text[i] === '\r' && text[i + 1] === '\n' ? i + 2 : i + 1;
}

/** Line breaks in text[from, to): LF, CRLF (once) and lone CR. */
function countBreaks(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const ch = text[i];
    if (ch === '\n' || (ch === '\r' && text[i + 1] !== '\n')) n++;
  }
  return n;
}

function splitRecords(text: string, delimiter: string, source: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const end = text.length;
  let i = 0;
  let line = 1;
  while (i < end) {
    if (isBreak(text[i])) {
      // A blank line holds no record (this also absorbs the usual trailing newline).
      i = skipBreak(text, i);
      line++;
      continue;
    }
    const start = line;
    const fields: string[] = [];
    for (;;) {
      if (text[i] === '"') {
        const opened = line;
        let value = '';
        i++;
        for (;;) {
          const quote = text.indexOf('"', i);
          if (quote === -1) {
            throw new DataError(`${source} line ${opened}: a quoted field is never closed`, { source, line: opened });
          }
          line += countBreaks(text, i, quote);
          value += text.slice(i, quote);
          if (text[quote + 1] === '"') {
            value += '"';
            i = quote + 2;
          } else {
            i = quote + 1;
            break;
          }
        }
        if (i < end && text[i] !== delimiter && !isBreak(text[i])) {
          throw new DataError(
            `${source} line ${line}: unexpected ${JSON.stringify(text[i])} after a closing quote (write a quote inside a quoted field as "")`,
            { source, line },
          );
        }
        fields.push(value);
      } else {
        let j = i;
        while (j < end && text[j] !== delimiter && !isBreak(text[j])) j++;
        fields.push(text.slice(i, j));
        i = j;
      }
      if (i >= end) break;
      if (text[i] === delimiter) {
        i++;
        continue;
      }
      i = skipBreak(text, i);
      line++;
      break;
    }
    records.push({ fields, line: start });
  }
  return records;
}
