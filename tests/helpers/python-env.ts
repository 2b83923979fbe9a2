// The Python environment of the client suite and the fuzz run (scripts/python-env.sh, .venv-oip),
// and running Python tools from it. Outside CI an environment that cannot be made skips the test with
// the reason; in CI (CI=true) it fails the run, as tests/helpers/tools.ts does for missing programs.
import { spawn, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';

export const ROOT = resolve(import.meta.dirname, '../..');
const VENV = process.env['DRIFTGATE_PYTHON_ENV'] ?? join(ROOT, '.venv-oip');

/** The environment's interpreter after scripts/python-env.sh made or checked it; else skips (or, in CI, throws). */
export function requirePythonEnv(t: TestContext): string | undefined {
  // Quick when the environment is up to date: the script compares a hash and exits.
  const made = spawnSync('bash', [join(ROOT, 'scripts/python-env.sh')], { encoding: 'utf8', timeout: 600_000 });
  if (made.status === 0) return join(VENV, 'bin', 'python');
  const reason = `the Python environment could not be made by scripts/python-env.sh (exit ${made.status ?? made.signal}): ${(made.stderr || made.stdout || String(made.error)).trim().slice(-1500)}`;
  if (process.env['CI'] === 'true') throw new Error(`${reason}; CI must be able to make it`);
  t.skip(reason);
  return undefined;
}

export interface PythonRun {
  code: number | null;
  /** stdout and stderr interleaved as they came. */
  output: string;
  ms: number;
}

/** Runs the interpreter with the arguments (in `cwd`, the repository root by default); kills it after the timeout. */
export function runPython(python: string, args: string[], env: Record<string, string>, timeoutMs: number, cwd = ROOT): Promise<PythonRun> {
  const started = Date.now();
  return new Promise((done, fail) => {
    const child = spawn(python, args, {
      cwd,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code, signal) => done({ code, output: signal ? `${output}\n[killed by ${signal} after ${timeoutMs} ms]` : output, ms: Date.now() - started }));
  });
}

/** The end of a long output, where pytest and schemathesis put their summaries. */
export const tail = (text: string, chars = 12_000) => (text.length > chars ? `…${text.slice(-chars)}` : text);
