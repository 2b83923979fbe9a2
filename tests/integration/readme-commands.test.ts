// Every command the README shows is accounted for, so the README cannot drift from the code. The
// commands are read from README.md itself (tests/helpers/readme.ts) and each must match a rule:
// - run here for real, in README order: the curl calls against a stack started like `npm start` does
//   (startDriftgate, ports rewritten to this test's), `export`s they rely on, and the cheap `driftgate`
//   commands (train, evaluate, config, openapi, help) in a scratch directory with the example data;
// - exercised elsewhere: installs, the test suite, the server itself, Kafka, benchmarks, the demo. The
//   map names the file that runs each, and text in that file that shows it does.
// A command no rule matches fails the test by name: a new README command needs a rule here.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { listenStatus, loadConfig, silentLogger } from '../../src/core/index.js';
import type { StatusServer } from '../../src/core/index.js';
import { startDriftgate } from '../../src/cli/stack.js';
import type { Driftgate } from '../../src/cli/stack.js';
import { TRAIN_FLAG_SPEC, trainOptionsFromFlags } from '../../src/cli/train-flags.js';
import { parseFlags } from '../../src/cli/args.js';
import { retrainerApp } from '../../src/lifecycle/index.js';
import { FINAL_STATES } from '../../src/lifecycle/store.js';
import { EXAMPLES, metricValue } from '../helpers/gateway.js';
import { LabelingClient, irisTraffic } from '../helpers/loop-traffic.js';
import { answerJson, codeBlocks, commandsOutsideShellBlocks, readmeCommands, shapeMismatches } from '../helpers/readme.js';
import { requirePythonEnv, runPython } from '../helpers/python-env.js';
import type { ReadmeCommand } from '../helpers/readme.js';
import { waitFor } from '../helpers/wait.js';

