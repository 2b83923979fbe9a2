// The monitoring tax: what the default `npm start` stack (every prediction published, monitor and
// retrain loop in the process) costs in throughput and tail latency against the same gateway with
// monitoring off (no publishing, no monitor, no retrainer). Batch-1 V2 infer on iris-onnx at c=64,
// the set-ups interleaved run by run so a machine that gets busier mid-benchmark weighs on all of
// them, medians of the runs. While the load runs, and for a few seconds after it (while the monitor
// drains what it has not consumed yet), a separate client asks /v2/health/ready every 50 ms and the
// slowest answer is reported. With `--profile`, each set-up's last run writes CPU profiles of every
// thread (main, model worker, ...) and the table lists the top self time of each.
//
//   npm run bench:tax -- [--duration 10] [--runs 3] [--connections 64] [--kafka 127.0.0.1:9092] [--only defaults,Kafka]
//                        [--skip-kafka] [--breakdown] [--bare] [--profile] [--json out.json]
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { kafkaBrokerPid, machineBusySeconds, machineLine, median, processCpuSeconds, startProcess, stopProcess, summarizeProfile } from './harness.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
    kafka: { type: 'string', default: '127.0.0.1:9092' },
    'skip-kafka': { type: 'boolean', default: false },
    /** Also the parts one by one: publishing alone, publishing + monitor, publishing + retrain loop. */
    breakdown: { type: 'boolean', default: false },
    /** Also bench/bare-express.ts, the serving benchmark's baseline, measured the same way. */
    bare: { type: 'boolean', default: false },
    /** Only the set-ups whose names contain one of these (comma-separated); "monitoring off" always runs. */
    only: { type: 'string' },
    'drain-seconds': { type: 'string', default: '5' },
    profile: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const duration = Number(args.duration);
const runs = Number(args.runs);
const connections = Number(args.connections);
const drainSeconds = Number(args['drain-seconds']);

const BODY = JSON.stringify({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.9, 3.0, 5.1, 1.8] }] });

interface Setup {
  name: string;
  describe: string;
  env: Record<string, string>;
  /** Not the gateway: bench/bare-express.ts, the serving benchmark's baseline (no health endpoint, no monitor). */
  bare?: boolean;
}

const SETUPS: Setup[] = [
  {
    name: 'monitoring off',
    describe: 'no publishing, no monitor, no retrain loop',
    env: { DRIFTGATE_PAYLOAD_SAMPLING: '0', DRIFTGATE_MONITOR: 'off', DRIFTGATE_RETRAIN: 'off', KAFKA_BROKERS: '' },
  },
  { name: 'npm start defaults', describe: 'embedded bus, monitor (own worker thread) and retrain loop in the process', env: { KAFKA_BROKERS: '' } },
  ...(args.breakdown
    ? [
        { name: 'publishing only', describe: 'embedded bus, no monitor, no retrain loop', env: { KAFKA_BROKERS: '', DRIFTGATE_MONITOR: 'off', DRIFTGATE_RETRAIN: 'off' } },
        { name: 'publishing + monitor', describe: 'embedded bus, no retrain loop', env: { KAFKA_BROKERS: '', DRIFTGATE_RETRAIN: 'off' } },
        { name: 'publishing + retrain loop', describe: 'embedded bus, no monitor', env: { KAFKA_BROKERS: '', DRIFTGATE_MONITOR: 'off' } },
        { name: 'defaults, monitor ungathered', describe: 'monitor thread, a transaction per bus batch', env: { KAFKA_BROKERS: '', DRIFTGATE_MONITOR_GATHER_MS: '0' } },
        { name: 'defaults, monitor on the serving thread', describe: 'DRIFTGATE_MONITOR_THREAD=false (before the worker thread)', env: { KAFKA_BROKERS: '', DRIFTGATE_MONITOR_THREAD: 'false' } },
      ]
    : []),
  ...(args.bare ? [{ name: 'bare express', describe: 'bench/bare-express.ts: parses the body, answers a fixed reply', env: {}, bare: true }] : []),
  ...(args['skip-kafka']
    ? []
    : [
        { name: 'defaults + Kafka', describe: `KAFKA_BROKERS=${args.kafka} (Kafka client in its own worker thread)`, env: { KAFKA_BROKERS: args.kafka! } },
        ...(args.breakdown
          ? [{ name: 'defaults + Kafka, client on the serving thread', describe: 'DRIFTGATE_KAFKA_THREAD=false (before the worker thread)', env: { KAFKA_BROKERS: args.kafka!, DRIFTGATE_KAFKA_THREAD: 'false' } }]
          : []),
      ]),
].filter((s) => s.name === 'monitoring off' || !args.only || args.only.split(',').some((part) => s.name.includes(part)));

