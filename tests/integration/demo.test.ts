// `driftgate demo` as a user runs it: a child process (node --import tsx src/cli/main.ts demo) that
// starts a stack of its own when nothing answers at --url, or attaches to one (here started by the
// test), drives Iris traffic with a concept change and must see the loop recover: exit 0 with the
// timeline and the summary. Against a stack whose monitor is in its cooldown a second demo says so
// and exits 1 instead of hanging; Ctrl-C stops a run cleanly with exit 130 and the summary so far.
// On Kafka the same demo drives a gateway, a monitor and a retrainer running as three processes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig, silentLogger } from '../../src/core/index.js';
import { DEMO_POLICY } from '../../src/cli/demo/own-stack.js';
import { startDriftgate } from '../../src/cli/stack.js';
import { tempRepo } from '../helpers/gateway.js';
import { kafkaBrokers } from '../helpers/kafka.js';
import { LOOP_POLICY } from '../helpers/loop-traffic.js';
import { freePort } from '../helpers/private-broker.js';
import { TEST_STACK_SETTINGS } from '../helpers/test-stack.js';
import { waitFor } from '../helpers/wait.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface DemoRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the demo; `during(child, output)` may act on it while it runs (e.g. send SIGINT). */
function demo(args: string[], during?: (signal: (s: NodeJS.Signals) => void, stdout: () => string) => Promise<void>): Promise<DemoRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'demo', ...args], {
    cwd: ROOT,
    env: { ...process.env, DRIFTGATE_LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<DemoRun>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  void during?.((s) => child.kill(s), () => stdout);
  return exited;
}

/**
 * The timeline lines and the summary a recovered run prints. Under load a first challenger may be
 * rejected and a later one promoted, so the new version's number is not fixed.
 */
function assertRecoveredRun(run: DemoRun): void {
  const out = run.stdout;
  assert.equal(run.code, 0, `exit ${run.code}\n${out}\n${run.stderr}`);
  assert.match(out, /\+\s*\d+\.\ds drift injected: concept: labels now follow petal length/);
  assert.match(out, /\+\s*\d+\.\ds monitor: drift\.detected \(v1: accuracy 0\.\d+ against 0\.933 expected/);
  assert.match(out, /\+\s*\d+\.\ds monitor: retrain\.requested \(retrain of v1 asked: performance\)/);
  assert.match(out, /\+\s*\d+\.\ds retrain job \S+ queued \(trigger: performance/);
  assert.match(out, /\+\s*\d+\.\ds gate: challenger (?:0\.\d{3}|1\.000) vs champion 0\.\d+ accuracy on \d+ held-out labels → promote/);
  const promoted = /\+\s*\d+\.\ds retrain job \S+ promoted: version (\d+) is the serving version \[data \d/.exec(out);
  assert.ok(promoted, 'a promotion line');
  const version = promoted[1]!;
  assert.ok(Number(version) >= 2);
  assert.match(out, new RegExp(`\\+\\s*\\d+\\.\\ds swap: version ${version} serving \\(first answer from it`));
  assert.match(out, /requests \d+ · accuracy \(last \d+\) [01]\.\d{3} · serving v\d+/, 'progress lines');
  assert.match(out, new RegExp(`summary\\n\\s+accuracy\\s+rows\\s+versions\\n\\s+before the drift\\s+0\\.\\d{3}\\s+\\d+\\s+1\\n\\s+during\\s+0\\.\\d{3}\\s+\\d+\\s+1\\n\\s+after\\s+[01]\\.\\d{3}\\s+\\d+\\s+${version}\\n`));
  assert.match(out, /recovered: yes \(accuracy after [01]\.\d{3} ≥ 95% of/);
  assert.match(out, /time to recover, s .*\n\s+detect\s+wait\s+data\s+train\s+gate\s+swap\s+gateway\s+total\n(\s+\d+\.\d\d){8}\n/);
}

describe('driftgate demo', () => {
  it('starts a stack of its own when nothing answers at --url, sees the loop recover from a concept change and exits 0', { timeout: 240_000 }, async () => {
    const port = await freePort();
    const run = await demo(['--url', `http://127.0.0.1:${port}`, '--at', '8', '--after', '3', '--timeout', '150s']);
    assert.match(run.stdout, new RegExp(`nothing answers at http://127\\.0\\.0\\.1:${port}: starting driftgate in this process on port ${port}`));
    assert.match(run.stdout, /following http:\/\/127\.0\.0\.1:\d+\/status\/models/);
    assertRecoveredRun(run);
    // The stack it started is gone with it.
    await assert.rejects(fetch(`http://127.0.0.1:${port}/v2/health/live`));
  });

  it('attaches to a running stack with --url; a second run within the cooldown says so and exits 1', { timeout: 300_000 }, async () => {
    const repo = tempRepo(['iris-onnx']);
    const dir = mkdtempSync(join(tmpdir(), 'dg-demo-attach-'));
    // The loop tests' fast windows, with the default policy's 1 h cooldown between retrain requests.
    const policy = { default: { ...LOOP_POLICY.default, cooldownMs: 3_600_000 } };
    const config = loadConfig(
      {},
      {
        modelRepo: repo,
        spoolDir: join(dir, 'spool'),
        monitorStore: join(dir, 'monitor.db'),
        retrainStore: join(dir, 'retrain.db'),
        monitorPolicy: JSON.stringify(policy),
        labelToken: 'demo-label-token',
        retrainMinTrain: 300,
        retrainMinHoldout: 60,
        watchLabels: 100,
        ...TEST_STACK_SETTINGS,
      },
    );
    const dg = await startDriftgate(config, silentLogger, { monitorPort: null });
    const url = `http://127.0.0.1:${dg.port}`;
    try {
      const noToken = await demo(['--url', url, '--at', '2', '--timeout', '30s']);
      assert.equal(noToken.code, 2, noToken.stdout);
      assert.match(noToken.stdout, /stopped: the gateway asks for a label token \(401\): pass --token/);

      const first = await demo(['--url', url, '--token', 'demo-label-token', '--at', '8', '--after', '3', '--timeout', '150s']);
      assert.match(first.stdout, new RegExp(`attached to the stack at ${url.replace(/\./g, '\\.')}: its own policy applies`));
      assert.doesNotMatch(first.stdout, /starting driftgate/);
      assertRecoveredRun(first);

      const second = await demo(['--url', url, '--token', 'demo-label-token', '--at', '3', '--timeout', '120s']);
      assert.equal(second.code, 1, `${second.stdout}\n${second.stderr}`);
      assert.match(second.stdout, /note: the monitor asked for a retrain of iris-onnx (less than a minute|\d+ min) ago; with the default policy's 1 h cooldown/);
      assert.match(second.stdout, /stopped: no retrain\.requested came within 30 s of \+\d+\.\ds: the monitor's last retrain\.requested was at \d\d:\d\d:\d\d .*cooldown \(1 h\)/);
      assert.match(second.stdout, /recovered: no/);
    } finally {
      await dg.close();
      rmSync(repo, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops cleanly on Ctrl-C: traffic stops, the summary so far, its stack closed, exit 130', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const run = await demo(['--url', `http://127.0.0.1:${port}`, '--at', '4', '--timeout', '100s'], async (signal, stdout) => {
      await waitFor('the drift to be injected', 60_000, () => stdout().includes('drift injected'));
      signal('SIGINT');
    });
    assert.equal(run.code, 130, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /interrupted \(Ctrl-C\): traffic stopped/);
    assert.match(run.stdout, /summary\n[\s\S]*before the drift\s+0\.\d{3}/);
    assert.match(run.stdout, /recovered: no/);
    assert.equal(run.stderr, '');
    await assert.rejects(fetch(`http://127.0.0.1:${port}/v2/health/live`));
  });

  it('exits 2 on a bad flag and when nothing answers at --url with --attach', async () => {
    const bad = await demo(['--drift', 'sideways']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--drift must be one of concept, covariate, both, got "sideways"/);
    const port = await freePort();
    const none = await demo(['--url', `http://127.0.0.1:${port}`, '--attach']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /nothing answers at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\) and --attach forbids starting a stack/);
  });
});

describe('driftgate demo on Kafka', () => {
  it('sees the loop recover with a separate gateway, monitor and retrainer', { timeout: 300_000 }, async (t) => {
    const found = await kafkaBrokers();
    if ('skip' in found) return t.skip(found.skip);
    const repo = tempRepo(['iris-onnx']);
    const dir = mkdtempSync(join(tmpdir(), 'dg-demo-kafka-'));
    const [gatewayPort, monitorPort, retrainPort] = [await freePort(), await freePort(), await freePort()];
    const common = {
      ...process.env,
      KAFKA_BROKERS: found.join(','),
      DRIFTGATE_TOPIC_PREFIX: `demo${randomUUID().slice(0, 8)}.`,
      DRIFTGATE_MODEL_REPO: repo,
      DRIFTGATE_HOST: '127.0.0.1',
      DRIFTGATE_LOG_LEVEL: 'warn',
    };
    const procs: { child: ChildProcess; log: string }[] = [];
    const start = (command: string, env: Record<string, string>) => {
      const child = spawn(process.execPath, ['--import', 'tsx', MAIN, command], { env: { ...common, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
      const proc = { child, log: '' };
      child.stderr!.on('data', (d: Buffer) => (proc.log = (proc.log + d.toString()).slice(-5000)));
      procs.push(proc);
    };
    start('serve', {
      PORT: String(gatewayPort),
      DRIFTGATE_MONITOR: 'false',
      DRIFTGATE_RETRAIN: 'false',
      DRIFTGATE_MONITOR_URL: `http://127.0.0.1:${monitorPort}`,
      DRIFTGATE_SPOOL_DIR: join(dir, 'spool'),
    });
    // The policy and retrain settings of the stack the demo starts by itself, so the run is as quick.
    start('monitor', { DRIFTGATE_MONITOR_PORT: String(monitorPort), DRIFTGATE_MONITOR_STORE: join(dir, 'monitor.db'), DRIFTGATE_MONITOR_POLICY: JSON.stringify(DEMO_POLICY) });
    start('retrain', {
      DRIFTGATE_RETRAIN_PORT: String(retrainPort),
      DRIFTGATE_RETRAIN_STORE: join(dir, 'retrain.db'),
      DRIFTGATE_RETRAIN_MIN_TRAIN: '300',
      DRIFTGATE_RETRAIN_MIN_HOLDOUT: '60',
    });
    try {
      for (const url of [`http://127.0.0.1:${gatewayPort}/v2/health/ready`, `http://127.0.0.1:${monitorPort}/healthz`, `http://127.0.0.1:${retrainPort}/healthz`]) {
        await waitFor(url, 90_000, async () => (await fetch(url).catch(() => undefined))?.ok === true);
      }
      const run = await demo(['--url', `http://127.0.0.1:${gatewayPort}`, '--attach', '--at', '8', '--after', '3', '--timeout', '200s']);
      if (run.code !== 0) t.diagnostic(procs.map((p) => p.log).join('\n---\n'));
      assert.match(run.stdout, /attached to the stack at http:\/\/127\.0\.0\.1:\d+: its own policy applies/);
      assertRecoveredRun(run);
    } finally {
      for (const { child } of procs) {
        if (child.exitCode !== null) continue;
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        });
      }
      rmSync(repo, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
