// Retrain-loop benchmark: how long from a concept change to a new version answering, and where the
// time goes. Iris traffic at a steady rate (one client, a batch of rows, its labels right after),
// first on the concept the model learnt, then labelled by a new rule on petal length. The monitor sees
// live accuracy drop and publishes retrain.requested, the retrainer fine-tunes the champion, the gate
// passes it, the pointer moves and the gateway swaps. Two set-ups: everything in this process on the
// embedded bus (`startDriftgate`, as `npm start`), and a gateway, a monitor and a retrainer as three
// processes on a private Kafka broker (started once; each run has its own topics, repository and stores).
//
// The split of onset → served, which adds up exactly:
//   detect   onset (first request of the new concept) → the job's trigger.requestedAt (the retrainer
//            received the monitor's retrain.requested)
//   wait     the job's open time outside its phases (waiting for labels, scheduling, bookkeeping)
//   data, train, gate, swap   the job's `phases` as the retrainer recorded them (swap = pointer move)
//   gateway  the job's promotion (its record's updatedAt) → the first response from the new version,
//            client side (so within one request interval of the real swap)
// The bench also reads the model-events topic itself and prints when it saw retrain.requested, as a
// check of `detect`.
//   npm run bench:loop -- [--runs 3] [--rate 10] [--batch 20] [--pre 10] [--after 30] [--limit 180]
//                         [--models iris-onnx,iris-tfjs] [--kafkaModels iris-onnx] [--skipKafka] [--skipEmbedded]
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { consumeEvents, createEventBus, createLogger, loadConfig, topicNames } from '../src/core/index.js';
import type { EventBus, ModelEvent, Subscription } from '../src/core/index.js';
import { startDriftgate } from '../src/cli/stack.js';
import { tempRepo } from '../tests/helpers/gateway.js';
import { startKafkaLoop, loopConfigOverrides } from '../tests/helpers/loop-stack.js';
import { LOOP_POLICY, LOOP_TOKEN, LabelingClient, irisTraffic } from '../tests/helpers/loop-traffic.js';
import type { Concept, Sample } from '../tests/helpers/loop-traffic.js';
import { PrivateBroker } from '../tests/helpers/private-broker.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    rate: { type: 'string', default: '10' },
    batch: { type: 'string', default: '20' },
    pre: { type: 'string', default: '10' },
    after: { type: 'string', default: '30' },
    limit: { type: 'string', default: '180' },
    models: { type: 'string', default: 'iris-onnx,iris-tfjs' },
    kafkaModels: { type: 'string', default: 'iris-onnx' },
    skipKafka: { type: 'boolean', default: false },
    skipEmbedded: { type: 'boolean', default: false },
  },
});
const RUNS = Number(args.runs);
const RATE = Number(args.rate); // requests per second (each followed by its labels)
const BATCH = Number(args.batch); // rows per request
const PRE_S = Number(args.pre); // seconds of the old concept before the change
const AFTER_ROUNDS = Number(args.after); // requests on the new version to measure accuracy after
const LIMIT_S = Number(args.limit); // longest wait for a new version per run
const TARGET_S = 60;
const TARGET_RATIO = 0.95;

const TOKEN = LOOP_TOKEN;
const POLICY = LOOP_POLICY;

interface Run {
  setup: string;
  model: string;
  run: number;
  load1: number;
  detect: number;
  wait: number;
  data: number;
  train: number;
  gate: number;
  swap: number;
  gateway: number;
  total: number;
  before: number;
  during: number;
  after: number;
  ratio: number;
  /** s from onset to the bench's own consumer seeing retrain.requested (a check of `detect`). */
  busDetect: number;
  /** The gateway's swap in parts: promotion → switched (event delivery, load, warm-up), of it the load, switched → first response. */
  toSwitch: number;
  load: number;
  toResponse: number;
  /** Times the job found too few labels of the new concept and waited. */
  labelWaits: number;
  /** Rows the job trained on and held out for the gate. */
  trainRows: number;
  holdoutRows: number;
  rowsDuring: number;
  failed: number;
  version: string;
}

/** Log lines of interest from the gateway and the retrainer (JSON lines at info level). */
interface LogLine {
  time: number;
  msg: string;
  fields: Record<string, unknown>;
}
const LOG_LINES = new Set(['retrain job waits for labels', 'model version loaded', 'serving version switched']);

