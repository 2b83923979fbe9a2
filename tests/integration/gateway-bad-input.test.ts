// Bad requests against a real gateway: every one gets a 4xx with an `{"error": "...", "code": "..."}`
// body that names the problem and its catalogue code, never a 500, and the gateway answers a good request right after. Also: names and
// symlinks cannot reach outside the model repository, and random URLs do not grow the metrics.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { errorCatalogue } from '../../src/core/index.js';
import type { ErrorCode } from '../../src/core/index.js';
import { EXAMPLES, IRIS_ROW, get, post, sampleValue, startGateway, tempRepo } from '../helpers/gateway.js';
import type { RunningGateway } from '../helpers/gateway.js';

const MAX_BODY_BYTES = 2048;
const ADMIN = { authorization: 'Bearer bad-input-token' };
const SETOSA = [5.1, 3.5, 1.4, 0.2];

type Response = Awaited<ReturnType<typeof post>>;

/** The body is exactly `{error, code}`: `code` is the one given, or else any catalogue code answered with `status`. */
function assertErrorBody(body: Record<string, unknown>, status: number, pattern: RegExp, code?: ErrorCode): void {
  assert.deepEqual(Object.keys(body), ['error', 'code']);
  assert.equal(typeof body.error, 'string');
  assert.match(body.error as string, pattern);
  if (code) assert.equal(body.code, code, `code for ${JSON.stringify(body)}`);
  else assert.equal(errorCatalogue[body.code as ErrorCode]?.status, status, `a ${status} code: ${JSON.stringify(body)}`);
}

const whole = (data: unknown[], shape = [data.length / 4, 4], datatype = 'FP32') => ({ name: 'features', shape, datatype, data });
const inferBody = (...inputs: unknown[]) => ({ inputs });

