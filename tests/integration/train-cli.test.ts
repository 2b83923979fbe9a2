// `driftgate train` and `driftgate evaluate` as a user runs them: the real command in a child process.
// Bad input of every kind ends with one line on stderr, exit code 2 and an untouched repository; a
// good run writes a version the gateway serves, fine-tuning from it records the lineage, and
// evaluate prints metrics and error analysis.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MANIFEST_FILE, readManifestAt } from '../../src/core/index.js';
import { trainCommand } from '../../src/cli/train.js';
import { IRIS_ROW, post, startGateway } from '../helpers/gateway.js';

const ROOT = resolve(import.meta.dirname, '../..');
const IRIS_CSV = join(ROOT, 'examples', 'iris.csv');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function driftgate(args: readonly string[]): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, DRIFTGATE_LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** stderr lines that are not progress output (progress lines start with » or "epoch"/"trial"). */
function errorLines(run: Run): string[] {
  return run.stderr.split('\n').filter((l) => l.trim() !== '' && !/^(» |epoch |trial |\[)/.test(l) && !l.startsWith('npm warn'));
}

/** trainCommand in this process, with its output captured. */
async function inProcess(argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await trainCommand(argv, { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } });
  return { code, stdout, stderr };
}

/** Runs `task` over `items`, at most `size` at a time. */
async function inPool<T>(size: number, items: readonly T[], task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
}

let work: string;
const data: Record<string, string> = {};

void describe('driftgate train: bad input', () => {
    // `child: true` cases run the real command in a child process (they reach the data or the trainer, or
  // test main.ts's wiring); the others fail on flags alone and run trainCommand in this process.
  const cases: { name: string; args: () => string[]; message: RegExp; child?: true }[] = [
    { name: 'missing data file', args: () => ['--data', join(work, 'nope.csv'), '--target', 'species'], message: /--data .*nope\.csv: no such file/ },
    { name: 'unknown target column', args: () => ['--data', IRIS_CSV, '--target', 'colour'], message: /unknown target column "colour"/, child: true },
    { name: 'unknown feature column', args: () => ['--data', IRIS_CSV, '--target', 'species', '--features', 'petal_length,petal_size'], message: /unknown feature column "petal_size"/, child: true },
    { name: 'target with a single class', args: () => ['--data', data['oneClass']!, '--target', 'label'], message: /single class/, child: true },
    { name: 'non-numeric data in a numeric column', args: () => ['--data', data['junk']!, '--target', 'label'], message: /non-numeric data in numeric column "y": .* line 3 has "abc"/, child: true },
    { name: 'empty data after cleaning', args: () => ['--data', data['noTargets']!, '--target', 'label'], message: /no rows left after cleaning/, child: true },
    { name: 'empty file', args: () => ['--data', data['empty']!, '--target', 'label'], message: /empty/, child: true },
    { name: 'unknown flag', args: () => ['--data', IRIS_CSV, '--target', 'species', '--epochz', '5'], message: /^driftgate train: unknown flag --epochz/, child: true },
    { name: 'bad flag value (epochs)', args: () => ['--data', IRIS_CSV, '--target', 'species', '--epochs', 'ten'], message: /--epochs must be an integer from 1 to 100000, got "ten"/ },
    { name: 'bad flag value (learning rate)', args: () => ['--data', IRIS_CSV, '--target', 'species', '--lr=-0.1'], message: /--lr must be a number > 0 and <= 10, got "-0.1"/ },
    { name: 'flag value that looks like a flag', args: () => ['--data', IRIS_CSV, '--target', 'species', '--lr', '-0.1'], message: /flag --lr needs a value/ },
    { name: 'value for a switch', args: () => ['--data', IRIS_CSV, '--target', 'species', '--onnx=yes'], message: /flag --onnx takes no value/ },
    { name: 'bad flag value (search)', args: () => ['--data', IRIS_CSV, '--target', 'species', '--search', 'trials=0'], message: /--search trials must be an integer from 1/ },
    { name: 'bad flag value (task)', args: () => ['--data', IRIS_CSV, '--target', 'species', '--task', 'ranking'], message: /--task must be one of classification, regression/ },
    { name: 'flag without its value', args: () => ['--data', IRIS_CSV, '--target'], message: /flag --target needs a value/ },
    { name: 'missing required flag', args: () => ['--data', IRIS_CSV], message: /--target is required/ },
    { name: 'base directory missing', args: () => ['--data', IRIS_CSV, '--target', 'species', '--base', join(work, 'models', 'iris', '9')], message: /--base .*: no such directory/ },
    { name: 'base that is not a version', args: () => ['--data', IRIS_CSV, '--target', 'species', '--base', work], message: /not a model version \(no driftgate\.json\)/ },
    { name: 'freeze without a base', args: () => ['--data', IRIS_CSV, '--target', 'species', '--freeze', '1'], message: /--freeze needs --base/ },
    {
      name: 'freezing more layers than the base has',
      args: () => ['--data', IRIS_CSV, '--target', 'species', '--base', join(ROOT, 'models', 'iris-tfjs', '1'), '--freeze', '7'],
      message: /cannot freeze layers: .*firstK must be an integer from 0 to 2/,
      child: true,
    },
    { name: 'invalid model name', args: () => ['--data', IRIS_CSV, '--target', 'species', '--model', '../up'], message: /--model "\.\.\/up"/ },
  ];
  const runs = new Map<string, Run>();
  const repos = new Map<string, string>();

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'dg-train-cli-'));
    data['oneClass'] = join(work, 'one-class.csv');
    data['junk'] = join(work, 'junk.csv');
    data['noTargets'] = join(work, 'no-targets.csv');
    data['empty'] = join(work, 'empty.csv');
    await writeFile(data['oneClass'], 'x,y,label\n1,2,a\n2,3,a\n3,4,a\n4,5,a\n5,6,a\n6,1,a\n');
    await writeFile(data['junk'], 'x,y,label\n1,2,a\n2,abc,b\n3,4,a\n4,5,b\n5,6,a\n6,1,b\n7,1,a\n8,2,b\n');
    await writeFile(data['noTargets'], 'x,y,label\n1,2,\n2,3,NA\n3,4,\n');
    await writeFile(data['empty'], '\n');
    // A few cases at a time, each with a repository of its own: they are independent child processes.
    await inPool(4, cases, async (c, i) => {
      const repo = join(work, `repo-${i}`);
      repos.set(c.name, repo);
      const args = c.args();
      const withModel = args.includes('--model') ? args : [...args, '--model', 'm'];
      // Defaults first: with parseArgs the last occurrence of a flag wins, so a case's own value stays.
      const argv = ['--epochs', '2', '--repo', repo, ...withModel];
      runs.set(c.name, c.child ? await driftgate(['train', ...argv]) : await inProcess(argv));
    });
  });

  for (const c of cases) {
    test(`${c.name}: exit 2, one line naming the problem, nothing written`, async () => {
      const run = runs.get(c.name)!;
      const lines = errorLines(run);
      assert.equal(run.code, 2, `exit code (stderr: ${run.stderr})`);
      assert.equal(lines.length, 1, `one message line, got: ${JSON.stringify(lines)}`);
      assert.match(lines[0]!, /^driftgate train: /);
      assert.match(lines[0]!, c.message);
      assert.equal(run.stdout, '');
      assert.deepEqual(await readdir(repos.get(c.name)!).catch(() => []), [], 'the repository stays empty');
    });
  }
});

