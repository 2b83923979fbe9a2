// A schema-driven property-based run over the gateway's own /openapi.json with schemathesis (from the
// environment scripts/python-env.sh makes): a few hundred generated requests per operation, valid and
// invalid, derandomized so a failure reproduces. It fails on any 5xx, any status, content type,
// header or body the document does not declare, valid data refused or invalid data accepted, and any
// method outside the document not answered 405 with an Allow header.
//
// The stack is the one `npm start` runs (gateway, monitor, retrain loop on the embedded bus) on a
// scratch copy of the example models, with the admin API on, so admin calls are fuzzed too: loads,
// unloads, promotions, rollbacks and retrains of random versions are fine as long as every answer
// conforms. Path parameters are drawn from the real model names and versions most of the time, so
// requests get past the 404 and reach each operation's own logic.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig, silentLogger } from '../../src/core/index.js';
import { startDriftgate } from '../../src/cli/stack.js';
import type { Driftgate } from '../../src/cli/stack.js';
import { EXAMPLES } from '../helpers/gateway.js';
import { requirePythonEnv, runPython, tail } from '../helpers/python-env.js';

/** Generated cases per operation and phase; with the coverage phase's own cases, a few hundred each. */
const MAX_EXAMPLES = 200;
const ADMIN_TOKEN = 'fuzz-admin-token';

/**
 * Copies version 1 of every model to version 2, so loads, promotions, unloads and rollbacks have a
 * second version to act on.
 */
function repoWithTwoVersions(): { repo: string; models: string[] } {
  const repo = mkdtempSync(join(tmpdir(), 'dg-fuzz-repo-'));
  const models = readdirSync(EXAMPLES, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
  for (const model of models) {
    cpSync(join(EXAMPLES, model, '1'), join(repo, model, '1'), { recursive: true });
    cpSync(join(EXAMPLES, model, '1'), join(repo, model, '2'), { recursive: true });
    const manifest = join(repo, model, '2', 'driftgate.json');
    writeFileSync(manifest, JSON.stringify({ ...(JSON.parse(readFileSync(manifest, 'utf8')) as object), version: 2 }, null, 2));
  }
  return { repo, models };
}

/** The tensor names the models take: each one's whole input and its features. */
function tensorNames(repo: string, models: string[]): string[] {
  const names = models.flatMap((model) => {
    const manifest = JSON.parse(readFileSync(join(repo, model, '1', 'driftgate.json'), 'utf8')) as { input: string; features: { name: string }[] };
    return [manifest.input, ...manifest.features.map((f) => f.name)];
  });
  return [...new Set(names)].sort();
}

/**
 * schemathesis.toml for the run: where path parameters and tensor names come from (real ones most of
 * the time, so requests get past the name checks to the shape, datatype and size checks behind them),
 * and what each check accepts.
 */
function schemathesisConfig(models: string[], tensors: string[]): string {
  const list = (values: string[]) => `[${values.map((v) => JSON.stringify(v)).join(', ')}]`;
  return `
[dictionaries]
models = { values = ${list(models)} }
versions = { values = ["1", "2", "3"] }
tensors = { values = ${list(tensors)} }

[parameters]
"path.model" = { dictionary = "models", probability = 0.8 }
"path.version" = { dictionary = "versions", probability = 0.8 }
"body.inputs[*].name" = { dictionary = "tensors", probability = 0.8 }

# Refusing a request the document calls invalid: 413 is the gateway's answer to a declared size past
# its row limit, which it checks before anything else.
[checks.negative_data_rejection]
expected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422]

# A request the document calls valid may still be refused where the document cannot say why ahead of
# time: the model's inputs (names, shapes, datatypes, rows) are in its metadata, not in the schema,
# and admin calls depend on the versions' state.
[checks.positive_data_acceptance]
expected-statuses = ["2xx", 401, 403, 404, 409]

[[operations]]
include-path-regex = "(:predict|/labels)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 403, 404, 413]

# The same for infer, and 415: an application/octet-stream body needs its Inference-Header-Content-Length
# header, a pairing of body type and header that OpenAPI has no way to state.
[[operations]]
include-path-regex = "/infer$"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 403, 404, 413, 415]

[[operations]]
include-path-regex = "^/admin/"
checks.positive_data_acceptance.expected-statuses = ["2xx", 401, 403, 404, 409, 422]
`;
}

describe('the OpenAPI document, fuzzed with schemathesis', { timeout: 900_000 }, () => {
  let dg: Driftgate | undefined;
  const dirs: string[] = [];
  after(async () => {
    await dg?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('holds for every operation: no 5xx, every answer as declared, 405 with Allow outside it', async (t) => {
    const python = requirePythonEnv(t);
    if (!python) return;
    const { repo, models } = repoWithTwoVersions();
    const state = mkdtempSync(join(tmpdir(), 'dg-fuzz-state-'));
    const work = mkdtempSync(join(tmpdir(), 'dg-fuzz-work-'));
    dirs.push(repo, state, work);
    const config = loadConfig(
      {},
      {
        modelRepo: repo,
        adminToken: ADMIN_TOKEN,
        spoolDir: join(state, 'spool'),
        monitorStore: join(state, 'monitor.db'),
        retrainStore: join(state, 'retrain.db'),
        pollIntervalMs: 0,
        port: 0,
        monitorPort: 0,
        grpcPort: 0,
        host: '127.0.0.1',
        warmupRuns: 1,
        logLevel: 'silent',
      },
    );
    dg = await startDriftgate(config, silentLogger, { monitorPort: 0 });
    const configFile = join(work, 'schemathesis.toml');
    writeFileSync(configFile, schemathesisConfig(models, tensorNames(repo, models)));

    const run = await runPython(
      python,
      [
        '-m',
        'schemathesis.cli',
        '--config-file',
        configFile,
        'run',
        `http://127.0.0.1:${dg.port}/openapi.json`,
        '--header',
        `Authorization: Bearer ${ADMIN_TOKEN}`,
        '--checks',
        'all',
        '--phases',
        'examples,coverage,fuzzing',
        '--max-examples',
        String(MAX_EXAMPLES),
        '--generation-deterministic',
        // One worker: with two, Hypothesis in one thread moves the recursion limit while another parses
        // a lambda's source, and CPython 3.11 then fails the parse ("AST constructor recursion depth
        // mismatch"). One is also the order that reproduces.
        '--workers',
        '1',
        '--request-timeout',
        '30',
        '--no-color',
      ],
      {},
      600_000,
      work,
    );
    const summary = run.output.match(/^=+ .* in [\d.]+s =+$/m)?.[0] ?? run.output.trim().split('\n').at(-1);
    const cases = run.output.match(/^\s*(\d+ generated.*)$/m)?.[1] ?? '';
    t.diagnostic(`schemathesis ran ${(run.ms / 1000).toFixed(0)} s, ${cases}: ${summary}`);
    assert.equal(run.code, 0, `schemathesis found problems (exit ${run.code}); each comes with a curl command to reproduce it:\n${tail(run.output, 20_000)}`);
  });
});
