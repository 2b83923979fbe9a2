// The gateway's public HTTP API on its happy paths, against real ONNX and tfjs example models: health,
// metadata, V2 infer in every accepted layout and datatype, V1 predict, prediction ids, agreement
// between the two APIs and between the two runtimes, the OpenAPI document, /metrics and readiness.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXAMPLES, IRIS_ROW, get, post, startGateway } from '../helpers/gateway.js';
import type { RunningGateway } from '../helpers/gateway.js';

const IRIS_MODELS = ['iris-onnx', 'iris-tfjs'] as const;
const DELIVERY_MODELS = ['delivery-onnx', 'delivery-tfjs'] as const;
const PLATFORMS: Record<string, string> = {
  'iris-onnx': 'onnxruntime_onnx',
  'iris-tfjs': 'tensorflowjs_layers',
  'delivery-onnx': 'onnxruntime_onnx',
  'delivery-tfjs': 'tensorflowjs_layers',
};
const ADMIN_TOKEN = 'api-test-token';
const TOLERANCE = 1e-5;

// Textbook flowers from the Iris data set (rows 1, 51 and 101 of Fisher's table, plus row 145).
const SETOSA = [5.1, 3.5, 1.4, 0.2];
const VERSICOLOR = [7.0, 3.2, 4.7, 1.4];
const VIRGINICA = [6.7, 3.0, 5.2, 2.3];
const VIRGINICA_2 = [6.3, 3.3, 6.0, 2.5];
const IRIS_FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];

const DELIVERY_ROWS = [
  { distance_km: 5, weight_kg: 3, hour: 12, weather: 'rain' },
  { distance_km: 1.5, weight_kg: 0.4, hour: 8, weather: 'clear' },
  { distance_km: 14, weight_kg: 22, hour: 18, weather: 'snow' },
];

interface Tensor {
  name: string;
  datatype: string;
  shape: number[];
  data: (number | string)[];
}
interface InferResponse {
  model_name: string;
  model_version: string;
  id: string;
  parameters: { prediction_ids: string[] };
  outputs: Tensor[];
}
interface ClassPrediction {
  label: string;
  probabilities: Record<string, number>;
}
interface PredictResponse {
  predictions: (ClassPrediction | { value: number })[];
  model_version: string;
  ids: string[];
}

const deliveryPresent = DELIVERY_MODELS.every((m) => existsSync(join(EXAMPLES, m, '1', 'driftgate.json')));

/** The delivery tests need the example models; their absence is a failure, not a skip. */
function requireDelivery(): void {
  assert.ok(deliveryPresent, `models/ must hold ${DELIVERY_MODELS.join(' and ')} (built by scripts/build-examples.ts)`);
}

function assertClose(actual: readonly number[], expected: readonly number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  actual.forEach((a, i) => {
    // Relative for large regression outputs (float32 carries ~7 digits), absolute near zero.
    const tolerance = TOLERANCE * Math.max(1, Math.abs(expected[i]!));
    assert.ok(Math.abs(a - expected[i]!) <= tolerance, `${what}[${i}]: ${a} vs ${expected[i]}`);
  });
}

function output(res: InferResponse, name: string): Tensor {
  const t = res.outputs.find((o) => o.name === name);
  assert.ok(t, `output "${name}" missing from ${JSON.stringify(res.outputs.map((o) => o.name))}`);
  return t;
}

