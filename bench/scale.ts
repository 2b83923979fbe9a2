// Scale of cost (issue 13.5): how the main costs grow with the size of what they handle.
//   gateway:  req/s, rows/s and p99 of the `npm start` defaults at 1, 16 and 256 rows per request
//   monitor:  events per CPU-second at 1, 10 and 100 features per prediction
//   memory:   the monitor store's size on disk and the process's RSS after 1M events
//   training: samples per second through model.fit at 1k, 10k and 100k rows
//
//   npm run bench:scale -- [--duration 10] [--connections 64] [--events 1000000] [--only gateway,monitor,memory,training]
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Registry } from 'prom-client';
import { createEventBus, manifestSchema, profileColumn, seededRandom, silentLogger, topicNames } from '../src/core/index.js';
import type { LabelEvent, Manifest, PredictionEvent } from '../src/core/index.js';
import { initTf, tf } from '../src/core/tfjs.js';
import { DriftMonitor, ModelCatalog, MonitorStore, parsePolicyDocument } from '../src/monitor/index.js';
import { buildNetwork } from '../src/train/network.js';
import { machineLine, startProcess, stopProcess } from './harness.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    events: { type: 'string', default: '1000000' },
    only: { type: 'string', default: 'gateway,monitor,memory,training' },
  },
});
const parts = new Set(args.only!.split(','));
const duration = Number(args.duration);
const connections = Number(args.connections);
const lines: string[] = [machineLine(duration), ''];
const say = (line: string) => {
  lines.push(line);
  process.stderr.write(line + '\n');
};

// ---- gateway ------------------------------------------------------------------------------------

async function gateway(): Promise<void> {
  const rowsPerRequest = [1, 16, 256];
  const state = mkdtempSync(join(tmpdir(), 'dg-bench-scale-'));
  const server = await startProcess('src/cli/main.ts', {
    PORT: '0',
    DRIFTGATE_GRPC_PORT: '0',
    DRIFTGATE_MONITOR_PORT: '0',
    DRIFTGATE_SPOOL_DIR: join(state, 'spool'),
    DRIFTGATE_MONITOR_STORE: join(state, 'monitor.db'),
    DRIFTGATE_RETRAIN_STORE: join(state, 'retrain.db'),
    DRIFTGATE_TOPIC_PREFIX: `benchscale${Date.now()}.`,
    DRIFTGATE_MODELS: 'iris-onnx',
    DRIFTGATE_LOG_LEVEL: 'info', // the harness reads the port from the start-up lines
    // Room for every connection's request at once, so the table measures the work, not the queue bound.
    DRIFTGATE_MAX_QUEUE_SIZE: String(2 * connections * Math.max(...rowsPerRequest)),
  });
  try {
    say(`Gateway: \`npm start\` defaults (monitor thread, retrain loop, every row published), V2 infer on iris-onnx, ${connections} connections, 3 s warm-up, ${duration} s.`);
    say('');
    say('| rows per request | req/s | rows/s | p50 ms | p99 ms | errors |');
    say('|---:|---:|---:|---:|---:|---:|');
    const random = seededRandom(3);
    for (const rows of rowsPerRequest) {
      const data = Array.from({ length: rows * 4 }, () => Math.round((random() * 6 + 1) * 10) / 10);
      const body = JSON.stringify({ inputs: [{ name: 'features', shape: [rows, 4], datatype: 'FP32', data }] });
      const load = { url: `http://127.0.0.1:${server.port}/v2/models/iris-onnx/infer`, connections, method: 'POST' as const, headers: { 'content-type': 'application/json' }, body };
      await autocannon({ ...load, duration: 3 });
      const r = await autocannon({ ...load, duration });
      say(`| ${rows} | ${Math.round(r.requests.average)} | ${Math.round(r.requests.average * rows)} | ${r.latency.p50} | ${r.latency.p99} | ${r.errors + r.timeouts + r.non2xx} |`);
    }
    say('');
  } finally {
    await stopProcess(server.child);
    rmSync(state, { recursive: true, force: true });
  }
}

// ---- monitor --------------------------------------------------------------------------------------

/** A classifier over `width` numeric features, with a reference profile drawn from the same generator as the traffic. */
function manifestWith(width: number): Manifest {
  const random = seededRandom(width);
  const names = Array.from({ length: width }, (_, i) => `f${i}`);
  const reference = Object.fromEntries(names.map((n) => [n, profileColumn(Array.from({ length: 1000 }, () => random() * 2 - 1), 'numeric', { seed: 7 })]));
  const classes = ['a', 'b', 'c'];
  return manifestSchema.parse({
    name: `scale-${width}`,
    version: 1,
    format: 'onnx',
    task: 'classification',
    features: names.map((name) => ({ name, type: 'numeric' })),
    input: 'input',
    output: 'probabilities',
    labels: classes,
    metrics: { validation: { accuracy: 0.9 } },
    reference: {
      rows: 1000,
      features: reference,
      prediction: profileColumn(Array.from({ length: 1000 }, (_, i) => classes[i % 3]!), 'categorical'),
      label: profileColumn(Array.from({ length: 1000 }, (_, i) => classes[i % 3]!), 'categorical'),
    },
  });
}

interface Fed {
  events: number;
  cpuSeconds: number;
  seconds: number;
  storeBytes: number;
  rssBytes: number;
}

