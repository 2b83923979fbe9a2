// Monitor benchmark: events per second the drift monitor sustains (decode, checks, join, windows,
// statistics, policy, durable SQLite write, offset commit) on the example Iris model, with the events
// already waiting on the bus, so the figure is the monitor's own pace. Three sources: direct calls
// (no bus), the embedded bus, and Kafka. "per CPU-s" divides by the process's CPU time (user +
// system), the events one core manages; the Kafka client's own work is included in that time.
//   npm run bench:monitor -- [--predictions 50000] [--kafka 127.0.0.1:9092] [--window 500] [--runs 3] [--skipKafka]
//                            [--batches 500] (batch sizes of the direct source, e.g. 10,50,500)
//                            [--gather 50] (ms the Kafka source lets batches gather into one transaction; 0 = none)
//                            [--kafkaOnly] (skip the direct and embedded sources)
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import {
  configDefaults,
  createEventBus,
  eventTopicSpecs,
  readManifestAt,
  seededRandom,
  silentLogger,
  toLabelMessages,
  toPredictionMessages,
  topicNames,
} from '../src/core/index.js';
import type { EventBus, LabelEvent, Manifest, PredictionEvent } from '../src/core/index.js';
import { DriftMonitor, ModelCatalog, MonitorStore, parsePolicyDocument } from '../src/monitor/index.js';

const { values: args } = parseArgs({
  options: {
    predictions: { type: 'string', default: '50000' },
    kafka: { type: 'string', default: '127.0.0.1:9092' },
    window: { type: 'string', default: '500' },
    skipKafka: { type: 'boolean', default: false },
    runs: { type: 'string', default: '3' },
    /** Batch sizes of the direct source: live traffic reaches the monitor in small batches. */
    batches: { type: 'string', default: '500' },
    /** DRIFTGATE_MONITOR_GATHER_MS of the Kafka source (what `driftgate monitor` uses). */
    gather: { type: 'string', default: String(configDefaults.monitorGatherMs) },
    /** Measures the Kafka source only. */
    kafkaOnly: { type: 'boolean', default: false },
  },
});
const count = Number(args.predictions);
const manifest: Manifest = await readManifestAt('models/iris-onnx/1');
const policy = parsePolicyDocument(JSON.stringify({ default: { window: { size: Number(args.window) } } }));

/** Iris-like traffic: each feature drawn from the training sample with a little noise; labels mostly right. */
function makeEvents(n: number, tag: string): { predictions: PredictionEvent[]; labels: LabelEvent[] } {
  const random = seededRandom(42);
  const samples = manifest.features.map((f) => {
    const p = manifest.reference!.features[f.name]!;
    return p.type === 'numeric' ? p.sample : [];
  });
  const classes = manifest.labels!;
  const t0 = Date.parse('2026-03-01T00:00:00Z');
  const predictions: PredictionEvent[] = [];
  const labels: LabelEvent[] = [];
  for (let i = 0; i < n; i++) {
    const features: Record<string, number> = {};
    manifest.features.forEach((f, k) => {
      const s = samples[k]!;
      features[f.name] = s[Math.floor(random() * s.length)]! + (random() - 0.5) * 0.1;
    });
    const label = classes[Math.floor(random() * classes.length)]!;
    const predicted = random() < 0.93 ? label : classes[(classes.indexOf(label) + 1) % classes.length]!;
    const id = `${tag}-${i}`;
    predictions.push({
      schema: 1,
      id,
      model: manifest.name,
      version: manifest.version,
      ts: new Date(t0 + i * 10).toISOString(),
      features,
      output: { label: predicted, probabilities: Object.fromEntries(classes.map((c) => [c, c === predicted ? 0.9 : 0.05])) },
      latency_ms: 1,
    });
    labels.push({ schema: 1, id, model: manifest.name, label, ts: new Date(t0 + i * 10 + 5000).toISOString() });
  }
  return { predictions, labels };
}

function newMonitor(bus: EventBus, prefix: string, registry: Registry, gatherMs = 0): { monitor: DriftMonitor; store: MonitorStore; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'dg-bench-monitor-'));
  const store = new MonitorStore({ path: join(dir, 'monitor.db') });
  const catalog = new ModelCatalog({ readManifest: async () => ({ manifest }), listVersions: async () => [manifest.version] }, silentLogger);
  catalog.add(manifest);
  const monitor = new DriftMonitor({
    bus,
    topics: topicNames(prefix),
    store,
    catalog,
    policy,
    registry,
    logger: silentLogger,
    groupId: `bench-${randomUUID()}`,
    lagIntervalMs: 0,
    gatherMs,
  });
  return { monitor, store, dir };
}

interface Row {
  source: string;
  events: number;
  seconds: number;
  perSecond: number;
  perCpuSecond: number;
  windows: number;
}

