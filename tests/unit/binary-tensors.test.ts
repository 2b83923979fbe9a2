import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DriftgateError } from '../../src/core/index.js';
import { attachBinaryInputs, binaryOutputChoice, encodeInferResponse, headerLength, refuseBinaryInputs, splitBinaryRequest } from '../../src/serve/binary-tensors.js';
import type { InferOutput } from '../../src/serve/infer.js';
import { inferRequest, inferRequestHeader } from '../../src/serve/schemas.js';
import { binaryInferBody, splitBinaryResponse, tensorBytes } from '../helpers/binary-request.js';
import type { BinaryInput } from '../helpers/binary-request.js';

/** Decodes a body the way the infer route does (minus the row limit). */
function decode(body: Buffer, declared: string | undefined) {
  const { header, jsonBytes } = splitBinaryRequest(body, declared);
  return attachBinaryInputs(inferRequestHeader.parse(header), body, jsonBytes);
}

const roundTrip = (input: BinaryInput) => {
  const { body, headers } = binaryInferBody([input]);
  return decode(body, headers['Inference-Header-Content-Length']).inputs[0]!.data;
};

/** The message of the 400 a call throws. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DriftgateError, `not a DriftgateError: ${String(err)}`);
    assert.equal(err.status, 400);
    return err.message;
  }
  throw new Error('did not throw');
}

/** A body from a hand-written header and raw bytes. */
const raw = (header: unknown, ...data: Buffer[]) => {
  const json = Buffer.from(JSON.stringify(header));
  return { body: Buffer.concat([json, ...data]), length: String(json.length) };
};

