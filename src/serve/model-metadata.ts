// The Open Inference Protocol's model metadata, independent of the transport: the HTTP route answers
// it as JSON, the gRPC service as a ModelMetadataResponse.
import type { Manifest } from '../core/index.js';
import { tensorsOf } from './infer.js';
import type { TensorList } from './infer.js';
import type { GatewayContext } from './routes/context.js';

/** The platform names Triton uses (and driftgate's own for the tfjs formats). */
export const PLATFORM: Record<Manifest['format'], string> = {
  onnx: 'onnxruntime_onnx',
  'tfjs-layers': 'tensorflowjs_layers',
  'tfjs-graph': 'tensorflowjs_graph',
};

export interface ModelMetadata {
  name: string;
  /** The loaded versions, or only the one asked for. */
  versions: string[];
  platform: string;
  inputs: TensorList;
  outputs: TensorList;
  parameters: { task: Manifest['task']; labels?: string[]; features: Manifest['features'] };
  /** The version whose manifest answered. */
  manifestVersion: number;
}

/** Metadata of the serving version of a model, or of one loaded version. */
export function modelMetadata(ctx: GatewayContext, model: string, version: number | undefined): ModelMetadata {
  const manifest = ctx.registry.manifest(model, version);
  const status = ctx.registry.status().find((s) => s.name === model);
  const loaded = (status?.versions ?? []).filter((v) => v.state === 'serving' || v.state === 'loaded').map((v) => String(v.version));
  return {
    name: model,
    versions: version === undefined ? loaded : [String(manifest.version)],
    platform: PLATFORM[manifest.format],
    ...tensorsOf(manifest),
    parameters: {
      task: manifest.task,
      ...(manifest.labels ? { labels: manifest.labels } : {}),
      features: manifest.features,
    },
    manifestVersion: manifest.version,
  };
}
