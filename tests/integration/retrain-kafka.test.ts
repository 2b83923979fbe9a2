// The closed loop with separate processes on a real Kafka broker: a gateway (`driftgate serve` with
// its monitor and retrainer off), a monitor (`driftgate monitor`) and a retrainer (`driftgate
// retrain`), sharing a model repository. A concept change is detected and fixed by a promoted version
// that the gateway swaps to from the model event (its repository poll is too slow to be the reason),
// with a broker restart in the middle that loses no label; a second change later produces a third
// version; a worse version promoted by hand is rolled back by the post-promotion watch; a challenger
// fine-tuned on shuffled labels is rejected and its champion keeps serving.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sampleValue, tempRepo } from '../helpers/gateway.js';
import { kafkaBrokers } from '../helpers/kafka.js';
import { IRIS_CLASSES, LOOP_POLICY, LOOP_TOKEN, LabelingClient, irisTraffic } from '../helpers/loop-traffic.js';
import { seededRandom } from '../../src/core/index.js';
import { PrivateBroker, freePort, waitFor } from '../helpers/private-broker.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const TOKEN = LOOP_TOKEN;
// iris-tfjs only reports its drop: its retrain below is asked for by hand, on labels chosen for it.
const POLICY = { ...LOOP_POLICY, models: { 'iris-tfjs': { performance: { action: 'report' } } } };
const auth = { authorization: `Bearer ${TOKEN}` };

class Proc {
  child: ChildProcess | undefined;
  log = '';
  constructor(
    readonly command: string,
    readonly env: Record<string, string>,
  ) {}

