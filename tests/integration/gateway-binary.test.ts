// The HTTP side of the Open Inference Protocol as the reference servers (Triton, KServe, MLServer)
// behave, against a real gateway: bodies without a Content-Type read as JSON, the binary tensor data
// extension (requests and responses, and every malformed form of it refused with a 400 that names the
// problem), Triton's model configuration and statistics endpoints, and 405 with Allow for methods a
// path does not serve.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { get, post, startGateway } from '../helpers/gateway.js';
import type { RunningGateway } from '../helpers/gateway.js';
import { binaryInferBody, splitBinaryResponse, tensorBytes } from '../helpers/binary-request.js';
import type { BinaryInput, SplitResponse } from '../helpers/binary-request.js';

const MODELS = ['iris-onnx', 'iris-tfjs', 'delivery-onnx', 'delivery-tfjs'];
const MAX_BODY_BYTES = 4096;
const MAX_REQUEST_ROWS = 100;
const ADMIN_TOKEN = 'binary-test-token';

const IRIS_ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [7.0, 3.2, 4.7, 1.4],
  [6.7, 3.0, 5.2, 2.3],
];
const DELIVERY_ROWS = [
  { distance_km: 2.5, weight_kg: 1.2, hour: 9, weather: 'clear' },
  { distance_km: 14, weight_kg: 8, hour: 18, weather: 'snow' },
];

interface Answer {
  status: number;
  headers: Headers;
  bytes: Buffer;
}

/** The tensors of a request in both forms: JSON data, or binary values. */
function irisInputs(rows: number[][], datatype = 'FP32'): BinaryInput[] {
  return [{ name: 'features', shape: [rows.length, 4], datatype, values: rows.flat() }];
}
function deliveryInputs(rows: typeof DELIVERY_ROWS): BinaryInput[] {
  return [
    { name: 'distance_km', shape: [rows.length], datatype: 'FP32', values: rows.map((r) => r.distance_km) },
    { name: 'weight_kg', shape: [rows.length, 1], datatype: 'FP64', values: rows.map((r) => r.weight_kg) },
    { name: 'hour', shape: [rows.length], datatype: 'INT32', values: rows.map((r) => r.hour) },
    { name: 'weather', shape: [rows.length], datatype: 'BYTES', values: rows.map((r) => r.weather) },
  ];
}
const asJson = (inputs: BinaryInput[]) =>
  inputs.map((i) => ({ name: i.name, shape: i.shape, datatype: i.datatype, data: i.values.map((v) => (typeof v === 'bigint' ? Number(v) : v)) }));

/** Output values by name, whether they came as JSON data or as binary data. */
function outputsOf(split: SplitResponse): Record<string, unknown[]> {
  return Object.fromEntries(split.json.outputs.map((o) => [o.name, o.data ?? split.binary[o.name] ?? []]));
}

