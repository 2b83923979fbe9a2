// Training benchmark: how fast the example-sized MLPs train on each tfjs backend (samples per second
// through fit: forward, backward and the optimizer step), and how long a 20-trial hyperparameter
// search takes on 10k synthetic rows. Prints markdown tables; --json writes the raw figures.
//
//   npm run bench:train -- [--rows 10000] [--epochs 3] [--trials 20] [--backends cpu,wasm,node] [--json out.json]
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { seededRandom } from '../src/core/index.js';
import { initTf, tf } from '../src/core/tfjs.js';
import type { TfBackendPreference } from '../src/core/tfjs.js';
import { buildNetwork } from '../src/train/network.js';
import type { NetworkSpecInput } from '../src/train/network.js';
import { trainModel } from '../src/train/trainer.js';
import type { RawTable } from '../src/train/index.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000' },
    epochs: { type: 'string', default: '3' },
    trials: { type: 'string', default: '20' },
    backends: { type: 'string', default: 'cpu,wasm,node' },
    json: { type: 'string' },
  },
});
const ROWS = Number(args.rows);
const EPOCHS = Number(args.epochs);
const TRIALS = Number(args.trials);
const BACKENDS = args.backends!.split(',') as Exclude<TfBackendPreference, 'auto'>[];

/** The two example models' shapes (models/README.md): Iris 4-16-3 and delivery 6-32-16-1. */
const MODELS: { name: string; spec: Omit<NetworkSpecInput, 'seed'>; loss: string }[] = [
  { name: 'iris MLP 4-16-3', spec: { inputWidth: 4, hidden: [{ units: 16 }], output: { units: 3, activation: 'softmax' } }, loss: 'categoricalCrossentropy' },
  {
    name: 'delivery MLP 6-32-16-1',
    spec: { inputWidth: 6, hidden: [{ units: 32 }, { units: 16 }], output: { units: 1, activation: 'linear' } },
    loss: 'meanSquaredError',
  },
];
const BATCH_SIZES = [32, 128];
const REPEATS = 3;

interface ThroughputRow {
  backend: string;
  model: string;
  batchSize: number;
  samplesPerSecond: number;
}

async function throughput(backend: Exclude<TfBackendPreference, 'auto'>): Promise<ThroughputRow[] | string> {
  try {
    await initTf(backend);
  } catch (err) {
    const message = (err as Error).message;
    return /Cannot find (package|module)/.test(message) ? 'not installed' : message.split('\n')[0]!;
  }
  const rows: ThroughputRow[] = [];
  for (const m of MODELS) {
    for (const batchSize of BATCH_SIZES) {
      const random = seededRandom(1);
      const width = m.spec.inputWidth;
      const outputs = m.spec.output.units;
      const x = tf.tensor2d(Float32Array.from({ length: ROWS * width }, () => random() * 2 - 1), [ROWS, width]);
      const y =
        outputs > 1
          ? tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from({ length: ROWS }, () => Math.floor(random() * outputs)), 'int32'), outputs).toFloat())
          : tf.tensor2d(Float32Array.from({ length: ROWS }, () => random() * 50), [ROWS, 1]);
      const model = buildNetwork({ ...m.spec, seed: 7 });
      const optimizer = tf.train.adam(0.01);
      model.compile({ optimizer, loss: m.loss });
      await model.fit(x, y, { epochs: 1, batchSize, verbose: 0 }); // warm-up: kernels compiled, memory allocated
      // Best of a few timings: on a shared machine the slowest ones measure the neighbours.
      let best = 0;
      for (let r = 0; r < REPEATS; r++) {
        const started = performance.now();
        await model.fit(x, y, { epochs: EPOCHS, batchSize, verbose: 0 });
        best = Math.max(best, (ROWS * EPOCHS) / ((performance.now() - started) / 1000));
      }
      rows.push({ backend: tf.getBackend(), model: m.name, batchSize, samplesPerSecond: best });
      optimizer.dispose();
      model.dispose();
      tf.dispose([x, y]);
    }
  }
  return rows;
}

