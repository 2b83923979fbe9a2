// Python serving peers: the same Iris ONNX model (models/iris-onnx/1), with the same standardisation
// of its four features, served by driftgate and by the two common Python model servers that speak the
// same Open Inference Protocol (V2): KServe's Python model server (bench/peers/kserve_iris.py) and
// MLServer (bench/peers/mlserver_iris). The peers read the scalers from driftgate.json and run the same
// model.onnx with onnxruntime, so every target does the same work per request; only the server differs.
//
// Each target in turn is started, polled until /v2/health/ready answers 200, asked once for the body
// below (the answer must be a V2 response whose probabilities match driftgate's, else the benchmark
// stops), warmed up 3 s, then driven by autocannon: batch-1 V2 infer at c=64. The targets are
// interleaved run by run, so a machine that gets busier mid-benchmark weighs on all of them; the table
// gives medians of the runs and driftgate defaults against the fastest peer.
//
// Optional: needs Python 3.11; the first run makes .venv-peers with scripts/peers-env.sh (about a
// minute; pins in bench/peers/requirements.txt and constraints.txt).
//
//   npm run bench:peers -- [--duration 10] [--runs 3] [--connections 64] [--only driftgate,kserve,mlserver]
//                          [--json out.json]
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { freePort, machineLine, median, processTreeCpuSeconds, root, startProcess, stopProcess } from './harness.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
    /** Target families to run (driftgate, kserve, mlserver), comma-separated. */
    only: { type: 'string', default: 'driftgate,kserve,mlserver' },
    json: { type: 'string' },
  },
});
const duration = Number(args.duration);
const runs = Number(args.runs);
const connections = Number(args.connections);
const families = new Set(args.only!.split(','));

const MODEL = 'iris-onnx';
const BODY = JSON.stringify({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.9, 3.0, 5.1, 1.8] }] });
const manifest = JSON.parse(readFileSync(join(root, 'models', MODEL, '1', 'driftgate.json'), 'utf8')) as { output: string; labels: string[] };
const VENV = join(root, '.venv-peers');
const READY_TIMEOUT_MS = 120_000;

/** A started target: its port and how to stop it. */
interface Running {
  port: number;
  stop: () => Promise<void>;
  log: () => string;
  /** Whether the process has exited (a server that died while starting fails at once). */
  exited: () => boolean;
  /** The server's process: its CPU time, and its workers', is measured during the load. */
  pid: number | undefined;
}

interface Target {
  name: string;
  family: 'driftgate' | 'kserve' | 'mlserver';
  describe: string;
  start: () => Promise<Running>;
}

async function startDriftgate(extraEnv: Record<string, string>): Promise<Running> {
  const state = mkdtempSync(join(tmpdir(), 'dg-bench-peers-'));
  const server = await startProcess('src/cli/main.ts', {
    PORT: '0',
    DRIFTGATE_GRPC_PORT: '0',
    DRIFTGATE_SPOOL_DIR: join(state, 'spool'),
    DRIFTGATE_MONITOR_STORE: join(state, 'monitor.db'),
    DRIFTGATE_RETRAIN_STORE: join(state, 'retrain.db'),
    DRIFTGATE_LOG_LEVEL: 'info',
    KAFKA_BROKERS: '',
    ...extraEnv,
  });
  return {
    port: server.port,
    log: server.log,
    exited: () => server.child.exitCode !== null || server.child.signalCode !== null,
    pid: server.child.pid,
    stop: async () => {
      await stopProcess(server.child);
      rmSync(state, { recursive: true, force: true });
    },
  };
}

/**
 * Starts a Python server in its own process group (uvicorn and MLServer fork workers) and stops the
 * whole group: SIGTERM, then SIGKILL if it has not gone in 15 s.
 */
function startPython(command: string, commandArgs: string[], env: Record<string, string>, port: number): Running {
  const child: ChildProcess = spawn(command, commandArgs, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-50_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // the group is gone already
    }
  };
  return {
    port,
    log: () => log,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    pid: child.pid,
    stop: async () => {
      const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r()));
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      // Workers that outlive their parent (uvicorn's, MLServer's pool) go with the group.
      signalGroup('SIGKILL');
    },
  };
}

async function startKserve(workers: number | undefined): Promise<Running> {
  const port = await freePort();
  // No log lines per request (kserve's default writes three: uvicorn's access line and two latency
  // traces), as driftgate writes none; the rest of kserve's defaults stand.
  const flags = ['bench/peers/kserve_iris.py', '--http_port', String(port), '--enable_grpc', 'false', '--enable_latency_logging', 'false', '--log_config_file', 'bench/peers/kserve_logging.json'];
  if (workers !== undefined) flags.push('--workers', String(workers));
  return startPython(join(VENV, 'bin', 'python'), flags, {}, port);
}

