// The two set-ups the loop tests and `npm run bench:loop` drive: the single-process default (gateway,
// monitor and retrainer on the embedded bus, in this process), and separate `driftgate serve`,
// `driftgate monitor` and `driftgate retrain` processes on a Kafka broker sharing one repository.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../src/core/index.js';
import { tempRepo } from './gateway.js';
import { LOOP_POLICY, LOOP_TOKEN } from './loop-traffic.js';
import { TEST_STACK_SETTINGS } from './test-stack.js';
import { freePort, waitFor } from './private-broker.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** The configuration of an embedded loop stack on `repo`, with its state under `dir`. */
export function loopConfigOverrides(repo: string, dir: string, policy: unknown = LOOP_POLICY): Partial<Config> {
  return {
    modelRepo: repo,
    spoolDir: join(dir, 'spool'),
    monitorStore: join(dir, 'monitor.db'),
    retrainStore: join(dir, 'retrain.db'),
    monitorPolicy: JSON.stringify(policy),
    adminToken: LOOP_TOKEN,
    retrainMinTrain: 150,
    retrainMinHoldout: 40,
    watchLabels: 100,
    ...TEST_STACK_SETTINGS,
  };
}

/** One `driftgate <command>` child process, its stderr kept (and handed to `onLine` line by line). */
export class DriftgateProcess {
  private child: ChildProcess | undefined;
  log = '';
  private partial = '';
  constructor(
    readonly command: string,
    private readonly env: Record<string, string>,
    private readonly onLine?: (line: string) => void,
  ) {}

  start(): void {
    this.child = spawn(process.execPath, ['--import', 'tsx', MAIN, this.command], {
      env: { ...process.env, DRIFTGATE_LOG_LEVEL: 'warn', DRIFTGATE_HOST: '127.0.0.1', ...this.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.log = (this.log + d.toString()).slice(-20_000);
      if (!this.onLine) return;
      const lines = (this.partial + d.toString()).split('\n');
      this.partial = lines.pop()!;
      for (const line of lines) this.onLine(line);
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}

export interface KafkaLoop {
  repo: string;
  prefix: string;
  gatewayUrl: string;
  monitorUrl: string;
  retrainerUrl: string;
  processes: DriftgateProcess[];
  /** The processes' recent stderr, for a failure message. */
  logs(): string;
  close(): Promise<void>;
}

export interface KafkaLoopOptions {
  brokers: string[];
  models: string[];
  policy?: unknown;
  /** Log level of the gateway and the retrainer. @defaultValue warn */
  logLevel?: string;
  onLine?: (line: string) => void;
}

/**
 * Starts a gateway (monitor and retrainer off, repository poll at 10 minutes so a swap within a run
 * comes from the model events), a monitor and a retrainer on `brokers`, with a fresh topic prefix and
 * repository, and waits until all three answer.
 */
export async function startKafkaLoop(opts: KafkaLoopOptions): Promise<KafkaLoop> {
  const repo = tempRepo(opts.models);
  const dir = mkdtempSync(join(tmpdir(), 'dg-kafka-loop-'));
  const prefix = `loop${randomUUID().slice(0, 8)}.`;
  const [gatewayPort, monitorPort, retrainPort] = [await freePort(), await freePort(), await freePort()];
  const level = opts.logLevel ?? 'warn';
  const common = { KAFKA_BROKERS: opts.brokers.join(','), DRIFTGATE_TOPIC_PREFIX: prefix, DRIFTGATE_MODEL_REPO: repo, DRIFTGATE_PUBLISH_LINGER_MS: '5' };
  const processes = [
    new DriftgateProcess(
      'serve',
      {
        ...common,
        PORT: String(gatewayPort),
        DRIFTGATE_MONITOR: 'false',
        DRIFTGATE_RETRAIN: 'false',
        DRIFTGATE_ADMIN_TOKEN: LOOP_TOKEN,
        DRIFTGATE_SPOOL_DIR: join(dir, 'spool'),
        DRIFTGATE_POLL_INTERVAL_MS: '600000',
        DRIFTGATE_WARMUP_RUNS: '1',
        DRIFTGATE_LOG_LEVEL: level,
      },
      opts.onLine,
    ),
    new DriftgateProcess(
      'monitor',
      {
        ...common,
        DRIFTGATE_MONITOR_PORT: String(monitorPort),
        DRIFTGATE_MONITOR_STORE: join(dir, 'monitor.db'),
        DRIFTGATE_MONITOR_POLICY: JSON.stringify(opts.policy ?? LOOP_POLICY),
      },
      opts.onLine,
    ),
    new DriftgateProcess(
      'retrain',
      {
        ...common,
        DRIFTGATE_RETRAIN_PORT: String(retrainPort),
        DRIFTGATE_RETRAIN_STORE: join(dir, 'retrain.db'),
        DRIFTGATE_RETRAIN_MIN_TRAIN: '150',
        DRIFTGATE_RETRAIN_MIN_HOLDOUT: '40',
        DRIFTGATE_WATCH_LABELS: '100',
        DRIFTGATE_LOG_LEVEL: level,
      },
      opts.onLine,
    ),
  ];
  const loop: KafkaLoop = {
    repo,
    prefix,
    gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
    monitorUrl: `http://127.0.0.1:${monitorPort}`,
    retrainerUrl: `http://127.0.0.1:${retrainPort}`,
    processes,
    logs: () => processes.map((p) => `--- ${p.command}\n${p.log.slice(-3000)}`).join('\n'),
    close: async () => {
      for (const p of processes) await p.stop();
      rmSync(repo, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    for (const p of processes) p.start();
    await answers(`${loop.gatewayUrl}/v2/health/ready`, 'the gateway');
    await answers(`${loop.monitorUrl}/healthz`, 'the monitor');
    await answers(`${loop.retrainerUrl}/healthz`, 'the retrainer');
    return loop;
  } catch (err) {
    const logs = loop.logs();
    await loop.close();
    throw new Error(`${(err as Error).message}\n${logs}`);
  }
}

async function answers(url: string, what: string): Promise<void> {
  await waitFor(what, 90_000, async () => {
    try {
      return (await fetch(url)).ok;
    } catch {
      return false;
    }
  });
}
