// The reference Open Inference Protocol clients from PyPI (tritonclient over HTTP and gRPC, KServe's
// InferenceRESTClient and InferenceGRPCClient), in their default settings, against a real gateway
// serving every example model: tests/python/test_oip_clients.py, run with pytest from the environment
// scripts/python-env.sh makes. This side starts the gateway, asks its JSON infer what each input
// should give, and hands inputs and answers to pytest in a file; pytest's output is the failure.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { errorCatalogue } from '../../src/core/index.js';
import type { ErrorCode } from '../../src/core/index.js';
import { EXAMPLES, get, post, startGateway } from '../helpers/gateway.js';
import type { RunningGateway } from '../helpers/gateway.js';
import { ROOT, requirePythonEnv, runPython, tail } from '../helpers/python-env.js';

interface Tensor {
  name: string;
  datatype: string;
  shape: number[];
  data: (number | string | boolean)[];
}
interface FeatureInfo {
  name: string;
  type: 'numeric' | 'categorical';
  categories?: string[];
}
interface ModelMetadata {
  name: string;
  inputs: { name: string; datatype: string; shape: number[] }[];
  parameters: { features: FeatureInfo[] };
}
type Row = Record<string, number | string>;

const MODELS = readdirSync(EXAMPLES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);
const ROWS = 3;

/** Rows of examples/iris.csv, one from each class, for models whose features are its columns. */
function irisRows(): Row[] {
  const [header, ...lines] = readFileSync(join(ROOT, 'examples/iris.csv'), 'utf8').trim().split('\n');
  const columns = header!.split(',');
  const rows = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [columns[i]!, Number.isNaN(Number(v)) ? v : Number(v)])));
  return [0, 60, 120].map((i) => rows[i]!);
}

/** Input rows for a model: Iris rows when its features are Iris columns, else values made from its features. */
function sampleRows(features: FeatureInfo[]): Row[] {
  const iris = irisRows();
  if (features.every((f) => f.name in iris[0]!)) return iris;
  return Array.from({ length: ROWS }, (_, r) =>
    Object.fromEntries(features.map((f, j) => [f.name, f.type === 'categorical' ? f.categories![(r + j) % f.categories!.length]! : Math.round((1.5 + 3.7 * r + j) * 10) / 10])),
  );
}

const perFeature = (features: FeatureInfo[], rows: Row[], numeric = 'FP32'): Tensor[] =>
  features.map((f) => ({ name: f.name, datatype: f.type === 'categorical' ? 'BYTES' : numeric, shape: [rows.length], data: rows.map((r) => r[f.name]!) }));

const oneTensor = (name: string, features: FeatureInfo[], rows: Row[]): Tensor => ({
  name,
  datatype: 'FP32',
  shape: [rows.length, features.length],
  data: rows.flatMap((r) => features.map((f) => r[f.name] as number)),
});

describe('reference Open Inference Protocol clients (tritonclient, KServe)', { timeout: 600_000 }, () => {
  let gw: RunningGateway | undefined;
  let work: string | undefined;
  after(async () => {
    await gw?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Inputs, and what the gateway's JSON infer answers for them, for pytest. */
  async function buildCases(url: string) {
    const server = (await get(`${url}/v2`)).body;
    const metadata: Record<string, ModelMetadata> = {};
    const cases: { id: string; model: string; version: string; inputs: Tensor[]; outputs: Tensor[] }[] = [];
    for (const model of MODELS) {
      const meta = (await get(`${url}/v2/models/${model}`)).body as unknown as ModelMetadata;
      metadata[model] = meta;
      const features = meta.parameters.features;
      const rows = sampleRows(features);
      const inputSets: [string, Tensor[]][] = [[`${model}/per-feature`, perFeature(features, rows)]];
      if (features.every((f) => f.type === 'numeric')) inputSets.unshift([`${model}/one-tensor`, [oneTensor(meta.inputs[0]!.name, features, rows)]]);
      // Numeric features may come in any numeric datatype; FP64 takes another decoding path over binary and gRPC.
      else inputSets.push([`${model}/per-feature-fp64`, perFeature(features, rows, 'FP64')]);
      for (const [id, inputs] of inputSets) {
        const answer = await post(`${url}/v2/models/${model}/infer`, { inputs });
        assert.equal(answer.status, 200, `JSON infer of ${id}: ${JSON.stringify(answer.body)}`);
        const outputs = (answer.body['outputs'] as Tensor[]).map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape, data: (o.data as unknown[]).flat(Infinity) as Tensor['data'] }));
        cases.push({ id, model, version: String(answer.body['model_version']), inputs, outputs });
      }
    }
    const refusal = async (model: string, inputs: Tensor[]) => {
      const answer = await post(`${url}/v2/models/${model}/infer`, { inputs });
      assert.ok(answer.status >= 400 && answer.status < 500, `expected a refusal, got ${answer.status}`);
      const code = answer.body['code'] as ErrorCode | undefined;
      return { model, inputs, status: answer.status, message: answer.body.error, grpc_status: code ? errorCatalogue[code].grpc : undefined };
    };
    const first = cases[0]!;
    const whole = cases.find((c) => c.inputs.length === 1)!;
    const tensor = whole.inputs[0]!;
    const narrow = tensor.shape[1]! - 1;
    const tooNarrow: Tensor = { ...tensor, shape: [tensor.shape[0]!, narrow], data: tensor.data.filter((_, i) => i % tensor.shape[1]! < narrow) };
    return {
      models: MODELS,
      metadata: { server, models: metadata },
      cases,
      errors: {
        unknown_model: await refusal('no-such-model', first.inputs),
        bad_input: await refusal(whole.model, [tooNarrow]),
      },
    };
  }

  it('answer as the JSON API does, over HTTP (binary tensors) and gRPC, and raise with its messages', async (t) => {
    // Before the gateway starts: the script may take a minute to install, and blocks while it does.
    const python = requirePythonEnv(t);
    if (!python) return;
    gw = await startGateway({ models: MODELS });
    const grpcPort = await gw.gateway.listenGrpc(0, '127.0.0.1');
    work = mkdtempSync(join(tmpdir(), 'dg-oip-clients-'));
    // DRIFTGATE_CLIENT_CASES keeps the file where it names, to run pytest by hand later (docs/testing.md).
    const casesFile = process.env['DRIFTGATE_CLIENT_CASES'] ?? join(work, 'cases.json');
    writeFileSync(casesFile, JSON.stringify(await buildCases(gw.url), null, 1));
    // tritonclient.grpc and kserve cannot share a process (both register the protocol's protobuf
    // messages), so pytest runs once per library, each time over both of its clients.
    const failures: string[] = [];
    for (const library of ['tritonclient', 'kserve']) {
      const run = await runPython(python, ['-m', 'pytest', 'tests/python', '-q', '-rfE', '-p', 'no:cacheprovider', '--color=no', '--tb=short'], {
        DRIFTGATE_CLIENT_LIBRARY: library,
        DRIFTGATE_HTTP_URL: gw.url.replace(/^http:\/\//, ''),
        DRIFTGATE_GRPC_URL: `127.0.0.1:${grpcPort}`,
        DRIFTGATE_CLIENT_CASES: casesFile,
      }, 300_000);
      t.diagnostic(`${library}: pytest ran ${run.ms} ms: ${run.output.trim().split('\n').at(-1) ?? ''}`);
      if (run.code !== 0) failures.push(`pytest tests/python with DRIFTGATE_CLIENT_LIBRARY=${library} exited ${run.code}:\n${tail(run.output)}`);
    }
    assert.deepEqual(failures, [], failures.join('\n\n'));
  });
});
