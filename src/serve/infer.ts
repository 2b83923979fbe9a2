// The Open Inference Protocol's infer call, independent of how it arrived: JSON over HTTP, the binary
// tensor extension over HTTP, or gRPC. Each transport turns its request into an InferRequest (tensor
// data as plain values), calls runInfer, and encodes the typed outputs its own way.
import { randomUUID } from 'node:crypto';
import { describeValues, invalidInput } from '../core/index.js';
import type { Manifest } from '../core/index.js';
import type { GatewayContext } from './routes/context.js';
import type { InferRequest, V2Datatype } from './schemas.js';
import { predictRows, predictionIds } from './predict.js';
import { decodeInferInputs } from './tensors.js';

/** The label output: the predicted class name of each row. */
export const LABEL_OUTPUT = 'label';

export type TensorList = { name: string; datatype: V2Datatype; shape: number[] }[];

// The tensor lists depend only on the manifest; infer reads them on every request, so build them once.
const tensorCache = new WeakMap<Manifest, { inputs: TensorList; outputs: TensorList }>();

/** The model's input and output tensors as the protocol's metadata describes them. */
export function tensorsOf(manifest: Manifest): { inputs: TensorList; outputs: TensorList } {
  let cached = tensorCache.get(manifest);
  if (!cached) {
    cached = describeTensors(manifest);
    tensorCache.set(manifest, cached);
  }
  return cached;
}

function describeTensors(manifest: Manifest) {
  const numeric = manifest.features.every((f) => f.type === 'numeric');
  const inputs: TensorList = numeric
    ? [{ name: manifest.input, datatype: 'FP32', shape: [-1, manifest.features.length] }]
    : manifest.features.map((f) => ({ name: f.name, datatype: f.type === 'numeric' ? 'FP32' : 'BYTES', shape: [-1] }));
  const outputs: TensorList =
    manifest.task === 'classification'
      ? [
          { name: manifest.output, datatype: 'FP32', shape: [-1, manifest.labels.length] },
          { name: LABEL_OUTPUT, datatype: 'BYTES', shape: [-1] },
        ]
      : [{ name: manifest.output, datatype: 'FP32', shape: [-1, 1] }];
  return { inputs, outputs };
}

/** One output tensor: FP32 scores as a typed array, or the BYTES label strings. */
export type InferOutput =
  | { name: string; datatype: 'FP32'; shape: number[]; data: Float32Array }
  | { name: string; datatype: 'BYTES'; shape: number[]; data: string[] };

export interface InferResult {
  model_name: string;
  model_version: string;
  id: string;
  prediction_ids: string[];
  outputs: InferOutput[];
}

/**
 * Runs one validated infer request. Each transport has already bounded its rows (checkRequestRows)
 * on the declared shapes, before decoding any tensor data. `onVersion` is told the version that answers as soon as it is
 * known (the HTTP transport labels its request metric with it).
 */
export async function runInfer(
  ctx: GatewayContext,
  model: string,
  version: number | undefined,
  body: InferRequest,
  startedAt: number,
  onVersion?: (version: number) => void,
): Promise<InferResult> {
  const { served, release } = ctx.registry.acquire(model, version);
  try {
    onVersion?.(served.version);
    const manifest = served.manifest;
    const { outputs: declared } = tensorsOf(manifest);
    const wanted = body.outputs?.map((o) => o.name) ?? declared.map((o) => o.name);
    const unknown = wanted.filter((n) => !declared.some((d) => d.name === n));
    if (unknown.length > 0) throw invalidInput(`unknown output${unknown.length > 1 ? 's' : ''} ${describeValues(unknown)}; this model has ${declared.map((d) => `"${d.name}"`).join(', ')}`);

    const decoded = decodeInferInputs(manifest, served.encoder, body.inputs);
    const requestId = body.id ?? randomUUID();
    const ids = predictionIds(decoded.rows, body.parameters?.prediction_ids, requestId);
    const result = await predictRows(served, decoded.matrix, decoded.rows, ids, ctx.sink, decoded.featureRows, startedAt);
    const width = served.outputWidth;
    const outputs = wanted.map((name): InferOutput => {
      if (name === LABEL_OUTPUT && manifest.task === 'classification') {
        return { name, datatype: 'BYTES', shape: [decoded.rows], data: result.predictions.map((p) => ('label' in p ? p.label : '')) };
      }
      return { name, datatype: 'FP32', shape: [decoded.rows, width], data: result.outputs };
    });
    return { model_name: model, model_version: String(served.version), id: requestId, prediction_ids: ids, outputs };
  } finally {
    release();
  }
}
