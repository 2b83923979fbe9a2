// Reads the shell commands a README shows, so a test can run or account for each of them.
// ```sh (bash, shell, zsh) blocks: every line that is not a comment is a command; a `\` at the end of
// a line or an open quote continues it, a trailing `# ...` is a comment, `&&`, `||` and `;` separate
// commands, and `# -> answer` (continued on lines starting with `#` and two spaces) is the answer
// the command before it prints. ```console blocks: lines starting with `$ ` are commands, the lines
// after them their output. Outside fenced blocks, inline code that starts like a command (`npm ...`,
// `driftgate ...`, `curl ...`, optionally after VAR=value) counts too.

export interface ReadmeCommand {
  /** The command as a shell would read it: continuations joined, comment and prompt removed. */
  text: string;
  /** 1-based line of the README where the command starts. */
  line: number;
  /** The answer the README shows for it (`# -> ...`, or the output in a console block). */
  expected?: string;
}

const SHELL_BLOCK = /^(sh|bash|shell|zsh)$/;
const CONSOLE_BLOCK = /^(console|shell-session)$/;

const INLINE_COMMAND = /^(?:[A-Z_][A-Z0-9_]*=\S*\s+)*(?:npm|npx|driftgate|curl)\s+\S/;

/** Every command in the README's shell and console blocks and its inline command spans, in README order. */
export function readmeCommands(markdown: string): ReadmeCommand[] {
  const lines = markdown.split('\n');
  const out: ReadmeCommand[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^\s*```\s*([\w-]*)\s*$/.exec(lines[i]!);
    if (!fence) {
      for (const [, span] of lines[i]!.matchAll(/`([^`]+)`/g)) {
        if (INLINE_COMMAND.test(span!)) out.push(...split(span!.trim()).map((text) => ({ text, line: i + 1 })));
      }
      continue;
    }
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end]!)) end++;
    const body = lines.slice(start, end);
    const lang = fence[1]!.toLowerCase();
    if (SHELL_BLOCK.test(lang)) out.push(...shellBlock(body, start + 1));
    else if (CONSOLE_BLOCK.test(lang)) out.push(...consoleBlock(body, start + 1));
    i = end;
  }
  return out;
}

