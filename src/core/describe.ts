// Bounded descriptions of client-sent values for error messages. An error that echoed the value
// whole would answer a 1 MB string with a 1 MB body, and JSON.stringify overflows the stack on an
// array nested 50,000 levels deep; these helpers read only as much of a value as they print.

/** Nesting levels shown before a container is abbreviated to `[…]` or `{…}`. */
const MAX_DEPTH = 3;

/** Cuts a string to at most `max` characters, never between the two halves of a surrogate pair. */
function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = Math.max(0, max);
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return s.slice(0, end);
}

function quote(s: string, budget: number): string {
  if (s.length + 2 <= budget) return JSON.stringify(s);
  // Room for the quotes and the ellipsis; escapes may still run over, and the caller cuts the whole.
  return `${JSON.stringify(cut(s, Math.max(1, budget - 3))).slice(0, -1)}…"`;
}

function render(value: unknown, depth: number, budget: number): string {
  switch (typeof value) {
    case 'string':
      return quote(value, budget);
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'undefined':
      return 'nothing';
    case 'object':
      break;
    default:
      return `a ${typeof value}`;
  }
  if (value === null) return 'null';
  const isArray = Array.isArray(value);
  const [open, close] = isArray ? ['[', ']'] : ['{', '}'];
  if (depth >= MAX_DEPTH) return `${open}…${close}`;
  let out = open;
  let index = 0;
  const entries: Iterable<unknown> = isArray ? (value as unknown[]) : Object.keys(value);
  for (const entry of entries) {
    // Stop as soon as the budget is spent: a huge array is never walked past what is shown.
    if (out.length >= budget) {
      out += '…';
      break;
    }
    const part = isArray
      ? render(entry, depth + 1, budget - out.length)
      : `${quote(entry as string, budget - out.length)}: ${render((value as Record<string, unknown>)[entry as string], depth + 1, budget - out.length)}`;
    out += (index++ > 0 ? ', ' : '') + part;
  }
  return out + close;
}

/**
 * A short, JSON-like description of any value for an error message: strings quoted, containers shown
 * to a few levels, everything cut to about `maxChars` characters (an ellipsis marks a cut).
 */
export function describeValue(value: unknown, maxChars = 80): string {
  const text = render(value, 0, maxChars);
  return text.length <= maxChars ? text : `${cut(text, maxChars - 1)}…`;
}

/** Describes the first `maxItems` values, then counts the rest: `"a", "b" and 3 more`. */
export function describeValues(values: readonly unknown[], maxItems = 5, maxChars = 80): string {
  const shown = values.slice(0, maxItems).map((v) => describeValue(v, maxChars)).join(', ');
  return values.length > maxItems ? `${shown} and ${values.length - maxItems} more` : shown;
}
