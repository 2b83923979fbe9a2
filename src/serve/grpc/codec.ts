// Tensor and parameter encoding of the Open Inference Protocol's gRPC messages: a ModelInferRequest (as
// proto-loader decodes it) becomes the plain-valued InferRequest that HTTP clients send as JSON, so both
// transports share one schema, one decoder and the same error messages; infer results become
// `raw_output_contents`. Raw tensor bytes are little-endian, BYTES elements carry a 4-byte length prefix.
import { describeValue, invalidInput } from '../../core/index.js';
import type { InferOutput } from '../infer.js';

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

/** Bytes per element of the fixed-size datatypes in raw contents. */
const ELEMENT_BYTES: Record<string, number> = {
  BOOL: 1, UINT8: 1, INT8: 1, UINT16: 2, INT16: 2, UINT32: 4, INT32: 4, FP32: 4, UINT64: 8, INT64: 8, FP64: 8,
};

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

/** The same refusal the JSON path gives (tensors.ts), before any element is read. */
function refuseFp16(datatype: string, where: string): void {
  if (datatype === 'FP16') throw invalidInput(`${where}: datatype FP16 is not supported; send FP32`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(bytes: Uint8Array, where: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw invalidInput(`${where} is not valid UTF-8`);
  }
}

/**
 * The elements of one tensor's raw contents, in row-major order. The element count is left to the
 * shared decoder, which compares it with the shape as it does for JSON data. An unknown datatype
 * yields no elements; the schema then names the datatype.
 */
export function decodeRawTensor(datatype: string, raw: Uint8Array, where: string): unknown[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (datatype === 'BYTES') {
    const out: string[] = [];
    let at = 0;
    while (at < raw.byteLength) {
      if (at + 4 > raw.byteLength) throw invalidInput(`${where}: BYTES element ${out.length} has a cut-off length prefix (${raw.byteLength - at} of 4 bytes)`);
      const length = view.getUint32(at, true);
      if (at + 4 + length > raw.byteLength) {
        throw invalidInput(`${where}: BYTES element ${out.length} declares ${length} bytes but only ${raw.byteLength - at - 4} remain`);
      }
      out.push(text(raw.subarray(at + 4, at + 4 + length), `${where}: BYTES element ${out.length}`));
      at += 4 + length;
    }
    return out;
  }
  refuseFp16(datatype, where);
  const size = ELEMENT_BYTES[datatype];
  if (size === undefined) return [];
  if (raw.byteLength % size !== 0) throw invalidInput(`${where}: raw contents of ${raw.byteLength} bytes are not a whole number of ${datatype} elements (${size} bytes each)`);
  const count = raw.byteLength / size;
  const read: (offset: number) => unknown = {
    BOOL: (o: number) => view.getUint8(o) !== 0,
    UINT8: (o: number) => view.getUint8(o),
    INT8: (o: number) => view.getInt8(o),
    UINT16: (o: number) => view.getUint16(o, true),
    INT16: (o: number) => view.getInt16(o, true),
    UINT32: (o: number) => view.getUint32(o, true),
    INT32: (o: number) => view.getInt32(o, true),
    FP32: (o: number) => view.getFloat32(o, true),
    // Past 2^53 the number is no longer exact; the shared decoder refuses it as out of range.
    UINT64: (o: number) => Number(view.getBigUint64(o, true)),
    INT64: (o: number) => Number(view.getBigInt64(o, true)),
    FP64: (o: number) => view.getFloat64(o, true),
  }[datatype]!;
  const out = new Array<unknown>(count);
  for (let i = 0; i < count; i++) out[i] = read(i * size);
  return out;
}

/** The elements of one tensor's typed `contents`: the field that matches its datatype, and only that one. */
export function decodeTypedTensor(datatype: string, contents: GrpcTensorContents | null | undefined, where: string): unknown[] {
  refuseFp16(datatype, where);
  const field = CONTENTS_FIELD[datatype];
  if (field === undefined) return [];
  const wrong = filledFields(contents).filter((k) => k !== field);
  if (wrong.length > 0) throw invalidInput(`${where}: datatype ${datatype} takes contents.${field}, got contents.${wrong.join(', contents.')}`);
  const values = (contents?.[field] ?? []) as unknown[];
  if (datatype !== 'BYTES') return values;
  return (values as Uint8Array[]).map((b, i) => text(b, `${where}: BYTES element ${i}`));
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

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** One output tensor as raw contents: FP32 little-endian, BYTES with 4-byte little-endian length prefixes. */
export function encodeRawOutput(output: InferOutput): Buffer {
  if (output.datatype === 'FP32') {
    const data = output.data;
    if (littleEndian) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const out = Buffer.allocUnsafe(data.length * 4);
    data.forEach((v, i) => out.writeFloatLE(v, i * 4));
    return out;
  }
  const parts = output.data.map((s) => Buffer.from(s, 'utf8'));
  const out = Buffer.allocUnsafe(parts.reduce((n, p) => n + 4 + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.writeUInt32LE(p.length, at);
    p.copy(out, at + 4);
    at += 4 + p.length;
  }
  return out;
}
