// The gateway's gRPC server (inference.GRPCInferenceService and grpc.health.v1.Health), driven by a
// @grpc/grpc-js client built from the same vendored proto files, against a real gateway: every RPC,
// raw and typed tensor contents on all four example models compared with the HTTP JSON path, status
// codes and messages, events, metrics, health and graceful shutdown.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { PredictionRecord, PredictionSink } from '../../src/serve/index.js';
import { get, metricValue, post, startGateway, tempRepo } from '../helpers/gateway.js';
import type { RunningGateway } from '../helpers/gateway.js';
import { decodeRawOutput, grpcClient, grpcError, rawBytes, rawFp32 } from '../helpers/grpc.js';
import type { GrpcClient, Message } from '../helpers/grpc.js';
import { writeSlowModel } from '../helpers/slow-model.js';

const MODELS = ['iris-onnx', 'iris-tfjs', 'delivery-onnx', 'delivery-tfjs'];
// FP32 values (Math.fround), so JSON numbers and raw FP32 bytes carry the same inputs.
const IRIS_ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.1, 4.7, 1.5],
].map((row) => row.map(Math.fround));
const DELIVERY_COLUMNS: Record<string, (number | string)[]> = { distance_km: [5, 12.5], weight_kg: [Math.fround(3.2), 1.5], hour: [12, 18], weather: ['rain', 'clear'] };

interface JsonTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: (number | string)[];
}

/** Two rows for a model, as the JSON tensors of an HTTP infer body (one tensor, or one per feature). */
function jsonInputs(model: string): JsonTensor[] {
  if (model.startsWith('iris')) return [{ name: 'features', datatype: 'FP32', shape: [2, 4], data: IRIS_ROWS.flat() }];
  return Object.entries(DELIVERY_COLUMNS).map(([name, data]) => ({ name, datatype: typeof data[0] === 'string' ? 'BYTES' : 'FP32', shape: [2], data }));
}

/** The same tensors with typed `contents`. */
function typedInputs(model: string): Message[] {
  return jsonInputs(model).map(({ data, ...t }) => ({
    ...t,
    contents: t.datatype === 'BYTES' ? { bytes_contents: data.map((s) => Buffer.from(String(s))) } : { fp32_contents: data },
  }));
}

/** The same tensors as raw contents. */
function rawRequest(model: string): Message {
  const inputs = jsonInputs(model);
  return {
    model_name: model,
    inputs: inputs.map(({ data: _data, ...t }) => t),
    raw_input_contents: inputs.map((t) => (t.datatype === 'BYTES' ? rawBytes(t.data.map(String)) : rawFp32(t.data as number[]))),
  };
}

/** A ModelInferResponse with its raw outputs decoded, shaped like the HTTP JSON response. */
function decoded(res: Message) {
  const outputs = res.outputs as { name: string; datatype: string; shape: number[] }[];
  const raw = res.raw_output_contents as Buffer[];
  return {
    model_name: res.model_name,
    model_version: res.model_version,
    id: res.id,
    prediction_ids: JSON.parse(((res.parameters as Record<string, Message>).prediction_ids!.string_param as string)) as string[],
    outputs: outputs.map((o, i) => ({ name: o.name, datatype: o.datatype, shape: o.shape, data: decodeRawOutput(o.datatype, raw[i]!) })),
  };
}

