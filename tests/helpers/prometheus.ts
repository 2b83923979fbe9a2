// A real Prometheus server for the observability tests: it scrapes the given targets and evaluates the
// given rule files every second, and answers instant queries through its HTTP API.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait.js';

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface RunningPrometheus {
  /** Runs an instant query; throws with Prometheus's message when it refuses the expression. */
  query(expr: string): Promise<PromSample[]>;
  /** Polls `expr` until `ok` holds for its result (by default: any series), failing after `ms`. */
  until(expr: string, ms: number, ok?: (series: PromSample[]) => boolean): Promise<PromSample[]>;
  close(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? res(addr.port) : rej(new Error('no port'))));
    });
  });
}

/** Starts `binary` (the prometheus executable) on a free port with a fresh TSDB in a temporary directory. */
export async function startPrometheus(binary: string, opts: { job: string; targets: string[]; ruleFiles?: string[] }): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'dg-prom-'));
  const port = await freePort();
  const rules = opts.ruleFiles?.length ? `rule_files:\n${opts.ruleFiles.map((f) => `  - '${f}'\n`).join('')}` : '';
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n${rules}scrape_configs:\n  - job_name: ${opts.job}\n    static_configs:\n      - targets: [${opts.targets.map((t) => `'${t}'`).join(', ')}]\n`,
  );
  const child: ChildProcess = spawn(binary, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], {
    stdio: 'ignore',
  });
  const base = `http://127.0.0.1:${port}`;

  const query = async (expr: string): Promise<PromSample[]> => {
    const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: PromSample[] } };
    if (body.status !== 'success') throw new Error(`Prometheus refused ${expr}: ${body.error}`);
    return body.data?.result ?? [];
  };

  const until = async (expr: string, ms: number, ok: (series: PromSample[]) => boolean = (s) => s.length > 0): Promise<PromSample[]> => {
    let last: PromSample[] = [];
    let error: unknown;
    const holds = async () => {
      try {
        last = await query(expr);
        error = undefined;
        return ok(last);
      } catch (err) {
        // Not up yet (a refused connection), or the expression is wrong: report the latter at the end.
        error = err;
        return false;
      }
    };
    // Every 500 ms: Prometheus evaluates rules once a second, asking more often finds nothing new.
    await waitFor(() => `${expr}: ${error instanceof Error ? error.message : JSON.stringify(last)}`, ms, holds, 500);
    return last;
  };

  return {
    query,
    until,
    close: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