describe('gateway bad input', () => {
  let gw: RunningGateway;
  let url: string;
  let outside: string;

  /** Sends a request with the path exactly as given (fetch would normalise `..` and friends). */
  const raw = (method: string, path: string, body?: string): Promise<Response> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
      const req = request(url, { method, path, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let json: unknown = text;
          try {
            json = JSON.parse(text);
          } catch {
            // not JSON: the assertions below will say so
          }
          resolve({ status: res.statusCode ?? 0, headers: new Headers(), body: json as Response['body'] });
        });
      });
      req.on('error', reject);
      req.end(body);
    });

  /** The gateway still predicts correctly. */
  const stillServes = async () => {
    const res = await post(`${url}/v2/models/iris-onnx/infer`, inferBody(whole(SETOSA)));
    assert.equal(res.status, 200, `a good request after the bad one: ${JSON.stringify(res.body)}`);
    const label = (res.body.outputs as { name: string; data: string[] }[]).find((o) => o.name === 'label');
    assert.deepEqual(label?.data, ['setosa']);
  };

  /** A 4xx with only an `error` message matching `pattern` and its code, then a good request succeeds. */
  const rejected = async (res: Response | Promise<Response>, status: number, pattern: RegExp, code?: ErrorCode) => {
    const r = await res;
    assert.equal(r.status, status, `status for ${JSON.stringify(r.body)}`);
    assert.ok(r.body && typeof r.body === 'object' && !Array.isArray(r.body), `JSON object body: ${JSON.stringify(r.body)}`);
    assertErrorBody(r.body, status, pattern, code);
    await stillServes();
  };

  const infer = (body: unknown, model = 'iris-onnx') => post(`${url}/v2/models/${model}/infer`, body);
  const predict = (body: unknown, model = 'iris-onnx') => post(`${url}/v1/models/${model}:predict`, body);
  const metricLines = async (name: string) => {
    const res = await get(`${url}/metrics`);
    assert.equal(res.status, 200);
    return String(res.body)
      .split('\n')
      .filter((l) => l.startsWith(`${name}{`));
  };

  before(async () => {
    // A valid model outside the repository, reachable through two symlinks inside it: one posing as
    // a model, one as a version of iris-onnx. Were either followed, that model would load and serve.
    outside = mkdtempSync(join(tmpdir(), 'dg-outside-'));
    cpSync(join(EXAMPLES, 'iris-onnx'), join(outside, 'escaped'), { recursive: true });
    const manifestPath = join(outside, 'escaped', '1', 'driftgate.json');
    writeFileSync(manifestPath, JSON.stringify({ ...JSON.parse(readFileSync(manifestPath, 'utf8')), name: 'escaped' }));
    cpSync(join(EXAMPLES, 'iris-onnx', '1'), join(outside, 'iris-onnx-7'), { recursive: true });
    const versionManifest = join(outside, 'iris-onnx-7', 'driftgate.json');
    writeFileSync(versionManifest, JSON.stringify({ ...JSON.parse(readFileSync(versionManifest, 'utf8')), version: 7 }));

    const repo = tempRepo(['iris-onnx', 'delivery-onnx']);
    symlinkSync(join(outside, 'escaped'), join(repo, 'escaped'));
    symlinkSync(join(outside, 'iris-onnx-7'), join(repo, 'iris-onnx', '7'));
    gw = await startGateway({ repo, config: { maxBodyBytes: MAX_BODY_BYTES, adminToken: 'bad-input-token' } });
    url = gw.url;
  });
  after(async () => {
    await gw.close();
    rmSync(gw.repo, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  describe('body', () => {
    it('a body that is valid JSON but not an object → 400', async () => {
      await rejected(infer('"just a string"'), 400, /must be a JSON object/, 'INVALID_INPUT');
      await rejected(infer('[1, 2]'), 400, /must be a JSON object/);
    });

    it('malformed JSON → 400, counted under the endpoint it was sent to', async () => {
      const before = (await metricLines('driftgate_requests_total')).find((l) => l.includes('model=""') && l.includes('endpoint="/v2/models/{model}/infer"') && l.includes('status="4xx"'));
      await rejected(infer('{"inputs": [{"name": "features",'), 400, /malformed JSON/);
      const after = (await metricLines('driftgate_requests_total')).find((l) => l.includes('model=""') && l.includes('endpoint="/v2/models/{model}/infer"') && l.includes('status="4xx"'));
      assert.equal(Number(after?.split(' ').pop()), Number(before?.split(' ').pop() ?? 0) + 1);
    });

    it('malformed JSON → 400', async () => {
      await rejected(infer('{"inputs": [{"name": "features",'), 400, /malformed JSON/, 'MALFORMED_JSON');
    });

    it('body over DRIFTGATE_MAX_BODY_BYTES → 413, with or without Content-Length', async () => {
      const big = JSON.stringify(inferBody(whole(Array(400).fill(1.2345))));
      assert.ok(big.length > MAX_BODY_BYTES);
      await rejected(infer(big), 413, /larger than the limit of 2048 bytes \(DRIFTGATE_MAX_BODY_BYTES\)/, 'PAYLOAD_TOO_LARGE');
      // chunked: the limit applies while reading, not only to the declared length
      const chunked = await new Promise<Response>((resolve, reject) => {
        const req = request(`${url}/v2/models/iris-onnx/infer`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: new Headers(), body: JSON.parse(text) }));
        });
        req.on('error', reject);
        req.write(big.slice(0, 1000));
        req.end(big.slice(1000));
      });
      await rejected(chunked, 413, /DRIFTGATE_MAX_BODY_BYTES/);
    });

    it('text/plain content type → 415', async () => {
      const res = await fetch(`${url}/v2/models/iris-onnx/infer`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify(inferBody(whole(SETOSA))),
      });
      await rejected({ status: res.status, headers: res.headers, body: (await res.json()) as Response['body'] }, 415, /content-type must be application\/json, got text\/plain/, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it('a body that is a JSON array, string, number or nothing → 400', async () => {
      await rejected(infer('[{"name": "features"}]'), 400, /request body must be a JSON object/);
      await rejected(predict('[[5.1, 3.5, 1.4, 0.2]]'), 400, /request body must be a JSON object/);
      // the strict JSON parser takes only objects and arrays at the top level
      await rejected(infer('"features"'), 400, /JSON/);
      await rejected(infer('42'), 400, /JSON/);
      await rejected(raw('POST', '/v2/models/iris-onnx/infer'), 400, /request body must be a JSON object/);
    });

    it('missing "inputs" → 400', async () => {
      await rejected(infer({ id: 'x' }), 400, /^inputs: /);
      await rejected(infer({ inputs: [] }), 400, /inputs must hold at least one tensor/);
    });

    it('an extra top-level field → 400 naming it', async () => {
      await rejected(infer({ ...inferBody(whole(SETOSA)), instances: [SETOSA] }), 400, /Unrecognized key.*"instances"/);
      await rejected(infer(inferBody({ ...whole(SETOSA), dtype: 'float' })), 400, /inputs\[0\].*Unrecognized key.*"dtype"/);
    });
  });

  describe('tensors', () => {
    it('a misnamed input → 400 naming it and the expected names', async () => {
      await rejected(infer(inferBody({ ...whole(SETOSA), name: 'feature' })), 400, /unknown input "feature"; expected "features" or one input per feature \(sepal_length/);
    });

    it('an extra input → 400', async () => {
      await rejected(
        infer(inferBody(whole(SETOSA), { name: 'sepal_length', shape: [1], datatype: 'FP32', data: [1] })),
        400,
        /either input "features" alone or one input per feature/,
      );
      const perFeature = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'].map((name, j) => ({ name, shape: [1], datatype: 'FP32', data: [SETOSA[j]] }));
      await rejected(infer(inferBody(...perFeature, { name: 'colour', shape: [1], datatype: 'BYTES', data: ['blue'] })), 400, /unknown input "colour"/);
      await rejected(infer(inferBody(whole(SETOSA), whole(SETOSA))), 400, /input "features" appears twice/);
    });

    it('a missing input → 400 naming it', async () => {
      const three = ['sepal_length', 'sepal_width', 'petal_length'].map((name, j) => ({ name, shape: [1], datatype: 'FP32', data: [SETOSA[j]] }));
      await rejected(infer(inferBody(...three)), 400, /missing input "petal_width"/);
    });

    it('a wrong shape → 400', async () => {
      await rejected(infer(inferBody(whole([1, 2, 3], [1, 3]))), 400, /input "features" must have shape \[N, 4\], got \[1, 3\]/);
      await rejected(infer(inferBody(whole([...SETOSA, 1, 2, 3, 4], [4, 2]))), 400, /must have shape \[N, 4\], got \[4, 2\]/);
      await rejected(infer(inferBody({ name: 'features', shape: [1, -4], datatype: 'FP32', data: SETOSA })), 400, /shape/);
    });

    it('a wrong rank → 400', async () => {
      await rejected(infer(inferBody(whole(SETOSA, [4]))), 400, /must have shape \[N, 4\], got \[4\]/);
      await rejected(infer(inferBody(whole(SETOSA, [1, 1, 4]))), 400, /must have shape \[N, 4\], got \[1, 1, 4\]/);
      const columns = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'].map((name, j) => ({ name, shape: [1, 1, 1], datatype: 'FP32', data: [SETOSA[j]] }));
      await rejected(infer(inferBody(...columns)), 400, /input "sepal_length" must have shape \[N\] or \[N, 1\], got \[1, 1, 1\]/);
    });

    it('shape and data length disagree → 400', async () => {
      await rejected(infer(inferBody(whole(SETOSA, [2, 4]))), 400, /shape \[2, 4\] needs 8 values, got 4/, 'INVALID_INPUT');
      await rejected(infer(inferBody(whole([SETOSA, [1, 2, 3]], [2, 4]))), 400, /data\[1\] should be a list of 4/);
      await rejected(infer(inferBody(whole([[SETOSA]], [1, 4]))), 400, /data\[0\] should be a list of 4 for shape \[1, 4\], got 1 items/);
      await rejected(infer(inferBody(whole([[5.1, 3.5, 1.4, [0.2]]], [1, 4]))), 400, /data\[0\]\[3\] is nested deeper than shape \[1, 4\]/);
    });

    it('a wrong datatype → 400: BYTES for numbers, BOOL with numbers, FP16, unknown names', async () => {
      await rejected(infer(inferBody(whole(SETOSA.map(String), [1, 4], 'BYTES'))), 400, /input "features" must be numeric, got BYTES/);
      await rejected(infer(inferBody(whole(SETOSA, [1, 4], 'BOOL'))), 400, /BOOL data must be true or false, got 5\.1/);
      await rejected(infer(inferBody(whole(SETOSA, [1, 4], 'FP16'))), 400, /FP16 is not supported/);
      await rejected(infer(inferBody(whole(SETOSA, [1, 4], 'FLOAT32'))), 400, /inputs\[0\]\.datatype/);
      await rejected(infer(inferBody(whole([5.5, 3, 1, 0], [1, 4], 'INT32'))), 400, /5\.5 is not a valid INT32/);
      await rejected(infer(inferBody(whole([5, 3, 1, -1], [1, 4], 'UINT8'))), 400, /-1 is not a valid UINT8/);
    });

    it('non-numeric values → 400 naming the element', async () => {
      await rejected(infer(inferBody(whole([5.1, 'wide', 1.4, 0.2]))), 400, /input "features" element 1: FP32 data must be finite numbers, got "wide"/);
      await rejected(infer(inferBody(whole([5.1, null, 1.4, 0.2]))), 400, /element 1: .*got null/);
      await rejected(infer(inferBody(whole([5.1, true, 1.4, 0.2]))), 400, /element 1: .*got true/);
      await rejected(infer(inferBody(whole([5.1, { v: 1 }, 1.4, 0.2]))), 400, /element 1: .*finite numbers/);
    });

    it('"NaN" and "Infinity" strings → 400', async () => {
      await rejected(infer(inferBody(whole(['NaN', 3.5, 1.4, 0.2]))), 400, /element 0: FP32 data must be finite numbers, got "NaN"/);
      await rejected(infer(inferBody(whole([5.1, 3.5, '-Infinity', 0.2]))), 400, /element 2: .*got "-Infinity"/);
      await rejected(predict({ instances: [{ ...IRIS_ROW, petal_width: 'Infinity' }] }), 400, /feature "petal_width" must be a finite number, got the string "Infinity"/);
    });

    it('1e400 (parsed as Infinity) and 1e39 (beyond float32) → 400', async () => {
      // JSON.parse turns 1e400 into Infinity; the gateway must reject it, and say so
      await rejected(infer('{"inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":[1e400,3.5,1.4,0.2]}]}'), 400, /element 0: FP32 data must be finite numbers, got Infinity/);
      await rejected(infer('{"inputs":[{"name":"features","shape":[1,4],"datatype":"FP64","data":[-1e400,3.5,1.4,0.2]}]}'), 400, /got -Infinity/);
      await rejected(infer(inferBody(whole([1e39, 3.5, 1.4, 0.2]))), 400, /element 0: 1e\+39 is out of the FP32 range/);
      // FP64 carries 1e39, but the model computes in float32
      await rejected(infer(inferBody(whole([1e39, 3.5, 1.4, 0.2], [1, 4], 'FP64'))), 400, /feature "sepal_length" value 1e\+39 is out of the float32 range/);
      await rejected(predict({ instances: [[5.1, 3.5, 1e39, 0.2]] }), 400, /instances\[0\]: feature "petal_length" value 1e\+39 is out of the float32 range/);
    });

    it('an empty batch → 400', async () => {
      await rejected(infer(inferBody(whole([], [0, 4]))), 400, /input "features" holds no rows/);
      const columns = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'].map((name) => ({ name, shape: [0], datatype: 'FP32', data: [] }));
      await rejected(infer(inferBody(...columns)), 400, /inputs hold no rows/);
      await rejected(predict({ instances: [] }), 400, /instances must hold at least one row/);
    });

    it('per-feature inputs with different row counts → 400', async () => {
      const columns = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'].map((name, j) => ({ name, shape: [j === 3 ? 2 : 1], datatype: 'FP32', data: j === 3 ? [0.2, 0.3] : [SETOSA[j]] }));
      await rejected(infer(inferBody(...columns)), 400, /input "petal_width" has 2 rows but other inputs have 1/);
    });

    it('an unknown output name → 400 naming the known ones', async () => {
      await rejected(infer({ ...inferBody(whole(SETOSA)), outputs: [{ name: 'label' }, { name: 'logits' }] }), 400, /unknown output "logits"; this model has "probabilities", "label"/);
    });

    it('duplicate or miscounted prediction ids → 400', async () => {
      await rejected(infer({ ...inferBody(whole([...SETOSA, ...SETOSA])), parameters: { prediction_ids: ['a', 'a'] } }), 400, /prediction ids must be unique/);
      await rejected(infer({ ...inferBody(whole(SETOSA)), parameters: { prediction_ids: ['a', 'b'] } }), 400, /2 prediction ids given for 1 rows/);
      await rejected(infer({ ...inferBody(whole(SETOSA)), parameters: { prediction_ids: [''] } }), 400, /prediction_ids/);
      await rejected(predict({ instances: [SETOSA, SETOSA], ids: ['same', 'same'] }), 400, /prediction ids must be unique/);
    });
  });

  describe('the categorical feature (delivery-onnx)', () => {
    const row = { distance_km: 5, weight_kg: 3, hour: 12, weather: 'rain' };
    const columns = (weather: unknown[], datatype = 'BYTES') => [
      { name: 'distance_km', shape: [1], datatype: 'FP32', data: [5] },
      { name: 'weight_kg', shape: [1], datatype: 'FP32', data: [3] },
      { name: 'hour', shape: [1], datatype: 'FP32', data: [12] },
      { name: 'weather', shape: [1], datatype, data: weather },
    ];

    it('an unknown category → 400 listing the known ones (V1 and V2)', async () => {
      assert.equal((await predict({ instances: [row] }, 'delivery-onnx')).status, 200);
      await rejected(predict({ instances: [{ ...row, weather: 'hail' }] }, 'delivery-onnx'), 400, /instances\[0\]: feature "weather" has unknown category "hail"; known: clear, rain, snow/);
      await rejected(predict({ instances: [[5, 3, 12, 'Rain']] }, 'delivery-onnx'), 400, /unknown category "Rain"/);
      await rejected(infer(inferBody(...columns(['fog'])), 'delivery-onnx'), 400, /input "weather" row 0: feature "weather" has unknown category "fog"/);
    });

    it('a wrong type for the categorical feature → 400', async () => {
      await rejected(infer(inferBody(...columns([1.5], 'FP32')), 'delivery-onnx'), 400, /input "weather" is a categorical feature; send BYTES/);
      await rejected(predict({ instances: [{ ...row, weather: true }] }, 'delivery-onnx'), 400, /feature "weather" must be a category string, got true/);
      // the model's own input name cannot carry a categorical feature
      await rejected(infer(inferBody({ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5, 3, 12, 1] }), 'delivery-onnx'), 400, /input "features" can only carry numeric features; this model has categorical ones, so send one input per feature/);
      await rejected(infer(inferBody(...columns(['rain']), { name: 'features', shape: [1, 6], datatype: 'FP32', data: [1, 2, 3, 1, 0, 0] }), 'delivery-onnx'), 400, /either input "features" alone or one input per feature, not both/);
      await rejected(infer(inferBody(...columns(['rain']), { name: 'colour', shape: [1], datatype: 'BYTES', data: ['red'] }), 'delivery-onnx'), 400, /unknown input "colour"; expected one input per feature \(distance_km, weight_kg, hour, weather\)/);
    });
  });

  describe('V1 rows', () => {
    it('"inputs" instead of "instances" → 400 pointing to the V2 endpoint', async () => {
      await rejected(predict(inferBody(whole(SETOSA))), 400, /"inputs" form is not supported here; send "instances".*V2 infer/);
    });

    it('an unknown or missing feature → 400 naming it', async () => {
      await rejected(predict({ instances: [{ ...IRIS_ROW, petal_colour: 'blue' }] }), 400, /instances\[0\]: unknown feature "petal_colour"; expected sepal_length, sepal_width, petal_length, petal_width/);
      const { petal_width: _dropped, ...three } = IRIS_ROW;
      await rejected(predict({ instances: [IRIS_ROW, three] }), 400, /instances\[1\]: missing feature "petal_width"/);
      await rejected(predict({ instances: [[5.1, 3.5, 1.4]] }), 400, /instances\[0\]: expected 4 values \(sepal_length, sepal_width, petal_length, petal_width\), got 3/);
    });

    it('a wrong value type → 400 naming the feature', async () => {
      await rejected(predict({ instances: [{ ...IRIS_ROW, sepal_width: 'wide' }] }), 400, /instances\[0\]: feature "sepal_width" must be a finite number, got the string "wide"/);
      await rejected(predict({ instances: [{ ...IRIS_ROW, sepal_width: null }] }), 400, /feature "sepal_width" must be a finite number, got null/);
      await rejected(predict({ instances: [{ ...IRIS_ROW, sepal_width: [3.5] }] }), 400, /instances\[0\]/);
      await rejected(predict({ instances: [5.1] }), 400, /instances\[0\]/);
      await rejected(predict({ instances: [IRIS_ROW], ids: 'one' }), 400, /^ids: /);
    });
  });

  describe('models and versions in the URL', () => {
    const good = JSON.stringify(inferBody(whole(SETOSA)));
    const goodRows = JSON.stringify({ instances: [SETOSA] });

    it('an unknown model → 404 on every endpoint', async () => {
      const pattern = /model "nope" is not served here/;
      await rejected(infer(JSON.parse(good), 'nope'), 404, pattern, 'MODEL_NOT_FOUND');
      await rejected(predict(JSON.parse(goodRows), 'nope'), 404, pattern);
      await rejected(get(`${url}/v2/models/nope`), 404, pattern);
      await rejected(get(`${url}/v2/models/nope/ready`), 404, pattern, 'MODEL_NOT_FOUND');
      await rejected(get(`${url}/v2/models/nope/versions/1`), 404, pattern);
    });

    it('an unknown version → 404 on every endpoint', async () => {
      const pattern = /model "iris-onnx" has no version 8/;
      await rejected(post(`${url}/v2/models/iris-onnx/versions/8/infer`, JSON.parse(good)), 404, pattern, 'VERSION_NOT_FOUND');
      await rejected(post(`${url}/v1/models/iris-onnx/versions/8:predict`, JSON.parse(goodRows)), 404, pattern);
      await rejected(get(`${url}/v2/models/iris-onnx/versions/8`), 404, pattern);
      await rejected(get(`${url}/v2/models/iris-onnx/versions/8/ready`), 404, pattern);
    });

    for (const version of ['abc', '0', '-1', '1.5', '01', '99999999999']) {
      it(`version "${version}" → 400`, async () => {
        const pattern = new RegExp(`invalid version "${version.replace('.', '\\.')}": versions are positive integers`);
        await rejected(post(`${url}/v2/models/iris-onnx/versions/${version}/infer`, JSON.parse(good)), 400, pattern);
        await rejected(post(`${url}/v1/models/iris-onnx/versions/${version}:predict`, JSON.parse(goodRows)), 400, pattern);
        await rejected(get(`${url}/v2/models/iris-onnx/versions/${version}`), 400, pattern);
        await rejected(get(`${url}/v2/models/iris-onnx/versions/${version}/ready`), 400, pattern);
      });
    }

    it('model names with "..", encoded "/" and absolute paths → 400, on V2 and V1', async () => {
      const names = ['..', '%2e%2e', '.hidden', '..%2F..%2Fetc', 'iris-onnx%2F1', '%2Fetc%2Fpasswd', '%2F%2E%2E%2Firis-onnx', '%25', '%252F', 'a%00b', '-x'];
      for (const name of names) {
        await rejected(raw('POST', `/v2/models/${name}/infer`, good), 400, /invalid model name/);
        await rejected(raw('POST', `/v1/models/${name}:predict`, goodRows), 400, /invalid model name/);
        await rejected(raw('GET', `/v2/models/${name}`), 400, /invalid model name/);
        await rejected(raw('GET', `/v2/models/${name}/ready`), 400, /invalid model name/);
      }
      // bad percent-encoding is the router's to refuse
      await rejected(raw('GET', '/v2/models/%E0%A4%A'), 400, /decode/, 'INVALID_INPUT');
      await rejected(raw('POST', '/v1/models/%E0%A4%A:predict', goodRows), 400, /decode/);
      // paths that climb out of the API do not match any route
      await rejected(raw('GET', '/v2/models/../../etc/passwd'), 404, /no endpoint/, 'NOT_FOUND');
      await rejected(raw('POST', '/v2/models/iris-onnx/../../../etc/passwd/infer', good), 404, /no endpoint/);
    });

    it('a symlink leaving the repository is neither listed nor served, and nothing behind it is loaded', async () => {
      await rejected(get(`${url}/v2/models/escaped`), 404, /model "escaped" is not served here/);
      await rejected(get(`${url}/v2/models/escaped/ready`), 404, /not served here/);
      await rejected(infer(JSON.parse(good), 'escaped'), 404, /not served here/);
      await rejected(predict(JSON.parse(goodRows), 'escaped'), 404, /not served here/);
      // the version link inside iris-onnx is not a version either
      await rejected(post(`${url}/v2/models/iris-onnx/versions/7/infer`, JSON.parse(good)), 404, /has no version 7/);
      await rejected(get(`${url}/v2/models/iris-onnx/versions/7/ready`), 404, /has no version 7/);
      await rejected(get(`${url}/v2/models/iris-onnx/versions/7`), 404, /has no version 7/);

      const admin = await get(`${url}/admin/models`, ADMIN);
      assert.equal(admin.status, 200);
      const models = admin.body.models as { name: string; versions: { version: number }[] }[];
      assert.deepEqual(
        models.map((m) => m.name),
        ['delivery-onnx', 'iris-onnx'],
      );
      assert.deepEqual(
        models.find((m) => m.name === 'iris-onnx')?.versions.map((v) => v.version),
        [1],
      );
      // model files are read only by a load; no load was even attempted behind the links
      const loads = await metricLines('driftgate_model_loads_total');
      assert.deepEqual(loads.filter((l) => !/outcome="success"/.test(l)), [], 'no failed loads');
      assert.ok(loads.every((l) => /model="(iris-onnx|delivery-onnx)"/.test(l)), loads.join('\n'));
      assert.ok((await metricLines('driftgate_models_loaded')).every((l) => !l.includes('escaped')));

      // asking the admin API to load them is refused too
      await rejected(post(`${url}/admin/models/escaped/versions/1/load`, {}, ADMIN), 404, /resolves outside the model repository/);
      await rejected(post(`${url}/admin/models/iris-onnx/versions/7/load`, {}, ADMIN), 404, /has no version 7/);
    });

    it('a model file inside a version that links outside the repository fails to load (422), serving continues', async () => {
      const version = join(gw.repo, 'iris-onnx', '8');
      cpSync(join(EXAMPLES, 'iris-onnx', '1'), version, { recursive: true });
      const manifest = join(version, 'driftgate.json');
      writeFileSync(manifest, JSON.stringify({ ...JSON.parse(readFileSync(manifest, 'utf8')), version: 8 }));
      rmSync(join(version, 'model.onnx'));
      symlinkSync(join(outside, 'iris-onnx-7', 'model.onnx'), join(version, 'model.onnx'));
      await rejected(post(`${url}/admin/models/iris-onnx/versions/8/load`, {}, ADMIN), 422, /model\.onnx links outside the model repository/, 'MODEL_LOAD_FAILED');
      rmSync(version, { recursive: true, force: true });
    });
  });

  describe('unknown URLs', () => {
    it('50 random paths → 404, adding at most one "unmatched" request series', async () => {
      const before = await metricLines('driftgate_requests_total');
      const seen = new Set<string>();
      for (let i = 0; i < 50; i++) {
        const path = `/${['v2', 'v1', 'admin2', 'x', 'v2/models/iris-onnx/explain'][i % 5]}/${Math.random().toString(36).slice(2)}/${i}`;
        seen.add(path);
        const res = i % 2 === 0 ? await get(url + path) : await post(url + path, { instances: [SETOSA] });
        assert.equal(res.status, 404, path);
        assert.match(String(res.body.error), /^no endpoint (GET|POST) \//);
        assert.equal(res.body.code, 'NOT_FOUND');
      }
      assert.equal(seen.size, 50);
      // A path that exists, with a method it does not serve, is a 405 (tests/integration/gateway-binary.test.ts has the rest).
      await rejected(get(`${url}/v2/models/iris-onnx/infer`), 405, /method GET is not allowed on \/v2\/models\/iris-onnx\/infer; allowed: POST/, 'METHOD_NOT_ALLOWED');

      const afterLines = await metricLines('driftgate_requests_total');
      const series = (lines: string[]) => lines.map((l) => l.slice(0, l.lastIndexOf(' ')));
      const added = series(afterLines).filter((s) => !series(before).includes(s));
      // the good requests made by the checks above already have their series; /metrics may be new
      const unexpected = added.filter((s) => !s.includes('endpoint="unmatched"') && !s.includes('endpoint="/metrics"'));
      assert.deepEqual(unexpected, []);
      assert.ok(added.filter((s) => s.includes('endpoint="unmatched"')).length <= 1, added.join('\n'));
      const unmatched = afterLines.filter((l) => l.includes('endpoint="unmatched"'));
      assert.equal(unmatched.length, 1, 'one series for every unmatched path');
      assert.match(unmatched[0]!, /model="",version="",endpoint="unmatched",status="4xx"/);
      assert.ok(afterLines.every((l) => !/[a-z0-9]{8,}\/\d+/.test(l)), 'no raw path in any label');
    });

    it('no request in this file got a 5xx', async () => {
      const lines = await metricLines('driftgate_requests_total');
      assert.ok(lines.length > 0);
      assert.deepEqual(
        lines.filter((l) => l.includes('status="5xx"')),
        [],
      );
      await stillServes();
    });
  });
});

