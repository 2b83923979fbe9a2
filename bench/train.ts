// Training benchmark: how fast the example-sized MLPs train on each tfjs backend (samples per second
// through fit: forward, backward and driftgate's Adam step), and how long a 20-trial hyperparameter
// search takes on 10k synthetic rows. Prints markdown tables; --json writes the raw figures.
//
// With --torch, PyTorch on the CPU trains the same networks the same way (bench/torch/mlp.py: Adam,
// the same batch sizes, rows and timing protocol, 2 threads) and a second table sets it against the
// wasm backend. Optional: needs Python 3.11; the first run makes .venv-torch with scripts/torch-env.sh
// (a 2.5 GB download: PyPI's torch wheel brings the CUDA runtime). With --runs N the throughput
// measurements (tfjs and PyTorch, one after the other) are repeated N times and the tables give medians.
//
//   npm run bench:train -- [--rows 10000] [--epochs 3] [--trials 20] [--backends cpu,wasm,node] [--torch] [--runs 1]
//                          [--json out.json]
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { seededRandom } from '../src/core/index.js';
import { initTf, tf } from '../src/core/tfjs.js';
import type { TfBackendPreference } from '../src/core/tfjs.js';
import { makeOptimizer } from '../src/train/fit.js';
import { buildNetwork } from '../src/train/network.js';
import type { NetworkSpecInput } from '../src/train/network.js';
import { trainModel } from '../src/train/trainer.js';
import type { RawTable } from '../src/train/index.js';
import { median, root } from './harness.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000' },
    epochs: { type: 'string', default: '3' },
    trials: { type: 'string', default: '20' },
    backends: { type: 'string', default: 'cpu,wasm,node' },
    torch: { type: 'boolean', default: false },
    runs: { type: 'string', default: '1' },
    json: { type: 'string' },
  },
});
const ROWS = Number(args.rows);
const EPOCHS = Number(args.epochs);
const TRIALS = Number(args.trials);
const BACKENDS = args.backends!.split(',').filter((b) => b !== '') as Exclude<TfBackendPreference, 'auto'>[];
const RUNS = Number(args.runs);
/** PyTorch's intra-op threads: the machine the figures come from has 2 cores. */
const TORCH_THREADS = 2;
const TORCH_VENV = join(root, '.venv-torch');

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
  /** The lowest and highest of the runs, when there were several. */
  range?: [number, number];
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
      // driftgate's own Adam, as every training run compiles with it.
      const optimizer = makeOptimizer('adam', 0.01);
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

/** What bench/torch/mlp.py prints. */
interface TorchResult {
  torch: string;
  python: string;
  threads: number;
  rows: { model: string; batchSize: number; samplesPerSecond: number }[];
}

