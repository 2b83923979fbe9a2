// Producer benchmark: how many prediction events per second the EventPublisher delivers to the bus
// (real Kafka at --kafka, and the embedded bus), enqueued as fast as the gateway could hand them over.
//   npm run bench:events -- [--events 200000] [--kafka 127.0.0.1:9092]
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { DiskSpool, EventPublisher, createEventBus, eventTopicSpecs, toPredictionMessages, topicNames } from '../src/core/index.js';

const { values: args } = parseArgs({
  options: { events: { type: 'string', default: '200000' }, kafka: { type: 'string', default: '127.0.0.1:9092' }, batch: { type: 'string', default: '500' } },
});
const total = Number(args.events);

async function run(kind: 'kafka' | 'embedded'): Promise<{ kind: string; seconds: number; perSecond: number; spooled: number }> {
  const config = { kafkaBrokers: kind === 'kafka' ? args.kafka!.split(',') : [], topicPrefix: `bench-${randomUUID().slice(0, 8)}.` };
  const bus = createEventBus(config);
  await bus.ensureTopics(eventTopicSpecs(config));
  const registry = new Registry();
  const dir = mkdtempSync(join(tmpdir(), 'dg-bench-events-'));
  const spool = new DiskSpool({ dir });
  const publisher = new EventPublisher({ bus, registry, spool, maxBuffered: 50_000, maxBatchSize: Number(args.batch) });
  const topic = topicNames(config.topicPrefix).predictions;
  const published = async () => (await registry.getSingleMetric('driftgate_events_published_total')!.get()).values.reduce((a, v) => a + v.value, 0);
  const started = performance.now();
  const chunk = 64;
  for (let i = 0; i < total; i += chunk) {
    const records = Array.from({ length: Math.min(chunk, total - i) }, (_, k) => ({
      id: `e-${i + k}`,
      model: 'iris-onnx',
      version: 1,
      ts: new Date().toISOString(),
      features: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
      output: { label: 'setosa', probabilities: { setosa: 0.98, versicolor: 0.01, virginica: 0.01 } },
      latency_ms: 1.2,
    }));
    publisher.enqueue(topic, toPredictionMessages(records));
    if ((i / chunk) % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  while ((await published()) < total) await new Promise((r) => setTimeout(r, 20));
  const seconds = (performance.now() - started) / 1000;
  const spooled = spool.size;
  await publisher.close();
  await bus.close();
  rmSync(dir, { recursive: true, force: true });
  return { kind, seconds, perSecond: total / seconds, spooled };
}

const rows = [await run('embedded'), await run('kafka')];
process.stdout.write(
  [
    `Machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; ${total} prediction events (~330 bytes each).`,
    '',
    '| bus | seconds | events/s | spooled on the way |',
    '|---|---:|---:|---:|',
    ...rows.map((r) => `| ${r.kind} | ${r.seconds.toFixed(2)} | ${Math.round(r.perSecond)} | ${r.spooled} |`),
  ].join('\n') + '\n',
);