// Limits on what one request may cost: rows (DRIFTGATE_MAX_REQUEST_ROWS), inflated body size
// (DRIFTGATE_MAX_BODY_BYTES also bounds gzip, deflate and br bodies once inflated), and error
// messages that describe client values cut short instead of echoing them whole.
describe('gateway request limits', () => {
  const MAX_ROWS = 300;
  const BODY_LIMIT = 4 * 1024 * 1024;
  let gw: RunningGateway;
  let url: string;

  const send = async (path: string, body: string | Uint8Array, headers: Record<string, string> = {}) => {
    const started = performance.now();
    const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const text = await res.text();
    return { status: res.status, text, ms: performance.now() - started };
  };
  /** A 4xx whose body is only `{"error", "code"}`, under 1 KB, matching `pattern`. */
  const refused = async (res: ReturnType<typeof send>, status: number, pattern: RegExp, code?: ErrorCode) => {
    const r = await res;
    assert.equal(r.status, status, r.text.slice(0, 300));
    assert.ok(r.text.length < 1024, `error body of ${r.text.length} bytes: ${r.text.slice(0, 300)}`);
    assertErrorBody(JSON.parse(r.text) as Record<string, unknown>, status, pattern, code);
    return r;
  };
  const INFER = '/v2/models/iris-onnx/infer';
  const PREDICT = '/v1/models/iris-onnx:predict';
  const flatRows = (rows: number) => `{"inputs":[{"name":"features","shape":[${rows},4],"datatype":"FP32","data":[${Array(rows).fill('5.1,3.5,1.4,0.2').join(',')}]}]}`;
  const deep = (depth: number) => '['.repeat(depth) + '1' + ']'.repeat(depth);
  const big = 'x'.repeat(1024 * 1024);
  const batchSizes = async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const labels = { model: 'iris-onnx', version: '1' };
    return { count: sampleValue(text, 'driftgate_batch_size_count', labels) ?? 0, upTo64: sampleValue(text, 'driftgate_batch_size_bucket', { ...labels, le: '64' }) ?? 0 };
  };

  before(async () => {
    gw = await startGateway({ models: ['iris-onnx', 'delivery-onnx'], config: { maxBodyBytes: BODY_LIMIT, maxRequestRows: MAX_ROWS } });
    url = gw.url;
  });
  after(() => gw.close());

  describe('rows per request (DRIFTGATE_MAX_REQUEST_ROWS)', () => {
    it('more rows than the cap → 413 naming it, on V2 (one tensor or one per feature) and V1', async () => {
      const pattern = /the request holds 301 rows; the limit is 300 rows per request \(DRIFTGATE_MAX_REQUEST_ROWS\)/;
      await refused(send(INFER, flatRows(MAX_ROWS + 1)), 413, pattern, 'PAYLOAD_TOO_LARGE');
      const columns = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'].map((name) => ({ name, shape: [MAX_ROWS + 1], datatype: 'FP32', data: Array(MAX_ROWS + 1).fill(1) }));
      await refused(send(INFER, JSON.stringify({ inputs: columns })), 413, pattern);
      await refused(send(PREDICT, JSON.stringify({ instances: Array(MAX_ROWS + 1).fill(SETOSA) })), 413, pattern);
    });

    it('the declared shape is checked before the data is decoded', async () => {
      await refused(send(INFER, JSON.stringify(inferBody(whole(SETOSA, [1e9, 4])))), 413, /holds 1000000000 rows; the limit is 300/);
    });

    it('200,000 rows in a gzip body of a few KB → 413 at once', async () => {
      const body = gzipSync(flatRows(200_000));
      assert.ok(body.length < 8 * 1024, `${body.length} bytes`);
      const r = await refused(send(INFER, body, { 'content-encoding': 'gzip' }), 413, /holds 200000 rows/);
      assert.ok(r.ms < 2000, `took ${Math.round(r.ms)} ms`);
    });

    it('a request within the cap runs in calls of at most max_batch_size (64) rows and answers every row', async () => {
      const before = await batchSizes();
      const res = await send(INFER, flatRows(MAX_ROWS));
      assert.equal(res.status, 200, res.text.slice(0, 300));
      const label = (JSON.parse(res.text) as { outputs: { name: string; data: string[] }[] }).outputs.find((o) => o.name === 'label')!;
      assert.deepEqual(label.data, Array(MAX_ROWS).fill('setosa'));
      const v1 = await send(PREDICT, JSON.stringify({ instances: Array(MAX_ROWS).fill(SETOSA) }));
      assert.equal(v1.status, 200, v1.text.slice(0, 300));
      assert.equal((JSON.parse(v1.text) as { predictions: unknown[] }).predictions.length, MAX_ROWS);
      const after = await batchSizes();
      // 300 rows = 64 + 64 + 64 + 64 + 44, twice
      assert.equal(after.count - before.count, 10);
      assert.equal(after.upTo64 - before.upTo64, 10, 'no call held more than 64 rows');
    });
  });

  describe('compressed bodies', () => {
    it('gzip, deflate and br bodies within the limit are inflated and served', async () => {
      const json = JSON.stringify(inferBody(whole(SETOSA)));
      for (const [encoding, body] of [['gzip', gzipSync(json)], ['deflate', deflateSync(json)], ['br', brotliCompressSync(json)]] as const) {
        const res = await send(INFER, body, { 'content-encoding': encoding });
        assert.equal(res.status, 200, `${encoding}: ${res.text.slice(0, 300)}`);
      }
    });

    it('a gzip bomb inflating past DRIFTGATE_MAX_BODY_BYTES → 413 quickly, not 500', async () => {
      const bomb = gzipSync(Buffer.alloc(64 * BODY_LIMIT, ' '));
      assert.ok(bomb.length < BODY_LIMIT / 8, `${bomb.length} bytes`);
      const r = await refused(send(INFER, bomb, { 'content-encoding': 'gzip' }), 413, /larger than the limit of 4194304 bytes \(DRIFTGATE_MAX_BODY_BYTES\)/, 'PAYLOAD_TOO_LARGE');
      assert.ok(r.ms < 3000, `took ${Math.round(r.ms)} ms`);
    });

    it('corrupt gzip → 400; an unknown encoding → 415 naming it, cut short', async () => {
      await refused(send(INFER, Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' }), 400, /./);
      await refused(send(INFER, JSON.stringify(inferBody(whole(SETOSA))), { 'content-encoding': `x${'z'.repeat(5000)}` }), 415, /content-encoding "xz+…" is not supported/, 'UNSUPPORTED_MEDIA_TYPE');
    });
  });

  describe('hostile values in errors', () => {
    it('an element nested 50,000 levels deep → 400 with a short message, never 500', async () => {
      const d = deep(50_000);
      await refused(send(INFER, `{"inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":[5.1,${d},1.4,0.2]}]}`), 400, /element 1: FP32 data must be finite numbers, got \[\[\[\[…\]\]\]\]$/);
      await refused(send(INFER, `{"inputs":[{"name":"features","shape":[1,4],"datatype":"BOOL","data":[true,${d},true,true]}]}`), 400, /element 1: BOOL data must be true or false, got \[\[\[\[…\]\]\]\]$/);
      await refused(send(INFER, `{"inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":${d}}]}`), 400, /data\[0\] should be a list of 4/);
      await refused(send(PREDICT, `{"instances":[[5.1,${d},1.4,0.2]]}`), 400, /^instances\[0\]/);
      await refused(send(PREDICT, `{"instances":[{"sepal_length":${d}}]}`), 400, /^instances\[0\]/);
      await refused(send(INFER, d), 400, /must be a JSON object/);
      // free-form parameters are not looked into, so depth there is harmless
      const res = await send(INFER, `{"parameters":{"x":${d}},"inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}]}`);
      assert.equal(res.status, 200, res.text.slice(0, 300));
    });

    it('a 1 MB string anywhere in a request → an error body under 1 KB', async () => {
      const cases: [string, unknown, RegExp][] = [
        [INFER, inferBody(whole([5.1, big, 1.4, 0.2])), /element 1: FP32 data must be finite numbers, got "x+…"$/],
        [INFER, inferBody(whole([true, big, true, true], [1, 4], 'BOOL')), /BOOL data must be true or false, got "x+…"$/],
        [INFER, inferBody({ ...whole(SETOSA), name: big }), /unknown input "x+…"; expected "features"/],
        [INFER, inferBody(whole(SETOSA), { ...whole(SETOSA), name: big }), /extra: "x+…"/],
        [INFER, { ...inferBody(whole(SETOSA)), outputs: [{ name: big }] }, /unknown output "x+…"; this model has/],
        [INFER, { ...inferBody(whole(SETOSA)), [big]: 1 }, /^body: Unrecognized key: "x+…"$/],
        [PREDICT, { instances: [{ ...IRIS_ROW, sepal_width: big }] }, /feature "sepal_width" must be a finite number, got the string "x+…"$/],
        [PREDICT, { instances: [{ ...IRIS_ROW, [big]: 1 }] }, /instances\[0\]: unknown feature "x+…"; expected sepal_length/],
        ['/v2/models/iris-onnx/labels', { labels: [{ id: 'a', label: big }] }, /unknown label value "x+…" for model "iris-onnx"/],
      ];
      for (const [path, body, pattern] of cases) await refused(send(path, JSON.stringify(body)), 400, pattern);
    });

    it('an unknown long category is shown cut short (V1 and V2)', async () => {
      const category = `hail${'y'.repeat(10_000)}`;
      const row = { distance_km: 5, weight_kg: 3, hour: 12, weather: category };
      const r = await refused(send('/v1/models/delivery-onnx:predict', JSON.stringify({ instances: [row] })), 400, /feature "weather" has unknown category "hailyy+…"; known: clear, rain, snow$/);
      assert.ok(r.text.length < 300, r.text);
      const columns = [
        { name: 'distance_km', shape: [1], datatype: 'FP32', data: [5] },
        { name: 'weight_kg', shape: [1], datatype: 'FP32', data: [3] },
        { name: 'hour', shape: [1], datatype: 'FP32', data: [12] },
        { name: 'weather', shape: [1], datatype: 'BYTES', data: [category] },
      ];
      await refused(send('/v2/models/delivery-onnx/infer', JSON.stringify({ inputs: columns })), 400, /input "weather" row 0: feature "weather" has unknown category "hailyy+…"/);
    });

    it('no request in these tests got a 5xx', async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      const lines = text.split('\n').filter((l) => l.startsWith('driftgate_requests_total{'));
      assert.ok(lines.length > 0);
      assert.deepEqual(lines.filter((l) => l.includes('status="5xx"')), []);
    });
  });
});