void describe('driftgate train and evaluate: a good run', () => {
  let repo: string;
  let first: Run;
  let second: Run;

  before(async () => {
    repo = join(work, 'models');
    first = await driftgate(['train', '--data', IRIS_CSV, '--target', 'species', '--model', 'iris', '--repo', repo, '--epochs', '60', '--lr', '0.02', '--hidden', '16', '--onnx', '--seed', '7']);
    second = await driftgate([
      'train', '--data', IRIS_CSV, '--target', 'species', '--model', 'iris', '--repo', repo,
      '--base', join(repo, 'iris', '1'), '--freeze', '1', '--two-phase', '3,0.001', '--epochs', '6', '--search', 'trials=3', '--seed', '7',
    ]);
  });

  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  test('train writes version 1 and prints a summary with the report path', async () => {
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^wrote iris version 1 to .*iris\/1 \(tfjs-layers \+ model\.onnx\)/);
    assert.match(first.stdout, /test {8}accuracy 0\.\d+/);
    assert.match(first.stdout, /report {6}.*iris\/1\/report\.html/);
    assert.match(first.stderr, /» train/);
    const files = (await readdir(join(repo, 'iris', '1'))).sort();
    assert.deepEqual(files, ['driftgate.json', 'model.json', 'model.onnx', 'report.html', 'training-sample.jsonl', 'weights.bin']);
    const manifest = await readManifestAt(join(repo, 'iris', '1'));
    assert.deepEqual(manifest.labels, ['setosa', 'versicolor', 'virginica']);
    assert.ok((manifest.metrics['test'] as { accuracy: number }).accuracy >= 0.8, 'a 60-epoch Iris model is better than guessing');
  });

  test('the gateway serves the trained version', async () => {
    const gw = await startGateway({ repo });
    try {
      const res = await post(`${gw.url}/v1/models/iris:predict`, { instances: [IRIS_ROW, [6.7, 3.0, 5.2, 2.3]] });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const predictions = res.body['predictions'] as { label: string }[];
      assert.equal(predictions[0]!.label, 'setosa');
      assert.equal(res.body['model_version'], '2', 'the newest version (the fine-tuned one) serves');
    } finally {
      await gw.close();
    }
  });

  test('fine-tuning from version 1 with freezing, two phases and a search writes version 2 with its lineage', async () => {
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /^wrote iris version 2/);
    assert.match(second.stdout, /parent {6}iris version 1/);
    assert.match(second.stdout, /search {6}3 trials/);
    assert.match(second.stderr, /trial 3\/3/);
    const manifest = JSON.parse(await readFile(join(repo, 'iris', '2', MANIFEST_FILE), 'utf8')) as { lineage: Record<string, unknown> };
    assert.equal(manifest.lineage['parent'], 1);
    const recipe = manifest.lineage['recipe'] as { base: Record<string, unknown>; search: Record<string, unknown> };
    assert.deepEqual(recipe.base['freeze'], { firstK: 1 });
    assert.deepEqual(recipe.base['twoPhase'], { headEpochs: 3, lowLearningRate: 0.001 });
    assert.equal(recipe.search['trials'], 3);
    const html = await readFile(join(repo, 'iris', '2', 'report.html'), 'utf8');
    assert.match(html, /<b>iris version 1<\/b>/);
    assert.match(html, /class="band">head</);
    assert.match(html, /class="band">fine-tune</);
  });

  test('evaluate prints metrics and error analysis of the serving version', async () => {
    const run = await driftgate(['evaluate', '--data', IRIS_CSV, '--model', 'iris', '--repo', repo, '--version', '1']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^iris version 1 \(tfjs-layers\) on .*iris\.csv: 150 rows, target "species"/);
    assert.match(run.stdout, /accuracy {2}0\.\d{4}/);
    assert.match(run.stdout, /confusion matrix/);
    assert.match(run.stdout, /worst 10 examples by log loss/);
    assert.match(run.stdout, /weakest slices by accuracy/);
  });

  test('evaluate --onnx scores the ONNX copy with the same accuracy', async () => {
    const [tfjs, onnx] = await Promise.all([
      driftgate(['evaluate', '--data', IRIS_CSV, '--model', 'iris', '--repo', repo, '--version', '1']),
      driftgate(['evaluate', '--data', IRIS_CSV, '--model', 'iris', '--repo', repo, '--version', '1', '--onnx']),
    ]);
    assert.equal(onnx.code, 0, onnx.stderr);
    assert.match(onnx.stdout, /\(onnx artifact\)/);
    const accuracy = (run: Run) => /accuracy {2}(\d\.\d+)/.exec(run.stdout)?.[1];
    assert.equal(accuracy(onnx), accuracy(tfjs));
  });

  test('evaluate refuses an unknown version, an unknown model and bad data with exit 2', async () => {
    const junk = join(work, 'junk-eval.csv');
    await copyFile(IRIS_CSV, junk);
    await writeFile(junk, (await readFile(junk, 'utf8')).replace('5.1,3.5,1.4,0.2,setosa', '5.1,3.5,1.4,0.2,daisy'));
    const runs = await Promise.all([
      driftgate(['evaluate', '--data', IRIS_CSV, '--model', 'iris', '--repo', repo, '--version', '9']),
      driftgate(['evaluate', '--data', IRIS_CSV, '--model', 'tulip', '--repo', repo]),
      driftgate(['evaluate', '--data', junk, '--model', 'iris', '--repo', repo]),
      driftgate(['evaluate', '--data', IRIS_CSV, '--model', 'iris', '--repo', repo, '--target', 'colour']),
    ]);
    const expected = [/has no version 9 \(versions: 1, 2\)/, /model "tulip" has no versions/, /label "daisy" .* not one of the known labels/, /unknown target column "colour"/];
    runs.forEach((run, i) => {
      assert.equal(run.code, 2, run.stderr);
      assert.equal(errorLines(run).length, 1, run.stderr);
      assert.match(run.stderr, /^driftgate evaluate: /);
      assert.match(run.stderr, expected[i]!);
    });
  });
});