describe('gRPC inference service', { timeout: 180_000 }, () => {
  let gw: RunningGateway;
  let client: GrpcClient;
  let grpcPort: number;
  const recorded: PredictionRecord[] = [];
  const sink: PredictionSink = { wants: () => true, record: (records) => recorded.push(...records) };

  before(async () => {
    gw = await startGateway({ models: MODELS, deps: { sink } });
    grpcPort = await gw.gateway.listenGrpc(0, '127.0.0.1');
    client = grpcClient(grpcPort);
  });
  after(async () => {
    client?.close();
    await gw?.close();
  });

  it('answers ServerLive, ServerReady and ServerMetadata', async () => {
    assert.deepEqual(await client.call('inference', 'ServerLive', {}), { live: true });
    assert.deepEqual(await client.call('inference', 'ServerReady', {}), { ready: true });
    const meta = await client.call('inference', 'ServerMetadata', {});
    assert.equal(meta.name, 'driftgate');
    assert.ok((meta.extensions as string[]).includes('prediction_ids'));
  });

  it('answers ModelReady and ModelMetadata as the HTTP API does', async () => {
    for (const model of MODELS) {
      assert.deepEqual(await client.call('inference', 'ModelReady', { name: model }), { ready: true });
      assert.deepEqual(await client.call('inference', 'ModelReady', { name: model, version: '1' }), { ready: true });
      const http = (await get(`${gw.url}/v2/models/${model}`)).body as Record<string, unknown> & { parameters: { task: string; features: unknown; labels?: unknown } };
      const meta = await client.call('inference', 'ModelMetadata', { name: model });
      assert.deepEqual({ ...meta, properties: undefined }, { name: http.name, versions: http.versions, platform: http.platform, inputs: http.inputs, outputs: http.outputs, properties: undefined });
      const properties = meta.properties as Record<string, string>;
      assert.equal(properties.task, http.parameters.task);
      assert.deepEqual(JSON.parse(properties.features!), http.parameters.features);
      if (http.parameters.labels) assert.deepEqual(JSON.parse(properties.labels!), http.parameters.labels);
    }
  });

  for (const model of MODELS) {
    it(`${model}: raw and typed contents give the outputs the HTTP JSON path gives`, async () => {
      const http = await post(`${gw.url}/v2/models/${model}/infer`, { id: `http-${model}`, inputs: jsonInputs(model) });
      assert.equal(http.status, 200, JSON.stringify(http.body));
      const expected = http.body as { model_version: string; outputs: JsonTensor[]; parameters: { prediction_ids: string[] } };
      const raw = decoded(await client.call('inference', 'ModelInfer', { ...rawRequest(model), id: `http-${model}` }));
      assert.equal(raw.model_name, model);
      assert.equal(raw.model_version, expected.model_version);
      assert.equal(raw.id, `http-${model}`);
      assert.deepEqual(raw.prediction_ids, expected.parameters.prediction_ids);
      assert.deepEqual(raw.outputs, expected.outputs);
      const typed = decoded(await client.call('inference', 'ModelInfer', { model_name: model, model_version: '1', inputs: typedInputs(model) }));
      assert.deepEqual(typed.outputs, expected.outputs);
    });
  }

  it('returns only the outputs asked for', async () => {
    const res = decoded(await client.call('inference', 'ModelInfer', { ...rawRequest('iris-onnx'), outputs: [{ name: 'label' }] }));
    assert.deepEqual(res.outputs.map((o) => o.name), ['label']);
    assert.equal(res.outputs[0]!.data.length, 2);
  });

  it('publishes a prediction event per row, with the prediction ids the request named', async () => {
    const ids = ['grpc-a', 'grpc,b'];
    const res = decoded(
      await client.call('inference', 'ModelInfer', { ...rawRequest('delivery-onnx'), parameters: { prediction_ids: { string_param: JSON.stringify(ids) } } }),
    );
    assert.deepEqual(res.prediction_ids, ids);
    const events = recorded.filter((r) => ids.includes(r.id));
    assert.deepEqual(events.map((e) => e.id), ids);
    assert.deepEqual(events.map((e) => [e.model, e.version, e.features.weather]), [
      ['delivery-onnx', 1, 'rain'],
      ['delivery-onnx', 1, 'clear'],
    ]);
    const commaJoined = decoded(await client.call('inference', 'ModelInfer', { ...rawRequest('iris-onnx'), parameters: { prediction_ids: { string_param: 'c1,c2' } } }));
    assert.deepEqual(commaJoined.prediction_ids, ['c1', 'c2']);
  });

  it('refuses a bad tensor with INVALID_ARGUMENT and the message HTTP gives', async () => {
    const inputs = [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3] }];
    const http = await post(`${gw.url}/v2/models/iris-onnx/infer`, { inputs });
    assert.equal(http.status, 400);
    const raw = await grpcError(client.call('inference', 'ModelInfer', { model_name: 'iris-onnx', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [rawFp32([1, 2, 3])] }));
    assert.equal(raw.code, GrpcStatus.INVALID_ARGUMENT);
    assert.equal(raw.details, http.body.error);
    assert.equal(raw.metadata.get('driftgate-error-code')[0], 'INVALID_INPUT');
    const typed = await grpcError(client.call('inference', 'ModelInfer', { model_name: 'iris-onnx', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3] } }] }));
    assert.equal(typed.details, http.body.error);
    const datatype = await grpcError(client.call('inference', 'ModelInfer', { model_name: 'iris-onnx', inputs: [{ name: 'features', datatype: 'FLOAT32', shape: [1, 4] }], raw_input_contents: [rawFp32([1, 2, 3, 4])] }));
    assert.equal(datatype.code, GrpcStatus.INVALID_ARGUMENT);
    assert.match(datatype.details, /^inputs\[0\]\.datatype: /);
    const category = await grpcError(client.call('inference', 'ModelInfer', { ...rawRequest('delivery-onnx'), raw_input_contents: [rawFp32([1, 2]), rawFp32([1, 2]), rawFp32([1, 2]), rawBytes(['rain', 'hail'])] }));
    assert.equal(category.code, GrpcStatus.INVALID_ARGUMENT);
    assert.match(category.details, /input "weather" row 1: feature "weather" has unknown category "hail"/);
  });

  it('refuses a message that is not a ModelInferRequest with INVALID_ARGUMENT', async () => {
    const err = await grpcError(
      new Promise((resolve, reject) =>
        client.inference.makeUnaryRequest('/inference.GRPCInferenceService/ModelInfer', (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0x0a, 0xff, 0xff, 0xff]), (e, r) => (e ? reject(e) : resolve(r))),
      ),
    );
    assert.equal(err.code, GrpcStatus.INVALID_ARGUMENT);
    assert.match(err.details, /^malformed ModelInfer request message: /);
  });

  it('answers NOT_FOUND for an unknown model or version, INVALID_ARGUMENT for a bad version', async () => {
    const model = await grpcError(client.call('inference', 'ModelInfer', { ...rawRequest('iris-onnx'), model_name: 'no-such-model' }));
    assert.equal(model.code, GrpcStatus.NOT_FOUND);
    assert.equal(model.details, (await post(`${gw.url}/v2/models/no-such-model/infer`, { inputs: jsonInputs('iris-onnx') })).body.error);
    const version = await grpcError(client.call('inference', 'ModelInfer', { ...rawRequest('iris-onnx'), model_version: '9' }));
    assert.equal(version.code, GrpcStatus.NOT_FOUND);
    assert.equal(version.details, 'model "iris-onnx" has no version 9');
    assert.equal((await grpcError(client.call('inference', 'ModelMetadata', { name: 'no-such-model' }))).code, GrpcStatus.NOT_FOUND);
    assert.equal((await grpcError(client.call('inference', 'ModelReady', { name: 'iris-onnx', version: 'x' }))).code, GrpcStatus.INVALID_ARGUMENT);
  });

  it('answers health Check and List: "" and the inference service SERVING, an unknown service NOT_FOUND', async () => {
    assert.deepEqual(await client.call('health', 'Check', { service: '' }), { status: 'SERVING' });
    assert.deepEqual(await client.call('health', 'Check', { service: 'inference.GRPCInferenceService' }), { status: 'SERVING' });
    assert.equal((await grpcError(client.call('health', 'Check', { service: 'nope' }))).code, GrpcStatus.NOT_FOUND);
    assert.deepEqual(await client.call('health', 'List', {}), { statuses: { '': { status: 'SERVING' }, 'inference.GRPCInferenceService': { status: 'SERVING' } } });
  });

  it('counts calls in the request metrics with protocol="grpc" and the method as endpoint', async () => {
    const ok = { protocol: 'grpc', endpoint: 'inference.GRPCInferenceService/ModelInfer', model: 'iris-onnx', version: '1', status: '2xx' };
    assert.ok((await metricValue(gw.url, 'driftgate_requests_total', ok)) >= 3);
    const bad = { protocol: 'grpc', endpoint: 'inference.GRPCInferenceService/ModelInfer', model: 'iris-onnx', status: '4xx' };
    assert.ok((await metricValue(gw.url, 'driftgate_requests_total', bad)) >= 1);
    const unknown = { protocol: 'grpc', endpoint: 'inference.GRPCInferenceService/ModelInfer', model: '', version: '', status: '4xx' };
    assert.ok((await metricValue(gw.url, 'driftgate_requests_total', unknown)) >= 1, 'an unknown model is not a label value');
    assert.ok((await metricValue(gw.url, 'driftgate_request_duration_seconds_count', ok)) >= 3);
    assert.equal(await metricValue(gw.url, 'driftgate_requests_total', { protocol: 'http', endpoint: '/v2/models/{model}/infer', model: 'iris-onnx', status: '2xx' }), 1);
    assert.equal(await metricValue(gw.url, 'driftgate_requests_total', { protocol: 'grpc', status: '5xx' }), 0);
  });
});

