import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeTypedTensor, plainParameters, predictionIdsParameter, toInferBody } from '../../src/serve/grpc/codec.js';
import { decodeRawTensor, encodeRawOutput } from '../../src/serve/raw-tensors.js';
import type { GrpcInferRequest } from '../../src/serve/grpc/codec.js';
import { httpStatusOf, toCallFailure } from '../../src/serve/grpc/status.js';
import { DriftgateError, silentLogger } from '../../src/core/index.js';
import { statusClass } from '../../src/serve/metrics.js';

/** Little-endian bytes of values written by `write` at `size` bytes each. */
function bytes(values: number[], size: number, write: (view: DataView, offset: number, v: number) => void): Uint8Array {
  const out = new Uint8Array(values.length * size);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => write(view, i * size, v));
  return out;
}

/** BYTES elements with their 4-byte little-endian length prefixes. */
function lengthPrefixed(items: string[]): Uint8Array {
  return Buffer.concat(
    items.map((s) => {
      const b = Buffer.from(s, 'utf8');
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32LE(b.length);
      return Buffer.concat([prefix, b]);
    }),
  );
}

const thrown = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('did not throw');
};

describe('gRPC raw tensor decoding', () => {
  it('reads every fixed-size datatype little-endian', () => {
    assert.deepEqual(decodeRawTensor('FP32', bytes([1.5, -2], 4, (d, o, v) => d.setFloat32(o, v, true)), 'x'), [1.5, -2]);
    assert.deepEqual(decodeRawTensor('FP64', bytes([0.1], 8, (d, o, v) => d.setFloat64(o, v, true)), 'x'), [0.1]);
    assert.deepEqual(decodeRawTensor('INT8', Uint8Array.of(0xff, 1), 'x'), [-1, 1]);
    assert.deepEqual(decodeRawTensor('UINT8', Uint8Array.of(0xff, 1), 'x'), [255, 1]);
    assert.deepEqual(decodeRawTensor('INT16', bytes([-300], 2, (d, o, v) => d.setInt16(o, v, true)), 'x'), [-300]);
    assert.deepEqual(decodeRawTensor('UINT16', bytes([60000], 2, (d, o, v) => d.setUint16(o, v, true)), 'x'), [60000]);
    assert.deepEqual(decodeRawTensor('INT32', bytes([-70000], 4, (d, o, v) => d.setInt32(o, v, true)), 'x'), [-70000]);
    assert.deepEqual(decodeRawTensor('UINT32', bytes([4e9], 4, (d, o, v) => d.setUint32(o, v, true)), 'x'), [4e9]);
    assert.deepEqual(decodeRawTensor('INT64', bytes([-5], 8, (d, o, v) => d.setBigInt64(o, BigInt(v), true)), 'x'), [-5]);
    assert.deepEqual(decodeRawTensor('UINT64', bytes([7], 8, (d, o, v) => d.setBigUint64(o, BigInt(v), true)), 'x'), [7]);
    assert.deepEqual(decodeRawTensor('BOOL', Uint8Array.of(0, 1), 'x'), [false, true]);
    assert.match(thrown(() => decodeRawTensor('BOOL', Uint8Array.of(0, 2), 'input "b"')), /input "b" element 1: a BOOL byte must be 0 or 1, got 2/);
  });

  it('reads BYTES elements with their length prefixes, empty ones included', () => {
    assert.deepEqual(decodeRawTensor('BYTES', lengthPrefixed(['rain', '', 'snø']), 'x'), ['rain', '', 'snø']);
  });

  it('refuses cut-off, over-long and non-UTF-8 BYTES elements, naming the element', () => {
    assert.match(thrown(() => decodeRawTensor('BYTES', Uint8Array.of(4, 0), 'input "w"')), /input "w": BYTES element 0 has a cut-off length prefix \(2 of 4 bytes\)/);
    const long = lengthPrefixed(['ab']);
    long[0] = 9;
    assert.match(thrown(() => decodeRawTensor('BYTES', long, 'input "w"')), /BYTES element 0 declares 9 bytes but only 2 remain/);
    assert.match(thrown(() => decodeRawTensor('BYTES', Uint8Array.of(1, 0, 0, 0, 0xff), 'input "w"')), /BYTES element 0 is not valid UTF-8/);
  });

  it('refuses a byte count that is not a whole number of elements, and FP16 as the JSON path does', () => {
    assert.match(thrown(() => decodeRawTensor('FP32', new Uint8Array(6), 'input "x"')), /input "x": raw contents of 6 bytes are not a whole number of FP32 elements \(4 bytes each\)/);
    assert.equal(thrown(() => decodeRawTensor('FP16', new Uint8Array(2), 'input "x"')), 'input "x": datatype FP16 is not supported; send FP32');
  });

  it('leaves an unknown datatype to the schema', () => {
    assert.deepEqual(decodeRawTensor('FLOAT', new Uint8Array(4), 'x'), []);
  });
});