describe('binary tensor requests', () => {
  it('decodes every datatype into the values a JSON tensor would carry', () => {
    const cases: [string, BinaryInput['values'], unknown[]][] = [
      ['BOOL', [true, false, true], [true, false, true]],
      ['UINT8', [0, 255], [0, 255]],
      ['INT8', [-128, 127], [-128, 127]],
      ['UINT16', [0, 65535], [0, 65535]],
      ['INT16', [-32768, 32767], [-32768, 32767]],
      ['UINT32', [0, 4294967295], [0, 4294967295]],
      ['INT32', [-2147483648, 2147483647], [-2147483648, 2147483647]],
      ['UINT64', [0n, 9007199254740991n], [0, Number.MAX_SAFE_INTEGER]],
      ['INT64', [-9007199254740991n, 42n], [Number.MIN_SAFE_INTEGER, 42]],
      ['FP32', [1.5, -0.25], [1.5, -0.25]],
      ['FP64', [0.1, -1e300], [0.1, -1e300]],
      ['BYTES', ['rain', '', 'snow ❄'], ['rain', '', 'snow ❄']],
    ];
    for (const [datatype, values, expected] of cases) {
      assert.deepEqual(roundTrip({ name: 'x', shape: [values.length], datatype, values }), expected, datatype);
    }
  });

  it('keeps 64-bit integers beyond the safe range as numbers the shared range check refuses', () => {
    const [value] = roundTrip({ name: 'x', shape: [1], datatype: 'INT64', values: [2n ** 60n] }) as number[];
    assert.ok(!Number.isSafeInteger(value), String(value));
  });

  it('leaves inputs with JSON data alone and reads binary ones in order', () => {
    const { body, length } = raw(
      {
        inputs: [
          { name: 'a', shape: [2], datatype: 'FP32', parameters: { binary_data_size: 8 } },
          { name: 'b', shape: [1], datatype: 'BYTES', data: ['inline'] },
          { name: 'c', shape: [1], datatype: 'INT32', parameters: { binary_data_size: 4 } },
        ],
      },
      tensorBytes('FP32', [1, 2]),
      tensorBytes('INT32', [7]),
    );
    const decoded = decode(body, length);
    assert.deepEqual(decoded.inputs.map((i) => i.data), [[1, 2], ['inline'], [7]]);
    // What comes out passes the JSON request schema unchanged.
    assert.deepEqual(inferRequest.parse(decoded), decoded);
  });

  it('refuses a header length that is not a byte count or runs past the body', () => {
    assert.match(refusal(() => headerLength('abc', 10)), /Inference-Header-Content-Length must be a non-negative whole number of bytes, got "abc"/);
    assert.match(refusal(() => headerLength('-3', 10)), /non-negative whole number/);
    assert.match(refusal(() => headerLength(undefined, 10)), /non-negative whole number/);
    assert.match(refusal(() => headerLength('11', 10)), /is 11 bytes but the body holds only 10/);
    assert.equal(headerLength(' 10 ', 10), 10);
  });

  it('refuses a header that is not JSON, naming the bytes it read', () => {
    assert.match(refusal(() => splitBinaryRequest(Buffer.from('{"inputs": [tru'), '15')), /the inference header \(the first 15 bytes, per Inference-Header-Content-Length\) is not valid JSON/);
  });

  it('refuses a binary_data_size that does not match shape and datatype', () => {
    const { body, length } = raw({ inputs: [{ name: 'a', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 12 } }] }, Buffer.alloc(12));
    assert.match(refusal(() => decode(body, length)), /input "a": binary_data_size is 12 bytes, but shape \[1, 4\] of FP32 takes 16/);
  });

  it('refuses sizes that exceed the body', () => {
    const { body, length } = raw({ inputs: [{ name: 'a', shape: [4], datatype: 'FP32', parameters: { binary_data_size: 16 } }] }, Buffer.alloc(8));
    assert.match(refusal(() => decode(body, length)), /input "a": binary_data_size is 16 bytes, but only 8 bytes of binary data are left/);
    const bytes = raw({ inputs: [{ name: 's', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: 40 } }] }, tensorBytes('BYTES', ['x']));
    assert.match(refusal(() => decode(bytes.body, bytes.length)), /binary_data_size is 40 bytes, but only 5 bytes/);
  });

  it('refuses bytes no input claims', () => {
    const { body, length } = raw({ inputs: [{ name: 'a', shape: [1], datatype: 'FP32', parameters: { binary_data_size: 4 } }] }, Buffer.alloc(7));
    assert.match(refusal(() => decode(body, length)), /3 bytes after the inference header belong to no input/);
  });

  it('refuses an input with both data and binary_data_size, or with neither', () => {
    const both = raw({ inputs: [{ name: 'a', shape: [1], datatype: 'FP32', data: [1], parameters: { binary_data_size: 4 } }] }, Buffer.alloc(4));
    assert.match(refusal(() => decode(both.body, both.length)), /input "a" has both data and parameters.binary_data_size/);
    const neither = raw({ inputs: [{ name: 'a', shape: [1], datatype: 'FP32' }] });
    assert.match(refusal(() => decode(neither.body, neither.length)), /input "a" has neither data nor parameters.binary_data_size/);
  });

  it('refuses a binary_data_size that is not a byte count', () => {
    for (const size of [-1, 1.5, '4', null]) {
      const { body, length } = raw({ inputs: [{ name: 'a', shape: [1], datatype: 'FP32', parameters: { binary_data_size: size } }] }, Buffer.alloc(4));
      assert.match(refusal(() => decode(body, length)), /parameters.binary_data_size must be a non-negative whole number of bytes/, String(size));
    }
  });

  it('refuses BYTES elements whose lengths do not add up, and text that is not UTF-8', () => {
    const short = Buffer.alloc(6);
    short.writeUInt32LE(10);
    const a = raw({ inputs: [{ name: 's', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: 6 } }] }, short);
    assert.match(refusal(() => decode(a.body, a.length)), /input "s": BYTES element 0 declares 10 bytes but only 2 remain/);
    const truncated = raw({ inputs: [{ name: 's', shape: [2], datatype: 'BYTES', parameters: { binary_data_size: 5 } }] }, tensorBytes('BYTES', ['x']));
    assert.match(refusal(() => decode(truncated.body, truncated.length)), /input "s": binary_data_size holds 1 BYTES elements, but shape \[2\] takes 2/);
    const extra = raw({ inputs: [{ name: 's', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: 7 } }] }, tensorBytes('BYTES', ['x']), Buffer.alloc(2));
    assert.match(refusal(() => decode(extra.body, extra.length)), /input "s": BYTES element 1 has a cut-off length prefix \(2 of 4 bytes\)/);
    const bad = Buffer.from([1, 0, 0, 0, 0xff]);
    const c = raw({ inputs: [{ name: 's', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: 5 } }] }, bad);
    assert.match(refusal(() => decode(c.body, c.length)), /BYTES element 0 is not valid UTF-8/);
  });

  it('refuses BOOL bytes other than 0 and 1, and FP16 as JSON does', () => {
    const b = raw({ inputs: [{ name: 'b', shape: [2], datatype: 'BOOL', parameters: { binary_data_size: 2 } }] }, Buffer.from([1, 2]));
    assert.match(refusal(() => decode(b.body, b.length)), /input "b" element 1: a BOOL byte must be 0 or 1, got 2/);
    const h = raw({ inputs: [{ name: 'h', shape: [2], datatype: 'FP16', parameters: { binary_data_size: 4 } }] }, Buffer.alloc(4));
    assert.match(refusal(() => decode(h.body, h.length)), /input "h": datatype FP16 is not supported; send FP32/);
  });

  it('refuses binary_data_size in a plain JSON request', () => {
    const body = inferRequest.parse({ inputs: [{ name: 'a', shape: [1], datatype: 'FP32', data: [1], parameters: { binary_data_size: 4 } }] });
    assert.match(refusal(() => refuseBinaryInputs(body)), /input "a" sets parameters.binary_data_size, but the request has no Inference-Header-Content-Length header/);
  });
});

