// The three ways to call infer, side by side on the Iris ONNX example: JSON over HTTP, the binary
// tensor extension over HTTP (binary inputs and outputs, as tritonclient sends by default), and gRPC
// ModelInfer with raw contents. HTTP load comes from autocannon, gRPC load from ghz (the usual gRPC
// load tool; built with `go install` into .bench-tools/ when it is not on PATH). Part of
// `npm run bench:serve`; `--only protocols` runs just this table.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';

export interface ProtocolRow {
  protocol: 'json' | 'binary' | 'grpc';
  batch: number;
  connections: number;
  reqPerSec: number;
  rowsPerSec: number;
  p50: number;
  p99: number;
  errors: number;
}

const GHZ_MODULE = 'github.com/bojand/ghz/cmd/ghz@v0.120.0';

/** Finds ghz on PATH or in .bench-tools/bin, building it with Go when neither has it. */
export function ghzBinary(root: string): string | undefined {
  const onPath = spawnSync('sh', ['-c', 'command -v ghz'], { encoding: 'utf8' }).stdout.trim();
  if (onPath) return onPath;
  const bin = join(root, '.bench-tools', 'bin');
  const local = join(bin, 'ghz');
  if (existsSync(local)) return local;
  if (spawnSync('sh', ['-c', 'command -v go']).status !== 0) return undefined;
  mkdirSync(bin, { recursive: true });
  process.stderr.write(`building ghz (${GHZ_MODULE}) into .bench-tools/bin ...\n`);
  execFileSync('go', ['install', GHZ_MODULE], { env: { ...process.env, GOBIN: bin }, stdio: ['ignore', 'ignore', 'inherit'] });
  return local;
}

/** `rows` Iris rows, the same values the JSON, binary and gRPC bodies carry. */
function irisRows(rows: number): number[] {
  const sample = [5.9, 3.0, 5.1, 1.8, 5.1, 3.5, 1.4, 0.2, 6.3, 2.9, 5.6, 1.8];
  return Array.from({ length: rows * 4 }, (_, i) => sample[i % sample.length]!);
}

function jsonBody(rows: number): string {
  return JSON.stringify({ inputs: [{ name: 'features', shape: [rows, 4], datatype: 'FP32', data: irisRows(rows) }] });
}

/** A binary-extension request: JSON header, then the FP32 input bytes; all outputs asked in binary. */
function binaryBody(rows: number): { body: Buffer; headerLength: number } {
  const raw = Buffer.from(new Float32Array(irisRows(rows)).buffer);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'features', shape: [rows, 4], datatype: 'FP32', parameters: { binary_data_size: raw.length } }],
      parameters: { binary_data_output: true },
    }),
  );
  return { body: Buffer.concat([header, raw]), headerLength: header.length };
}

/** The ghz request (protobuf JSON: bytes fields in base64). */
function grpcRequest(rows: number): string {
  const raw = Buffer.from(new Float32Array(irisRows(rows)).buffer).toString('base64');
  return JSON.stringify({ model_name: 'iris-onnx', inputs: [{ name: 'features', datatype: 'FP32', shape: [rows, 4] }], raw_input_contents: [raw] });
}

async function driveHttp(url: string, connections: number, duration: number, body: string | Buffer, headers: Record<string, string>) {
  const opts = { url, connections, method: 'POST', headers, body };
  await autocannon({ ...opts, duration: 2 });
  const r = await autocannon({ ...opts, duration });
  return { reqPerSec: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts + r.non2xx };
}

interface GhzReport {
  rps: number;
  latencyDistribution: { percentage: number; latency: number }[] | null;
  statusCodeDistribution: Record<string, number>;
}

function driveGrpc(ghz: string, root: string, target: string, connections: number, duration: number, data: string) {
  const run = (seconds: number): GhzReport => {
    const out = execFileSync(
      ghz,
      [
        '--insecure',
        '--proto', join(root, 'proto/kserve/grpc_predict_v2.proto'),
        '--call', 'inference.GRPCInferenceService/ModelInfer',
        '--concurrency', String(connections),
        '--duration', `${seconds}s`,
        '--format', 'json',
        '--data', data,
        target,
      ],
      { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 },
    );
    return JSON.parse(out) as GhzReport;
  };
  run(2);
  const r = run(duration);
  const at = (p: number) => (r.latencyDistribution?.find((d) => d.percentage === p)?.latency ?? NaN) / 1e6;
  const failed = Object.entries(r.statusCodeDistribution ?? {}).reduce((a, [code, n]) => a + (code === 'OK' ? 0 : n), 0);
  return { reqPerSec: r.rps, p50: at(50), p99: at(99), errors: failed };
}

/** Drives a running gateway (HTTP and gRPC ports) at each batch size; iris-onnx must be loaded. */
export async function benchProtocols(opts: {
  root: string;
  httpPort: number;
  grpcPort: number;
  batches: number[];
  connections: number;
  duration: number;
}): Promise<{ rows: ProtocolRow[]; note: string }> {
  const { root, httpPort, grpcPort, batches, connections, duration } = opts;
  const url = `http://127.0.0.1:${httpPort}/v2/models/iris-onnx/infer`;
  const ghz = ghzBinary(root);
  const rows: ProtocolRow[] = [];
  for (const batch of batches) {
    const json = await driveHttp(url, connections, duration, jsonBody(batch), { 'content-type': 'application/json' });
    rows.push({ protocol: 'json', batch, connections, ...json, rowsPerSec: json.reqPerSec * batch });
    const { body, headerLength } = binaryBody(batch);
    const binary = await driveHttp(url, connections, duration, body, { 'inference-header-content-length': String(headerLength) });
    rows.push({ protocol: 'binary', batch, connections, ...binary, rowsPerSec: binary.reqPerSec * batch });
    if (ghz) {
      const grpc = driveGrpc(ghz, root, `127.0.0.1:${grpcPort}`, connections, duration, grpcRequest(batch));
      rows.push({ protocol: 'grpc', batch, connections, ...grpc, rowsPerSec: grpc.reqPerSec * batch });
    }
  }
  const note = ghz
    ? `HTTP: autocannon, ${connections} connections; gRPC: ghz, ${connections} concurrent calls over one HTTP/2 connection (a gRPC client's usual channel).`
    : 'gRPC row missing: ghz is not on PATH and Go is not installed to build it.';
  return { rows, note };
}

export function protocolTable(rows: ProtocolRow[]): string[] {
  const json = new Map(rows.filter((r) => r.protocol === 'json').map((r) => [r.batch, r]));
  return [
    '| protocol | rows per request | concurrency | req/s | rows/s | p50 ms | p99 ms | req/s vs JSON | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => {
      const base = json.get(r.batch);
      const ratio = base ? `${(r.reqPerSec / base.reqPerSec).toFixed(2)}x` : '-';
      return `| ${r.protocol} | ${r.batch} | ${r.connections} | ${Math.round(r.reqPerSec)} | ${Math.round(r.rowsPerSec)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${ratio} | ${r.errors} |`;
    }),
  ];
}
