// Raw tensor bytes, as both binary transports carry them: the HTTP binary tensor data extension and
// gRPC's raw_input_contents / raw_output_contents. Little-endian, row-major; a BOOL is one byte (0 or
// 1), a BYTES element a 4-byte length and its UTF-8 bytes. Decoding yields the plain values a JSON
// tensor carries, so every transport meets the same validation (tensors.ts) afterwards.
import { invalidInput } from '../core/index.js';
import type { InferOutput } from './infer.js';

/** Bytes per element of the fixed-size datatypes; BYTES is variable and FP16 is not taken. */
export const ELEMENT_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1, UINT8: 1, INT8: 1, UINT16: 2, INT16: 2, UINT32: 4, INT32: 4, FP32: 4, UINT64: 8, INT64: 8, FP64: 8,
};

/** The same refusal the JSON path gives (tensors.ts), before any element is read. */
export function refuseFp16(datatype: string, where: string): void {
  if (datatype === 'FP16') throw invalidInput(`${where}: datatype FP16 is not supported; send FP32`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 text of one BYTES element; `where` names the element in the refusal. */
export function utf8Text(bytes: Uint8Array, where: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw invalidInput(`${where} is not valid UTF-8`);
  }
}

type Reader = (view: DataView, offset: number, where: string) => unknown;

const READERS: Readonly<Record<string, Reader>> = {
  BOOL: (v, o, where) => {
    const byte = v.getUint8(o);
    if (byte > 1) throw invalidInput(`${where} element ${o}: a BOOL byte must be 0 or 1, got ${byte}`);
    return byte === 1;
  },
  UINT8: (v, o) => v.getUint8(o),
  INT8: (v, o) => v.getInt8(o),
  UINT16: (v, o) => v.getUint16(o, true),
  INT16: (v, o) => v.getInt16(o, true),
  UINT32: (v, o) => v.getUint32(o, true),
  INT32: (v, o) => v.getInt32(o, true),
  FP32: (v, o) => v.getFloat32(o, true),
  // Past ±(2^53 - 1) the number is no longer exact; the shared range check refuses it.
  UINT64: (v, o) => Number(v.getBigUint64(o, true)),
  INT64: (v, o) => Number(v.getBigInt64(o, true)),
  FP64: (v, o) => v.getFloat64(o, true),
};

/**
 * The elements of one tensor's raw bytes, in row-major order. The element count is left to the shared
 * decoder, which compares it with the shape as it does for JSON data. An unknown datatype yields no
 * elements; the schema then names the datatype.
 */
export function decodeRawTensor(datatype: string, raw: Uint8Array, where: string): unknown[] {
  if (datatype === 'BYTES') return decodeRawBytes(raw, where);
  refuseFp16(datatype, where);
  const size = ELEMENT_BYTES[datatype];
  const read = READERS[datatype];
  if (size === undefined || read === undefined) return [];
  if (raw.byteLength % size !== 0) throw invalidInput(`${where}: raw contents of ${raw.byteLength} bytes are not a whole number of ${datatype} elements (${size} bytes each)`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Array<unknown>(raw.byteLength / size);
  for (let i = 0; i < out.length; i++) out[i] = read(view, i * size, where);
  return out;
}

/** BYTES elements: each a 4-byte little-endian length, then that many bytes of UTF-8 text. */
function decodeRawBytes(raw: Uint8Array, where: string): string[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: string[] = [];
  let at = 0;
  while (at < raw.byteLength) {
    if (at + 4 > raw.byteLength) throw invalidInput(`${where}: BYTES element ${out.length} has a cut-off length prefix (${raw.byteLength - at} of 4 bytes)`);
    const length = view.getUint32(at, true);
    if (at + 4 + length > raw.byteLength) {
      throw invalidInput(`${where}: BYTES element ${out.length} declares ${length} bytes but only ${raw.byteLength - at - 4} remain`);
    }
    out.push(utf8Text(raw.subarray(at + 4, at + 4 + length), `${where}: BYTES element ${out.length}`));
    at += 4 + length;
  }
  return out;
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** One output tensor's raw bytes: FP32 little-endian, BYTES with 4-byte little-endian length prefixes. */
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