describe('gRPC typed contents', () => {
  it('takes the field that matches the datatype, decoding BYTES as UTF-8', () => {
    assert.deepEqual(decodeTypedTensor('FP32', { fp32_contents: [1, 2], int_contents: [] }, 'x'), [1, 2]);
    assert.deepEqual(decodeTypedTensor('INT16', { int_contents: [3] }, 'x'), [3]);
    assert.deepEqual(decodeTypedTensor('UINT64', { uint64_contents: [3] }, 'x'), [3]);
    assert.deepEqual(decodeTypedTensor('BYTES', { bytes_contents: [Buffer.from('dry')] }, 'x'), ['dry']);
    assert.deepEqual(decodeTypedTensor('BOOL', { bool_contents: [true] }, 'x'), [true]);
  });

  it('refuses data in a field of another datatype', () => {
    assert.equal(thrown(() => decodeTypedTensor('INT32', { fp32_contents: [1] }, 'input "x"')), 'input "x": datatype INT32 takes contents.int_contents, got contents.fp32_contents');
  });
});

describe('ModelInferRequest to the infer body', () => {
  const request = (over: Partial<GrpcInferRequest> = {}): GrpcInferRequest => ({
    model_name: 'm',
    model_version: '',
    id: '',
    inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 2], contents: { fp32_contents: [1, 2] } }],
    ...over,
  });

  it('carries typed contents, and omits an empty id, parameters and outputs', () => {
    assert.deepEqual(toInferBody(request()), { inputs: [{ name: 'features', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] });
  });

  it('takes raw contents for every input, one buffer each', () => {
    const raw = [bytes([3, 4], 4, (d, o, v) => d.setFloat32(o, v, true))];
    const body = toInferBody(request({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 2], contents: null }], raw_input_contents: raw }));
    assert.deepEqual((body.inputs as { data: unknown[] }[])[0]!.data, [3, 4]);
    assert.match(thrown(() => toInferBody(request({ raw_input_contents: [new Uint8Array(8), new Uint8Array(8)] }))), /raw_input_contents holds 2 tensors but inputs lists 1/);
    assert.match(thrown(() => toInferBody(request({ raw_input_contents: [new Uint8Array(8)] }))), /input "features": contents must be empty when raw_input_contents is used/);
  });

  it('turns InferParameters into plain values, prediction_ids from JSON or a comma list', () => {
    assert.deepEqual(plainParameters({ a: { parameter_choice: 'int64_param', int64_param: 3 }, b: { parameter_choice: 'bool_param', bool_param: true } }), { a: 3, b: true });
    const body = toInferBody(request({ id: 'r1', parameters: { prediction_ids: { parameter_choice: 'string_param', string_param: '["a,1"]' } }, outputs: [{ name: 'label' }] }));
    assert.deepEqual(body.parameters, { prediction_ids: ['a,1'] });
    assert.equal(body.id, 'r1');
    assert.deepEqual(body.outputs, [{ name: 'label' }]);
    assert.deepEqual(predictionIdsParameter('p1, p2'), ['p1', 'p2']);
    assert.deepEqual(predictionIdsParameter(7), 7);
    assert.match(thrown(() => predictionIdsParameter('[oops')), /parameters.prediction_ids: "\[oops" is neither a JSON array nor a comma-joined list/);
  });
});

describe('gRPC outputs and statuses', () => {
  it('encodes FP32 little-endian and BYTES with length prefixes', () => {
    const fp32 = encodeRawOutput({ name: 'p', datatype: 'FP32', shape: [1, 2], data: Float32Array.of(0.25, 1) });
    assert.deepEqual([fp32.readFloatLE(0), fp32.readFloatLE(4)], [0.25, 1]);
    assert.deepEqual(encodeRawOutput({ name: 'label', datatype: 'BYTES', shape: [2], data: ['ab', 'é'] }), Buffer.from(lengthPrefixed(['ab', 'é'])));
  });

  it('labels statuses grpc-js sets itself with the class of their HTTP equivalent', () => {
    assert.equal(statusClass(httpStatusOf(0)), '2xx');
    assert.equal(statusClass(httpStatusOf(8)), '4xx'); // RESOURCE_EXHAUSTED: a message over the limit
    assert.equal(statusClass(httpStatusOf(4)), '5xx'); // DEADLINE_EXCEEDED
    assert.equal(statusClass(httpStatusOf(2)), '5xx'); // UNKNOWN
  });

  it('answers an unexpected error as the catalogue\'s INTERNAL, code in the metadata, without its message', () => {
    const failure = toCallFailure(new Error('disk on fire at /secret/path'), silentLogger, 'ModelInfer');
    assert.equal(failure.httpStatus, 500);
    assert.equal(failure.error.code, 13); // INTERNAL
    assert.equal(failure.error.details, 'internal error');
    assert.deepEqual(failure.error.metadata?.get('driftgate-error-code'), ['INTERNAL']);
    const refused = toCallFailure(new DriftgateError('QUEUE_FULL', 'queue full', { retryAfterSeconds: 1 }), silentLogger, 'ModelInfer');
    assert.equal(refused.error.code, 8); // RESOURCE_EXHAUSTED
    assert.deepEqual(refused.error.metadata?.get('retry-after'), ['1']);
  });
});
