// Starts a real gateway on a temporary copy of example models, on an ephemeral port.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig, silentLogger } from '../../src/core/index.js';
import type { Config } from '../../src/core/index.js';
import { createGateway } from '../../src/serve/index.js';
import type { Gateway, GatewayDeps } from '../../src/serve/index.js';

export const EXAMPLES = resolve(import.meta.dirname, '../../models');

/** A temporary model repository holding copies of the named example models. */
export function tempRepo(models: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'dg-repo-'));
  for (const m of models) cpSync(join(EXAMPLES, m), join(dir, m), { recursive: true });
  return dir;
}

export interface RunningGateway {
  gateway: Gateway;
  url: string;
  repo: string;
  config: Config;
  close(): Promise<void>;
}

/** Starts a gateway on port 0 with polling off unless asked; the repository is removed on close. */
export async function startGateway(
  opts: { models?: string[]; repo?: string; config?: Partial<Config>; deps?: Omit<GatewayDeps, 'config'> } = {},
): Promise<RunningGateway> {
  const repo = opts.repo ?? tempRepo(opts.models ?? ['iris-onnx', 'iris-tfjs']);
  const config = loadConfig({}, { modelRepo: repo, port: 0, host: '127.0.0.1', pollIntervalMs: 0, warmupRuns: 1, logLevel: 'silent', ...opts.config });
  const gateway = createGateway({ config, logger: silentLogger, ...opts.deps });
  const port = await gateway.listen();
  await gateway.start();
  return {
    gateway,
    url: `http://127.0.0.1:${port}`,
    repo,
    config,
    close: async () => {
      await gateway.close();
      if (!opts.repo) rmSync(repo, { recursive: true, force: true });
    },
  };
}

async function call(url: string, init: RequestInit) {
  const res = await fetch(url, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, body: json as Record<string, unknown> & { error?: string } };
}

/** POSTs JSON (or a raw string) and returns status, headers and the parsed body. */
export function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return call(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export function get(url: string, headers: Record<string, string> = {}) {
  return call(url, { headers });
}

/** Value of one sample of a Prometheus metric on a gateway, matched on the given labels; 0 when absent. */
export async function metricValue(url: string, name: string, labels: Record<string, string>): Promise<number> {
  const { body } = await get(`${url}/metrics`);
  return sampleValue(String(body), name, labels) ?? 0;
}

/** Value of one sample in a Prometheus text exposition, matched on the given labels; undefined when absent. */
export function sampleValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (.+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[3]);
  }
  return undefined;
}

export const IRIS_ROW = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
