// A whole `driftgate serve` stack in the test process (embedded bus, monitor, retrain loop), on a
// copy of example models and a temporary state folder, removed again by close().
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, silentLogger } from '../../src/core/index.js';
import type { Config } from '../../src/core/index.js';
import { startDriftgate } from '../../src/cli/stack.js';
import type { Driftgate, StartOptions } from '../../src/cli/stack.js';
import { tempRepo } from './gateway.js';

/** What every test stack sets: ephemeral ports on loopback, no repository polling, quiet, events sent at once. */
export const TEST_STACK_SETTINGS = {
  port: 0,
  grpcPort: 0,
  host: '127.0.0.1',
  pollIntervalMs: 0,
  warmupRuns: 1,
  logLevel: 'silent',
  publishLingerMs: 1,
} as const satisfies Partial<Config>;

export interface TestStack {
  dg: Driftgate;
  /** The gateway's base URL. */
  url: string;
  repo: string;
  /** The state folder: spool/, monitor.db. */
  dir: string;
  close(): Promise<void>;
}

export async function startTestStack(name: string, models: string[], overrides: Partial<Config> = {}, options: StartOptions = {}): Promise<TestStack> {
  const repo = tempRepo(models);
  const dir = mkdtempSync(join(tmpdir(), `dg-${name}-`));
  const config = loadConfig({}, { modelRepo: repo, spoolDir: join(dir, 'spool'), monitorStore: join(dir, 'monitor.db'), ...TEST_STACK_SETTINGS, ...overrides });
  const dg = await startDriftgate(config, silentLogger, options);
  return {
    dg,
    url: `http://127.0.0.1:${dg.port}`,
    repo,
    dir,
    close: async () => {
      await dg.close();
      rmSync(repo, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