async function startMlserver(workers: number | undefined): Promise<Running> {
  const [port, grpcPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  // MLServer keeps its multiprocess metrics files in ./.metrics unless told otherwise: a temporary folder.
  const env: Record<string, string> = {
    MLSERVER_HTTP_PORT: String(port),
    MLSERVER_GRPC_PORT: String(grpcPort),
    MLSERVER_METRICS_PORT: String(metricsPort),
    MLSERVER_METRICS_DIR: mkdtempSync(join(tmpdir(), 'dg-bench-mlserver-metrics-')),
  };
  if (workers !== undefined) env.MLSERVER_PARALLEL_WORKERS = String(workers);
  // bench/peers/mlserver_iris/settings.json turns debug off (no access line per request, as driftgate).
  return startPython(join(VENV, 'bin', 'mlserver'), ['start', 'bench/peers/mlserver_iris'], env, port);
}

const TARGETS: Target[] = [
  { name: 'driftgate defaults', family: 'driftgate', describe: 'npm start defaults: embedded bus, monitor and retrain loop in the process', start: () => startDriftgate({}) },
  {
    name: 'driftgate serving only',
    family: 'driftgate',
    describe: 'no publishing, no monitor, no retrain loop',
    start: () => startDriftgate({ DRIFTGATE_PAYLOAD_SAMPLING: '0', DRIFTGATE_MONITOR: 'off', DRIFTGATE_RETRAIN: 'off' }),
  },
  { name: 'KServe', family: 'kserve', describe: 'kserve ModelServer defaults (1 uvicorn worker); gRPC and per-request logs off', start: () => startKserve(undefined) },
  { name: 'KServe 2 workers', family: 'kserve', describe: 'kserve ModelServer --workers 2; gRPC and per-request logs off', start: () => startKserve(2) },
  { name: 'MLServer', family: 'mlserver', describe: 'mlserver defaults (parallel_workers 1); debug (access log) off', start: () => startMlserver(undefined) },
  { name: 'MLServer 2 workers', family: 'mlserver', describe: 'mlserver parallel_workers 2; debug (access log) off', start: () => startMlserver(2) },
].filter((t) => families.has(t.family)) as Target[];

/** Polls /v2/health/ready until it answers 200; fails if the server log shows it gave up first. */
async function waitReady(running: Running): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && !running.exited()) {
    try {
      const res = await fetch(`http://127.0.0.1:${running.port}/v2/health/ready`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  if (running.exited()) throw new Error(`exited while starting:\n${running.log().slice(-3000)}`);
  throw new Error(`not ready after ${READY_TIMEOUT_MS / 1000} s:\n${running.log().slice(-3000)}`);
}

interface V2Output {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
}

/**
 * Sends the body once and checks the answer is a V2 response with a [1, labels] FP32 probability
 * output; returns the probabilities and the raw answer.
 */
async function checkAnswer(target: Target, port: number): Promise<{ probabilities: number[]; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/v2/models/${MODEL}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY });
  const text = await res.text();
  const fail = (why: string) => new Error(`${target.name}: wrong answer (${why}): HTTP ${res.status} ${text.slice(0, 500)}`);
  if (res.status !== 200) throw fail('status');
  const body = JSON.parse(text) as { model_name?: string; outputs?: V2Output[] };
  const out = body.outputs?.find((o) => o.name === manifest.output);
  if (body.model_name !== MODEL || !out) throw fail(`no output "${manifest.output}" for model ${MODEL}`);
  const probabilities = out.data.map(Number);
  const sum = probabilities.reduce((a, b) => a + b, 0);
  if (out.datatype !== 'FP32' || out.shape.join(',') !== `1,${manifest.labels.length}` || probabilities.length !== manifest.labels.length || Math.abs(sum - 1) > 1e-4) {
    throw fail(`not ${manifest.labels.length} probabilities summing to 1`);
  }
  return { probabilities, text };
}

interface Measurement {
  target: string;
  run: number;
  reqPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU seconds the server (with its workers) and this process (the load generator) used during the load. */
  serverCpu: number;
  loadGeneratorCpu: number;
}

/** driftgate's probabilities for the body: every peer must give the same (same scalers, same model). */
let reference: number[] | undefined;
const printed = new Set<string>();