interface Measurement {
  setup: string;
  run: number;
  reqPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  /** Slowest /v2/health/ready answer while the load ran, ms. */
  healthLoadMs: number;
  /** Slowest answer in the seconds after the load, ms. */
  healthDrainMs: number;
  /** Health probes that failed or were not 200. */
  healthFailures: number;
  /** Messages the monitor had not committed when the load ended (summed over topics). */
  lagAtEnd: number | undefined;
  /** CPU seconds used during the measured load: the server process, the broker, this process (the load generator), and the whole machine. */
  cpu: { server: number; broker: number; loadGenerator: number; machine: number };
}

/** Asks /v2/health/ready every `everyMs` on its own connection until stopped; keeps the slowest answer. */
function healthProbe(port: number, everyMs: number): { stop: () => Promise<{ slowestMs: number; failures: number }> } {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let slowestMs = 0;
  let failures = 0;
  let stopped = false;
  const once = (): Promise<void> =>
    new Promise((done) => {
      const started = performance.now();
      const req = request({ host: '127.0.0.1', port, path: '/v2/health/ready', agent, timeout: 5_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          slowestMs = Math.max(slowestMs, performance.now() - started);
          if (res.statusCode !== 200) failures++;
          done();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        failures++;
        slowestMs = Math.max(slowestMs, performance.now() - started);
        done();
      });
      req.end();
    });
  const loop = (async () => {
    while (!stopped) {
      await once();
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      agent.destroy();
      return { slowestMs, failures };
    },
  };
}

async function monitorLag(port: number): Promise<number | undefined> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
  const rows = [...text.matchAll(/^driftgate_monitor_consumer_lag\{[^}]*\} (\d+)/gm)];
  return rows.length ? rows.reduce((a, m) => a + Number(m[1]), 0) : undefined;
}

async function measure(setup: Setup, run: number, profileDir: string | undefined): Promise<Measurement> {
  const state = mkdtempSync(join(tmpdir(), 'dg-bench-tax-'));
  const server = await startProcess(
    setup.bare ? 'bench/bare-express.ts' : 'src/cli/main.ts',
    {
      PORT: '0',
      DRIFTGATE_GRPC_PORT: '0',
      DRIFTGATE_SPOOL_DIR: join(state, 'spool'),
      DRIFTGATE_MONITOR_STORE: join(state, 'monitor.db'),
      DRIFTGATE_RETRAIN_STORE: join(state, 'retrain.db'),
      DRIFTGATE_TOPIC_PREFIX: `benchtax${Date.now()}.`,
      DRIFTGATE_LOG_LEVEL: 'info',
      ...setup.env,
    },
    profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
  );
  try {
    const url = `http://127.0.0.1:${server.port}/v2/models/${setup.bare ? 'bare' : 'iris-onnx'}/infer`;
    const load = { url, connections, method: 'POST' as const, headers: { 'content-type': 'application/json' }, body: BODY };
    await autocannon({ ...load, duration: 3 }); // warm-up: JIT, the runtime's first calls, the bus
    const idle = { slowestMs: Number.NaN, failures: 0 };
    const probe = setup.bare ? undefined : healthProbe(server.port, 50);
    const brokerPid = kafkaBrokerPid();
    const before = { server: processCpuSeconds(server.child.pid) ?? 0, broker: processCpuSeconds(brokerPid) ?? 0, self: process.cpuUsage(), machine: machineBusySeconds() };
    const r = await autocannon({ ...load, duration });
    const self = process.cpuUsage(before.self);
    const cpu = {
      server: (processCpuSeconds(server.child.pid) ?? before.server) - before.server,
      broker: (processCpuSeconds(brokerPid) ?? before.broker) - before.broker,
      loadGenerator: (self.user + self.system) / 1e6,
      machine: machineBusySeconds() - before.machine,
    };
    const duringLoad = (await probe?.stop()) ?? idle;
    const lagAtEnd = setup.bare ? undefined : await monitorLag(server.port);
    const drainProbe = setup.bare ? undefined : healthProbe(server.port, 50);
    if (drainProbe) await new Promise((resolve) => setTimeout(resolve, drainSeconds * 1000));
    const afterLoad = (await drainProbe?.stop()) ?? idle;
    return {
      setup: setup.name,
      run,
      reqPerSec: r.requests.average,
      p50: r.latency.p50,
      p99: r.latency.p99,
      errors: r.errors + r.timeouts + r.non2xx,
      healthLoadMs: duringLoad.slowestMs,
      healthDrainMs: afterLoad.slowestMs,
      healthFailures: duringLoad.failures + afterLoad.failures,
      lagAtEnd,
      cpu,
    };
  } finally {
    await stopProcess(server.child);
    rmSync(state, { recursive: true, force: true });
  }
}