function assertClose(actual: unknown[], expected: unknown[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  actual.forEach((a, i) => {
    const e = expected[i];
    if (typeof a === 'number' && typeof e === 'number') assert.ok(Math.abs(a - e) <= 1e-6 * Math.max(1, Math.abs(e)), `${what}[${i}]: ${a} vs ${e}`);
    else assert.equal(a, e, `${what}[${i}]`);
  });
}

describe('gateway: binary tensors, no content type, config, stats, 405', () => {
  let gw: RunningGateway;
  let url: string;

  const send = async (path: string, body: Buffer | string | undefined, headers: Record<string, string> = {}, method = 'POST'): Promise<Answer> => {
    const res = await fetch(url + path, { method, headers, ...(body === undefined ? {} : { body }) });
    return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
  };
  const jsonOf = (a: Answer) => JSON.parse(a.bytes.toString('utf8')) as Record<string, unknown> & { error?: string };
  /** Splits any infer answer: a binary one at its header length, a JSON one whole. */
  const split = (a: Answer): SplitResponse => {
    assert.equal(a.status, 200, a.bytes.toString('utf8').slice(0, 300));
    const length = a.headers.get('inference-header-content-length');
    if (length === null) return { json: jsonOf(a) as SplitResponse['json'], binary: {} };
    assert.equal(a.headers.get('content-type'), 'application/octet-stream');
    return splitBinaryResponse(a.bytes, Number(length));
  };
  const binaryInfer = (model: string, inputs: BinaryInput[], extra: Record<string, unknown> = {}, extraHeaders: Record<string, string> = {}) => {
    const { body, headers } = binaryInferBody(inputs, extra);
    return send(`/v2/models/${model}/infer`, body, { ...headers, ...extraHeaders });
  };
  const jsonInfer = (model: string, inputs: BinaryInput[], extra: Record<string, unknown> = {}) =>
    send(`/v2/models/${model}/infer`, JSON.stringify({ ...extra, inputs: asJson(inputs) }), { 'content-type': 'application/json' });

  /** A 400 whose message matches, then a good binary request still answers. */
  const refused = async (answer: Answer | Promise<Answer>, pattern: RegExp, status = 400) => {
    const a = await answer;
    assert.equal(a.status, status, a.bytes.toString('utf8'));
    const body = jsonOf(a);
    assert.match(String(body.error), pattern);
    const ok = split(await binaryInfer('iris-onnx', irisInputs(IRIS_ROWS.slice(0, 1))));
    assert.deepEqual(outputsOf(ok).label, ['setosa']);
  };

  /** A body with a hand-written header and raw bytes after it. */
  const rawBody = (header: unknown, ...data: Buffer[]) => {
    const json = Buffer.from(JSON.stringify(header));
    return { body: Buffer.concat([json, ...data]), headers: { 'Inference-Header-Content-Length': String(json.length) } };
  };
  const rawInfer = (header: unknown, ...data: Buffer[]) => {
    const { body, headers } = rawBody(header, ...data);
    return send('/v2/models/iris-onnx/infer', body, headers);
  };
  const features = (bytes: number, extra: Record<string, unknown> = {}) => ({ name: 'features', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: bytes }, ...extra });

  before(async () => {
    gw = await startGateway({ models: MODELS, config: { maxBodyBytes: MAX_BODY_BYTES, maxRequestRows: MAX_REQUEST_ROWS, adminToken: ADMIN_TOKEN } });
    url = gw.url;
  });
  after(async () => {
    await gw.close();
  });

  describe('binary infer gives what JSON infer gives', () => {
    for (const model of MODELS) {
      it(`${model}: binary inputs, JSON and binary outputs`, async () => {
        const inputs = model.startsWith('iris') ? irisInputs(IRIS_ROWS) : deliveryInputs(DELIVERY_ROWS);
        const expected = outputsOf(split(await jsonInfer(model, inputs)));
        const jsonOut = split(await binaryInfer(model, inputs));
        assert.deepEqual(jsonOut.binary, {}, 'no binary outputs unless asked');
        const binaryOut = split(await binaryInfer(model, inputs, { parameters: { binary_data_output: true } }));
        assert.ok(binaryOut.json.outputs.every((o) => o.data === undefined && typeof o.parameters?.binary_data_size === 'number'));
        assert.equal(binaryOut.json.model_name, model);
        for (const answer of [jsonOut, binaryOut]) {
          for (const [name, values] of Object.entries(expected)) assertClose(outputsOf(answer)[name]!, values, `${model} ${name}`);
          assert.deepEqual(
            answer.json.outputs.map((o) => [o.name, o.datatype, o.shape]),
            split(await jsonInfer(model, inputs)).json.outputs.map((o) => [o.name, o.datatype, o.shape]),
          );
        }
      });
    }

    it('every numeric datatype the JSON form takes, with the same answer', async () => {
      const rows = [
        [5, 3, 1, 0],
        [7, 3, 5, 2],
      ];
      for (const datatype of ['UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP32', 'FP64']) {
        const inputs = irisInputs(rows, datatype);
        const expected = outputsOf(split(await jsonInfer('iris-onnx', inputs)));
        const got = outputsOf(split(await binaryInfer('iris-onnx', inputs, { parameters: { binary_data_output: true } })));
        for (const name of Object.keys(expected)) assertClose(got[name]!, expected[name]!, `${datatype} ${name}`);
      }
      const bools: BinaryInput[] = [{ name: 'features', shape: [1, 4], datatype: 'BOOL', values: [true, false, true, true] }];
      assert.deepEqual(outputsOf(split(await binaryInfer('iris-onnx', bools))), outputsOf(split(await jsonInfer('iris-onnx', bools))));
    });

    it('datatypes the JSON form refuses are refused with the same message', async () => {
      const cases: BinaryInput[][] = [
        [{ name: 'features', shape: [1, 4], datatype: 'FP16', values: [0, 0, 0, 0] }],
        [{ name: 'features', shape: [1, 4], datatype: 'BYTES', values: ['a', 'b', 'c', 'd'] }],
        [{ name: 'features', shape: [1, 4], datatype: 'INT64', values: [2n ** 60n, 1n, 1n, 1n] }],
        [{ name: 'features', shape: [1, 4], datatype: 'FP32', values: [Number.NaN, 1, 1, 1] }],
      ];
      for (const inputs of cases) {
        const binary = await binaryInfer('iris-onnx', inputs);
        assert.equal(binary.status, 400, binary.bytes.toString());
        if (inputs[0]!.datatype === 'FP16' || inputs[0]!.datatype === 'BYTES') {
          const json = await jsonInfer('iris-onnx', inputs);
          assert.equal(jsonOf(binary).error, jsonOf(json).error);
        }
      }
      assert.match(String(jsonOf(await binaryInfer('iris-onnx', cases[2]!)).error), /is not a valid INT64/);
      assert.match(String(jsonOf(await binaryInfer('iris-onnx', cases[3]!)).error), /must be finite numbers, got NaN/);
    });

    it('a categorical feature as binary BYTES reaches the encoder: an unknown category is a 400 naming it', async () => {
      const inputs = deliveryInputs([{ ...DELIVERY_ROWS[0]!, weather: 'hail' }]);
      const res = await binaryInfer('delivery-onnx', inputs);
      assert.equal(res.status, 400);
      assert.match(String(jsonOf(res).error), /hail/);
    });

    it('mixes binary and JSON inputs in one request', async () => {
      const inputs = deliveryInputs(DELIVERY_ROWS);
      const raw = tensorBytes('FP32', inputs[0]!.values);
      const header = { inputs: [{ ...asJson([inputs[0]!])[0], data: undefined, parameters: { binary_data_size: raw.length } }, ...asJson(inputs.slice(1))] };
      const { body, headers } = rawBody(header, raw);
      const got = outputsOf(split(await send('/v2/models/delivery-onnx/infer', body, headers)));
      assertClose(got.minutes!, outputsOf(split(await jsonInfer('delivery-onnx', inputs))).minutes!, 'minutes');
    });
  });

  describe('binary outputs', () => {
    it('per output: binary_data true, or binary_data_output with binary_data false overriding it', async () => {
      const inputs = irisInputs(IRIS_ROWS);
      const one = split(await binaryInfer('iris-onnx', inputs, { outputs: [{ name: 'label', parameters: { binary_data: true } }, { name: 'probabilities' }] }));
      assert.deepEqual(Object.keys(one.binary), ['label']);
      assert.deepEqual(one.binary.label, ['setosa', 'versicolor', 'virginica']);
      assert.equal((one.json.outputs.find((o) => o.name === 'probabilities')?.data ?? []).length, 9);
      const overridden = split(await binaryInfer('iris-onnx', inputs, { parameters: { binary_data_output: true }, outputs: [{ name: 'label', parameters: { binary_data: false } }, { name: 'probabilities' }] }));
      assert.deepEqual(Object.keys(overridden.binary), ['probabilities']);
      assert.deepEqual(overridden.json.outputs.find((o) => o.name === 'label')?.data, ['setosa', 'versicolor', 'virginica']);
    });

    it('a JSON request can ask for binary outputs too', async () => {
      const answer = split(await jsonInfer('iris-tfjs', irisInputs(IRIS_ROWS), { parameters: { binary_data_output: true } }));
      assert.deepEqual(answer.binary.label, ['setosa', 'versicolor', 'virginica']);
      assert.equal(answer.binary.probabilities?.length, 9);
    });

    it('the binary sizes in the header add up to the body after it', async () => {
      const a = await binaryInfer('delivery-tfjs', deliveryInputs(DELIVERY_ROWS), { parameters: { binary_data_output: true } });
      const headerLength = Number(a.headers.get('inference-header-content-length'));
      const header = JSON.parse(a.bytes.subarray(0, headerLength).toString()) as SplitResponse['json'];
      const total = header.outputs.reduce((n, o) => n + (o.parameters?.binary_data_size ?? 0), 0);
      assert.equal(a.bytes.length, headerLength + total);
      assert.equal(Number(a.headers.get('content-length')), a.bytes.length);
    });
  });

  describe('malformed binary requests → 400 naming the problem', () => {
    const good = tensorBytes('FP32', IRIS_ROWS[0]!);

    it('a header length that is not a byte count', async () => {
      for (const value of ['abc', '-5', '1e3', '']) {
        await refused(send('/v2/models/iris-onnx/infer', good, { 'Inference-Header-Content-Length': value }), /Inference-Header-Content-Length must be a non-negative whole number of bytes/);
      }
    });

    it('a header length past the body, also with no body at all', async () => {
      const { body, headers } = rawBody({ inputs: [features(16)] }, good);
      await refused(send('/v2/models/iris-onnx/infer', body, { 'Inference-Header-Content-Length': String(body.length + 1) }), new RegExp(`is ${body.length + 1} bytes but the body holds only ${body.length}`));
      await refused(send('/v2/models/iris-onnx/infer', undefined, headers), /bytes but the body holds only 0/);
    });

    it('a header that is not JSON, or not an infer request', async () => {
      await refused(send('/v2/models/iris-onnx/infer', Buffer.from('{"inputs": [oops'), { 'Inference-Header-Content-Length': '16' }), /inference header .* is not valid JSON/);
      await refused(rawInfer({ inputs: [features(16, { shape: 'x' })] }, good), /inputs\[0\]\.shape/);
      await refused(rawInfer({ inputs: [] }), /inputs must hold at least one tensor/);
    });

    it('binary_data_size not matching shape × element size', async () => {
      await refused(rawInfer({ inputs: [features(12)] }, good.subarray(0, 12)), /input "features": binary_data_size is 12 bytes, but shape \[1, 4\] of FP32 takes 16/);
    });

    it('sizes that exceed the body', async () => {
      await refused(rawInfer({ inputs: [features(16)] }, good.subarray(0, 10)), /binary_data_size is 16 bytes, but only 10 bytes of binary data are left/);
    });

    it('leftover bytes no input claims', async () => {
      await refused(rawInfer({ inputs: [features(16)] }, good, Buffer.alloc(3)), /3 bytes after the inference header belong to no input/);
    });

    it('binary_data_size on an input that also has data, and on a JSON request', async () => {
      await refused(rawInfer({ inputs: [features(16, { data: IRIS_ROWS[0] })] }, good), /input "features" has both data and parameters.binary_data_size/);
      await refused(post(`${url}/v2/models/iris-onnx/infer`, { inputs: [features(16, { data: IRIS_ROWS[0] })] }).then((r) => ({ status: r.status, headers: r.headers, bytes: Buffer.from(JSON.stringify(r.body)) })), /has no Inference-Header-Content-Length header/);
    });

    it('flags that are not booleans', async () => {
      const { body, headers } = binaryInferBody(irisInputs(IRIS_ROWS.slice(0, 1)), { parameters: { binary_data_output: 'yes' } });
      await refused(send('/v2/models/iris-onnx/infer', body, headers), /parameters.binary_data_output must be true or false/);
    });

    it('the row limit applies before any data is decoded (413)', async () => {
      const rows = Array.from({ length: MAX_REQUEST_ROWS + 1 }, () => IRIS_ROWS[0]!);
      await refused(binaryInfer('iris-onnx', irisInputs(rows)), new RegExp(`${MAX_REQUEST_ROWS + 1} rows; the limit is ${MAX_REQUEST_ROWS}`), 413);
    });

    it('the body size limit applies (413), to the inflated size too, and gzip bodies are read', async () => {
      // The limit bounds the bytes read, before anything is decoded: one long BYTES element is enough.
      const { body, headers } = binaryInferBody(deliveryInputs([{ ...DELIVERY_ROWS[0]!, weather: 'x'.repeat(MAX_BODY_BYTES) }]));
      assert.ok(body.length > MAX_BODY_BYTES);
      await refused(send('/v2/models/iris-onnx/infer', body, headers), /larger than the limit of 4096 bytes/, 413);
      const zipped = gzipSync(body);
      assert.ok(zipped.length < MAX_BODY_BYTES);
      await refused(send('/v2/models/iris-onnx/infer', zipped, { ...headers, 'content-encoding': 'gzip' }), /larger than the limit of 4096 bytes/, 413);
      const small = binaryInferBody(irisInputs(IRIS_ROWS));
      const answer = split(await send('/v2/models/iris-onnx/infer', gzipSync(small.body), { ...small.headers, 'content-encoding': 'gzip' }));
      assert.deepEqual(outputsOf(answer).label, ['setosa', 'versicolor', 'virginica']);
    });
  });

  describe('content types', () => {
    const irisJson = JSON.stringify({ inputs: asJson(irisInputs(IRIS_ROWS.slice(0, 1))) });

    it('a body without Content-Type is read as JSON: infer, v1 predict, labels', async () => {
      const infer = await send('/v2/models/iris-onnx/infer', Buffer.from(irisJson));
      assert.equal(infer.status, 200, infer.bytes.toString());
      const id = (jsonOf(infer).parameters as { prediction_ids: string[] }).prediction_ids[0]!;
      const predict = await send('/v1/models/iris-tfjs:predict', Buffer.from(JSON.stringify({ instances: [IRIS_ROWS[0]] })));
      assert.equal(predict.status, 200, predict.bytes.toString());
      const labels = await send('/v2/models/iris-onnx/labels', Buffer.from(JSON.stringify({ labels: [{ id, label: 'setosa' }] })));
      assert.equal(labels.status, 202, labels.bytes.toString());
      // and a malformed one is still a malformed-JSON 400
      await refused(send('/v2/models/iris-onnx/infer', Buffer.from('{"inputs": [')), /malformed JSON/);
    });

    it('another declared type → 415, also with the binary header; octet-stream needs the binary header', async () => {
      await refused(send('/v2/models/iris-onnx/infer', irisJson, { 'content-type': 'text/plain' }), /content-type must be application\/json, got text\/plain/, 415);
      await refused(send('/v1/models/iris-onnx:predict', '{}', { 'content-type': 'application/xml' }), /got application\/xml/, 415);
      const { body, headers } = binaryInferBody(irisInputs(IRIS_ROWS));
      await refused(send('/v2/models/iris-onnx/infer', body, { ...headers, 'content-type': 'text/plain' }), /Inference-Header-Content-Length header must be application\/octet-stream \(or absent\), got text\/plain/, 415);
      await refused(send('/v2/models/iris-onnx/infer', body, { 'content-type': 'application/octet-stream' }), /got application\/octet-stream/, 415);
      const declared = split(await send('/v2/models/iris-onnx/infer', body, { ...headers, 'content-type': 'application/octet-stream' }));
      assert.equal(outputsOf(declared).label?.length, 3);
    });
  });

  describe('405 with Allow for methods a path does not serve', () => {
    const cases: [string, string, string][] = [
      ['DELETE', '/v2/models/iris-onnx/infer', 'POST'],
      ['GET', '/v2/models/iris-onnx/versions/1/infer', 'POST'],
      ['PUT', '/v2', 'GET, HEAD'],
      ['POST', '/v2/health/live', 'GET, HEAD'],
      ['DELETE', '/v2/models/iris-onnx', 'GET, HEAD'],
      ['POST', '/v2/models/iris-onnx/ready', 'GET, HEAD'],
      ['PATCH', '/v2/models/iris-onnx/config', 'GET, HEAD'],
      ['POST', '/v2/models/stats', 'GET, HEAD'],
      ['DELETE', '/v1/models/iris-onnx:predict', 'POST'],
      ['GET', '/v2/models/iris-onnx/labels', 'POST'],
      ['DELETE', '/admin/models', 'GET, HEAD'],
      ['GET', '/admin/models/iris-onnx/rollback', 'POST'],
      ['POST', '/metrics', 'GET, HEAD'],
      ['PUT', '/openapi.json', 'GET, HEAD'],
      ['POST', '/status/models', 'GET, HEAD'],
      ['DELETE', '/', 'GET, HEAD'],
    ];
    for (const [method, path, allow] of cases) {
      it(`${method} ${path} → 405, Allow: ${allow}`, async () => {
        const res = await send(path, method === 'GET' ? undefined : '{}', { 'content-type': 'application/json' }, method);
        assert.equal(res.status, 405, res.bytes.toString());
        assert.equal(res.headers.get('allow'), allow);
        assert.match(String(jsonOf(res).error), new RegExp(`method ${method} is not allowed on`));
      });
    }

    it('unknown paths stay 404 whatever the method', async () => {
      for (const method of ['GET', 'DELETE']) {
        const res = await send('/v2/models/iris-onnx/nothing-here', undefined, {}, method);
        assert.equal(res.status, 404);
        assert.equal(res.headers.get('allow'), null);
      }
    });

    it('HEAD is answered where GET is', async () => {
      const res = await fetch(`${url}/v2/models/iris-onnx/config`, { method: 'HEAD' });
      assert.equal(res.status, 200);
    });
  });

  describe('model configuration and statistics (Triton extensions)', () => {
    it('the server metadata lists the extensions', async () => {
      const res = await get(`${url}/v2`);
      for (const ext of ['binary_tensor_data', 'model_configuration', 'statistics']) assert.ok((res.body.extensions as string[]).includes(ext), ext);
    });

    it('config of an all-numeric classifier: one input without the batch dimension, a STRING label', async () => {
      for (const path of ['/v2/models/iris-onnx/config', '/v2/models/iris-onnx/versions/1/config']) {
        const { status, body } = await get(url + path);
        assert.equal(status, 200);
        assert.equal(body.name, 'iris-onnx');
        assert.equal(body.platform, 'onnxruntime_onnx');
        assert.equal(body.max_batch_size, MAX_REQUEST_ROWS);
        assert.deepEqual(body.input, [{ name: 'features', data_type: 'TYPE_FP32', dims: [4] }]);
        assert.deepEqual(body.output, [
          { name: 'probabilities', data_type: 'TYPE_FP32', dims: [3] },
          { name: 'label', data_type: 'TYPE_STRING', dims: [1], reshape: { shape: [] } },
        ]);
      }
    });

    it('config of a per-feature regressor: one input per feature, the categorical one STRING', async () => {
      const { body } = await get(`${url}/v2/models/delivery-tfjs/config`);
      assert.equal(body.platform, 'tensorflowjs_layers');
      const inputs = body.input as { name: string; data_type: string; dims: number[] }[];
      assert.deepEqual(inputs.map((i) => [i.name, i.data_type, i.dims]), [
        ['distance_km', 'TYPE_FP32', [1]],
        ['weight_kg', 'TYPE_FP32', [1]],
        ['hour', 'TYPE_FP32', [1]],
        ['weather', 'TYPE_STRING', [1]],
      ]);
      assert.deepEqual(body.output, [{ name: 'minutes', data_type: 'TYPE_FP32', dims: [1] }]);
    });

    it('config and stats of unknown models or versions → 404', async () => {
      for (const path of ['/v2/models/nope/config', '/v2/models/iris-onnx/versions/9/config', '/v2/models/nope/stats', '/v2/models/iris-onnx/versions/9/stats']) {
        const res = await get(url + path);
        assert.equal(res.status, 404, path);
        assert.match(String(res.body.error), /nope|9/);
      }
    });

    it('stats count the requests and rows a version answered, and their time', async () => {
      type Stat = { name: string; version: string; inference_count: number; execution_count: number; last_inference: number; inference_stats: Record<string, { count: number; ns: number }> };
      const read = async () => ((await get(`${url}/v2/models/iris-tfjs/versions/1/stats`)).body.model_stats as Stat[])[0]!;
      const before = await read();
      const started = Date.now();
      for (const rows of [1, 3]) split(await binaryInfer('iris-tfjs', irisInputs(IRIS_ROWS.slice(0, rows))));
      const after = await read();
      assert.equal(after.name, 'iris-tfjs');
      assert.equal(after.version, '1');
      assert.equal(after.inference_stats.success!.count - before.inference_stats.success!.count, 2);
      assert.equal(after.inference_count - before.inference_count, 4);
      assert.ok(after.execution_count - before.execution_count >= 1);
      assert.ok(after.inference_stats.success!.ns > before.inference_stats.success!.ns);
      assert.ok(after.inference_stats.compute_infer!.ns > before.inference_stats.compute_infer!.ns);
      assert.equal(after.inference_stats.fail!.count, before.inference_stats.fail!.count);
      assert.ok(after.last_inference >= started);

      const all = (await get(`${url}/v2/models/stats`)).body.model_stats as Stat[];
      assert.deepEqual(all.map((s) => s.name).sort(), [...MODELS].sort());
      const model = (await get(`${url}/v2/models/iris-tfjs/stats`)).body.model_stats as Stat[];
      assert.deepEqual(model.map((s) => s.version), ['1']);
    });
  });
});
