// Serving benchmark: drives the gateway with autocannon (batch-1 V2 infer requests) at several
// concurrencies, for the example ONNX and tfjs classifiers, with dynamic batching on and off, next to
// a bare Express 5 server that parses the same body and answers a fixed reply. Also measures the raw
// in-process runtime call rate. Prints a markdown table; --json writes the raw figures.
//
// Then compares the protocols (bench/protocols.ts): JSON vs binary HTTP vs gRPC at batch 1 and 256.
//
//   npm run bench:serve -- [--duration 10] [--connections 1,16,64] [--profile] [--json out.json]
//                          [--only serving|protocols] [--protocol-batches 1,256] [--protocol-connections 64]
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { inputWidth, readManifestAt } from '../src/core/index.js';
import { openRuntime } from '../src/serve/index.js';
import { freePort, machineLine, root, startProcess, stopProcess, summarizeProfile } from './harness.js';
import { benchProtocols, protocolTable } from './protocols.js';
import type { ProtocolRow } from './protocols.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '1,16,64' },
    models: { type: 'string', default: 'iris-onnx,iris-tfjs' },
    /**
     * Gateway set-ups to compare: batching (on/off) / inference thread (worker/inline) / prediction
     * publishing (off: sampling 0, embedded: in-process bus, kafka: KAFKA_BROKERS, e.g. 127.0.0.1:9092).
     */
    setups: { type: 'string', default: 'on/worker/off,off/worker/off,on/inline/off,off/inline/off' },
    kafka: { type: 'string', default: '127.0.0.1:9092' },
    profile: { type: 'boolean', default: false },
    json: { type: 'string' },
    only: { type: 'string' },
    'protocol-batches': { type: 'string', default: '1,256' },
    'protocol-connections': { type: 'string', default: '64' },
  },
});
const duration = Number(args.duration);
const connections = args.connections!.split(',').map(Number);
const models = args.models!.split(',');

const IRIS_BODY = JSON.stringify({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.9, 3.0, 5.1, 1.8] }] });

interface Row {
  target: string;
  batching: string;
  thread: string;
  events: string;
  connections: number;
  reqPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function drive(target: string, batching: string, thread: string, events: string, url: string, c: number): Promise<Row> {
  // A short warm-up so JIT and the runtime's first calls do not count.
  await autocannon({ url, connections: c, duration: 2, method: 'POST', headers: { 'content-type': 'application/json' }, body: IRIS_BODY });
  const r = await autocannon({ url, connections: c, duration, method: 'POST', headers: { 'content-type': 'application/json' }, body: IRIS_BODY });
  return { target, batching, thread, events, connections: c, reqPerSec: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx };
}

async function runtimeRate(model: string, seconds: number): Promise<number> {
  const dir = join(root, 'models', model, '1');
  const manifest = await readManifestAt(dir);
  const runtime = await openRuntime(dir, manifest, {
    thread: 'inline',
    onnx: { intraOpThreads: 1, interOpThreads: 1, graphOptimization: 'all' },
    tfjsBackend: 'auto',
  });
  const input = new Float32Array(inputWidth(manifest.features)).fill(0.5);
  for (let i = 0; i < 200; i++) await runtime.run(input, 1);
  let calls = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) await runtime.run(input, 1);
    calls += 100;
  }
  await runtime.dispose();
  return calls / seconds;
}

async function protocolSection(): Promise<{ lines: string[]; rows: ProtocolRow[] }> {
  const grpcPort = await freePort();
  const gw = await startProcess('src/cli/main.ts', {
    PORT: '0',
    DRIFTGATE_GRPC_PORT: String(grpcPort),
    DRIFTGATE_PAYLOAD_SAMPLING: '0',
    DRIFTGATE_MONITOR: 'off',
    DRIFTGATE_RETRAIN: 'off',
    DRIFTGATE_SPOOL_DIR: mkdtempSync(join(tmpdir(), 'dg-bench-spool-')),
    DRIFTGATE_MODELS: 'iris-onnx',
    DRIFTGATE_POLL_INTERVAL_MS: '0',
    DRIFTGATE_LOG_LEVEL: 'info',
    // Room for every connection's largest request at once, so the table measures the protocols, not
    // the queue bound's 503s (the default 2048 rows refuses most of 64 x 256 rows).
    DRIFTGATE_MAX_QUEUE_SIZE: String(2 * Number(args['protocol-connections']) * Math.max(...args['protocol-batches']!.split(',').map(Number))),
  });
  try {
    const { rows, note } = await benchProtocols({
      root,
      httpPort: gw.port,
      grpcPort,
      batches: args['protocol-batches']!.split(',').map(Number),
      connections: Number(args['protocol-connections']),
      duration,
    });
    return { rows, lines: ['', `Protocols on iris-onnx (batching on, model worker thread, no event publishing, no monitor). ${note}`, '', ...protocolTable(rows)] };
  } finally {
    await stopProcess(gw.child);
  }
}