/** One Prometheus sample line: name, labels and value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparseable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

describe('gateway API', () => {
  let gw: RunningGateway;
  let url: string;

  const infer = async (model: string, body: unknown, version?: number) => {
    const res = await post(`${url}/v2/models/${model}${version ? `/versions/${version}` : ''}/infer`, body);
    assert.equal(res.status, 200, `infer ${model}: ${JSON.stringify(res.body)}`);
    return res.body as unknown as InferResponse;
  };
  const predict = async (model: string, body: unknown, version?: number) => {
    const res = await post(`${url}/v1/models/${model}${version ? `/versions/${version}` : ''}:predict`, body);
    assert.equal(res.status, 200, `predict ${model}: ${JSON.stringify(res.body)}`);
    return res.body as unknown as PredictResponse;
  };
  const irisWhole = (rows: number[][], datatype = 'FP32') => ({ name: 'features', shape: [rows.length, 4], datatype, data: rows.flat() });
  const probabilities = (res: InferResponse) => output(res, 'probabilities').data as number[];

  before(async () => {
    gw = await startGateway({
      models: [...IRIS_MODELS, ...(deliveryPresent ? DELIVERY_MODELS : [])],
      config: { adminToken: ADMIN_TOKEN },
    });
    url = gw.url;
  });
  after(() => gw.close());

  describe('health and metadata', () => {
    it('is live', async () => {
      const res = await get(`${url}/v2/health/live`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { live: true });
    });

    it('is ready once the models are loaded', async () => {
      const res = await get(`${url}/v2/health/ready`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { ready: true });
    });

    it('describes the server', async () => {
      const res = await get(`${url}/v2`);
      assert.equal(res.status, 200);
      assert.equal(res.body.name, 'driftgate');
      assert.match(String(res.body.version), /^\d+\.\d+\.\d+/);
      assert.ok(Array.isArray(res.body.extensions));
    });

    for (const model of IRIS_MODELS) {
      it(`describes ${model}: inputs, outputs, datatypes, shapes, platform`, async () => {
        const expected = {
          name: model,
          versions: ['1'],
          platform: PLATFORMS[model],
          inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
          outputs: [
            { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
            { name: 'label', datatype: 'BYTES', shape: [-1] },
          ],
        };
        for (const path of [`/v2/models/${model}`, `/v2/models/${model}/versions/1`]) {
          const res = await get(url + path);
          assert.equal(res.status, 200, path);
          const { parameters, ...rest } = res.body as Record<string, unknown> & { parameters: Record<string, unknown> };
          assert.deepEqual(rest, expected, path);
          assert.equal(parameters.task, 'classification');
          assert.deepEqual(parameters.labels, ['setosa', 'versicolor', 'virginica']);
          assert.deepEqual(
            (parameters.features as { name: string }[]).map((f) => f.name),
            IRIS_FEATURES,
          );
        }
      });

      it(`reports ${model} and its version 1 ready`, async () => {
        for (const path of [`/v2/models/${model}/ready`, `/v2/models/${model}/versions/1/ready`]) {
          const res = await get(url + path);
          assert.equal(res.status, 200, path);
          assert.deepEqual(res.body, { ready: true }, path);
        }
      });
    }

    it('describes the delivery models: one input per feature, BYTES for the categorical one', async () => {
      requireDelivery();
      for (const model of DELIVERY_MODELS) {
        const res = await get(`${url}/v2/models/${model}/versions/1`);
        assert.equal(res.status, 200);
        assert.equal(res.body.platform, PLATFORMS[model]);
        assert.deepEqual(res.body.versions, ['1']);
        assert.deepEqual(res.body.inputs, [
          { name: 'distance_km', datatype: 'FP32', shape: [-1] },
          { name: 'weight_kg', datatype: 'FP32', shape: [-1] },
          { name: 'hour', datatype: 'FP32', shape: [-1] },
          { name: 'weather', datatype: 'BYTES', shape: [-1] },
        ]);
        assert.deepEqual(res.body.outputs, [{ name: 'minutes', datatype: 'FP32', shape: [-1, 1] }]);
        const parameters = res.body.parameters as { task: string; features: { name: string; categories?: string[] }[] };
        assert.equal(parameters.task, 'regression');
        assert.deepEqual(parameters.features.find((f) => f.name === 'weather')?.categories, ['clear', 'rain', 'snow']);
        const ready = await get(`${url}/v2/models/${model}/ready`);
        assert.equal(ready.status, 200);
        assert.deepEqual(ready.body, { ready: true });
      }
    });
  });

  describe('V2 infer on the iris models', () => {
    for (const model of IRIS_MODELS) {
      it(`${model}: flat data, one row, echoes the id as the prediction id`, async () => {
        const res = await infer(model, { id: 'req-flat', inputs: [irisWhole([SETOSA])] });
        assert.equal(res.model_name, model);
        assert.equal(res.model_version, '1');
        assert.equal(res.id, 'req-flat');
        assert.deepEqual(res.parameters.prediction_ids, ['req-flat']);
        assert.deepEqual(
          res.outputs.map((o) => [o.name, o.datatype, o.shape]),
          [
            ['probabilities', 'FP32', [1, 3]],
            ['label', 'BYTES', [1]],
          ],
        );
        const p = probabilities(res);
        assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-4, `probabilities sum to 1: ${p}`);
        assert.deepEqual(output(res, 'label').data, ['setosa']);
      });

      it(`${model}: nested data, a batch of rows, ids suffixed per row, textbook labels`, async () => {
        const rows = [SETOSA, VERSICOLOR, VIRGINICA, VIRGINICA_2];
        const res = await infer(model, { id: 'batch', inputs: [{ name: 'features', shape: [4, 4], datatype: 'FP32', data: rows }] });
        assert.equal(res.id, 'batch');
        assert.deepEqual(res.parameters.prediction_ids, ['batch-0', 'batch-1', 'batch-2', 'batch-3']);
        assert.deepEqual(output(res, 'probabilities').shape, [4, 3]);
        assert.equal(probabilities(res).length, 12);
        assert.deepEqual(output(res, 'label').data, ['setosa', 'versicolor', 'virginica', 'virginica']);
        // nested and flat forms of the same rows give the same numbers
        const flat = await infer(model, { inputs: [irisWhole(rows)] });
        assert.deepEqual(probabilities(flat), probabilities(res));
      });

      it(`${model}: FP32, FP64, INT32 and INT64 inputs give the same answer for the same values`, async () => {
        const rows = [
          [5, 3, 1, 0],
          [7, 3, 6, 2],
        ];
        const results = [];
        for (const datatype of ['FP32', 'FP64', 'INT32', 'INT64']) {
          const res = await infer(model, { inputs: [irisWhole(rows, datatype)] });
          assert.deepEqual(output(res, 'label').data, ['setosa', 'virginica'], datatype);
          results.push(probabilities(res));
        }
        for (const r of results.slice(1)) assert.deepEqual(r, results[0]);
      });

      it(`${model}: one tensor per feature ([N] or [N, 1]) matches the single-tensor layout`, async () => {
        const rows = [SETOSA, VIRGINICA];
        const whole = await infer(model, { inputs: [irisWhole(rows)] });
        const perFeature = await infer(model, {
          inputs: IRIS_FEATURES.map((name, j) =>
            j % 2 === 0
              ? { name, shape: [2], datatype: 'FP32', data: rows.map((r) => r[j]!) }
              : { name, shape: [2, 1], datatype: 'FP64', data: rows.map((r) => [r[j]!]) },
          ),
        });
        assert.deepEqual(output(perFeature, 'label').data, ['setosa', 'virginica']);
        assertClose(probabilities(perFeature), probabilities(whole), 'per-feature vs whole');
      });

      it(`${model}: returns only the requested outputs`, async () => {
        const labelOnly = await infer(model, { inputs: [irisWhole([VIRGINICA])], outputs: [{ name: 'label' }] });
        assert.deepEqual(labelOnly.outputs, [{ name: 'label', datatype: 'BYTES', shape: [1], data: ['virginica'] }]);
        const probsOnly = await infer(model, { inputs: [irisWhole([VIRGINICA])], outputs: [{ name: 'probabilities' }] });
        assert.deepEqual(
          probsOnly.outputs.map((o) => o.name),
          ['probabilities'],
        );
        assert.deepEqual(output(probsOnly, 'probabilities').shape, [1, 3]);
      });

      it(`${model}: uses caller-provided prediction ids as given`, async () => {
        const given = ['order-17/a', 'order-17/b'];
        const res = await infer(model, { id: 'ignored-for-ids', parameters: { prediction_ids: given }, inputs: [irisWhole([SETOSA, VIRGINICA])] });
        assert.deepEqual(res.parameters.prediction_ids, given);
        assert.equal(res.id, 'ignored-for-ids');
      });

      it(`${model}: makes up a fresh id when the request has none`, async () => {
        const a = await infer(model, { inputs: [irisWhole([SETOSA])] });
        const b = await infer(model, { inputs: [irisWhole([SETOSA])] });
        assert.match(a.id, /^[0-9a-f-]{36}$/);
        assert.deepEqual(a.parameters.prediction_ids, [a.id]);
        assert.notEqual(a.id, b.id);
        const batch = await infer(model, { inputs: [irisWhole([SETOSA, VIRGINICA])] });
        const [first, second] = batch.parameters.prediction_ids;
        assert.match(first!, /^[0-9a-f-]{36}-0$/);
        assert.equal(second, `${first!.slice(0, -2)}-1`);
      });

      it(`${model}: answers on /versions/1/infer too`, async () => {
        const res = await infer(model, { inputs: [irisWhole([VERSICOLOR])] }, 1);
        assert.equal(res.model_version, '1');
        assert.deepEqual(output(res, 'label').data, ['versicolor']);
      });
    }
  });

  describe('V1 predict on the iris models', () => {
    for (const model of IRIS_MODELS) {
      it(`${model}: object and array instances, given ids, and the V2 API agree`, async () => {
        const objects = await predict(model, {
          instances: [IRIS_ROW, Object.fromEntries(IRIS_FEATURES.map((f, j) => [f, VIRGINICA[j]]))],
          ids: ['p-1', 'p-2'],
        });
        assert.equal(objects.model_version, '1');
        assert.deepEqual(objects.ids, ['p-1', 'p-2']);
        const arrays = await predict(model, { instances: [SETOSA, VIRGINICA] });
        assert.equal(arrays.ids.length, 2);
        assert.notEqual(arrays.ids[0], arrays.ids[1]);
        const v2 = await infer(model, { inputs: [irisWhole([SETOSA, VIRGINICA])] });
        const probs = probabilities(v2);
        for (const res of [objects, arrays]) {
          const preds = res.predictions as ClassPrediction[];
          assert.deepEqual(
            preds.map((p) => p.label),
            ['setosa', 'virginica'],
          );
          assert.deepEqual(Object.keys(preds[0]!.probabilities), ['setosa', 'versicolor', 'virginica']);
          assertClose(
            preds.flatMap((p) => Object.values(p.probabilities)),
            probs,
            'v1 vs v2',
          );
        }
      });

      it(`${model}: /versions/1:predict answers from version 1`, async () => {
        const res = await predict(model, { instances: [VIRGINICA_2] }, 1);
        assert.equal(res.model_version, '1');
        assert.equal((res.predictions[0] as ClassPrediction).label, 'virginica');
        assert.equal(res.ids.length, 1);
      });
    }

    it('iris-onnx and iris-tfjs agree on the same rows (1e-5)', async () => {
      const rows = [SETOSA, VERSICOLOR, VIRGINICA, VIRGINICA_2, [5.8, 2.7, 4.1, 1.0], [4.9, 3.0, 1.4, 0.2]];
      const [onnx, tfjs] = await Promise.all(IRIS_MODELS.map((m) => infer(m, { inputs: [irisWhole(rows)] })));
      assertClose(probabilities(onnx!), probabilities(tfjs!), 'onnx vs tfjs');
      assert.deepEqual(output(onnx!, 'label').data, output(tfjs!, 'label').data);
    });
  });

  describe('the delivery models (regression, categorical feature)', () => {
    const columns = (rows: typeof DELIVERY_ROWS) => [
      { name: 'distance_km', shape: [rows.length], datatype: 'FP32', data: rows.map((r) => r.distance_km) },
      { name: 'weight_kg', shape: [rows.length, 1], datatype: 'FP64', data: rows.map((r) => [r.weight_kg]) },
      { name: 'hour', shape: [rows.length], datatype: 'INT32', data: rows.map((r) => r.hour) },
      { name: 'weather', shape: [rows.length], datatype: 'BYTES', data: rows.map((r) => r.weather) },
    ];

    it('V2 infer with one tensor per feature (FP32, FP64, INT32, BYTES), both formats', async () => {
      requireDelivery();
      for (const model of DELIVERY_MODELS) {
        const res = await infer(model, { id: 'deliv', inputs: columns(DELIVERY_ROWS) });
        assert.equal(res.model_name, model);
        assert.equal(res.model_version, '1');
        assert.equal(res.id, 'deliv');
        assert.deepEqual(res.parameters.prediction_ids, ['deliv-0', 'deliv-1', 'deliv-2']);
        assert.equal(res.outputs.length, 1);
        const minutes = output(res, 'minutes');
        assert.equal(minutes.datatype, 'FP32');
        assert.deepEqual(minutes.shape, [3, 1]);
        for (const v of minutes.data as number[]) assert.ok(Number.isFinite(v) && v > 0 && v < 1000, `minutes ${v}`);
        // a long, heavy delivery in the snow takes longer than a short one in clear weather
        const [, short, long] = minutes.data as number[];
        assert.ok(long! > short!, `${long} > ${short}`);
      }
    });

    it('V2 requested output subset and V1 object/array instances agree with V2, both formats', async () => {
      requireDelivery();
      for (const model of DELIVERY_MODELS) {
        const v2 = await infer(model, { inputs: columns(DELIVERY_ROWS), outputs: [{ name: 'minutes' }] });
        assert.deepEqual(
          v2.outputs.map((o) => o.name),
          ['minutes'],
        );
        const expected = output(v2, 'minutes').data as number[];
        const objects = await predict(model, { instances: DELIVERY_ROWS, ids: ['d-1', 'd-2', 'd-3'] });
        assert.deepEqual(objects.ids, ['d-1', 'd-2', 'd-3']);
        const arrays = await predict(
          model,
          { instances: DELIVERY_ROWS.map((r) => [r.distance_km, r.weight_kg, r.hour, r.weather]) },
          1,
        );
        assert.equal(arrays.model_version, '1');
        for (const res of [objects, arrays]) {
          assertClose(
            res.predictions.map((p) => (p as { value: number }).value),
            expected,
            `${model} v1 vs v2`,
          );
        }
      }
    });

    it('delivery-onnx and delivery-tfjs agree on the same rows (1e-5, relative)', async () => {
      requireDelivery();
      const [onnx, tfjs] = await Promise.all(DELIVERY_MODELS.map((m) => infer(m, { inputs: columns(DELIVERY_ROWS) })));
      assertClose(output(onnx!, 'minutes').data as number[], output(tfjs!, 'minutes').data as number[], 'onnx vs tfjs');
    });
  });

  describe('OpenAPI document', () => {
    // Every route of the HTTP contract in ARCHITECTURE.md, with a request that reaches it.
    const CONTRACT_ROUTES: { path: string; method: 'get' | 'post'; probe: string }[] = [
      { path: '/v2/health/live', method: 'get', probe: '/v2/health/live' },
      { path: '/v2/health/ready', method: 'get', probe: '/v2/health/ready' },
      { path: '/v2', method: 'get', probe: '/v2' },
      { path: '/v2/models/{model}', method: 'get', probe: '/v2/models/iris-onnx' },
      { path: '/v2/models/{model}/versions/{version}', method: 'get', probe: '/v2/models/iris-onnx/versions/1' },
      { path: '/v2/models/{model}/ready', method: 'get', probe: '/v2/models/iris-onnx/ready' },
      { path: '/v2/models/{model}/versions/{version}/ready', method: 'get', probe: '/v2/models/iris-onnx/versions/1/ready' },
      { path: '/v2/models/{model}/infer', method: 'post', probe: '/v2/models/iris-onnx/infer' },
      { path: '/v2/models/{model}/versions/{version}/infer', method: 'post', probe: '/v2/models/iris-onnx/versions/1/infer' },
      { path: '/v1/models/{model}:predict', method: 'post', probe: '/v1/models/iris-onnx:predict' },
      { path: '/v1/models/{model}/versions/{version}:predict', method: 'post', probe: '/v1/models/iris-onnx/versions/1:predict' },
      { path: '/v2/models/{model}/labels', method: 'post', probe: '/v2/models/iris-onnx/labels' },
      { path: '/admin/models', method: 'get', probe: '/admin/models' },
      { path: '/admin/models/{model}/versions/{version}/load', method: 'post', probe: '/admin/models/iris-onnx/versions/99/load' },
      { path: '/admin/models/{model}/versions/{version}/unload', method: 'post', probe: '/admin/models/iris-onnx/versions/99/unload' },
      { path: '/admin/models/{model}/promote/{version}', method: 'post', probe: '/admin/models/iris-onnx/promote/99' },
      { path: '/admin/models/{model}/rollback', method: 'post', probe: '/admin/models/nope/rollback' },
      { path: '/admin/models/{model}/retrain', method: 'post', probe: '/admin/models/nope/retrain' },
      { path: '/admin/models/{model}/retrains', method: 'get', probe: '/admin/models/nope/retrains' },
      { path: '/metrics', method: 'get', probe: '/metrics' },
    ];

    /** Whether the gateway has the route: anything but the catch-all "no endpoint" 404 counts. */
    const routeExists = async (route: (typeof CONTRACT_ROUTES)[number]) => {
      const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
      const res = route.method === 'get' ? await get(url + route.probe, headers) : await post(url + route.probe, {}, headers);
      return !(res.status === 404 && /^no endpoint/.test(String(res.body.error)));
    };

    let doc: Record<string, unknown> & {
      paths: Record<string, Record<string, { responses?: Record<string, unknown>; parameters?: { name: string; in: string; required?: boolean }[] }>>;
      components: { schemas: Record<string, unknown> };
    };

    before(async () => {
      const res = await get(`${url}/openapi.json`);
      assert.equal(res.status, 200);
      doc = res.body as typeof doc;
    });

    it('is an OpenAPI 3.1 document with info, paths and operations that have responses', () => {
      assert.match(String(doc.openapi), /^3\.1\.\d+$/);
      const info = doc.info as { title?: string; version?: string };
      assert.equal(typeof info.title, 'string');
      assert.equal(typeof info.version, 'string');
      assert.ok(Object.keys(doc.paths).length > 0);
      for (const [path, ops] of Object.entries(doc.paths)) {
        assert.ok(path.startsWith('/'), path);
        for (const [method, op] of Object.entries(ops)) {
          assert.ok(['get', 'post', 'put', 'delete', 'patch', 'head', 'options'].includes(method), `${path}: ${method}`);
          assert.ok(op.responses && Object.keys(op.responses).length > 0, `${method} ${path} has responses`);
          // every {param} in the template is declared as a required path parameter
          for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) {
            const p = op.parameters?.find((x) => x.name === name && x.in === 'path');
            assert.ok(p?.required === true, `${method} ${path} declares path parameter ${name}`);
          }
        }
      }
    });

    it('has a path for every contract route the gateway serves', async () => {
      let served = 0;
      for (const route of CONTRACT_ROUTES) {
        if (!(await routeExists(route))) continue;
        served++;
        assert.ok(doc.paths[route.path]?.[route.method], `openapi.json lacks ${route.method.toUpperCase()} ${route.path}`);
      }
      // the routes the gateway has had from the start must be among them
      assert.ok(served >= 17, `only ${served} contract routes answered`);
    });

    it('has the request and response schemas as components, and every $ref resolves', () => {
      for (const name of ['InferRequest', 'InferResponse', 'InferInputTensor', 'PredictRequest', 'PredictResponse', 'ModelMetadata', 'Error']) {
        assert.ok(doc.components.schemas[name], `components.schemas.${name}`);
      }
      const refs: string[] = [];
      const walk = (node: unknown): void => {
        if (Array.isArray(node)) node.forEach(walk);
        else if (node && typeof node === 'object') {
          for (const [k, v] of Object.entries(node)) {
            if (k === '$ref' && typeof v === 'string') refs.push(v);
            else walk(v);
          }
        }
      };
      walk(doc);
      assert.ok(refs.length > 0);
      for (const ref of refs) {
        assert.ok(ref.startsWith('#/'), `only local refs: ${ref}`);
        let target: unknown = doc;
        for (const part of ref.slice(2).split('/')) {
          const key = part.replaceAll('~1', '/').replaceAll('~0', '~');
          target = target && typeof target === 'object' ? (target as Record<string, unknown>)[key] : undefined;
        }
        assert.ok(target && typeof target === 'object', `$ref ${ref} resolves`);
      }
      const infer = doc.paths['/v2/models/{model}/infer']?.post as { requestBody?: { content?: Record<string, { schema?: { $ref?: string } }> } };
      assert.equal(infer.requestBody?.content?.['application/json']?.schema?.$ref, '#/components/schemas/InferRequest');
    });

    it('matches docs/openapi.json when that file exists', () => {
      const file = resolve(import.meta.dirname, '../../docs/openapi.json');
      if (!existsSync(file)) return;
      assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), doc, 'docs/openapi.json is stale: regenerate it (scripts/gen-docs.ts)');
    });
  });

  describe('/metrics', () => {
    let samples: Sample[];
    let text: string;

    before(async () => {
      // a few requests of known kinds, whatever ran before
      await infer('iris-onnx', { inputs: [irisWhole([SETOSA, VIRGINICA])] });
      await predict('iris-tfjs', { instances: [SETOSA] });
      assert.equal((await get(`${url}/v2/models/no-such-model`)).status, 404);
      const res = await get(`${url}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      text = String(res.body);
      samples = parseMetrics(text);
    });

    const find = (name: string, labels: Record<string, string> = {}) =>
      samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

    it('counts requests by model, version, endpoint template and status class', () => {
      const inferOk = find('driftgate_requests_total', { model: 'iris-onnx', version: '1', endpoint: '/v2/models/{model}/infer', status: '2xx' });
      assert.equal(inferOk.length, 1);
      assert.ok(inferOk[0]!.value >= 1);
      const predictOk = find('driftgate_requests_total', { model: 'iris-tfjs', version: '1', endpoint: '/v1/models/{model}:predict', status: '2xx' });
      assert.equal(predictOk.length, 1);
      // an unknown model is not a label value
      const notFound = find('driftgate_requests_total', { endpoint: '/v2/models/{model}', status: '4xx' });
      assert.ok(notFound.length >= 1);
      assert.ok(notFound.every((s) => s.labels.model === ''));
      for (const s of find('driftgate_requests_total')) {
        assert.deepEqual(Object.keys(s.labels).sort(), ['endpoint', 'model', 'protocol', 'status', 'version']);
        assert.match(s.labels.status!, /^[1-5]xx$/);
        assert.ok(!/no-such-model|[0-9a-f]{8}-[0-9a-f]{4}/.test(s.labels.endpoint!), `endpoint label is a template: ${s.labels.endpoint}`);
      }
    });

    it('has request-duration buckets from 100 µs to 10 s', () => {
      const labels = { model: 'iris-onnx', version: '1', endpoint: '/v2/models/{model}/infer', status: '2xx' };
      const buckets = find('driftgate_request_duration_seconds_bucket', labels);
      assert.ok(buckets.some((b) => b.labels.le === '0.0001'));
      assert.ok(buckets.some((b) => b.labels.le === '10'));
      assert.ok(buckets.some((b) => b.labels.le === '+Inf' && b.value >= 1));
      assert.equal(find('driftgate_request_duration_seconds_count', labels).length, 1);
    });

    it('has inference, batch-size, models-loaded and breaker metrics per model', () => {
      for (const model of IRIS_MODELS) {
        assert.ok(find('driftgate_inference_duration_seconds_count', { model, version: '1' })[0]!.value >= 1, `${model} inference`);
        assert.ok(find('driftgate_batch_size_count', { model, version: '1' })[0]!.value >= 1, `${model} batch size`);
        assert.equal(find('driftgate_models_loaded', { model })[0]?.value, 1, `${model} loaded`);
        assert.equal(find('driftgate_breaker_state', { model, version: '1' })[0]?.value, 0, `${model} breaker closed`);
      }
      assert.ok(find('driftgate_batch_size_bucket', { model: 'iris-onnx', version: '1', le: '1' }).length === 1);
    });

    it('has the process metrics', () => {
      for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
        assert.equal(find(name).length, 1, name);
      }
      assert.match(text, /^# TYPE driftgate_requests_total counter$/m);
      assert.match(text, /^# TYPE driftgate_request_duration_seconds histogram$/m);
    });
  });
});

describe('readiness', () => {
  it('while shutting down: live stays 200, ready is 503, predictions get 503 with Retry-After', async () => {
    const gw = await startGateway({ models: ['iris-onnx'] });
    try {
      gw.gateway.context.lifecycle.shuttingDown = true;
      assert.equal((await get(`${gw.url}/v2/health/live`)).status, 200);
      const ready = await get(`${gw.url}/v2/health/ready`);
      assert.equal(ready.status, 503);
      assert.deepEqual(ready.body, { ready: false });
      const infer = await post(`${gw.url}/v1/models/iris-onnx:predict`, { instances: [IRIS_ROW] });
      assert.equal(infer.status, 503);
      assert.equal(infer.headers.get('retry-after'), '1');
      assert.match(String(infer.body.error), /shutting down/);
    } finally {
      gw.gateway.context.lifecycle.shuttingDown = false;
      await gw.close();
    }
  });

  let partial: RunningGateway;
  let closing: RunningGateway;

  before(async () => {
    partial = await startGateway({ models: ['iris-onnx'], config: { models: ['iris-onnx', 'nope'] } });
    closing = await startGateway({ models: ['iris-onnx'] });
  });
  after(async () => {
    await partial.close();
    await closing.close();
  });

  it('is not ready while a configured model is missing, though the present one serves', async () => {
    const ready = await get(`${partial.url}/v2/health/ready`);
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.body, { ready: false });
    const model = await get(`${partial.url}/v2/models/iris-onnx/ready`);
    assert.equal(model.status, 200);
    assert.deepEqual(model.body, { ready: true });
    const res = await post(`${partial.url}/v1/models/iris-onnx:predict`, { instances: [SETOSA] });
    assert.equal(res.status, 200);
  });

  it('is not ready during close(), while an in-flight request still completes', async () => {
    const before = await get(`${closing.url}/v2/health/ready`);
    assert.equal(before.status, 200);
    assert.deepEqual(before.body, { ready: true });

    // A predict whose body is only half sent keeps a connection busy across close(); a readiness
    // probe pipelined behind it on the same connection arrives while the gateway shuts down.
    const body = JSON.stringify({ instances: [SETOSA] });
    const socket = connect(Number(new URL(closing.url).port), '127.0.0.1');
    await once(socket, 'connect');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    const socketClosed = once(socket, 'close');
    const arrived = once(closing.gateway.server!, 'request');
    socket.write(
      `POST /v1/models/iris-onnx:predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`,
    );
    await arrived;
    const closed = closing.close();
    assert.equal(closing.gateway.context.lifecycle.shuttingDown, true);
    socket.write(`${body.slice(10)}GET /v2/health/ready HTTP/1.1\r\nHost: test\r\n\r\n`);
    await socketClosed;
    await closed;

    const responses = received.split(/(?=HTTP\/1\.1 )/);
    assert.equal(responses.length, 2, received);
    assert.match(responses[0]!, /^HTTP\/1\.1 200 /);
    assert.match(responses[0]!, /"label":"setosa"/);
    // Health endpoints keep answering during shutdown: not ready, and the connection is closed.
    assert.match(responses[1]!, /^HTTP\/1\.1 503 /);
    assert.match(responses[1]!, /\r\nConnection: close\r\n/i);
    assert.match(responses[1]!, /\{"ready":false\}$/);
  });
});
