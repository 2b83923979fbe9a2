// A real ONNX model that is slow on purpose, built at test time with onnx-proto. It has the iris
// contract (`features` [batch, 4] float32 in, `probabilities` [batch, 3] out) so it can sit in a
// repository next to the example models, but before its small Gemm + Softmax it runs an ONNX `Loop`
// that multiplies a square constant matrix by itself `iterations` times. The loop's cost does not
// depend on the batch size, so a batch of 64 costs the same as one row.
//
// The trip count is switched off when every input value is exactly zero. The gateway warms a version
// up on all-zero input, so loading the slow model stays fast while every real request (iris rows are
// standardized, never all zero) pays the full cost.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { EXAMPLES } from './gateway.js';

const { onnx } = onnxProto;
const { FLOAT, INT64, BOOL } = onnx.TensorProto.DataType;
const { INT, GRAPH } = onnx.AttributeProto.AttributeType;

/**
 * Loop iterations of the default slow model. With the default 512x512 matrix on one onnxruntime
 * thread one call measured about 480 ms on a quiet core of the shared 2-core test machine, and
 * 600-800 ms while other test runs kept it busy (`timeOnnxCalls` below measures it).
 */
export const SLOW_ITERATIONS = 150;
/** Side of the square matrix multiplied in each loop iteration. */
export const SLOW_MATRIX_SIZE = 512;

export interface SlowModelOptions {
  /** Matrix products per call. @defaultValue {@link SLOW_ITERATIONS} */
  iterations?: number;
  /** Side of the square matrix. @defaultValue {@link SLOW_MATRIX_SIZE} */
  size?: number;
  /** Output columns; the manifest normally declares 3 labels. @defaultValue 3 */
  outputs?: number;
}

/** A small deterministic generator (mulberry32) so every build of the model is byte-identical. */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function floatTensor(name: string, dims: number[], values: ArrayLike<number>): Onnx.ITensorProto {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return { name, dims, dataType: FLOAT, rawData: bytes };
}

function int64Scalar(name: string, value: number): Onnx.ITensorProto {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigInt64(0, BigInt(value), true);
  return { name, dims: [], dataType: INT64, rawData: bytes };
}

function node(opType: string, input: string[], output: string[], attribute: Onnx.IAttributeProto[] = []): Onnx.INodeProto {
  return { name: `${opType}_${output[0]}`, opType, input, output, attribute };
}

function tensorInfo(name: string, elemType: number, dims: (number | string)[]): Onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

