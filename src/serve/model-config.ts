// A model version described as Triton's model configuration (the `model_configuration` extension,
// GET /v2/models/{m}[/versions/{v}]/config), built from the manifest and the gateway's settings, so
// clients such as tritonclient's get_model_config get the fields they know. driftgate has no
// config.pbtxt; this is a read-only view.
import type { Manifest } from '../core/index.js';
import { tensorsOf } from './infer.js';
import { PLATFORM } from './model-metadata.js';
import type { TensorList } from './infer.js';
import type { V2Datatype } from './schemas.js';

const BACKEND: Record<Manifest['format'], string> = {
  onnx: 'onnxruntime',
  'tfjs-layers': 'tensorflowjs',
  'tfjs-graph': 'tensorflowjs',
};

/** Triton's data type names: the protocol's, prefixed, except BYTES which Triton calls STRING. */
export function tritonDataType(datatype: V2Datatype): string {
  return datatype === 'BYTES' ? 'TYPE_STRING' : `TYPE_${datatype}`;
}

export interface ModelConfigSettings {
  /** Most rows in one request (DRIFTGATE_MAX_REQUEST_ROWS): Triton's max_batch_size. */
  maxRequestRows: number;
  batching: boolean;
  maxQueueDelayUs: number;
  maxQueueSize: number;
}

interface TensorConfig {
  name: string;
  data_type: string;
  dims: number[];
  reshape?: { shape: number[] };
}

/**
 * With max_batch_size above 0, Triton's dims leave out the batch dimension. A tensor that has only
 * the batch dimension (a feature sent alone, the label) is dims [1] reshaped to [], as in Triton.
 */
function tensorConfig(tensors: TensorList): TensorConfig[] {
  return tensors.map((t) => {
    const dims = t.shape.slice(1);
    const base = { name: t.name, data_type: tritonDataType(t.datatype) };
    return dims.length === 0 ? { ...base, dims: [1], reshape: { shape: [] } } : { ...base, dims };
  });
}

export function modelConfig(manifest: Manifest, settings: ModelConfigSettings) {
  const { inputs, outputs } = tensorsOf(manifest);
  return {
    name: manifest.name,
    platform: PLATFORM[manifest.format],
    backend: BACKEND[manifest.format],
    max_batch_size: settings.maxRequestRows,
    input: tensorConfig(inputs),
    output: tensorConfig(outputs),
    ...(settings.batching
      ? {
          dynamic_batching: {
            max_queue_delay_microseconds: manifest.batching?.max_queue_delay_us ?? settings.maxQueueDelayUs,
            default_queue_policy: { max_queue_size: settings.maxQueueSize },
          },
        }
      : {}),
  };
}