async function measure(target: Target, run: number): Promise<Measurement> {
  const running = await target.start();
  try {
    await waitReady(running);
    const { probabilities, text } = await checkAnswer(target, running.port);
    reference ??= probabilities;
    const drift = Math.max(...probabilities.map((p, i) => Math.abs(p - reference![i]!)));
    if (drift > 1e-5) throw new Error(`${target.name}: probabilities ${probabilities.join(', ')} differ from the first target's ${reference.join(', ')}`);
    if (!printed.has(target.name)) {
      printed.add(target.name);
      const best = probabilities.indexOf(Math.max(...probabilities));
      process.stderr.write(`${target.name} answers ${text} (${manifest.labels[best]})\n`);
    }
    const load = { url: `http://127.0.0.1:${running.port}/v2/models/${MODEL}/infer`, connections, method: 'POST' as const, headers: { 'content-type': 'application/json' }, body: BODY };
    await autocannon({ ...load, duration: 3 }); // warm-up: JIT, the runtime's first calls, every worker
    const serverBefore = processTreeCpuSeconds(running.pid) ?? 0;
    const selfBefore = process.cpuUsage();
    const r = await autocannon({ ...load, duration });
    const self = process.cpuUsage(selfBefore);
    return {
      target: target.name,
      run,
      reqPerSec: r.requests.average,
      p50: r.latency.p50,
      p99: r.latency.p99,
      errors: r.errors + r.timeouts + r.non2xx,
      serverCpu: (processTreeCpuSeconds(running.pid) ?? serverBefore) - serverBefore,
      loadGeneratorCpu: (self.user + self.system) / 1e6,
    };
  } finally {
    await running.stop();
  }
}

/** Makes .venv-peers if it is missing (the script itself skips an up-to-date environment). */
function ensurePeersEnv(): void {
  if (![...families].some((f) => f !== 'driftgate') || existsSync(join(VENV, '.driftgate-requirements.sha256'))) return;
  process.stderr.write('bench:peers: making .venv-peers (scripts/peers-env.sh) ...\n');
  const r = spawnSync('bash', [join(root, 'scripts', 'peers-env.sh')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('scripts/peers-env.sh failed');
}

function table(measurements: Measurement[]): string {
  const of = (name: string) => measurements.filter((m) => m.target === name);
  const summary = TARGETS.map((t) => {
    const ms = of(t.name);
    return { t, ms, rps: median(ms.map((m) => m.reqPerSec)), p50: median(ms.map((m) => m.p50)), p99: median(ms.map((m) => m.p99)) };
  });
  const lines = [
    machineLine(duration),
    `Batch-1 V2 infer on ${MODEL} (standardisation + ONNX MLP), ${connections} connections, ${runs} run(s) per target (interleaved), 3 s warm-up each; medians of the runs.`,
    '',
    '| target | what runs | req/s (runs) | median req/s | p50 ms | p99 ms | errors | server CPU-s | server CPU-µs per request | load generator CPU-s |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...summary.map(({ t, ms, rps, p50, p99 }) => {
      const cpu = median(ms.map((m) => m.serverCpu));
      const perRequest = median(ms.map((m) => (1e6 * m.serverCpu) / Math.max(1, m.reqPerSec * duration)));
      const runsText = ms.map((m) => Math.round(m.reqPerSec)).join(' / ');
      return `| ${t.name} | ${t.describe} | ${runsText} | ${Math.round(rps)} | ${p50} | ${p99} | ${ms.reduce((a, m) => a + m.errors, 0)} | ${cpu.toFixed(1)} | ${perRequest.toFixed(0)} | ${median(ms.map((m) => m.loadGeneratorCpu)).toFixed(1)} |`;
    }),
  ];
  const ours = summary.find((s) => s.t.name === 'driftgate defaults');
  const peers = summary.filter((s) => s.t.family !== 'driftgate');
  if (ours && peers.length) {
    const fastest = peers.reduce((a, b) => (b.rps > a.rps ? b : a));
    lines.push(
      '',
      `driftgate defaults against the fastest peer (${fastest.t.name}): ${(ours.rps / fastest.rps).toFixed(2)}x the req/s, ${(ours.p99 / Math.max(fastest.p99, 1)).toFixed(2)}x the p99.`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  ensurePeersEnv();
  const measurements: Measurement[] = [];
  for (let run = 1; run <= runs; run++) {
    for (const target of TARGETS) {
      const m = await measure(target, run);
      measurements.push(m);
      process.stderr.write(`run ${run} ${target.name}: ${Math.round(m.reqPerSec)} req/s, p50 ${m.p50} ms, p99 ${m.p99} ms, errors ${m.errors}\n`);
    }
  }
  process.stdout.write(table(measurements) + '\n');
  if (args.json) writeFileSync(args.json, JSON.stringify(measurements, null, 2));
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