/** Lines of fenced blocks that are not shell blocks but look like commands (a `$ ` prompt, or npm/npx/curl first). */
export function commandsOutsideShellBlocks(markdown: string): { line: number; text: string }[] {
  const lines = markdown.split('\n');
  const found: { line: number; text: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^\s*```\s*([\w-]*)\s*$/.exec(lines[i]!);
    if (!fence) continue;
    const lang = fence[1]!.toLowerCase();
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]!); j++) {
      if (SHELL_BLOCK.test(lang) || CONSOLE_BLOCK.test(lang)) continue;
      if (/^\s*(\$ |npm |npx |curl )/.test(lines[j]!)) found.push({ line: j + 1, text: lines[j]!.trim() });
    }
    i = j;
  }
  return found;
}

/** The code of every fenced block in one language (```python, say), with the README line its code starts on. */
export function codeBlocks(markdown: string, language: string): { line: number; code: string }[] {
  const lines = markdown.split('\n');
  const blocks: { line: number; code: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^\s*```\s*([\w-]*)\s*$/.exec(lines[i]!);
    if (!fence) continue;
    let end = i + 1;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end]!)) end++;
    if (fence[1]!.toLowerCase() === language) blocks.push({ line: i + 2, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

function shellBlock(body: string[], firstLine: number): ReadmeCommand[] {
  const out: ReadmeCommand[] = [];
  let pending = '';
  let pendingLine = 0;
  let quote: Quote = null;
  let answer: string[] | undefined;
  let answerOf: ReadmeCommand[] = [];
  const closeAnswer = () => {
    if (answer) for (const c of answerOf.slice(-1)) c.expected = answer.join('\n');
    answer = undefined;
  };
  body.forEach((raw, k) => {
    const lineNo = firstLine + k;
    if (pending === '') {
      const trimmed = raw.trim();
      const arrow = /^#\s*->\s?(.*)$/.exec(trimmed);
      if (arrow) {
        closeAnswer();
        answer = [arrow[1]!];
        return;
      }
      if (answer && /^#\s{2,}/.test(trimmed)) {
        answer.push(trimmed.slice(1).trim());
        return;
      }
      closeAnswer();
      if (trimmed === '' || trimmed.startsWith('#')) return;
      pendingLine = lineNo;
    }
    const scanned = scan(raw, quote);
    quote = scanned.quote;
    if (quote) {
      pending += scanned.code + '\n';
      return;
    }
    const code = scanned.code.trimEnd();
    if (code.endsWith('\\')) {
      pending += code.slice(0, -1) + ' ';
      return;
    }
    pending += code;
    answerOf = split(pending.trim().replace(/^\$\s+/, '')).map((text) => ({ text, line: pendingLine }));
    out.push(...answerOf);
    pending = '';
  });
  closeAnswer();
  if (pending.trim() !== '') throw new Error(`README line ${pendingLine}: command not finished at the end of its block (open quote or trailing \\)`);
  return out;
}

function consoleBlock(body: string[], firstLine: number): ReadmeCommand[] {
  const out: ReadmeCommand[] = [];
  let last: ReadmeCommand[] = [];
  let output: string[] = [];
  const flush = () => {
    for (const c of last.slice(-1)) if (output.some((l) => l.trim() !== '')) c.expected = output.join('\n').trim();
    output = [];
  };
  body.forEach((raw, k) => {
    const prompt = /^\s*\$\s+(.*)$/.exec(raw);
    if (!prompt) {
      output.push(raw);
      return;
    }
    flush();
    last = split(scan(prompt[1]!, null).code.trim()).map((text) => ({ text, line: firstLine + k }));
    out.push(...last);
  });
  flush();
  return out;
}

type Quote = "'" | '"' | null;

/** The line without its trailing comment, and the quote still open at its end. */
function scan(line: string, open: Quote): { code: string; quote: Quote } {
  let quote = open;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote === "'") {
      if (ch === "'") quote = null;
    } else if (ch === '\\') {
      i++;
    } else if (quote === '"') {
      if (ch === '"') quote = null;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    } else if (ch === '#' && (i === 0 || /\s/.test(line[i - 1]!))) {
      return { code: line.slice(0, i), quote };
    }
  }
  return { code: line, quote };
}

/** Splits a command line on `&&`, `||` and `;` outside quotes. */
function split(command: string): string[] {
  const parts: string[] = [];
  let quote: Quote = null;
  let from = 0;
  for (let i = 0; i < command.length; i++) {
    const ch = command[i]!;
    if (quote === "'") {
      if (ch === "'") quote = null;
    } else if (ch === '\\') {
      i++;
    } else if (quote === '"') {
      if (ch === '"') quote = null;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    } else if (ch === ';' || ((ch === '&' || ch === '|') && command[i + 1] === ch)) {
      parts.push(command.slice(from, i));
      from = ch === ';' ? i + 1 : i + 2;
      if (ch !== ';') i++;
    }
  }
  parts.push(command.slice(from));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

/**
 * The JSON an answer in the README shows, read leniently: an HTTP status in front is returned apart,
 * `...` outside strings stands for elided items and is dropped. Undefined when it is not JSON.
 */
export function answerJson(answer: string): { status?: number; json: unknown } | undefined {
  const m = /^\s*(\d{3})\s+([[{][\s\S]*)$/.exec(answer);
  const text = m ? m[2]! : answer;
  // Strings stay whole; outside them whitespace and `...` go, then commas left dangling.
  const tokens: string[] = [];
  const re = /"(?:[^"\\]|\\.)*"|\.\.\.|\s+|./g;
  for (const [t] of text.matchAll(re)) if (t !== '...' && t.trim() !== '') tokens.push(t);
  const kept = tokens.filter((t, i) => {
    if (t !== ',') return true;
    const next = tokens[i + 1];
    const prev = tokens[i - 1];
    return next !== undefined && next !== '}' && next !== ']' && next !== ',' && prev !== '[' && prev !== '{';
  });
  try {
    return { ...(m ? { status: Number(m[1]) } : {}), json: JSON.parse(kept.join('')) };
  } catch {
    return undefined;
  }
}

/**
 * Where `actual` lacks the shape of `expected`: every key of an expected object must be in the actual
 * one, arrays are compared item by item as far as the expected one goes, and leaves must have the
 * same JSON type (values themselves are examples and may differ). Empty when the shape matches.
 */
export function shapeMismatches(expected: unknown, actual: unknown, path = '$'): string[] {
  const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (kind(expected) !== kind(actual)) return [`${path}: expected ${kind(expected)}, got ${kind(actual)}`];
  if (Array.isArray(expected)) {
    const got = actual as unknown[];
    return expected.flatMap((item, i) => (i < got.length ? shapeMismatches(item, got[i], `${path}[${i}]`) : [`${path}[${i}]: missing`]));
  }
  if (kind(expected) === 'object') {
    const got = actual as Record<string, unknown>;
    return Object.entries(expected as Record<string, unknown>).flatMap(([k, v]) =>
      k in got ? shapeMismatches(v, got[k], `${path}.${k}`) : [`${path}.${k}: missing`],
    );
  }
  return [];
}