async function windowsEvaluated(registry: Registry): Promise<number> {
  const m = await registry.getSingleMetric('driftgate_drift_windows_total')!.get();
  return m.values.filter((v) => v.labels['kind'] === 'data').reduce((a, v) => a + v.value, 0);
}

async function direct(batch: number): Promise<Row> {
  const { predictions, labels } = makeEvents(count, 'direct');
  const registry = new Registry();
  const bus = createEventBus({ kafkaBrokers: [], topicPrefix: 'bench.' });
  const { monitor, store, dir } = newMonitor(bus, 'bench.', registry);
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < count; i += batch) {
    await monitor.apply({ predictions: predictions.slice(i, i + batch), labels: labels.slice(Math.max(0, i - 1000), Math.max(0, i - 1000) + batch) });
  }
  await monitor.apply({ predictions: [], labels: labels.slice(Math.max(0, count - 1000)) });
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const row = { source: `direct (no bus), batches of ${batch}`, events: 2 * count, seconds, perSecond: (2 * count) / seconds, perCpuSecond: (2 * count) / ((used.user + used.system) / 1e6), windows: await windowsEvaluated(registry) };
  store.close();
  await bus.close();
  rmSync(dir, { recursive: true, force: true });
  return row;
}

async function viaBus(kind: 'embedded' | 'kafka'): Promise<Row> {
  const prefix = `bench${randomUUID().slice(0, 8)}.`;
  const config = { kafkaBrokers: kind === 'kafka' ? args.kafka!.split(',') : [], topicPrefix: prefix, embeddedRetention: 4 * count, topicPartitions: 3 };
  const bus = createEventBus(config);
  await bus.ensureTopics(eventTopicSpecs(config));
  const { predictions, labels } = makeEvents(count, kind);
  const topics = topicNames(prefix);
  for (let i = 0; i < count; i += 2000) {
    await bus.publish(topics.predictions, toPredictionMessages(predictions.slice(i, i + 2000)));
    await bus.publish(topics.labels, toLabelMessages(labels.slice(i, i + 2000)));
  }
  const registry = new Registry();
  // The embedded bus sizes its batches by how long the handler takes, which a gather's wait would
  // inflate; in driftgate the gathering monitor reaches the embedded bus from its own thread, where
  // batches are full anyway. So the embedded source does not gather; Kafka does, as `driftgate monitor`.
  const { monitor, store, dir } = newMonitor(bus, prefix, registry, kind === 'kafka' ? Number(args.gather) : 0);
  const consumed = async () => (await registry.getSingleMetric('driftgate_events_consumed_total')?.get())?.values.reduce((a, v) => a + v.value, 0) ?? 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await monitor.start();
  while ((await consumed()) < 2 * count) await new Promise((r) => setTimeout(r, 10));
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const row = {
    source: kind === 'kafka' ? `Kafka (${args.kafka})` : 'embedded bus',
    events: 2 * count,
    seconds,
    perSecond: (2 * count) / seconds,
    perCpuSecond: (2 * count) / ((used.user + used.system) / 1e6),
    windows: await windowsEvaluated(registry),
  };
  await monitor.stop();
  store.close();
  await bus.close();
  rmSync(dir, { recursive: true, force: true });
  return row;
}

/** Runs a measurement several times (the machine is shared, so single runs scatter) and keeps the median. */
async function median(measure: () => Promise<Row>): Promise<Row & { low: number; high: number }> {
  const runs: Row[] = [];
  for (let i = 0; i < Number(args.runs); i++) runs.push(await measure());
  runs.sort((a, b) => a.perCpuSecond - b.perCpuSecond);
  const mid = runs[Math.floor(runs.length / 2)]!;
  return { ...mid, low: runs[0]!.perCpuSecond, high: runs[runs.length - 1]!.perCpuSecond };
}

const rows = [];
if (!args.kafkaOnly) {
  for (const batch of args.batches!.split(',').map(Number)) rows.push(await median(() => direct(batch)));
  rows.push(await median(() => viaBus('embedded')));
}
if (!args.skipKafka) rows.push(await median(() => viaBus('kafka')));

console.log(`monitor benchmark: ${count} predictions + ${count} labels of ${manifest.name}, windows of ${args.window}; ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}, node ${process.version}`);
console.log(`median of ${args.runs} runs (by events per CPU-s; the range is the lowest and highest run)`);
console.log('| source | events | seconds | events/s | events per CPU-s | range per CPU-s | windows evaluated |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.source} | ${r.events} | ${r.seconds.toFixed(2)} | ${Math.round(r.perSecond)} | ${Math.round(r.perCpuSecond)} | ${Math.round(r.low)}-${Math.round(r.high)} | ${r.windows} |`,
  );
}