/** The `(idle)` share of a profile summary, in percent. */
function idleShare(summary: string): number {
  return Number(/^\| ([\d.]+)% \| \(idle\) \|$/m.exec(summary)?.[1] ?? 0);
}

async function main(): Promise<void> {
  const measurements: Measurement[] = [];
  const profiles = new Map<string, string[]>();
  for (let run = 1; run <= runs; run++) {
    for (const setup of SETUPS) {
      const profileDir = args.profile && run === runs ? mkdtempSync(join(tmpdir(), 'dg-prof-')) : undefined;
      const m = await measure(setup, run, profileDir);
      measurements.push(m);
      process.stderr.write(`run ${run} ${setup.name}: ${Math.round(m.reqPerSec)} req/s, p99 ${m.p99} ms, health ${m.healthLoadMs.toFixed(0)}/${m.healthDrainMs.toFixed(0)} ms\n`);
      if (profileDir) {
        const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile')).sort();
        // Only threads that worked: the example models' idle workers and tsx's loader thread are left out.
        const busy = files.map((f) => summarizeProfile(join(profileDir, f), 12)).filter((summary) => idleShare(summary) < 80);
        profiles.set(setup.name, busy);
      }
    }
  }

  const of = (name: string) => measurements.filter((m) => m.setup === name);
  const baseline = of(SETUPS[0]!.name);
  const baseRps = median(baseline.map((m) => m.reqPerSec));
  const baseP99 = median(baseline.map((m) => m.p99));
  const lines = [
    machineLine(duration),
    `Batch-1 V2 infer on iris-onnx, ${connections} connections, ${runs} runs per set-up (interleaved), medians; health = slowest /v2/health/ready answer (probed every 50 ms) during the load / in the ${drainSeconds} s after it.`,
    '',
    '| set-up | what runs | req/s (runs) | median req/s | vs off | p99 ms (median) | vs off | health during / after load, ms | errors | monitor lag at end |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...SETUPS.map((s) => {
      const ms = of(s.name);
      const rps = median(ms.map((m) => m.reqPerSec));
      const p99 = median(ms.map((m) => m.p99));
      const lag = ms.map((m) => m.lagAtEnd).filter((l): l is number => l !== undefined);
      return `| ${s.name} | ${s.describe} | ${ms.map((m) => Math.round(m.reqPerSec)).join(' / ')} | ${Math.round(rps)} | ${(rps / baseRps).toFixed(2)}x | ${p99} | ${(p99 / Math.max(baseP99, 1)).toFixed(2)}x | ${s.bare ? '-' : `${Math.round(Math.max(...ms.map((m) => m.healthLoadMs)))} / ${Math.round(Math.max(...ms.map((m) => m.healthDrainMs)))}`} | ${ms.reduce((a, m) => a + m.errors + m.healthFailures, 0)} | ${lag.length ? Math.max(...lag) : '-'} |`;
    }),
  ];
  const cpuMedian = (ms: Measurement[], part: keyof Measurement['cpu']) => median(ms.map((m) => m.cpu[part])).toFixed(1);
  lines.push(
    '',
    `Where the CPU went while the load ran (CPU seconds out of the machine's ${cpus().length * duration}, medians; "rest" is the machine's busy time outside these three: other threads of the machine, the kernel's own work):`,
    '',
    '| set-up | server process | Kafka broker | load generator | rest | machine busy | server CPU-ms per 1k requests |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...SETUPS.map((s) => {
      const ms = of(s.name);
      const rest = median(ms.map((m) => m.cpu.machine - m.cpu.server - m.cpu.broker - m.cpu.loadGenerator)).toFixed(1);
      const perK = median(ms.map((m) => (1000 * 1000 * m.cpu.server) / Math.max(1, m.reqPerSec * duration))).toFixed(0);
      return `| ${s.name} | ${cpuMedian(ms, 'server')} | ${cpuMedian(ms, 'broker')} | ${cpuMedian(ms, 'loadGenerator')} | ${rest} | ${cpuMedian(ms, 'machine')} | ${perK} |`;
    }),
  );
  for (const [name, summaries] of profiles) {
    summaries.forEach((summary, i) => {
      lines.push('', `CPU profile ${i + 1} of ${summaries.length} busy threads (${name}; main thread first), top self time:`, '', '| self | function |', '|---:|---|', summary);
    });
  }
  process.stdout.write(lines.join('\n') + '\n');
  if (args.json) writeFileSync(args.json, JSON.stringify(measurements, null, 2));
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
