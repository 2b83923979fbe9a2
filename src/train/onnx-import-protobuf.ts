// Reading values out of a decoded ONNX protobuf for the importer: node attributes with their defaults,
// float tensors from either storage form, and names for error messages.
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';

const { onnx } = onnxProto;
export const FLOAT = onnx.TensorProto.DataType.FLOAT;

/** A float32 tensor read off the graph: its shape and its values in row-major order. */
export interface FloatTensor {
  dims: number[];
  values: Float32Array;
}

export function attribute(node: Onnx.INodeProto, name: string): Onnx.IAttributeProto | undefined {
  return node.attribute?.find((a) => a.name === name);
}

export function intAttr(node: Onnx.INodeProto, name: string, fallback: number): number {
  const attr = attribute(node, name);
  if (attr === undefined) return fallback;
  if (attr.type === onnx.AttributeProto.AttributeType.FLOAT) return attr.f ?? fallback;
  return attr.i === undefined || attr.i === null ? fallback : toNumber(attr.i);
}

export function floatAttr(node: Onnx.INodeProto, name: string, fallback: number): number {
  const attr = attribute(node, name);
  if (attr === undefined) return fallback;
  if (attr.type === onnx.AttributeProto.AttributeType.INT) return attr.i === undefined || attr.i === null ? fallback : toNumber(attr.i);
  return attr.f ?? fallback;
}

/** protobufjs decodes int64 fields as Long objects when the `long` package is present, numbers otherwise. */
export function toNumber(value: number | { toNumber(): number }): number {
  return typeof value === 'number' ? value : value.toNumber();
}

/** The values of a float32 tensor, from little-endian `raw_data` or from `float_data`. */
export function floatTensor(tensor: Onnx.ITensorProto, what: string): FloatTensor {
  if (tensor.dataType !== FLOAT) throw new Error(`cannot import ONNX model: ${what} must be float32, got data type ${tensor.dataType ?? 'unset'}`);
  if (tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new Error(`cannot import ONNX model: ${what} is stored in an external file, which is not supported`);
  }
  const dims = (tensor.dims ?? []).map(toNumber);
  const count = dims.reduce((n, d) => n * d, 1);
  const raw = tensor.rawData;
  let values: Float32Array;
  if (raw && raw.byteLength > 0) {
    if (raw.byteLength !== count * 4) throw new Error(`cannot import ONNX model: ${what} has ${raw.byteLength} bytes of data for ${count} floats`);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    values = new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = view.getFloat32(i * 4, true);
  } else {
    values = Float32Array.from(tensor.floatData ?? []);
    if (values.length !== count) throw new Error(`cannot import ONNX model: ${what} has ${values.length} values for ${count} elements`);
  }
  return { dims, values };
}

export function nodeName(node: Onnx.INodeProto): string {
  return node.name || `${node.opType ?? 'node'}->${node.output?.[0] ?? '?'}`;
}