/** Makes .venv-torch if it is missing (the script itself skips an up-to-date environment). */
function ensureTorchEnv(): void {
  if (existsSync(join(TORCH_VENV, '.driftgate-requirements.sha256'))) return;
  process.stderr.write('bench:train: making .venv-torch (scripts/torch-env.sh, about 2.5 GB) ...\n');
  const r = spawnSync('bash', [join(root, 'scripts', 'torch-env.sh')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('scripts/torch-env.sh failed');
}

/** PyTorch's figures for the same networks, batch sizes and timing protocol. */
function torchThroughput(): TorchResult {
  const spec = {
    rows: ROWS,
    epochs: EPOCHS,
    repeats: REPEATS,
    threads: TORCH_THREADS,
    batchSizes: BATCH_SIZES,
    models: MODELS.map((m) => ({
      name: m.name,
      widths: [m.spec.inputWidth, ...(m.spec.hidden ?? []).map((h) => h.units), m.spec.output.units],
      output: m.spec.output.activation,
    })),
  };
  const r = spawnSync(join(TORCH_VENV, 'bin', 'python'), [join(root, 'bench', 'torch', 'mlp.py'), '--spec', JSON.stringify(spec)], {
    cwd: root,
    encoding: 'utf8',
    // One thread pool of the size asked for, not one per core that OpenMP would start first.
    env: { ...process.env, OMP_NUM_THREADS: String(TORCH_THREADS) },
  });
  if (r.status !== 0) throw new Error(`bench/torch/mlp.py failed (exit ${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as TorchResult;
}

/** The median of each row's samples/s over the runs, rows keyed by backend, model and batch size. */
function medianRows(runs: readonly ThroughputRow[][]): ThroughputRow[] {
  const byKey = new Map<string, ThroughputRow[]>();
  for (const row of runs.flat()) {
    const key = `${row.backend}|${row.model}|${row.batchSize}`;
    byKey.set(key, [...(byKey.get(key) ?? []), row]);
  }
  return [...byKey.values()].map((rows) => {
    const figures = rows.map((r) => r.samplesPerSecond);
    return { ...rows[0]!, samplesPerSecond: median(figures), range: [Math.min(...figures), Math.max(...figures)] };
  });
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
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  return `${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, tfjs ${tf.version_core}; load average ${load} at the end`;
}

const samples = (n: number): string => Math.round(n).toLocaleString('en-US');
const range = (r: ThroughputRow): string => (RUNS > 1 && r.range ? ` | ${samples(r.range[0])} – ${samples(r.range[1])}` : '');

/** PyTorch against the wasm backend, row by row: how many times faster PyTorch trains. */
function torchTable(torch: Omit<TorchResult, 'rows'> & { rows: ThroughputRow[] }, rows: readonly ThroughputRow[]): string[] {
  const lines = [
    `PyTorch ${torch.torch} on the CPU (${torch.threads} threads, Python ${torch.python}) against driftgate's wasm backend, same protocol:`,
    '',
    `| model | batch size | driftgate wasm samples/s | PyTorch samples/s |${RUNS > 1 ? ` PyTorch range over ${RUNS} runs |` : ''} PyTorch / wasm | within 2x |`,
    `|---|---:|---:|---:|${RUNS > 1 ? '---:|' : ''}---:|---|`,
  ];
  for (const t of torch.rows) {
    const ours = rows.find((r) => r.backend === 'wasm' && r.model === t.model && r.batchSize === t.batchSize);
    const ratio = ours ? t.samplesPerSecond / ours.samplesPerSecond : Number.NaN;
    const verdict = ours ? (ratio <= 2 ? 'yes' : 'no') : 'wasm not measured';
    lines.push(`| ${t.model} | ${t.batchSize} | ${ours ? samples(ours.samplesPerSecond) : ''} | ${samples(t.samplesPerSecond)}${range(t)} | ${ours ? ratio.toFixed(2) : ''} | ${verdict} |`);
  }
  return lines;
}

async function main(): Promise<void> {
  if (args.torch) ensureTorchEnv();
  const runs: ThroughputRow[][] = [];
  const torchRuns: TorchResult[] = [];
  const unavailable: Record<string, string> = {};
  for (let run = 0; run < RUNS; run++) {
    const rows: ThroughputRow[] = [];
    for (const backend of BACKENDS) {
      const outcome = await throughput(backend);
      if (typeof outcome === 'string') unavailable[backend] = outcome;
      else rows.push(...outcome);
    }
    runs.push(rows);
    if (args.torch) {
      const torch = torchThroughput();
      torchRuns.push(torch);
      runs.push(torch.rows.map((r) => ({ backend: 'torch', model: r.model, batchSize: r.batchSize, samplesPerSecond: r.samplesPerSecond })));
    }
  }
  const results: { throughput: ThroughputRow[]; unavailable: Record<string, string>; runs: ThroughputRow[][]; search?: SearchRow } = {
    throughput: medianRows(runs),
    unavailable,
    runs,
  };
  if (TRIALS > 0) results.search = await search();

  const tfjsRows = results.throughput.filter((r) => r.backend !== 'torch');
  const lines = [
    `Machine: ${machine()}`,
    '',
    `Training throughput (model.fit, Adam, ${ROWS} rows; best of ${REPEATS} timings of ${EPOCHS} epochs, after a warm-up epoch${RUNS > 1 ? `; median of ${RUNS} runs` : ''}):`,
    '',
    `| backend | model | batch size | samples/s |${RUNS > 1 ? ` range over ${RUNS} runs |` : ''}`,
    `|---|---|---:|---:|${RUNS > 1 ? '---:|' : ''}`,
    ...tfjsRows.map((r) => `| ${r.backend} | ${r.model} | ${r.batchSize} | ${samples(r.samplesPerSecond)}${range(r)} |`),
    ...Object.entries(results.unavailable).map(([b, why]) => `| ${b} | not available: ${why.replace(/\|/g, '/')} | | |${RUNS > 1 ? ' |' : ''}`),
  ];
  if (torchRuns.length > 0) {
    const torch = { ...torchRuns[0]!, rows: results.throughput.filter((r) => r.backend === 'torch') };
    lines.push('', ...torchTable(torch, tfjsRows));
  }
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
  const torchVersion = torchRuns[0] && { torch: torchRuns[0].torch, python: torchRuns[0].python, threads: torchRuns[0].threads };
  if (args.json) writeFileSync(args.json, JSON.stringify({ machine: machine(), pytorch: torchVersion, ...results }, null, 2));
}

await main();
