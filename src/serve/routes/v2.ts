// Open Inference Protocol (KServe V2) REST endpoints.
import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import type { Request, Response } from 'express';
import { DriftgateError, describeValues, invalidInput } from '../../core/index.js';
import type { Manifest } from '../../core/index.js';
import { endpoint, labelsOf, parseBody } from '../http.js';
import { checkRequestRows } from '../limits.js';
import { predictRows, predictionIds } from '../predict.js';
import { checkModelName, checkVersion } from '../../core/index.js';
import { inferRequest } from '../schemas.js';
import type { V2Datatype } from '../schemas.js';
import { decodeInferInputs } from '../tensors.js';
import type { GatewayContext } from './context.js';

export const SERVER_NAME = 'driftgate';
export const SERVER_VERSION = '0.1.0';

const PLATFORM: Record<Manifest['format'], string> = {
  onnx: 'onnxruntime_onnx',
  'tfjs-layers': 'tensorflowjs_layers',
  'tfjs-graph': 'tensorflowjs_graph',
};

/** The label output: the predicted class name of each row. */
export const LABEL_OUTPUT = 'label';

type TensorList = { name: string; datatype: V2Datatype; shape: number[] }[];

// The tensor lists depend only on the manifest; infer reads them on every request, so build them once.
const tensorCache = new WeakMap<Manifest, { inputs: TensorList; outputs: TensorList }>();

function tensorsOf(manifest: Manifest): { inputs: TensorList; outputs: TensorList } {
  let cached = tensorCache.get(manifest);
  if (!cached) {
    cached = describeTensors(manifest);
    tensorCache.set(manifest, cached);
  }
  return cached;
}

function describeTensors(manifest: Manifest) {
  const numeric = manifest.features.every((f) => f.type === 'numeric');
  const inputs: { name: string; datatype: V2Datatype; shape: number[] }[] = numeric
    ? [{ name: manifest.input, datatype: 'FP32', shape: [-1, manifest.features.length] }]
    : manifest.features.map((f) => ({ name: f.name, datatype: f.type === 'numeric' ? 'FP32' : 'BYTES', shape: [-1] }));
  const outputs: { name: string; datatype: V2Datatype; shape: number[] }[] =
    manifest.task === 'classification'
      ? [
          { name: manifest.output, datatype: 'FP32', shape: [-1, manifest.labels!.length] },
          { name: LABEL_OUTPUT, datatype: 'BYTES', shape: [-1] },
        ]
      : [{ name: manifest.output, datatype: 'FP32', shape: [-1, 1] }];
  return { inputs, outputs };
}

/** Reads `:model` and the optional `:version` from the URL, and labels the request metric once the model is known. */
function target(ctx: GatewayContext, req: Request, res: Response): { model: string; version: number | undefined } {
  const model = checkModelName(String(req.params.model));
  const version = req.params.version === undefined ? undefined : checkVersion(String(req.params.version));
  if (ctx.registry.has(model)) labelsOf(res).model = model;
  return { model, version };
}

/** Health endpoints answer during shutdown too: live stays true, ready turns false. */
export function healthRoutes(ctx: GatewayContext): Router {
  const r = Router();
  r.get('/v2/health/live', endpoint('/v2/health/live'), (_req, res) => {
    res.json({ live: true });
  });
  r.get('/v2/health/ready', endpoint('/v2/health/ready'), (_req, res) => {
    // While shutting down, close the connection after answering so clients move to another replica.
    if (ctx.lifecycle.shuttingDown) res.setHeader('Connection', 'close');
    const ready = !ctx.lifecycle.shuttingDown && ctx.registry.ready();
    res.status(ready ? 200 : 503).json({ ready });
  });
  return r;
}

export function v2Routes(ctx: GatewayContext): Router {
  const r = Router();

  r.get('/v2', endpoint('/v2'), (_req, res) => {
    res.json({ name: SERVER_NAME, version: SERVER_VERSION, extensions: ['model_repository', 'prediction_ids'] });
  });

  const metadata = (req: Request, res: Response) => {
    const { model, version } = target(ctx, req, res);
    const manifest = ctx.registry.manifest(model, version);
    labelsOf(res).version = String(manifest.version);
    const status = ctx.registry.status().find((s) => s.name === model);
    const loaded = (status?.versions ?? []).filter((v) => v.state === 'serving' || v.state === 'loaded').map((v) => String(v.version));
    res.json({
      name: model,
      versions: version === undefined ? loaded : [String(manifest.version)],
      platform: PLATFORM[manifest.format],
      ...tensorsOf(manifest),
      parameters: {
        task: manifest.task,
        ...(manifest.labels ? { labels: manifest.labels } : {}),
        features: manifest.features,
      },
    });
  };
  r.get('/v2/models/:model', endpoint('/v2/models/{model}'), metadata);
  r.get('/v2/models/:model/versions/:version', endpoint('/v2/models/{model}/versions/{version}'), metadata);

  const ready = (req: Request, res: Response) => {
    const { model, version } = target(ctx, req, res);
    const isReady = !ctx.lifecycle.shuttingDown && ctx.registry.isReady(model, version);
    res.status(isReady ? 200 : 503).json({ ready: isReady });
  };
  r.get('/v2/models/:model/ready', endpoint('/v2/models/{model}/ready'), ready);
  r.get('/v2/models/:model/versions/:version/ready', endpoint('/v2/models/{model}/versions/{version}/ready'), ready);

  const infer = async (req: Request, res: Response) => {
    const startedAt = performance.now();
    const { model, version } = target(ctx, req, res);
    checkRequestRows(req.body, ctx.config.maxRequestRows);
    const body = parseBody(inferRequest, req.body);
    const { served, release } = ctx.registry.acquire(model, version);
    try {
      labelsOf(res).version = String(served.version);
      const manifest = served.manifest;
      const { outputs: declared } = tensorsOf(manifest);
      const wanted = body.outputs?.map((o) => o.name) ?? declared.map((o) => o.name);
      const unknown = wanted.filter((n) => !declared.some((d) => d.name === n));
      if (unknown.length > 0) throw invalidInput(`unknown output${unknown.length > 1 ? 's' : ''} ${describeValues(unknown)}; this model has ${declared.map((d) => `"${d.name}"`).join(', ')}`);

      const decoded = decodeInferInputs(manifest, served.encoder, body.inputs);
      const requestId = body.id ?? randomUUID();
      const ids = predictionIds(decoded.rows, body.parameters?.prediction_ids, requestId);
      const result = await predictRows(served, decoded.matrix, decoded.rows, ids, ctx.sink, decoded.featureRows, startedAt);
      const width = served.outputWidth;
      const outputs = wanted.map((name) => {
        if (name === LABEL_OUTPUT && manifest.task === 'classification') {
          return { name, datatype: 'BYTES', shape: [decoded.rows], data: result.predictions.map((p) => ('label' in p ? p.label : '')) };
        }
        return { name, datatype: 'FP32', shape: [decoded.rows, width], data: Array.from(result.outputs) };
      });
      res.json({
        model_name: model,
        model_version: String(served.version),
        id: requestId,
        parameters: { prediction_ids: ids },
        outputs,
      });
    } finally {
      release();
    }
  };
  r.post('/v2/models/:model/infer', endpoint('/v2/models/{model}/infer'), ...ctx.body, infer);
  r.post('/v2/models/:model/versions/:version/infer', endpoint('/v2/models/{model}/versions/{version}/infer'), ...ctx.body, infer);

  return r;
}

export function notFound(req: Request): never {
  throw new DriftgateError('NOT_FOUND', `no endpoint ${req.method} ${req.path.slice(0, 200)}`);
}