/** Serializes the slow model. */
export function buildSlowOnnx(opts: SlowModelOptions = {}): Uint8Array {
  const iterations = opts.iterations ?? SLOW_ITERATIONS;
  const n = opts.size ?? SLOW_MATRIX_SIZE;
  const outputs = opts.outputs ?? 3;
  const rand = uniform(42);
  // Entries with a standard deviation of 2/sqrt(n) give the product a gain of about 2, so tanh keeps
  // the state near +-1: it neither explodes nor decays into denormals (which would change the speed).
  const spread = 2 * Math.sqrt(3 / n);
  const square = Float32Array.from({ length: n * n }, () => (rand() * 2 - 1) * spread);
  const head = Float32Array.from({ length: 4 * outputs }, () => rand() * 2 - 1);

  // Loop body: (iteration, condition, state) -> (condition, tanh(state x square)). `square` comes
  // from the outer graph.
  const body: Onnx.IGraphProto = {
    name: 'burn',
    node: [node('MatMul', ['state_in', 'square'], ['product']), node('Tanh', ['product'], ['state_out']), node('Identity', ['cond_in'], ['cond_out'])],
    input: [tensorInfo('iteration', INT64, []), tensorInfo('cond_in', BOOL, []), tensorInfo('state_in', FLOAT, [n, n])],
    output: [tensorInfo('cond_out', BOOL, []), tensorInfo('state_out', FLOAT, [n, n])],
  };

  const graph: Onnx.IGraphProto = {
    name: 'slow',
    initializer: [
      floatTensor('square', [n, n], square),
      int64Scalar('iterations', iterations),
      floatTensor('zero', [], [0]),
      floatTensor('nudge_scale', [], [1e-3]),
      floatTensor('head_w', [4, outputs], head),
      floatTensor('head_b', [outputs], new Float32Array(outputs)),
    ],
    node: [
      // trip count = iterations, or 0 when the whole input is zero (the gateway's warm-up input)
      node('Abs', ['features'], ['abs']),
      node('ReduceMax', ['abs'], ['max_abs'], [{ name: 'keepdims', type: INT, i: 0 }]),
      node('Greater', ['max_abs', 'zero'], ['nonzero']),
      node('Cast', ['nonzero'], ['nonzero_i64'], [{ name: 'to', type: INT, i: INT64 }]),
      node('Mul', ['nonzero_i64', 'iterations'], ['trips']),
      node('Loop', ['trips', '', 'square'], ['burnt'], [{ name: 'body', type: GRAPH, g: body }]),
      // The loop's result feeds the output (a tiny nudge), so the optimizer cannot drop the loop.
      node('ReduceMean', ['burnt'], ['burnt_mean'], [{ name: 'keepdims', type: INT, i: 0 }]),
      node('Mul', ['burnt_mean', 'nudge_scale'], ['nudge']),
      node('Gemm', ['features', 'head_w', 'head_b'], ['logits_raw']),
      node('Add', ['logits_raw', 'nudge'], ['logits']),
      node('Softmax', ['logits'], ['probabilities'], [{ name: 'axis', type: INT, i: -1 }]),
    ],
    input: [tensorInfo('features', FLOAT, ['batch', 4])],
    output: [tensorInfo('probabilities', FLOAT, ['batch', outputs])],
  };

  const proto = onnx.ModelProto.create({ irVersion: 7, producerName: 'driftgate-tests', opsetImport: [{ domain: '', version: 13 }], graph });
  return new Uint8Array(onnx.ModelProto.encode(proto).finish());
}

/** Manifest `batching` settings; they win over the gateway's configuration. */
export interface ManifestBatching {
  max_batch_size?: number;
  max_queue_delay_us?: number;
}

/**
 * The manifest of iris-onnx version 1, renamed: same features, preprocessing, input, output and
 * labels. Its `batching` (iris sets a queue delay of 0) is replaced when `batching` is given.
 */
export function slowManifest(name: string, version: number, batching?: ManifestBatching): Record<string, unknown> {
  const manifest = JSON.parse(readFileSync(join(EXAMPLES, 'iris-onnx', '1', 'driftgate.json'), 'utf8')) as Record<string, unknown>;
  return {
    ...manifest,
    name,
    version,
    format: 'onnx',
    ...(batching ? { batching } : {}),
    description: 'slow test model: burns CPU in an ONNX Loop before answering',
  };
}

export interface SlowModelFiles extends SlowModelOptions {
  /** @defaultValue `'slow'` */
  name?: string;
  /** @defaultValue 1 */
  version?: number;
  batching?: ManifestBatching;
}

/** Writes `<repo>/<name>/<version>/` with the slow model and its manifest; returns the directory. */
export function writeSlowModel(repo: string, opts: SlowModelFiles = {}): string {
  const name = opts.name ?? 'slow';
  const version = opts.version ?? 1;
  const dir = join(repo, name, String(version));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.onnx'), buildSlowOnnx(opts));
  writeFileSync(join(dir, 'driftgate.json'), JSON.stringify(slowManifest(name, version, opts.batching), null, 2) + '\n');
  return dir;
}

/**
 * Times calls of a model file with onnxruntime-node directly, on the threads the gateway uses by
 * default (one intra-op, one inter-op). Returns each call's duration in ms.
 */
export async function timeOnnxCalls(modelPath: string, calls = 3, rows = 1): Promise<number[]> {
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  try {
    const input = new ort.Tensor('float32', Float32Array.from({ length: rows * 4 }, (_, i) => (i % 4) - 1.5), [rows, 4]);
    const times: number[] = [];
    for (let i = 0; i < calls; i++) {
      const started = performance.now();
      await session.run({ features: input });
      times.push(performance.now() - started);
    }
    return times;
  } finally {
    await session.release();
  }
}
