// Tensor and parameter encoding of the Open Inference Protocol's gRPC messages: a ModelInferRequest (as
// proto-loader decodes it) becomes the plain-valued InferRequest that HTTP clients send as JSON, so both
// transports share one schema, one decoder and the same error messages; infer results become
// `raw_output_contents` (raw-tensors.ts holds the byte layout, shared with HTTP's binary extension).
import { describeValue, invalidInput } from '../../core/index.js';
import { decodeRawTensor, refuseFp16, utf8Text } from '../raw-tensors.js';

/** InferParameter as proto-loader decodes it (`oneofs: true` names the field that is set). */
export interface GrpcParameter {
  parameter_choice?: string;
  bool_param?: boolean;
  int64_param?: number;
  string_param?: string;
  double_param?: number;
  uint64_param?: number;
}

export interface GrpcTensorContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: number[];
  uint_contents?: number[];
  uint64_contents?: number[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

export interface GrpcInputTensor {
  name: string;
  datatype: string;
  shape: number[];
  parameters?: Record<string, GrpcParameter>;
  contents?: GrpcTensorContents | null;
}

export interface GrpcInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: Record<string, GrpcParameter>;
  inputs: GrpcInputTensor[];
  outputs?: { name: string; parameters?: Record<string, GrpcParameter> }[];
  raw_input_contents?: Uint8Array[];
}

/** The request parameter that names one prediction id per row (a JSON array or a comma-joined list). */
export const PREDICTION_IDS = 'prediction_ids';

/** Which `contents` field carries each datatype (FP16 has none; driftgate refuses it either way). */
const CONTENTS_FIELD: Record<string, keyof GrpcTensorContents> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

/** The elements of one tensor's typed `contents`: the field that matches its datatype, and only that one. */
export function decodeTypedTensor(datatype: string, contents: GrpcTensorContents | null | undefined, where: string): unknown[] {
  refuseFp16(datatype, where);
  const field = CONTENTS_FIELD[datatype];
  if (field === undefined) return [];
  const wrong = filledFields(contents).filter((k) => k !== field);
  if (wrong.length > 0) throw invalidInput(`${where}: datatype ${datatype} takes contents.${field}, got contents.${wrong.join(', contents.')}`);
  const values = (contents?.[field] ?? []) as unknown[];
  if (datatype !== 'BYTES') return values;
  return (values as Uint8Array[]).map((b, i) => utf8Text(b, `${where}: BYTES element ${i}`));
}

/** A map of InferParameter to plain values (the value of each one's set field). */
export function plainParameters(params: Record<string, GrpcParameter> | undefined): Record<string, unknown> | undefined {
  if (!params) return undefined;
  const entries = Object.entries(params);
  if (entries.length === 0) return undefined;
  return Object.fromEntries(entries.map(([key, p]) => [key, p.parameter_choice ? p[p.parameter_choice as keyof GrpcParameter] : undefined]));
}

/**
 * `prediction_ids` as a string parameter: a JSON array of strings, or ids joined by commas. Anything
 * else is passed on unchanged, so the schema names what is wrong with it.
 */
export function predictionIdsParameter(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const trimmed = value.trim();
  if (!trimmed.startsWith('[')) return trimmed === '' ? [] : trimmed.split(',').map((s) => s.trim());
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    throw invalidInput(`parameters.${PREDICTION_IDS}: ${describeValue(value, 60)} is neither a JSON array nor a comma-joined list`);
  }
}

/**
 * The ModelInferRequest as the plain request body the infer schema validates: tensor data from
 * `raw_input_contents` (all inputs) or from each input's `contents`, parameters as plain values.
 */
export function toInferBody(request: GrpcInferRequest): Record<string, unknown> {
  const raw = request.raw_input_contents ?? [];
  if (raw.length > 0 && raw.length !== request.inputs.length) {
    throw invalidInput(`raw_input_contents holds ${raw.length} tensors but inputs lists ${request.inputs.length}; send one raw tensor per input, in the same order`);
  }
  const inputs = request.inputs.map((input, i) => {
    const where = `input ${describeValue(input.name)}`;
    let data: unknown[];
    if (raw.length > 0) {
      if (filledFields(input.contents).length > 0) throw invalidInput(`${where}: contents must be empty when raw_input_contents is used`);
      data = decodeRawTensor(input.datatype, raw[i]!, where);
    } else {
      data = decodeTypedTensor(input.datatype, input.contents, where);
    }
    const parameters = plainParameters(input.parameters);
    return { name: input.name, shape: input.shape, datatype: input.datatype, data, ...(parameters ? { parameters } : {}) };
  });
  const parameters = plainParameters(request.parameters);
  if (parameters && PREDICTION_IDS in parameters) parameters[PREDICTION_IDS] = predictionIdsParameter(parameters[PREDICTION_IDS]);
  const outputs = request.outputs?.length
    ? request.outputs.map((o) => {
        const p = plainParameters(o.parameters);
        return { name: o.name, ...(p ? { parameters: p } : {}) };
      })
    : undefined;
  return {
    ...(request.id ? { id: request.id } : {}),
    ...(parameters ? { parameters } : {}),
    inputs,
    ...(outputs ? { outputs } : {}),
  };
}

/** The `contents` fields that hold elements. */
function filledFields(contents: GrpcTensorContents | null | undefined): string[] {
  return Object.entries(contents ?? {})
    .filter(([, v]) => Array.isArray(v) && v.length > 0)
    .map(([k]) => k);
}
