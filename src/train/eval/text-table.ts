// Plain-text tables for the terminal: columns padded to their widest cell, numbers right-aligned.

export type ColumnAlign = 'left' | 'right';

/**
 * Renders a header, a rule and the rows, columns separated by two spaces. Control characters in cells
 * (a newline inside a CSV value, say) become spaces so one row stays one line; trailing spaces are
 * trimmed. `align` defaults to left for every column.
 */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[], align: readonly ColumnAlign[] = []): string {
  const clean = (cell: string): string => cell.replace(/\p{Cc}/gu, ' ');
  const body = [header, ...rows].map((row) => header.map((_, c) => clean(row[c] ?? '')));
  const widths = header.map((_, c) => Math.max(...body.map((row) => row[c]!.length)));
  const line = (row: readonly string[]): string =>
    row
      .map((cell, c) => (align[c] === 'right' ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  const [head, ...rest] = body;
  return [line(head!), widths.map((w) => '-'.repeat(w)).join('  '), ...rest.map(line)].join('\n');
}

/** A metric with four decimals; very large or very small magnitudes in exponent form. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const size = Math.abs(x);
  if (size !== 0 && (size >= 1e7 || size < 1e-4)) return x.toExponential(3);
  return x.toFixed(4);
}

/** A share as a percentage with one decimal. */
export function formatPercent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

/** `key  value` lines with the values lined up. */
export function renderKeyValues(pairs: readonly (readonly [string, string])[]): string {
  const width = Math.max(...pairs.map(([key]) => key.length));
  return pairs.map(([key, value]) => `${key.padEnd(width)}  ${value}`.trimEnd()).join('\n');
}