/** Applies `predictions` predictions and as many labels (a label 1000 predictions behind) to a fresh monitor, in batches of 2000 events. */
async function feedMonitor(manifest: Manifest, predictions: number): Promise<Fed> {
  const dir = mkdtempSync(join(tmpdir(), 'dg-bench-scale-monitor-'));
  const store = new MonitorStore({ path: join(dir, 'monitor.db') });
  const catalog = new ModelCatalog({ readManifest: async () => ({ manifest }), listVersions: async () => [1] }, silentLogger);
  catalog.add(manifest);
  const bus = createEventBus({ kafkaBrokers: [], topicPrefix: 'scale.' });
  const policy = parsePolicyDocument(JSON.stringify({ default: { window: { size: 500 } } }));
  const monitor = new DriftMonitor({ bus, topics: topicNames('scale.'), store, catalog, policy, registry: new Registry(), logger: silentLogger, groupId: `scale-${randomUUID()}`, lagIntervalMs: 0 });
  const random = seededRandom(11);
  const names = manifest.features.map((f) => f.name);
  const classes = ['a', 'b', 'c'];
  const t0 = Date.parse('2026-03-01T00:00:00Z');
  const make = (i: number): { p: PredictionEvent; l: LabelEvent } => {
    const id = `s-${i}`;
    const label = classes[i % 3]!;
    const features = Object.fromEntries(names.map((n) => [n, random() * 2 - 1]));
    return {
      p: { schema: 1, id, model: manifest.name, version: 1, ts: new Date(t0 + i * 10).toISOString(), features, output: { label, probabilities: { a: 0.4, b: 0.3, c: 0.3 } }, latency_ms: 1 },
      l: { schema: 1, id, model: manifest.name, label, ts: new Date(t0 + i * 10 + 5000).toISOString() },
    };
  };
  const batch = 1000;
  const labelsBehind = 1000;
  const pending: LabelEvent[] = [];
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < predictions; i += batch) {
    const ps: PredictionEvent[] = [];
    for (let k = i; k < Math.min(predictions, i + batch); k++) {
      const { p, l } = make(k);
      ps.push(p);
      pending.push(l);
    }
    const ls = pending.length > labelsBehind ? pending.splice(0, pending.length - labelsBehind) : [];
    await monitor.apply({ predictions: ps, labels: ls });
  }
  await monitor.apply({ predictions: [], labels: pending.splice(0) });
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const storeBytes = ['monitor.db', 'monitor.db-wal'].reduce((sum, f) => {
    try {
      return sum + statSync(join(dir, f)).size;
    } catch {
      return sum;
    }
  }, 0);
  const rssBytes = process.memoryUsage().rss;
  store.close();
  await bus.close();
  rmSync(dir, { recursive: true, force: true });
  return { events: 2 * predictions, cpuSeconds: (used.user + used.system) / 1e6, seconds, storeBytes, rssBytes };
}

async function monitorWidths(): Promise<void> {
  say('Monitor: predictions with their labels (1000 behind) applied directly in transactions of 1000 predictions, windows of 500; 20,000 predictions + 20,000 labels per row.');
  say('');
  say('| features | events per CPU-s | events/s | CPU per event |');
  say('|---:|---:|---:|---:|');
  for (const width of [1, 10, 100]) {
    const fed = await feedMonitor(manifestWith(width), 20_000);
    say(`| ${width} | ${Math.round(fed.events / fed.cpuSeconds)} | ${Math.round(fed.events / fed.seconds)} | ${Math.round((1e6 * fed.cpuSeconds) / fed.events)} µs |`);
  }
  say('');
}

async function memory(): Promise<void> {
  const total = Number(args.events);
  const rssBefore = process.memoryUsage().rss;
  const fed = await feedMonitor(manifestWith(4), total / 2);
  say(`Memory: ${total.toLocaleString('en')} events (half predictions, half their labels; 4 features) through one monitor, as above.`);
  say('');
  say('| events | seconds | events per CPU-s | store on disk (db + WAL) | RSS before | RSS after |');
  say('|---:|---:|---:|---:|---:|---:|');
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  say(`| ${fed.events.toLocaleString('en')} | ${fed.seconds.toFixed(1)} | ${Math.round(fed.events / fed.cpuSeconds)} | ${mib(fed.storeBytes)} | ${mib(rssBefore)} | ${mib(fed.rssBytes)} |`);
  say('');
}

// ---- training -------------------------------------------------------------------------------------

async function training(): Promise<void> {
  await initTf('wasm');
  say(`Training: the Iris-sized MLP 4-16-3 (softmax, Adam), model.fit on the ${tf.getBackend()} backend, batch 32, one warm-up epoch, then the best of 2 timed epochs.`);
  say('');
  say('| rows | samples/s | seconds per epoch |');
  say('|---:|---:|---:|');
  for (const rows of [1_000, 10_000, 100_000]) {
    const random = seededRandom(1);
    const x = tf.tensor2d(Float32Array.from({ length: rows * 4 }, () => random() * 2 - 1), [rows, 4]);
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from({ length: rows }, () => Math.floor(random() * 3)), 'int32'), 3).toFloat());
    const model = buildNetwork({ inputWidth: 4, hidden: [{ units: 16 }], output: { units: 3, activation: 'softmax' }, seed: 7 });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    await model.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0 });
    let best = Number.POSITIVE_INFINITY;
    for (let r = 0; r < 2; r++) {
      const started = performance.now();
      await model.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0 });
      best = Math.min(best, (performance.now() - started) / 1000);
    }
    say(`| ${rows.toLocaleString('en')} | ${Math.round(rows / best)} | ${best.toFixed(2)} |`);
    model.dispose();
    tf.dispose([x, y]);
  }
  say('');
}

if (parts.has('gateway')) await gateway();
if (parts.has('monitor')) await monitorWidths();
if (parts.has('memory')) await memory();
if (parts.has('training')) await training();
process.stdout.write(lines.join('\n') + '\n');
