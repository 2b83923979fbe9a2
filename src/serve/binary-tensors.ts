// The binary tensor data extension of the Open Inference Protocol's HTTP transport (Triton's
// `binary_tensor_data`, the default of NVIDIA's tritonclient). A request whose header
// `Inference-Header-Content-Length: n` is set carries n bytes of JSON, then the raw data of every input
// whose `parameters.binary_data_size` is set, in input order, in the byte layout of raw-tensors.ts
// (shared with gRPC). Decoding turns the raw data into the plain `data` arrays JSON tensors carry, so
// both forms meet the same validation afterwards.
// A response carries outputs the same way when the request asks (`binary_data_output`, `binary_data`).
import { describeError, describeValue, invalidInput } from '../core/index.js';
import type { InferOutput } from './infer.js';
import { ELEMENT_BYTES, decodeRawTensor, encodeRawOutput } from './raw-tensors.js';
import type { InferRequest, InferRequestHeader, V2Datatype } from './schemas.js';

/** The request and response header giving the length of the JSON part of a binary body. */
export const INFERENCE_HEADER = 'Inference-Header-Content-Length';

const inputName = (tensor: { name: string }): string => `input ${describeValue(tensor.name)}`;

/** The JSON length a request declares in its Inference-Header-Content-Length header. */
export function headerLength(value: string | string[] | undefined, bodyBytes: number): number {
  const raw = Array.isArray(value) ? value.join(',') : (value ?? '');
  if (!/^\s*\d{1,15}\s*$/.test(raw)) {
    throw invalidInput(`${INFERENCE_HEADER} must be a non-negative whole number of bytes, got ${describeValue(raw, 40)}`);
  }
  const length = Number(raw);
  if (length > bodyBytes) throw invalidInput(`${INFERENCE_HEADER} is ${length} bytes but the body holds only ${bodyBytes}`);
  return length;
}

/** The value of `binary_data_size` on one input, or undefined when its data is in the JSON. */
function binarySize(tensor: { name: string; parameters?: Record<string, unknown> | undefined }): number | undefined {
  const size = tensor.parameters?.binary_data_size;
  if (size === undefined) return undefined;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalidInput(`${inputName(tensor)}: parameters.binary_data_size must be a non-negative whole number of bytes, got ${describeValue(size, 40)}`);
  }
  return size;
}

/** Refuses `binary_data_size` on a JSON request: its data would be nowhere. */
export function refuseBinaryInputs(body: InferRequest): void {
  const binary = body.inputs.find((t) => binarySize(t) !== undefined);
  if (binary) {
    throw invalidInput(`${inputName(binary)} sets parameters.binary_data_size, but the request has no ${INFERENCE_HEADER} header saying where its JSON ends`);
  }
}

/**
 * Splits a binary-extension request body: the JSON header (parsed, not yet validated) and where the
 * binary data starts.
 */
export function splitBinaryRequest(body: Buffer, declaredLength: string | string[] | undefined): { header: unknown; jsonBytes: number } {
  const jsonBytes = headerLength(declaredLength, body.length);
  try {
    return { header: JSON.parse(body.subarray(0, jsonBytes).toString('utf8')), jsonBytes };
  } catch (err) {
    throw invalidInput(`the inference header (the first ${jsonBytes} bytes, per ${INFERENCE_HEADER}) is not valid JSON: ${describeError(err)}`);
  }
}

/**
 * Fills in the data of every input that sets `binary_data_size` from the bytes after the JSON header
 * (`jsonBytes` on), decoded into plain values; every byte must belong to an input.
 */
export function attachBinaryInputs(header: InferRequestHeader, body: Buffer, jsonBytes: number): InferRequest {
  let offset = jsonBytes;
  const inputs = header.inputs.map((tensor): InferRequest['inputs'][number] => {
    const size = binarySize(tensor);
    if (size === undefined) {
      if (tensor.data === undefined) throw invalidInput(`${inputName(tensor)} has neither data nor parameters.binary_data_size`);
      return { ...tensor, data: tensor.data };
    }
    if (tensor.data !== undefined) throw invalidInput(`${inputName(tensor)} has both data and parameters.binary_data_size; send one`);
    const left = body.length - offset;
    const count = tensor.shape.reduce((a, b) => a * b, 1);
    const fixed = ELEMENT_BYTES[tensor.datatype];
    if (fixed !== undefined && size !== count * fixed) {
      throw invalidInput(`${inputName(tensor)}: binary_data_size is ${size} bytes, but shape [${tensor.shape.join(', ')}] of ${tensor.datatype} takes ${count * fixed}`);
    }
    if (size > left) throw invalidInput(`${inputName(tensor)}: binary_data_size is ${size} bytes, but only ${left} bytes of binary data are left in the body`);
    const data = decodeRawTensor(tensor.datatype, body.subarray(offset, offset + size), inputName(tensor));
    if (tensor.datatype === 'BYTES' && data.length !== count) {
      throw invalidInput(`${inputName(tensor)}: binary_data_size holds ${data.length} BYTES elements, but shape [${tensor.shape.join(', ')}] takes ${count}`);
    }
    offset += size;
    return { ...tensor, data };
  });
  if (offset < body.length) {
    throw invalidInput(`${body.length - offset} bytes after the inference header belong to no input: the inputs' binary_data_size add up to ${offset - jsonBytes}`);
  }
  return { ...header, inputs };
}

/**
 * Which outputs go out as binary data: those whose `parameters.binary_data` is true, or with the
 * request's `parameters.binary_data_output` true, all but those whose `binary_data` is false. The
 * flags are checked here, before the request runs.
 */
export function binaryOutputChoice(body: InferRequest): (name: string) => boolean {
  const flag = (value: unknown, what: string): boolean | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') throw invalidInput(`${what} must be true or false, got ${describeValue(value, 40)}`);
    return value;
  };
  const all = flag(body.parameters?.binary_data_output, 'parameters.binary_data_output') ?? false;
  const own = new Map((body.outputs ?? []).map((o) => [o.name, flag(o.parameters?.binary_data, `output ${describeValue(o.name)} parameters.binary_data`)]));
  return (name) => own.get(name) ?? all;
}

/** An output tensor of the JSON part of a response: values inline, or the size of its binary data. */
export type ResponseTensor =
  | { name: string; datatype: V2Datatype; shape: number[]; data: (number | string)[] }
  | { name: string; datatype: V2Datatype; shape: number[]; parameters: { binary_data_size: number } };

/**
 * The outputs of a response: those `binary` picks as raw bytes after the JSON, the others inline.
 * `header` is the rest of the JSON part (model name, version, id, parameters).
 */
export function encodeInferResponse<H extends object>(
  header: H,
  outputs: readonly InferOutput[],
  binary: (name: string) => boolean,
): { json: H & { outputs: ResponseTensor[] }; binary?: { body: Buffer; headerLength: number } } {
  const raw: Buffer[] = [];
  const tensors = outputs.map((o): ResponseTensor => {
    if (!binary(o.name)) return { name: o.name, datatype: o.datatype, shape: o.shape, data: o.datatype === 'FP32' ? Array.from(o.data) : o.data };
    const bytes = encodeRawOutput(o);
    raw.push(bytes);
    return { name: o.name, datatype: o.datatype, shape: o.shape, parameters: { binary_data_size: bytes.length } };
  });
  const json = { ...header, outputs: tensors };
  if (raw.length === 0) return { json };
  const text = Buffer.from(JSON.stringify(json), 'utf8');
  return { json, binary: { body: Buffer.concat([text, ...raw]), headerLength: text.length } };
}