describe('binary tensor responses', () => {
  const outputs: InferOutput[] = [
    { name: 'probabilities', datatype: 'FP32', shape: [2, 2], data: new Float32Array([0.25, 0.75, 1, 0]) },
    { name: 'label', datatype: 'BYTES', shape: [2], data: ['b', 'ä'] },
  ];
  const request = (extra: Record<string, unknown>) => inferRequest.parse({ inputs: [{ name: 'a', shape: [1], datatype: 'FP32', data: [1] }], ...extra });

  it('chooses outputs by binary_data_output, with per-output binary_data overriding it', () => {
    const names = (extra: Record<string, unknown>) => outputs.map((o) => o.name).filter(binaryOutputChoice(request(extra)));
    assert.deepEqual(names({}), []);
    assert.deepEqual(names({ parameters: { binary_data_output: true } }), ['probabilities', 'label']);
    assert.deepEqual(names({ parameters: { binary_data_output: true }, outputs: [{ name: 'label', parameters: { binary_data: false } }] }), ['probabilities']);
    assert.deepEqual(names({ outputs: [{ name: 'label', parameters: { binary_data: true } }, { name: 'probabilities' }] }), ['label']);
  });

  it('refuses flags that are not booleans', () => {
    assert.match(refusal(() => binaryOutputChoice(request({ parameters: { binary_data_output: 'yes' } }))), /parameters.binary_data_output must be true or false, got "yes"/);
    assert.match(refusal(() => binaryOutputChoice(request({ outputs: [{ name: 'label', parameters: { binary_data: 1 } }] }))), /output "label" parameters.binary_data must be true or false/);
  });

  it('encodes the chosen outputs after the JSON header, with their sizes and without data', () => {
    const { json, binary } = encodeInferResponse({ model_name: 'm' }, outputs, (name) => name === 'label');
    assert.ok(binary);
    const split = splitBinaryResponse(binary.body, binary.headerLength);
    assert.deepEqual(split.json, json);
    assert.deepEqual(json.outputs[0], { name: 'probabilities', datatype: 'FP32', shape: [2, 2], data: [0.25, 0.75, 1, 0] });
    assert.deepEqual(json.outputs[1], { name: 'label', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: 4 + 1 + 4 + 2 } });
    assert.deepEqual(split.binary, { label: ['b', 'ä'] });
  });

  it('encodes FP32 little-endian', () => {
    const { binary } = encodeInferResponse({}, outputs, () => true);
    const split = splitBinaryResponse(binary!.body, binary!.headerLength);
    assert.deepEqual(split.binary.probabilities, [0.25, 0.75, 1, 0]);
  });

  it('answers plain JSON when no output is binary', () => {
    const { json, binary } = encodeInferResponse({ id: 'x' }, outputs, () => false);
    assert.equal(binary, undefined);
    assert.deepEqual(json.outputs.map((o) => 'data' in o), [true, true]);
  });
});