const ROOT = resolve(import.meta.dirname, '../..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
const COMMANDS = readmeCommands(README);

/** The command without leading VAR=value assignments. */
const bare = (c: ReadmeCommand) => c.text.replace(/^(?:[A-Z_][A-Z0-9_]*=\S*\s+)+/, '');

// ---- the rules ---------------------------------------------------------------------------------

/** The ports the README's calls use, and what listens on each in `npm start`. */
const README_PORTS = ['8080', '8081', '8082'] as const;
const HTTP = new RegExp(`^curl\\s.*\\b(?:localhost|127\\.0\\.0\\.1):(?:${README_PORTS.join('|')})\\b`, 's');
const EXPORT = /^export [A-Za-z_][A-Za-z0-9_]*=\S*$/;
/** `driftgate` commands cheap enough to run here; a `train` with `--search` is not (it may take its time budget). */
const CLI = /^(?:npx\s+)?driftgate\s+(?:train|evaluate|config|openapi|help)\b/;
const SEARCH = /\s--search[\s=]/;

interface Where {
  /** A file of the repository that runs the command (or exactly what it runs). */
  file: string;
  /** Text in that file that shows it. */
  shows: RegExp;
}

/** Commands too slow, too wide or too global to run here, and where each is exercised instead. */
const ELSEWHERE: { match: RegExp; where: Where[]; note?: string }[] = [
  { match: /^npm ci$/, where: [{ file: '.ci/run', shows: /^npm ci$/m }] },
  { match: /^npm test$/, where: [{ file: '.ci/run', shows: /^npm test$/m }] },
  { match: /^npm run (?:lint|typecheck)$/, where: [{ file: '.ci/run', shows: /^npm run lint$\n^npm run typecheck$/m }] },
  {
    // `npm start` is the build, then `driftgate serve`; serve runs startDriftgate, the stack this test calls.
    match: /^(?:npm start|(?:npx\s+)?driftgate serve)$/,
    where: [
      { file: 'src/cli/main.ts', shows: /startDriftgate\(config, logger\)/ },
      { file: 'tests/integration/gateway-faults.test.ts', shows: /'src\/cli\/main\.ts', 'serve'/ },
      { file: 'tests/integration/readme-commands.test.ts', shows: /await startDriftgate\(/ },
    ],
  },
  {
    match: /^npm run build$/,
    where: [{ file: '.ci/run', shows: /^npm run typecheck$/m }],
    note: 'type-checked (not emitted) in CI; npm start runs it as prestart',
  },
  { match: /^npm link$/, where: [{ file: 'tests/integration/readme-commands.test.ts', shows: /the bin `npm link` puts on the PATH/ }] },
  {
    match: /^npm run kafka:up$/,
    where: [
      { file: '.ci/run', shows: /^bash deploy\/kafka\/kafka\.sh start$/m },
      { file: 'tests/helpers/kafka.ts', shows: /deploy\/kafka\/kafka\.sh/ },
    ],
  },
  { match: /^npm run kafka:down$/, where: [{ file: '.ci/run', shows: /bash deploy\/kafka\/kafka\.sh stop/ }] },
  { match: /^(?:npx\s+)?driftgate monitor$/, where: [{ file: 'tests/integration/monitor-kafka.test.ts', shows: /MAIN, 'monitor'\]/ }] },
  { match: /^(?:npx\s+)?driftgate retrain$/, where: [{ file: 'tests/integration/retrain-kafka.test.ts', shows: /new Proc\('retrain'/ }] },
  {
    match: /^(?:npx\s+)?driftgate train\s.*--search[\s=]/s,
    where: [
      { file: 'tests/integration/train-cli.test.ts', shows: /'--search', 'trials=\d+'/ },
      { file: 'tests/integration/train-search.test.ts', shows: /search: \{ trials:/ },
    ],
    note: 'its flags are parsed here',
  },
  { match: /^(?:npm run demo|(?:npx\s+)?driftgate demo)(?:\s|$)/, where: [{ file: 'tests/integration/demo.test.ts', shows: /demo/ }] },
  { match: /^npm run docs$/, where: [{ file: 'tests/unit/docs.test.ts', shows: /gen-docs/ }] },
  {
    match: /^npm test -- oip-clients$/,
    where: [
      { file: 'tests/integration/oip-clients.test.ts', shows: /'-m', 'pytest'/ },
      { file: 'scripts/run-tests.mjs', shows: /f\.includes\(p\)/ },
    ],
    note: 'the reference-client suite, part of npm test',
  },
  {
    match: /^npm test -- openapi-fuzz$/,
    where: [
      { file: 'tests/integration/openapi-fuzz.test.ts', shows: /'schemathesis\.cli'/ },
      { file: 'scripts/run-tests.mjs', shows: /f\.includes\(p\)/ },
    ],
    note: 'the schemathesis run, part of npm test',
  },
  { match: /^npm run examples$/, where: [{ file: 'tests/integration/gateway-api.test.ts', shows: /build-examples/ }], note: 'the test checks the models it builds are present' },
  {
    match: /^npm run bench:[\w-]+$/,
    where: [{ file: '.ci/run', shows: /^npm run typecheck$/m }],
    note: 'type-checked in CI (tsconfig.json includes bench/); the benchmarks themselves are run by hand',
  },
];

type Rule = { kind: 'http' | 'export' | 'cli' } | { kind: 'elsewhere'; where: Where[]; note?: string };

function ruleOf(c: ReadmeCommand): Rule | undefined {
  const text = bare(c);
  const elsewhere = ELSEWHERE.find((r) => r.match.test(text));
  if (elsewhere) return { kind: 'elsewhere', where: elsewhere.where, ...(elsewhere.note ? { note: elsewhere.note } : {}) };
  if (EXPORT.test(c.text)) return { kind: 'export' };
  if (HTTP.test(text) && !/[|>]/.test(unquoted(text))) return { kind: 'http' };
  if (CLI.test(text) && !SEARCH.test(text)) return { kind: 'cli' };
  return undefined;
}

/** The command with quoted parts removed, to look for pipes and redirections. */
function unquoted(text: string): string {
  return text.replace(/'[^']*'|"(?:[^"\\]|\\.)*"/g, '');
}

const where = (c: ReadmeCommand) => `README.md:${c.line} \`${c.text.split('\n')[0]!.slice(0, 90)}\``;

// ---- running commands --------------------------------------------------------------------------

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function bash(script: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** Lines of text compared with numbers and spacing left out: the README's sample output against a real one. */
const textShape = (line: string) => line.replace(/-?\d+(?:\.\d+)?(?:e-?\d+)?/g, '#').replace(/\s+/g, ' ').trim();

function checkAnswer(c: ReadmeCommand, body: string, status?: number): void {
  if (c.expected === undefined) return;
  const shown = answerJson(c.expected);
  if (shown) {
    if (shown.status !== undefined) assert.equal(status, shown.status, `${where(c)}: the README shows status ${shown.status}`);
    let actual: unknown;
    try {
      actual = JSON.parse(body);
    } catch {
      assert.fail(`${where(c)}: the README shows a JSON answer, the command printed: ${body.slice(0, 300)}`);
    }
    const mismatches = shapeMismatches(shown.json, actual);
    assert.deepEqual(mismatches, [], `${where(c)}: the answer's shape differs from the README's:\n${mismatches.join('\n')}\nanswer: ${body.slice(0, 1000)}`);
    return;
  }
  const printed = new Set(body.split('\n').map(textShape));
  const missing = c.expected
    .split('\n')
    .map(textShape)
    .filter((l) => l !== '' && l !== '...' && !printed.has(l));
  assert.deepEqual(missing, [], `${where(c)}: lines the README shows that the command did not print (numbers aside):\n${body}`);
}

/** Copies version 1 of a model in the repository to `version`, manifest included, unless it exists. */
function ensureVersion(repo: string, model: string, version: number): void {
  const dir = join(repo, model, String(version));
  if (existsSync(dir)) return;
  cpSync(join(repo, model, '1'), dir, { recursive: true });
  const manifest = join(dir, 'driftgate.json');
  writeFileSync(manifest, JSON.stringify({ ...(JSON.parse(readFileSync(manifest, 'utf8')) as object), version }, null, 2));
}

describe('the commands in README.md', { timeout: 120_000 }, () => {
  it('are all matched by a rule of this test', () => {
    assert.ok(COMMANDS.length > 0, 'no commands found in README.md');
    const unmatched = COMMANDS.filter((c) => !ruleOf(c)).map(where);
    assert.deepEqual(unmatched, [], `README commands no rule of tests/integration/readme-commands.test.ts accounts for; give each a rule (run it, or map it to where it is exercised):\n${unmatched.join('\n')}`);
    const stray = commandsOutsideShellBlocks(README).map((l) => `README.md:${l.line} ${l.text}`);
    assert.deepEqual(stray, [], 'commands in fenced blocks that are not ```sh or ```console blocks, so this test cannot read them');
  });

  it('that run elsewhere are npm scripts that exist, run where the map says', (t) => {
    const problems: string[] = [];
    const seen = new Set<string>();
    for (const c of COMMANDS) {
      const rule = ruleOf(c);
      if (rule?.kind !== 'elsewhere' || seen.has(bare(c))) continue;
      seen.add(bare(c));
      t.diagnostic(`${bare(c)} -> ${rule.where.map((w) => w.file).join(', ')}${rule.note ? ` (${rule.note})` : ''}`);
      const script = /^npm (?:run\s+(\S+)|(start|test))$/.exec(bare(c));
      const name = script?.[1] ?? script?.[2];
      if (name !== undefined) {
        const body = PACKAGE.scripts[name];
        if (body === undefined) problems.push(`${where(c)}: package.json has no "${name}" script`);
        // A script that runs a file (tsx bench/serve.ts, bash deploy/kafka/kafka.sh start) needs the
        // file, unless the build makes it (dist/).
        const file = body && /^(?:tsx|bash|node)\s+(\S+\.(?:ts|sh|mjs|js))/.exec(body)?.[1];
        if (file && !file.startsWith('dist/') && !existsSync(join(ROOT, file))) problems.push(`${where(c)}: script "${name}" runs ${file}, which does not exist`);
      }
      for (const w of rule.where) {
        const path = join(ROOT, w.file);
        if (!existsSync(path)) problems.push(`${where(c)}: mapped to ${w.file}, which does not exist`);
        else if (!w.shows.test(readFileSync(path, 'utf8'))) problems.push(`${where(c)}: mapped to ${w.file}, which no longer shows ${w.shows}`);
      }
      if (SEARCH.test(bare(c))) {
        // Too slow to run here, but a renamed or re-ranged flag is caught in milliseconds.
        const argv = bare(c).split(/\s+/).slice(bare(c).startsWith('npx') ? 3 : 2);
        try {
          trainOptionsFromFlags(parseFlags(argv, TRAIN_FLAG_SPEC, 'train'));
        } catch (err) {
          problems.push(`${where(c)}: its flags do not parse: ${(err as Error).message}`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it('npm link puts the built CLI on the PATH', () => {
    // the bin `npm link` puts on the PATH is the build output of src/cli/main.ts, which starts with a shebang
    const build = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: { rootDir: string; outDir: string } };
    const entry = join(build.compilerOptions.outDir, relative(build.compilerOptions.rootDir, 'src/cli/main.ts')).replace(/\.ts$/, '.js');
    assert.equal(PACKAGE.bin['driftgate'], entry);
    assert.match(readFileSync(join(ROOT, 'src/cli/main.ts'), 'utf8'), /^#!\/usr\/bin\/env node\n/);
  });

  describe('run for real, in README order', () => {
    let dg: Driftgate;
    let retrainerServer: StatusServer;
    let repo: string;
    let state: string;
    let work: string;
    let ports: Record<(typeof README_PORTS)[number], number>;
    /** The environment of every command: the user's, without driftgate's own settings, plus a `driftgate` on the PATH. */
    let env: NodeJS.ProcessEnv;
    /** `export`s the README ran so far; later commands see them, as in one shell. */
    const exported: string[] = [];

    // The admin token the README exports is the one the gateway was started with.
    const adminToken = COMMANDS.map((c) => /^export TOKEN=(\S+)$/.exec(c.text)?.[1]).find(Boolean) ?? 'change-me';

    before(async () => {
      repo = mkdtempSync(join(tmpdir(), 'dg-readme-repo-'));
      for (const model of readdirSync(EXAMPLES, { withFileTypes: true }).filter((d) => d.isDirectory())) {
        cpSync(join(EXAMPLES, model.name), join(repo, model.name), { recursive: true });
      }
      state = mkdtempSync(join(tmpdir(), 'dg-readme-state-'));
      const config = loadConfig(
        {},
        {
          modelRepo: repo,
          adminToken,
          spoolDir: join(state, 'spool'),
          monitorStore: join(state, 'monitor.db'),
          retrainStore: join(state, 'retrain.db'),
          // Only the admin calls load versions, and only the hand-made retrain runs.
          pollIntervalMs: 0,
          monitorPolicy: JSON.stringify({ default: { drift: { action: 'report' }, performance: { action: 'report' } } }),
          retrainMinTrain: 100,
          retrainMinHoldout: 40,
          // The hand-made retrain learns a changed concept; judged on the newest labels only, it is
          // promoted, the job the README shows.
          gateTolerance: 1,
          port: 0,
          grpcPort: 0,
          monitorPort: 0,
          host: '127.0.0.1',
          warmupRuns: 1,
          logLevel: 'silent',
          publishLingerMs: 1,
        },
      );
      dg = await startDriftgate(config, silentLogger, { monitorPort: 0 });
      // A standalone retrainer's endpoints (:8082), over the loop running in this stack.
      retrainerServer = await listenStatus(retrainerApp(dg.retrainer!.retrainer, dg.retrainer!.registry), 0, '127.0.0.1');
      ports = { '8080': dg.port, '8081': dg.monitor!.port!, '8082': retrainerServer.port };

      // A scratch directory like a checkout: the example data, node_modules (the training worker loads
      // tsx from there), and a `driftgate` that runs the source.
      work = mkdtempSync(join(tmpdir(), 'dg-readme-work-'));
      symlinkSync(join(ROOT, 'examples'), join(work, 'examples'));
      symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'));
      mkdirSync(join(work, 'bin'));
      const tsx = fileURLToPath(import.meta.resolve('tsx'));
      writeFileSync(join(work, 'bin', 'driftgate'), `#!/bin/sh\nexec "${process.execPath}" --import "${tsx}" "${join(ROOT, 'src/cli/main.ts')}" "$@"\n`);
      chmodSync(join(work, 'bin', 'driftgate'), 0o755);
      env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DRIFTGATE_') && k !== 'KAFKA_BROKERS' && k !== 'TOKEN' && k !== 'LABEL_TOKEN'));
      env['PATH'] = `${join(work, 'bin')}:${process.env['PATH'] ?? ''}`;
      env['DRIFTGATE_LOG_LEVEL'] = 'silent';
    });
    after(async () => {
      await retrainerServer?.close();
      await dg?.close();
      for (const dir of [repo, state, work]) if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const gateway = () => `http://127.0.0.1:${ports['8080']}`;

    /**
     * What a command needs from the commands before it, or from the world, before it runs; and what
     * it must have done beyond its answer (`after`, given the answer).
     */
    const HOOKS: { match: RegExp; before: (m: RegExpExecArray) => Promise<((answer: string) => Promise<void>) | void> }[] = [
      {
        // Loading or promoting a version needs it in the repository: a copy of version 1, as if trained.
        match: /\/admin\/models\/([\w.-]+)\/(?:versions\/(\d+)\/load|promote\/(\d+))/,
        before: async (m) => ensureVersion(repo, m[1]!, Number(m[2] ?? m[3])),
      },
      {
        // Labels refer to predictions of the model they are sent to: every accepted label joins one.
        match: /\/v2\/models\/([\w.-]+)\/labels\b/,
        before: async (m) => {
          const model = m[1]!;
          const joined = await metricValue(gateway(), 'driftgate_labels_joined_total', { model });
          return async (answer) => {
            const accepted = (JSON.parse(answer) as { accepted: number }).accepted;
            let now = joined;
            await waitFor(
              () => `${accepted} labels to join predictions of ${model}: ${now - joined} did (are they labels of predictions ${model} made?)`,
              10_000,
              async () => (now = await metricValue(gateway(), 'driftgate_labels_joined_total', { model })) >= joined + accepted,
            );
          };
        },
      },
      {
        // A retrain needs labels. Traffic labelled by a changed concept, so the challenger wins the gate.
        match: /\/admin\/models\/([\w.-]+)\/retrain(?!s)\b/,
        before: async (m) => {
          const model = m[1]!;
          const held = await metricValue(gateway(), 'driftgate_retrain_window_examples', { model });
          const client = new LabelingClient(gateway());
          const next = irisTraffic(5);
          for (let i = 0; i < 12; i++) await client.round(model, next(20, 'petal-length'));
          assert.equal(client.failed, 0, 'labelled traffic before the retrain failed');
          await waitFor('the retrainer to hold the labelled traffic', 30_000, async () => (await metricValue(gateway(), 'driftgate_retrain_window_examples', { model })) >= held + 240);
        },
      },
      {
        // The README shows a finished job.
        match: /\/admin\/models\/([\w.-]+)\/retrains\b/,
        before: async (m) => {
          await waitFor('the retrain job to finish', 60_000, () => {
            const job = dg.follower.jobs(m[1]!)[0]?.['state'];
            return FINAL_STATES.includes(job as (typeof FINAL_STATES)[number]);
          });
        },
      },
    ];

    async function runHttp(c: ReadmeCommand): Promise<void> {
      const checks: ((answer: string) => Promise<void>)[] = [];
      for (const hook of HOOKS) {
        const m = hook.match.exec(c.text);
        const check = m && (await hook.before(m));
        if (check) checks.push(check);
      }
      const command = c.text.replace(
        /(?:https?:\/\/)?(?:localhost|127\.0\.0\.1):(808[0-2])\b/g,
        (_, port: (typeof README_PORTS)[number]) => `http://127.0.0.1:${ports[port]}`,
      );
      assert.doesNotMatch(command, /\s(?:-o|--output|-w|--write-out)\s/, `${where(c)}: this test adds its own -o and -w`);
      const bodyFile = join(work, 'body');
      rmSync(bodyFile, { force: true });
      const run = await bash(`${exported.join('\n')}\n${command} -sS -o '${bodyFile}' -w '%{http_code}'`, work, env);
      assert.equal(run.code, 0, `${where(c)}: curl exited ${run.code}: ${run.stderr}`);
      const status = Number(run.stdout.trim());
      const body = existsSync(bodyFile) ? readFileSync(bodyFile, 'utf8') : '';
      assert.ok(status >= 200 && status < 300, `${where(c)}: HTTP ${status}: ${body.slice(0, 500)}`);
      checkAnswer(c, body, status);
      for (const check of checks) await check(body);
    }

    async function runCli(c: ReadmeCommand): Promise<void> {
      // npx would look the package up; the `driftgate` on the PATH is the one npm link would give.
      const command = c.text.replace(/^((?:[A-Z_][A-Z0-9_]*=\S*\s+)*)npx\s+driftgate\b/, '$1driftgate');
      const run = await bash(`${exported.join('\n')}\n${command}`, work, env);
      assert.equal(run.code, 0, `${where(c)}: exited ${run.code}: ${run.stderr.split('\n').filter((l) => !/^(» |epoch |trial )/.test(l)).join('\n')}`);
      if (/^driftgate openapi\b/.test(command)) JSON.parse(run.stdout);
      checkAnswer(c, run.stdout);
    }

    // Before the commands, which promote and retrain: the snippets see the example models as shipped.
    it('python snippets run as printed, with the clients scripts/python-env.sh installs', async (t) => {
      const snippets = codeBlocks(README, 'python');
      assert.ok(snippets.length > 0, 'README.md shows no python snippet');
      const python = requirePythonEnv(t);
      if (!python) return;
      for (const snippet of snippets) {
        const code = snippet.code.replace(/\blocalhost:8080\b/g, `127.0.0.1:${ports['8080']}`);
        const run = await runPython(python, ['-c', code], {}, 60_000, work);
        assert.equal(run.code, 0, `README.md:${snippet.line}: the python snippet exited ${run.code}:\n${run.output}`);
        // `print(...)  # shown` shows what the line prints.
        for (const [, shown] of snippet.code.matchAll(/^print\(.*\)\s+#\s*(.+)$/gm)) {
          assert.ok(run.output.includes(shown!.trim()), `README.md:${snippet.line}: the snippet should print ${shown}, it printed:\n${run.output}`);
        }
      }
    });

    it('each command', async (t) => {
      for (const c of COMMANDS) {
        const rule = ruleOf(c);
        if (rule?.kind === 'export') {
          exported.push(c.text);
          continue;
        }
        if (rule?.kind !== 'http' && rule?.kind !== 'cli') continue;
        await t.test(`${rule.kind} line ${c.line}: ${c.text.split('\n')[0]!.slice(0, 100)}`, () => (rule.kind === 'http' ? runHttp(c) : runCli(c)));
      }
    });
  });
});