/** Keeps the interesting lines of a JSON-lines log. */
function keepLine(line: string, into: LogLine[]): void {
  if (!line.startsWith('{')) return;
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    if (typeof entry['msg'] === 'string' && LOG_LINES.has(entry['msg'])) into.push({ time: Date.parse(String(entry['time'])), msg: entry['msg'], fields: entry });
  } catch {
    // a partial line: not one of ours
  }
}

interface Stack {
  url: string;
  /** The run's topic prefix. */
  prefix: string;
  bus: EventBus;
  logs: LogLine[];
  /** Closes what the set-up started (not the broker). */
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends rounds (one predict of BATCH rows, then its labels) at RATE per second: round k starts at
 * start + k/RATE, or at once when the previous one ran late; rounds never overlap.
 */
class Driver {
  private readonly client: LabelingClient;
  private readonly next: (n: number, c: Concept) => Sample[];
  private readonly interval = 1000 / RATE;
  private due = performance.now();

  constructor(
    url: string,
    private readonly model: string,
    seed: number,
  ) {
    this.client = new LabelingClient(url);
    this.next = irisTraffic(seed);
  }

  get failed(): number {
    return this.client.failed;
  }

  private async round(concept: Concept): Promise<{ correct: number; version: string; sentAt: number; doneAt: number }> {
    const wait = this.due - performance.now();
    if (wait > 0) await sleep(wait);
    this.due = Math.max(this.due + this.interval, performance.now());
    const sentAt = Date.now();
    const r = await this.client.round(this.model, this.next(BATCH, concept));
    return { ...r, sentAt, doneAt: Date.now() };
  }

  /** Rounds of `concept` for `seconds`; accuracy over them. */
  async forSeconds(concept: Concept, seconds: number): Promise<{ accuracy: number; versions: Set<string> }> {
    const end = Date.now() + seconds * 1000;
    let right = 0;
    let rows = 0;
    const versions = new Set<string>();
    while (Date.now() < end) {
      const r = await this.round(concept);
      right += r.correct;
      rows += BATCH;
      if (r.version) versions.add(r.version);
    }
    return { accuracy: right / rows, versions };
  }

  /** Rounds of `concept` until a version other than `from` answers; that round is not counted. */
  async untilNewVersion(concept: Concept, from: string): Promise<{ onset: number; served: number; version: string; accuracy: number; rows: number }> {
    const started = Date.now();
    let onset: number | undefined;
    let right = 0;
    let rows = 0;
    for (;;) {
      if (Date.now() - started > LIMIT_S * 1000) throw new Error(`no version other than ${from} within ${LIMIT_S} s`);
      const r = await this.round(concept);
      onset ??= r.sentAt;
      if (r.version && r.version !== from) return { onset, served: r.doneAt, version: r.version, accuracy: right / Math.max(1, rows), rows };
      right += r.correct;
      rows += BATCH;
    }
  }

