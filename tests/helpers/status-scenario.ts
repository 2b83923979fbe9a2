// The scenario behind the status page test and its screenshot (scripts/status-page-screenshot.ts): the
// embedded stack with the loop tests' fast policy, Iris traffic with labels, then a concept change the
// loop recovers from by retraining and promoting a second version.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, silentLogger } from '../../src/core/index.js';
import type { Config, Logger } from '../../src/core/index.js';
import { startDriftgate } from '../../src/cli/stack.js';
import type { Driftgate } from '../../src/cli/stack.js';
import { EXAMPLES } from './gateway.js';
import { loopConfigOverrides } from './loop-stack.js';
import { LabelingClient, irisTraffic } from './loop-traffic.js';
import type { Concept, IRIS_FEATURES, Sample } from './loop-traffic.js';

/** Feature names a status page must show as text, never as markup. */
export const HOSTILE_FEATURES: Record<(typeof IRIS_FEATURES)[number], string> = {
  sepal_length: '<img src=x onerror=alert(1)>',
  sepal_width: '"><script>alert(2)</script>',
  petal_length: 'petal_length',
  petal_width: "'; alert(3); '",
};

export interface LoopStack {
  dg: Driftgate;
  url: string;
  repo: string;
  close(): Promise<void>;
}

/** The loop tests' configuration (tests/helpers/loop-stack.ts) in `dir`, with `overrides`. */
export function loopConfig(repo: string, dir: string, overrides: Partial<Config> = {}): Config {
  return loadConfig({}, { ...loopConfigOverrides(repo, dir), ...overrides });
}

/**
 * Copies iris-tfjs as `name` with the features renamed to {@link HOSTILE_FEATURES}: the manifest's
 * features, scalers and reference profile, and the training sample.
 */
export function addHostileModel(repo: string, name: string): void {
  const dir = join(repo, name, '1');
  cpSync(join(EXAMPLES, 'iris-tfjs', '1'), dir, { recursive: true });
  const rename = <T>(record: Record<string, T>): Record<string, T> =>
    Object.fromEntries(Object.entries(record).map(([k, v]) => [HOSTILE_FEATURES[k as keyof typeof HOSTILE_FEATURES] ?? k, v]));
  const manifest = JSON.parse(readFileSync(join(dir, 'driftgate.json'), 'utf8')) as {
    name: string;
    description?: string;
    features: { name: string }[];
    preprocessing: { scalers: Record<string, unknown> };
    reference?: { features: Record<string, unknown> };
  };
  manifest.name = name;
  manifest.description = '<b>bold?</b> a copy of iris-tfjs whose feature names are markup';
  manifest.features = manifest.features.map((f) => ({ ...f, name: HOSTILE_FEATURES[f.name as keyof typeof HOSTILE_FEATURES] ?? f.name }));
  manifest.preprocessing.scalers = rename(manifest.preprocessing.scalers);
  if (manifest.reference) manifest.reference.features = rename(manifest.reference.features);
  writeFileSync(join(dir, 'driftgate.json'), JSON.stringify(manifest, null, 2));
  const sample = readFileSync(join(dir, 'training-sample.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const row = JSON.parse(line) as Record<string, unknown>;
      const features = row['features'];
      return JSON.stringify(features && typeof features === 'object' ? { ...row, features: rename(features as Record<string, unknown>) } : rename(row));
    });
  writeFileSync(join(dir, 'training-sample.jsonl'), `${sample.join('\n')}\n`);
}

/** Samples for the hostile copy: the same rows keyed by its feature names. */
export function hostileSamples(samples: Sample[]): Sample[] {
  return samples.map((s) => ({ ...s, row: Object.fromEntries(Object.entries(s.row).map(([k, v]) => [HOSTILE_FEATURES[k as keyof typeof HOSTILE_FEATURES] ?? k, v])) }));
}

/** Starts the embedded stack on copies of `models` (and a hostile copy when `hostile` names one). */
export async function startLoopStack(models: string[], opts: { hostile?: string; logger?: Logger; config?: Partial<Config> } = {}): Promise<LoopStack> {
  const repo = mkdtempSync(join(tmpdir(), 'dg-status-repo-'));
  for (const m of models) cpSync(join(EXAMPLES, m), join(repo, m), { recursive: true });
  if (opts.hostile) addHostileModel(repo, opts.hostile);
  const dir = mkdtempSync(join(tmpdir(), 'dg-status-'));
  const dg = await startDriftgate(loopConfig(repo, dir, opts.config), opts.logger ?? silentLogger, { monitorPort: 0 });
  return {
    dg,
    url: `http://127.0.0.1:${dg.port}`,
    repo,
    close: async () => {
      await dg.close();
      rmSync(repo, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Recovery {
  before: number;
  during: number;
  after: number;
  version: string;
  seconds: number;
  failed: number;
}

/**
 * Iris traffic on `model` under the species concept, then labels that follow a new boundary on petal
 * length until a retrained version serves, then more traffic on it (so its live accuracy shows).
 * `paceMs` spaces the rounds out (the screenshot's chart reads better over a longer stretch).
 */
export async function recoverFromConceptChange(url: string, model: string, opts: { seed?: number; limitMs?: number; beforeRounds?: number; afterRounds?: number; paceMs?: number } = {}): Promise<Recovery> {
  const client = new LabelingClient(url);
  const next = irisTraffic(opts.seed ?? 7);
  const pace = () => new Promise<void>((resolve) => setTimeout(resolve, opts.paceMs ?? 0));
  const rounds = async (n: number, concept: Concept) => {
    let accuracy = 0;
    for (let i = 0; i < n; i++) {
      accuracy += (await client.accuracy(model, next, concept, 1)).accuracy / n;
      await pace();
    }
    return accuracy;
  };
  const before = await rounds(opts.beforeRounds ?? 15, 'species');
  const during = await client.untilVersionChanges(model, next, 'petal-length', '1', opts.limitMs ?? 240_000, pace);
  const after = await rounds(opts.afterRounds ?? 10, 'petal-length');
  return { before, during: during.accuracy, after, version: during.version, seconds: during.seconds, failed: client.failed };
}
