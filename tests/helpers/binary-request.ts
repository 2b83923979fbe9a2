// Client side of the binary tensor data extension, written independently of the server's decoder:
// builds request bodies as tritonclient does (JSON header, then each input's little-endian bytes) and
// splits binary responses.

export interface BinaryInput {
  name: string;
  shape: number[];
  datatype: string;
  /** Flat values in row-major order: numbers, bigints (64-bit), booleans or strings (BYTES). */
  values: readonly (number | bigint | boolean | string)[];
}

/** The raw bytes of one tensor's values. */
export function tensorBytes(datatype: string, values: BinaryInput['values']): Buffer {
  if (datatype === 'BYTES') {
    return Buffer.concat(
      values.flatMap((v) => {
        const text = Buffer.from(String(v), 'utf8');
        const length = Buffer.alloc(4);
        length.writeUInt32LE(text.length);
        return [length, text];
      }),
    );
  }
  const writers: Record<string, [number, (b: Buffer, v: never, o: number) => void]> = {
    BOOL: [1, (b, v: boolean, o) => b.writeUInt8(v ? 1 : 0, o)],
    UINT8: [1, (b, v: number, o) => b.writeUInt8(v, o)],
    INT8: [1, (b, v: number, o) => b.writeInt8(v, o)],
    UINT16: [2, (b, v: number, o) => b.writeUInt16LE(v, o)],
    INT16: [2, (b, v: number, o) => b.writeInt16LE(v, o)],
    UINT32: [4, (b, v: number, o) => b.writeUInt32LE(v, o)],
    INT32: [4, (b, v: number, o) => b.writeInt32LE(v, o)],
    UINT64: [8, (b, v: number | bigint, o) => b.writeBigUInt64LE(BigInt(v), o)],
    INT64: [8, (b, v: number | bigint, o) => b.writeBigInt64LE(BigInt(v), o)],
    FP16: [2, (b, _v: number, o) => b.writeUInt16LE(0, o)],
    FP32: [4, (b, v: number, o) => b.writeFloatLE(v, o)],
    FP64: [8, (b, v: number, o) => b.writeDoubleLE(v, o)],
  };
  const [size, write] = writers[datatype]!;
  const out = Buffer.alloc(values.length * size);
  values.forEach((v, i) => write(out, v as never, i * size));
  return out;
}

/**
 * A binary infer body: `extra` is merged into the JSON header (outputs, parameters, id). Returns the
 * body and the headers to send (no Content-Type, as tritonclient sends).
 */
export function binaryInferBody(inputs: BinaryInput[], extra: Record<string, unknown> = {}): { body: Buffer; headers: Record<string, string> } {
  const raw = inputs.map((i) => tensorBytes(i.datatype, i.values));
  const header = Buffer.from(
    JSON.stringify({
      ...extra,
      inputs: inputs.map((i, n) => ({ name: i.name, shape: i.shape, datatype: i.datatype, parameters: { binary_data_size: raw[n]!.length } })),
    }),
  );
  return { body: Buffer.concat([header, ...raw]), headers: { 'Inference-Header-Content-Length': String(header.length) } };
}

export interface SplitResponse {
  json: { outputs: { name: string; datatype: string; shape: number[]; data?: unknown[]; parameters?: { binary_data_size?: number } }[] } & Record<string, unknown>;
  /** Each binary output's values: FP32 as numbers, BYTES as strings. */
  binary: Record<string, (number | string)[]>;
}

/** Splits a binary infer response into its JSON header and the decoded binary outputs. */
export function splitBinaryResponse(body: Buffer, headerLength: number): SplitResponse {
  const json = JSON.parse(body.subarray(0, headerLength).toString('utf8')) as SplitResponse['json'];
  const binary: SplitResponse['binary'] = {};
  let offset = headerLength;
  for (const o of json.outputs) {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) continue;
    const bytes = body.subarray(offset, offset + size);
    offset += size;
    const values: (number | string)[] = [];
    if (o.datatype === 'FP32') {
      for (let i = 0; i < bytes.length; i += 4) values.push(bytes.readFloatLE(i));
    } else {
      for (let i = 0; i < bytes.length; ) {
        const n = bytes.readUInt32LE(i);
        values.push(bytes.subarray(i + 4, i + 4 + n).toString('utf8'));
        i += 4 + n;
      }
    }
    binary[o.name] = values;
  }
  if (offset !== body.length) throw new Error(`${body.length - offset} bytes after the binary outputs`);
  return { json, binary };
}