  /** `rounds` rounds of `concept`; accuracy and the versions that answered. */
  async rounds(concept: Concept, rounds: number): Promise<{ accuracy: number; versions: Set<string> }> {
    let right = 0;
    const versions = new Set<string>();
    for (let i = 0; i < rounds; i++) {
      const r = await this.round(concept);
      right += r.correct;
      if (r.version) versions.add(r.version);
    }
    return { accuracy: right / (rounds * BATCH), versions };
  }
}

/** Follows the model-events topic from the start; remembers when each event type was first seen. */
async function watchModelEvents(bus: EventBus, prefix: string, model: string): Promise<{ seen: Map<string, number>; sub: Subscription }> {
  const seen = new Map<string, number>();
  const sub = await consumeEvents({
    bus,
    groupId: `bench-loop-${randomUUID()}`,
    topics: topicNames(prefix),
    fromBeginning: true,
    handlers: {
      modelEvents: async (events: ModelEvent[]) => {
        const now = Date.now();
        for (const e of events) if (e.model === model && !seen.has(e.type)) seen.set(e.type, now);
      },
    },
  });
  return { seen, sub };
}

async function embeddedStack(model: string): Promise<Stack> {
  const repo = tempRepo([model]);
  const dir = mkdtempSync(join(tmpdir(), 'dg-bench-loop-'));
  const prefix = `bench${randomUUID().slice(0, 8)}.`;
  const config = loadConfig({}, { ...loopConfigOverrides(repo, dir, POLICY), topicPrefix: prefix });
  const logs: LogLine[] = [];
  const dg = await startDriftgate(config, createLogger('info', {}, (line) => keepLine(line, logs)), { monitorPort: null });
  return {
    url: `http://127.0.0.1:${dg.port}`,
    prefix,
    logs,
    bus: dg.bus,
    close: async () => {
      await dg.close();
      rmSync(repo, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function kafkaStack(model: string, brokers: string[]): Promise<Stack> {
  const logs: LogLine[] = [];
  // info level: the bench reads the model loads, swaps and label waits from the logs
  const loop = await startKafkaLoop({ brokers, models: [model], policy: POLICY, logLevel: 'info', onLine: (line) => keepLine(line, logs) });
  const bus = createEventBus({ kafkaBrokers: brokers, topicPrefix: loop.prefix });
  return {
    url: loop.gatewayUrl,
    prefix: loop.prefix,
    bus,
    logs,
    close: async () => {
      await bus.close();
      await loop.close();
    },
  };
}

interface JobRecord {
  id: string;
  state: string;
  challenger?: number;
  updatedAt: string;
  trigger: { requestedAt: string; reason: string };
  phases: Partial<Record<'data' | 'train' | 'gate' | 'swap', number>>;
  data?: { train: number; holdout: number };
}

async function promotedJob(url: string, model: string, version: string): Promise<JobRecord> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await fetch(`${url}/admin/models/${model}/retrains`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = (await res.json()) as { jobs?: JobRecord[] };
    const job = body.jobs?.find((j) => j.state === 'promoted' && String(j.challenger) === version);
    if (job) return job;
    if (Date.now() > deadline) throw new Error(`no promoted job for version ${version}: ${JSON.stringify(body).slice(0, 500)}`);
    await sleep(100);
  }
}

async function measure(setup: string, model: string, run: number, stack: Stack): Promise<Run> {
  const load1 = loadavg()[0]!;
  const { seen, sub } = await watchModelEvents(stack.bus, stack.prefix, model);
  try {
    const driver = new Driver(stack.url, model, 100 + run);
    const before = await driver.forSeconds('species', PRE_S);
    if (before.versions.size !== 1 || !before.versions.has('1')) throw new Error(`pre-drift versions ${[...before.versions].join(',')}`);
    const during = await driver.untilNewVersion('petal-length', '1');
    const after = await driver.rounds('petal-length', AFTER_ROUNDS);
    const job = await promotedJob(stack.url, model, during.version);
    const requested = Date.parse(job.trigger.requestedAt);
    const promoted = Date.parse(job.updatedAt);
    const p = { data: job.phases.data ?? 0, train: job.phases.train ?? 0, gate: job.phases.gate ?? 0, swap: job.phases.swap ?? 0 };
    const busSeen = seen.get('retrain.requested');
    const switched = stack.logs.find((l) => l.msg === 'serving version switched' && String(l.fields['to']) === during.version);
    const loaded = stack.logs.find((l) => l.msg === 'model version loaded' && String(l.fields['version']) === during.version);
    const labelWaits = stack.logs.filter((l) => l.msg === 'retrain job waits for labels' && l.time >= requested).length;
    return {
      setup,
      model,
      run,
      load1,
      detect: (requested - during.onset) / 1000,
      wait: (promoted - requested - p.data - p.train - p.gate - p.swap) / 1000,
      data: p.data / 1000,
      train: p.train / 1000,
      gate: p.gate / 1000,
      swap: p.swap / 1000,
      gateway: (during.served - promoted) / 1000,
      total: (during.served - during.onset) / 1000,
      before: before.accuracy,
      during: during.accuracy,
      after: after.accuracy,
      ratio: after.accuracy / before.accuracy,
      busDetect: busSeen === undefined ? NaN : (busSeen - during.onset) / 1000,
      toSwitch: switched ? (switched.time - promoted) / 1000 : NaN,
      load: loaded ? Number(loaded.fields['ms']) / 1000 : NaN,
      toResponse: switched ? (during.served - switched.time) / 1000 : NaN,
      labelWaits,
      trainRows: job.data?.train ?? NaN,
      holdoutRows: job.data?.holdout ?? NaN,
      rowsDuring: during.rows,
      failed: driver.failed,
      version: [...after.versions].join(','),
    };
  } finally {
    await sub.stop();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const COLUMNS = ['detect', 'wait', 'data', 'train', 'gate', 'swap', 'gateway', 'total'] as const;

function table(rows: Run[]): void {
  const s = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-');
  const a = (x: number) => x.toFixed(3);
  const verdict = (total: number, ratio: number) => `${total < TARGET_S ? 'met' : '**missed**'} / ${ratio >= TARGET_RATIO ? 'met' : '**missed**'}`;
  console.log(`\n${rows[0]!.setup}, ${rows[0]!.model}`);
  console.log('| run | load 1m | detection s | wait s | data s | train s | gate s | swap s | gateway swap s | onset → served s | acc before | during | after | after/before | < 60 s / ≥ 95% |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const r of rows) {
    console.log(
      `| ${r.run} | ${r.load1.toFixed(2)} | ${COLUMNS.map((c) => s(r[c])).join(' | ')} | ${a(r.before)} | ${a(r.during)} | ${a(r.after)} | ${(100 * r.ratio).toFixed(1)}% | ${verdict(r.total, r.ratio)} |`,
    );
  }
  const m = (k: keyof Run) => median(rows.map((r) => r[k] as number));
  console.log(
    `| **median** | ${m('load1').toFixed(2)} | ${COLUMNS.map((c) => s(m(c))).join(' | ')} | ${a(m('before'))} | ${a(m('during'))} | ${a(m('after'))} | ${(100 * m('ratio')).toFixed(1)}% | ${verdict(m('total'), m('ratio'))} |`,
  );
  for (const r of rows) {
    console.log(
      `  run ${r.run}: bench consumer saw retrain.requested ${s(r.busDetect)} s after onset; job waited for labels ${r.labelWaits}x, trained on ${r.trainRows} rows, gated on ${r.holdoutRows}; gateway swap = ${s(r.toSwitch)} s promotion → switched (load + warm-up ${s(r.load)} s) + ${s(r.toResponse)} s to the first response; ${r.rowsDuring} rows of the new concept before the swap; versions after: ${r.version}; failed requests: ${r.failed}`,
    );
  }
}

const loadStart = loadavg();
const startedAt = new Date();
const results: Run[][] = [];
console.log(`retrain-loop benchmark, ${startedAt.toISOString()}; ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`);
console.log(`traffic: ${RATE} requests/s of ${BATCH} rows (labels right after each), ${PRE_S} s before the change, then 'petal-length' until a new version answers (at most ${LIMIT_S} s), then ${AFTER_ROUNDS} requests; ${RUNS} runs per set-up`);
console.log(`load average at start: ${loadStart.map((x) => x.toFixed(2)).join(' ')}`);

if (!args.skipEmbedded) {
  for (const model of args.models!.split(',').filter(Boolean)) {
    const rows: Run[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const stack = await embeddedStack(model);
      try {
        rows.push(await measure('embedded (one process, embedded bus)', model, run, stack));
      } finally {
        await stack.close();
      }
      console.error(`embedded ${model} run ${run}: ${rows.at(-1)!.total.toFixed(1)} s`);
    }
    results.push(rows);
  }
}

if (!args.skipKafka) {
  const broker = await PrivateBroker.create();
  try {
    await broker.run('start');
    for (const model of args.kafkaModels!.split(',').filter(Boolean)) {
      const rows: Run[] = [];
      for (let run = 1; run <= RUNS; run++) {
        const stack = await kafkaStack(model, broker.brokers);
        try {
          rows.push(await measure('Kafka (gateway, monitor, retrainer processes)', model, run, stack));
        } finally {
          await stack.close();
        }
        console.error(`kafka ${model} run ${run}: ${rows.at(-1)!.total.toFixed(1)} s`);
      }
      results.push(rows);
    }
  } finally {
    await broker.destroy();
  }
}

for (const rows of results) table(rows);
const loadEnd = loadavg();
console.log(`\nload average at start ${loadStart.map((x) => x.toFixed(2)).join(' ')}, at end ${loadEnd.map((x) => x.toFixed(2)).join(' ')}; ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s in all`);
console.log('columns are medians of each column, so they need not add up; per run, detection + wait + data + train + gate + swap + gateway swap = onset → served');