describe('gRPC limits, deadlines and shutdown', { timeout: 180_000 }, () => {
  it('refuses a message larger than DRIFTGATE_MAX_BODY_BYTES with RESOURCE_EXHAUSTED', async () => {
    const gw = await startGateway({ models: ['iris-onnx'], config: { maxBodyBytes: 1024 } });
    const client = grpcClient(await gw.gateway.listenGrpc(0, '127.0.0.1'));
    try {
      const rows = Array.from({ length: 100 }, () => IRIS_ROWS[0]!).flat();
      const err = await grpcError(client.call('inference', 'ModelInfer', { model_name: 'iris-onnx', inputs: [{ name: 'features', datatype: 'FP32', shape: [100, 4] }], raw_input_contents: [rawFp32(rows)] }));
      assert.equal(err.code, GrpcStatus.RESOURCE_EXHAUSTED);
      assert.match(err.details, /larger than max/);
      await client.call('inference', 'ModelInfer', rawRequest('iris-onnx'));
      const refused = { protocol: 'grpc', endpoint: 'inference.GRPCInferenceService/ModelInfer', model: '', status: '4xx' };
      assert.equal(await metricValue(gw.url, 'driftgate_requests_total', refused), 1);
    } finally {
      client.close();
      await gw.close();
    }
  });

  it('refuses more rows than DRIFTGATE_MAX_REQUEST_ROWS with RESOURCE_EXHAUSTED, before decoding', async () => {
    const gw = await startGateway({ models: ['iris-onnx'], config: { maxRequestRows: 1 } });
    const client = grpcClient(await gw.gateway.listenGrpc(0, '127.0.0.1'));
    try {
      const err = await grpcError(client.call('inference', 'ModelInfer', rawRequest('iris-onnx')));
      assert.equal(err.code, GrpcStatus.RESOURCE_EXHAUSTED);
      assert.equal(err.details, 'the request holds 2 rows; the limit is 1 rows per request (DRIFTGATE_MAX_REQUEST_ROWS)');
    } finally {
      client.close();
      await gw.close();
    }
  });

  it('honours the deadline, finishes in-flight calls on shutdown, and tells health watchers', async () => {
    const repo = tempRepo(['iris-onnx']);
    writeSlowModel(repo);
    const gw = await startGateway({ repo, config: { shutdownGraceMs: 20_000 } });
    const client = grpcClient(await gw.gateway.listenGrpc(0, '127.0.0.1'));
    try {
      const slow = { ...rawRequest('iris-onnx'), model_name: 'slow' };
      const late = await grpcError(client.call('inference', 'ModelInfer', slow, 50));
      assert.equal(late.code, GrpcStatus.DEADLINE_EXCEEDED);
      const deadline = { protocol: 'grpc', endpoint: 'inference.GRPCInferenceService/ModelInfer', model: 'slow', status: '5xx' };
      assert.equal(await metricValue(gw.url, 'driftgate_requests_total', deadline), 1);

      const seen: string[] = [];
      const watch = client.watch('inference.GRPCInferenceService');
      watch.on('data', (m: { status: string }) => seen.push(m.status));
      const watchEnded = new Promise<void>((resolve) => watch.on('status', () => resolve()));
      watch.on('error', () => undefined);
      while (seen.length === 0) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(seen, ['SERVING']);

      const inFlight = client.call('inference', 'ModelInfer', slow);
      await new Promise((r) => setTimeout(r, 100));
      const closing = gw.close();
      const res = decoded(await inFlight);
      assert.equal(res.model_name, 'slow');
      await closing;
      await watchEnded;
      assert.deepEqual(seen, ['SERVING', 'NOT_SERVING']);
      assert.equal((await grpcError(client.call('inference', 'ServerLive', {}, 2000))).code, GrpcStatus.UNAVAILABLE);
    } finally {
      client.close();
      await gw.close();
    }
  });
});