  start(): void {
    this.child = spawn(process.execPath, ['--import', 'tsx', MAIN, this.command], {
      env: { ...process.env, DRIFTGATE_LOG_LEVEL: 'warn', DRIFTGATE_HOST: '127.0.0.1', ...this.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.log = (this.log + d.toString()).slice(-20_000);
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}

async function up(url: string, what: string): Promise<void> {
  await waitFor(what, 90_000, async () => {
    try {
      return (await fetch(url)).ok;
    } catch {
      return false;
    }
  });
}

async function metric(url: string, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return sampleValue(text, name, labels) ?? 0;
}

describe('the closed retrain loop with separate processes on Kafka', () => {
  let broker: PrivateBroker | undefined;
  let skip: string | undefined;
  let repo: string;
  let dir: string;
  const procs: Proc[] = [];
  let gatewayUrl: string;
  let monitorUrl: string;
  let retrainerUrl: string;

  before(async () => {
    const found = await kafkaBrokers();
    if ('skip' in found) {
      skip = found.skip;
      return;
    }
    broker = await PrivateBroker.create();
    await broker.run('start');
    repo = tempRepo(['iris-onnx', 'iris-tfjs']);
    dir = mkdtempSync(join(tmpdir(), 'dg-kafka-loop-'));
    const [gatewayPort, monitorPort, retrainPort] = [await freePort(), await freePort(), await freePort()];
    const common = {
      KAFKA_BROKERS: broker.brokers.join(','),
      DRIFTGATE_TOPIC_PREFIX: `loop${randomUUID().slice(0, 8)}.`,
      DRIFTGATE_MODEL_REPO: repo,
      DRIFTGATE_PUBLISH_LINGER_MS: '5',
    };
    procs.push(
      new Proc('serve', {
        ...common,
        PORT: String(gatewayPort),
        DRIFTGATE_MONITOR: 'false',
        DRIFTGATE_RETRAIN: 'false',
        DRIFTGATE_ADMIN_TOKEN: TOKEN,
        DRIFTGATE_SPOOL_DIR: join(dir, 'spool'),
        // The poll is far slower than the test: a swap within it comes from the model events.
        DRIFTGATE_POLL_INTERVAL_MS: '600000',
        DRIFTGATE_WARMUP_RUNS: '1',
      }),
      new Proc('monitor', {
        ...common,
        DRIFTGATE_MONITOR_PORT: String(monitorPort),
        DRIFTGATE_MONITOR_STORE: join(dir, 'monitor.db'),
        DRIFTGATE_MONITOR_POLICY: JSON.stringify(POLICY),
      }),
      new Proc('retrain', {
        ...common,
        DRIFTGATE_RETRAIN_PORT: String(retrainPort),
        DRIFTGATE_RETRAIN_STORE: join(dir, 'retrain.db'),
        DRIFTGATE_RETRAIN_MIN_TRAIN: '100',
        DRIFTGATE_RETRAIN_MIN_HOLDOUT: '40',
        DRIFTGATE_WATCH_LABELS: '100',
      }),
    );
    for (const p of procs) p.start();
    gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    monitorUrl = `http://127.0.0.1:${monitorPort}`;
    retrainerUrl = `http://127.0.0.1:${retrainPort}`;
    await up(`${gatewayUrl}/v2/health/ready`, 'the gateway');
    await up(`${monitorUrl}/healthz`, 'the monitor');
    await up(`${retrainerUrl}/healthz`, 'the retrainer');
  });

  after(async () => {
    for (const p of procs) await p.stop();
    await broker?.destroy();
    if (repo) rmSync(repo, { recursive: true, force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('recovers twice, survives a broker restart without losing labels, rolls back a bad promotion and rejects a worse challenger', { timeout: 600_000 }, async (t) => {
    if (skip) return t.skip(skip);
    const logs = () => procs.map((p) => `--- ${p.command}\n${p.log.slice(-3000)}`).join('\n');
    const client = new LabelingClient(gatewayUrl);
    const next = irisTraffic(21);
    try {
      const before = await client.accuracy('iris-onnx', next, 'species', 15);
      assert.ok(before.accuracy > 0.85, `pre-drift accuracy ${before.accuracy}`);

      // First change, with the broker stopped and started again while the labels flow.
      let restarted = false;
      const first = await client.untilVersionChanges('iris-onnx', next, 'petal-length', '1', 300_000, async (round) => {
        if (round === 3 && !restarted) {
          restarted = true;
          await broker!.run('stop');
          await broker!.run('start');
        }
      });
      assert.ok(restarted);
      assert.equal(first.version, '2');
      const afterFirst = await client.accuracy('iris-onnx', next, 'petal-length', 10);
      t.diagnostic(`first change: before ${before.accuracy.toFixed(3)}, during ${first.accuracy.toFixed(3)}, after ${afterFirst.accuracy.toFixed(3)}, swapped after ${first.seconds.toFixed(1)} s`);
      assert.ok(afterFirst.accuracy >= 0.95 * before.accuracy, `accuracy after the first swap ${afterFirst.accuracy}`);

      // Every label sent reached the monitor and was joined, across the broker restart.
      const sent = client.requests * 20;
      await waitFor(() => `all ${sent} labels joined`, 120_000, async () => (await metric(monitorUrl, 'driftgate_labels_joined_total', { model: 'iris-onnx' })) >= sent);

      // A second change later: the loop goes round again and a third version serves.
      const second = await client.untilVersionChanges('iris-onnx', next, 'petal-width', '2', 300_000);
      assert.equal(second.version, '3');
      const afterSecond = await client.accuracy('iris-onnx', next, 'petal-width', 10);
      t.diagnostic(`second change: during ${second.accuracy.toFixed(3)}, after ${afterSecond.accuracy.toFixed(3)}, swapped after ${second.seconds.toFixed(1)} s`);
      assert.ok(afterSecond.accuracy >= 0.95 * before.accuracy, `accuracy after the second swap ${afterSecond.accuracy}`);

      // A forced bad promotion: version 1 (the old concept) by hand; the watch rolls it back.
      const forced = await fetch(`${gatewayUrl}/admin/models/iris-onnx/promote/1`, { method: 'POST', headers: auth });
      assert.equal(forced.status, 200, await forced.text());
      const rolled = await client.untilVersionChanges('iris-onnx', next, 'petal-width', '1', 120_000);
      assert.equal(rolled.version, '3', 'rolled back to the version that served before');
      const pointer = JSON.parse(readFileSync(join(repo, 'iris-onnx', 'serving.json'), 'utf8')) as { version: number; log: { action: string; reason: string }[] };
      assert.equal(pointer.version, 3);
      assert.equal(pointer.log.at(-1)!.action, 'rollback');
      assert.match(pointer.log.at(-1)!.reason, /watch: live accuracy/);
      assert.equal(await metric(retrainerUrl, 'driftgate_rollbacks_total', { model: 'iris-onnx' }), 1);
      assert.equal(await metric(retrainerUrl, 'driftgate_promotions_total', { model: 'iris-onnx' }), 2);
      assert.equal(client.failed, 0, 'no request failed');

      // A worse challenger: fine-tuned on shuffled labels, judged on true ones; the champion stays.
      const random = seededRandom(4);
      for (let i = 0; i < 12; i++) await client.round('iris-tfjs', next(20, 'species'), () => IRIS_CLASSES[Math.floor(random() * 3)]!);
      for (let i = 0; i < 4; i++) await client.round('iris-tfjs', next(20, 'species'));
      await waitFor('the retrainer to hold the window', 60_000, async () => (await metric(retrainerUrl, 'driftgate_retrain_window_examples', { model: 'iris-tfjs' })) >= 320);
      assert.equal((await fetch(`${gatewayUrl}/admin/models/iris-tfjs/retrain`, { method: 'POST', headers: auth })).status, 202);
      await waitFor('the shuffled-label challenger to be rejected', 120_000, async () => (await metric(retrainerUrl, 'driftgate_rejections_total', { model: 'iris-tfjs' })) === 1);
      const tfjs = await client.accuracy('iris-tfjs', next, 'species', 2);
      assert.deepEqual([...tfjs.versions], ['1'], 'the champion still serves');

      const jobs = (await (await fetch(`${gatewayUrl}/admin/models/iris-onnx/retrains`, { headers: auth })).json()) as { jobs: { state: string }[] };
      assert.deepEqual(
        jobs.jobs.filter((j) => j.state === 'promoted').length,
        2,
        'the gateway lists the jobs announced on the stream',
      );
    } catch (err) {
      t.diagnostic(logs());
      throw err;
    }
  });
});
