// Flag parsing shared by the `train` and `evaluate` commands: node:util's parseArgs for the syntax, and
// small typed readers for the values, each failing with a UsageError that names the flag. A UsageError
// (like an INVALID_INPUT error from the training module) means exit code 2: the input was wrong, and
// nothing was written.
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { ConfigError, isDriftgateError } from '../core/index.js';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Exit code of a bad command line or bad input data. */
export const EXIT_USAGE = 2;
/** Exit code after Ctrl-C (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

type Options = NonNullable<ParseArgsConfig['options']>;

/** The values parseFlags returns for a flag spec: one optional string or boolean per flag. */
export type ParsedFlags<T extends Options> = ReturnType<typeof parseArgs<{ options: T; args: string[]; strict: true; allowPositionals: false }>>['values'];

/** parseArgs in strict mode with its error messages shortened to one line naming the flag. */
export function parseFlags<T extends Options>(argv: readonly string[], options: T, command: string): ParsedFlags<T> {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    const e = err as Error & { code?: string };
    const quoted = /'([^']+)'/.exec(e.message)?.[1] ?? '';
    const flag = quoted.split(' ')[0] ?? quoted;
    switch (e.code) {
      case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
        throw new UsageError(`unknown flag ${flag} (see driftgate ${command} --help)`);
      case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
        if (e.message.includes('does not take an argument')) throw new UsageError(`flag ${flag} takes no value`);
        // "argument missing" (last on the line) or "ambiguous" (followed by something starting with a dash)
        throw new UsageError(`flag ${flag} needs a value (write ${flag}=-1 for a value that starts with a dash)`);
      case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
        throw new UsageError(`unexpected argument ${JSON.stringify(quoted)}; every input is a --flag (see driftgate ${command} --help)`);
      default:
        throw new UsageError(e.message);
    }
  }
}

export function required(value: string | undefined, flag: string): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`--${flag} is required`);
  return value;
}

/** An integer flag within [min, max]: undefined when the flag was not given, else the value or a UsageError. */
export function integerFlag(raw: string, flag: string, min: number, max?: number): number;
export function integerFlag(raw: string | undefined, flag: string, min: number, max?: number): number | undefined;
export function integerFlag(raw: string | undefined, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (raw === undefined) return undefined;
  const text = raw.trim();
  const x = Number(text);
  if (!/^[+-]?\d+$/.test(text) || !Number.isSafeInteger(x) || x < min || x > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`--${flag} must be an integer ${range}, got ${JSON.stringify(raw)}`);
  }
  return x;
}

/** A finite number; `positive` excludes 0, otherwise it must be >= 0. */
export function numberFlag(raw: string | undefined, flag: string, opts: { positive?: boolean; max?: number } = {}): number | undefined {
  if (raw === undefined) return undefined;
  const x = parseDecimal(raw);
  const ok = x !== undefined && (opts.positive ? x > 0 : x >= 0) && (opts.max === undefined || x <= opts.max);
  if (!ok) {
    const bound = opts.positive ? '> 0' : '>= 0';
    throw new UsageError(`--${flag} must be a number ${bound}${opts.max === undefined ? '' : ` and <= ${opts.max}`}, got ${JSON.stringify(raw)}`);
  }
  return x;
}

export function enumFlag<const T extends string>(raw: string | undefined, flag: string, allowed: readonly T[]): T | undefined {
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
  return raw as T;
}

/** A comma-separated list of non-empty names. */
export function listFlag(raw: string | undefined, flag: string): string[] | undefined {
  if (raw === undefined) return undefined;
  const items = raw.split(',').map((s) => s.trim());
  if (items.length === 0 || items.some((s) => s === '')) throw new UsageError(`--${flag} must be a comma-separated list of names, got ${JSON.stringify(raw)}`);
  return items;
}

/** `key=value,key=value` pairs; `bare` keys (no `=`) get the value `''`. */
export function pairsFlag(raw: string | undefined, flag: string): [string, string][] | undefined {
  if (raw === undefined) return undefined;
  return raw.split(',').map((part) => {
    const text = part.trim();
    if (text === '') throw new UsageError(`--${flag} has an empty item in ${JSON.stringify(raw)}`);
    const eq = text.indexOf('=');
    return eq < 0 ? [text, ''] : [text.slice(0, eq).trim(), text.slice(eq + 1).trim()];
  });
}

export function parseDecimal(text: string): number | undefined {
  const t = text.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  const x = Number(t);
  return Number.isFinite(x) ? x : undefined;
}

/** Seconds or minutes (`60s`, `2m`, `90`): milliseconds. */
export function durationMs(raw: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!m) throw new UsageError(`--${flag}: ${JSON.stringify(raw)} is not a duration like 60s, 5m or 1h`);
  const unit = m[2] ?? 's';
  const scale = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  const ms = Number(m[1]) * scale;
  if (!(ms > 0)) throw new UsageError(`--${flag}: the duration must be longer than zero`);
  return ms;
}

/** True for errors that mean "your input was wrong" (exit 2) rather than "driftgate failed" (exit 1). */
export function isInputError(err: unknown): boolean {
  return err instanceof UsageError || err instanceof ConfigError || (isDriftgateError(err) && err.code === 'INVALID_INPUT');
}

/** An error message on one line, as the CLI prints it. */
export function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s*\n\s*/g, '; ').trim();
}

/** Where data is read from, by file extension: `.jsonl`/`.ndjson` are JSON lines, anything else CSV. */
export function dataKind(path: string): 'csv' | 'jsonl' {
  return /\.(jsonl|ndjson)$/i.test(path) ? 'jsonl' : 'csv';
}