async function main(): Promise<void> {
  if (args.only === 'protocols') {
    const { lines, rows } = await protocolSection();
    process.stdout.write([machineLine(duration), ...lines].join('\n') + '\n');
    if (args.json) writeFileSync(args.json, JSON.stringify({ protocols: rows }, null, 2));
    return;
  }
  const rows: Row[] = [];
  const bare = await startProcess('bench/bare-express.ts', { PORT: '0' });
  for (const c of connections) rows.push(await drive('bare express', '-', '-', '-', `http://127.0.0.1:${bare.port}/v2/models/bare/infer`, c));
  await stopProcess(bare.child);

  const profiles: string[] = [];
  const setups = args.setups!.split(',').map((s) => s.split('/') as [string, string, string?]);
  const eventRates: string[] = [];
  for (const [index, [batching, thread, events = 'off']] of setups.entries()) {
    const profile = args.profile && index === 0;
    const profDir = mkdtempSync(join(tmpdir(), 'dg-prof-'));
    const gw = await startProcess(
      'src/cli/main.ts',
      {
        PORT: '0',
        DRIFTGATE_BATCHING: batching === 'on' ? 'true' : 'false',
        DRIFTGATE_INFERENCE_THREAD: thread,
        DRIFTGATE_PAYLOAD_SAMPLING: events === 'off' ? '0' : '1',
        DRIFTGATE_SPOOL_DIR: mkdtempSync(join(tmpdir(), 'dg-bench-spool-')),
        DRIFTGATE_TOPIC_PREFIX: `bench${Date.now()}.`,
        KAFKA_BROKERS: events === 'kafka' ? args.kafka! : '',
        DRIFTGATE_MODELS: models.join(','),
        DRIFTGATE_POLL_INTERVAL_MS: '0',
        DRIFTGATE_LOG_LEVEL: 'info',
      },
      profile ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [],
    );
    for (const model of models) {
      for (const c of connections) rows.push(await drive(model, batching, thread, events, `http://127.0.0.1:${gw.port}/v2/models/${model}/infer`, c));
    }
    if (events !== 'off') {
      // Events the publisher handed to the bus over the whole run of this set-up.
      const text = await fetch(`http://127.0.0.1:${gw.port}/metrics`).then((r) => r.text());
      const published = [...text.matchAll(/^driftgate_events_published_total\{[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
      const spooled = Number(/^driftgate_events_spooled (\d+)/m.exec(text)?.[1] ?? 0);
      const requests = rows.filter((r) => r.events === events && r.batching === batching && r.thread === thread).reduce((a, r) => a + r.reqPerSec * duration, 0);
      eventRates.push(`| ${batching}/${thread}/${events} | ${published} | ${Math.round(requests)} | ${spooled} |`);
    }
    await stopProcess(gw.child);
    if (profile) {
      const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
      if (file) profiles.push(summarizeProfile(join(profDir, file)));
    }
  }

  const rates: Record<string, number> = {};
  for (const model of models) rates[model] = await runtimeRate(model, 3);

  const bareAt = new Map(rows.filter((r) => r.target === 'bare express').map((r) => [r.connections, r]));
  const lines = [
    machineLine(duration),
    '',
    '| target | batching | thread | events | connections | req/s | p50 ms | p99 ms | vs bare req/s | vs bare p99 | errors | non-2xx |',
    '|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => {
      const b = bareAt.get(r.connections)!;
      return `| ${r.target} | ${r.batching} | ${r.thread} | ${r.events} | ${r.connections} | ${Math.round(r.reqPerSec)} | ${r.p50} | ${r.p99} | ${((100 * r.reqPerSec) / b.reqPerSec).toFixed(0)}% | ${(r.p99 / Math.max(b.p99, 1)).toFixed(2)}x | ${r.errors} | ${r.non2xx} |`;
    }),
    '',
    '| model | raw runtime calls/s (batch 1, in-process) |',
    '|---|---:|',
    ...Object.entries(rates).map(([m, v]) => `| ${m} | ${Math.round(v)} |`),
  ];
  if (eventRates.length) {
    lines.push('', '| set-up | events published | requests answered (measured runs) | left in spool |', '|---|---:|---:|---:|', ...eventRates);
  }
  const protocols = args.only === 'serving' ? undefined : await protocolSection();
  if (protocols) lines.push(...protocols.lines);
  if (profiles.length) lines.push('', `CPU profile of the gateway's main thread (${args.setups!.split(',')[0]}, whole run), top self time:`, '', '| self | function |', '|---:|---|', profiles[0]!);
  process.stdout.write(lines.join('\n') + '\n');
  if (args.json) writeFileSync(args.json, JSON.stringify({ rows, rates, protocols: protocols?.rows }, null, 2));
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
