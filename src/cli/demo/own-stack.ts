// The stack the demo starts when nothing answers at --url: `driftgate serve` in this process (gateway,
// monitor and retrain loop on the embedded bus) on a temporary copy of the model, with a policy that
// reacts within seconds. Everything it writes lives in one temporary directory, removed on close.
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, loadConfig } from '../../core/index.js';
import { startDriftgate } from '../stack.js';

/**
 * Judge performance over the last 100 labels (from 60 on), close drift windows every 150 predictions,
 * two drifted windows in a row make data drift, both kinds ask for a retrain, no cooldown. Beside it,
 * a retrain needs 300 rows to train on and 60 held out: a second or two more of traffic than the loop
 * tests' 100 and 40, for a challenger that is clearly better than 95% of the old accuracy.
 */
export const DEMO_POLICY = {
  default: {
    window: { size: 150, minSamples: 50 },
    drift: { consecutiveWindows: 2, action: 'retrain' },
    performance: { window: 100, minLabels: 60, maxDrop: 0.1 },
    cooldownMs: 0,
  },
};

export interface OwnStack {
  url: string;
  dir: string;
  adminToken: string;
  /** Error lines the stack logged, for the report when something goes wrong. */
  errors: string[];
  close(): Promise<void>;
}

export async function startOwnStack(opts: { repo: string; model: string; host: string; port: number; labelToken?: string | undefined }): Promise<OwnStack> {
  const source = join(opts.repo, opts.model);
  if (!existsSync(source)) throw new Error(`model ${opts.model} is not in ${opts.repo} (--repo names the repository the demo copies)`);
  const dir = mkdtempSync(join(tmpdir(), 'driftgate-demo-'));
  const repo = join(dir, 'models');
  cpSync(source, join(repo, opts.model), { recursive: true });
  const adminToken = randomBytes(12).toString('hex');
  const errors: string[] = [];
  const config = loadConfig(
    {},
    {
      host: opts.host,
      port: opts.port,
      modelRepo: repo,
      kafkaBrokers: [],
      spoolDir: join(dir, 'spool'),
      monitorStore: join(dir, 'monitor.db'),
      retrainStore: join(dir, 'retrain.db'),
      monitorPolicy: JSON.stringify(DEMO_POLICY),
      adminToken,
      labelToken: opts.labelToken,
      retrainMinTrain: 300,
      retrainMinHoldout: 60,
      watchLabels: 100,
      pollIntervalMs: 0,
      warmupRuns: 1,
      publishLingerMs: 1,
    },
  );
  const logger = createLogger('error', {}, (line) => errors.push(line));
  try {
    const dg = await startDriftgate(config, logger, { monitorPort: null });
    const shown = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host.includes(':') ? `[${opts.host}]` : opts.host;
    return {
      url: `http://${shown}:${dg.port}`,
      dir,
      adminToken,
      errors,
      close: async () => {
        await dg.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