/** 10k rows, 6 numeric features and one categorical, 3 classes on a curved boundary with 10% label noise. */
function syntheticTable(rows: number): RawTable {
  const random = seededRandom(2025);
  const colours = ['red', 'green', 'blue', 'grey'];
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < rows; i++) {
    const f = Array.from({ length: 6 }, () => random() * 4 - 2);
    const colour = colours[Math.floor(random() * colours.length)]!;
    const score = f[0]! * f[1]! + Math.sin(f[2]!) * 2 + f[3]! ** 2 * 0.5 - f[4]! + (colour === 'blue' ? 1 : 0);
    let label = score < -0.5 ? 'low' : score < 1.5 ? 'mid' : 'high';
    if (random() < 0.1) label = ['low', 'mid', 'high'][Math.floor(random() * 3)]!;
    out.push({ f1: f[0], f2: f[1], f3: f[2], f4: f[3], f5: f[4], f6: f[5], colour, label });
  }
  return { columns: ['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'colour', 'label'], rows: out, source: 'synthetic' };
}

interface SearchRow {
  backend: string;
  rows: number;
  trials: number;
  searchSeconds: number;
  totalSeconds: number;
  testAccuracy: number;
}

async function search(): Promise<SearchRow> {
  await initTf('auto');
  let searchStarted = 0;
  let searchEnded = 0;
  const started = performance.now();
  const result = await trainModel(
    {
      data: { kind: 'table', table: syntheticTable(ROWS) },
      target: 'label',
      modelName: 'bench',
      seed: 11,
      hyperparameters: { epochs: 27, batchSize: 64 },
      search: { trials: TRIALS },
    },
    {
      onEvent: (e) => {
        if (e.type !== 'stage') return;
        if (e.stage === 'search') searchStarted = performance.now();
        if (e.stage === 'model' && searchStarted > 0 && searchEnded === 0) searchEnded = performance.now();
      },
    },
  );
  const totalSeconds = (performance.now() - started) / 1000;
  result.model.dispose();
  return {
    backend: result.backend,
    rows: ROWS,
    trials: result.trials.length,
    searchSeconds: (searchEnded - searchStarted) / 1000,
    totalSeconds,
    testAccuracy: result.test.task === 'classification' ? result.test.accuracy : Number.NaN,
  };
}

function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, tfjs ${tf.version_core}`;
}

async function main(): Promise<void> {
  const results: { throughput: ThroughputRow[]; unavailable: Record<string, string>; search?: SearchRow } = { throughput: [], unavailable: {} };
  for (const backend of BACKENDS) {
    const outcome = await throughput(backend);
    if (typeof outcome === 'string') results.unavailable[backend] = outcome;
    else results.throughput.push(...outcome);
  }
  if (TRIALS > 0) results.search = await search();

  const lines = [
    `Machine: ${machine()}`,
    '',
    `Training throughput (model.fit, Adam, ${ROWS} rows; best of ${REPEATS} timings of ${EPOCHS} epochs, after a warm-up epoch):`,
    '',
    '| backend | model | batch size | samples/s |',
    '|---|---|---:|---:|',
    ...results.throughput.map((r) => `| ${r.backend} | ${r.model} | ${r.batchSize} | ${Math.round(r.samplesPerSecond).toLocaleString('en-US')} |`),
    ...Object.entries(results.unavailable).map(([b, why]) => `| ${b} | not available: ${why.replace(/\|/g, '/')} | | |`),
  ];
  if (results.search) {
    const s = results.search;
    lines.push(
      '',
      `Hyperparameter search (random search + successive halving, eta 3, up to 27 epochs per trial, ${s.rows} synthetic rows, 3 classes):`,
      '',
      '| backend | rows | trials | search wall time | whole run (search + final training + evaluation) | test accuracy |',
      '|---|---:|---:|---:|---:|---:|',
      `| ${s.backend} | ${s.rows.toLocaleString('en-US')} | ${s.trials} | ${s.searchSeconds.toFixed(1)} s | ${s.totalSeconds.toFixed(1)} s | ${s.testAccuracy.toFixed(3)} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (args.json) writeFileSync(args.json, JSON.stringify({ machine: machine(), ...results }, null, 2));
}

await main();
