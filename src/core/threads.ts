// What driftgate's worker threads share: how one is started from its module (compiled .js in the
// package, .ts under tsx), and a logger whose lines travel to the parent thread's logger.
import { Worker } from 'node:worker_threads';
import type { WorkerOptions } from 'node:worker_threads';
import type { Logger } from './logger.js';

/**
 * Starts the module `name` (without extension), found beside `moduleUrl`, in a worker thread. The
 * built package starts the compiled .js. Under tsx (tests, development) the sources are .ts and
 * Node 20 does not carry tsx's loader into worker threads, so a small bootstrap registers it in
 * the worker first.
 */
export function startModuleWorker(moduleUrl: string, name: string, options: WorkerOptions = {}): Worker {
  const fromSource = moduleUrl.endsWith('.ts');
  const entry = new URL(`./${name}${fromSource ? '.ts' : '.js'}`, moduleUrl);
  if (!fromSource) return new Worker(entry, options);
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

export type LogLevelName = 'debug' | 'info' | 'warn' | 'error';

/** One log line on its way from a worker thread to the parent's logger. */
export interface ForwardedLog {
  t: 'log';
  level: LogLevelName;
  msg: string;
  fields: Record<string, unknown>;
}

/**
 * A logger for a worker thread that hands every line to `send`; the parent passes it to its own
 * logger, which applies the level and the format. Errors become their messages, and fields that
 * cannot cross the thread boundary are named instead of sent.
 */
export function forwardingLogger(send: (line: ForwardedLog) => void, base: Record<string, unknown> = {}): Logger {
  const emit = (level: LogLevelName) => (msg: string, fields?: Record<string, unknown>) => {
    const all: Record<string, unknown> = { ...base, ...fields };
    for (const [k, v] of Object.entries(all)) if (v instanceof Error) all[k] = v.message;
    try {
      send({ t: 'log', level, msg, fields: all });
    } catch {
      send({ t: 'log', level, msg, fields: { ...base, unclonableFields: Object.keys(all) } });
    }
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error'), child: (fields) => forwardingLogger(send, { ...base, ...fields }) };
}

/** Passes a forwarded line to `logger`. */
export function logForwarded(logger: Logger, line: ForwardedLog): void {
  logger[line.level](line.msg, line.fields);
}
