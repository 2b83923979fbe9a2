// Open Inference Protocol (KServe V2) REST endpoints, with Triton's extensions that its clients call:
// binary tensor data, model configuration and statistics.
import { Router } from 'express';
import type { Request, Response } from 'express';
import { DRIFTGATE_VERSION, DriftgateError } from '../../core/index.js';
import { endpoint, inferBody, labelsOf, only, parseBody } from '../http.js';
import { checkRequestRows } from '../limits.js';
import { runInfer } from '../infer.js';
import { INFERENCE_HEADER, attachBinaryInputs, binaryOutputChoice, encodeInferResponse, refuseBinaryInputs, splitBinaryRequest } from '../binary-tensors.js';
import { modelConfig } from '../model-config.js';
import { modelMetadata } from '../model-metadata.js';
import { checkModelName, checkVersion } from '../../core/index.js';
import { inferRequest, inferRequestHeader } from '../schemas.js';
import type { InferRequest } from '../schemas.js';
import type { GatewayContext } from './context.js';

export const SERVER_NAME = 'driftgate';
export const EXTENSIONS = ['model_repository', 'prediction_ids', 'binary_tensor_data', 'model_configuration', 'statistics'];

/** Reads `:model` and the optional `:version` from the URL, and labels the request metric once the model is known. */
function target(ctx: GatewayContext, req: Request, res: Response): { model: string; version: number | undefined } {
  const model = checkModelName(String(req.params.model));
  const version = req.params.version === undefined ? undefined : checkVersion(String(req.params.version));
  if (ctx.registry.has(model)) labelsOf(res).model = model;
  return { model, version };
}

/** An infer request from a JSON body, or from a binary-extension body (JSON header, then raw tensor data). */
function readInferRequest(req: Request, maxRows: number): InferRequest {
  const declared = req.headers[INFERENCE_HEADER.toLowerCase()];
  if (declared === undefined) {
    checkRequestRows(req.body, maxRows);
    const body = parseBody(inferRequest, req.body);
    refuseBinaryInputs(body);
    return body;
  }
  const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const { header, jsonBytes } = splitBinaryRequest(bytes, declared);
  checkRequestRows(header, maxRows);
  return attachBinaryInputs(parseBody(inferRequestHeader, header), bytes, jsonBytes);
}

/** Health endpoints answer during shutdown too: live stays true, ready turns false. */
export function healthRoutes(ctx: GatewayContext): Router {
  const r = Router();
  r.all('/v2/health/live', endpoint('/v2/health/live'), only('GET'), (_req, res) => {
    res.json({ live: true });
  });
  r.all('/v2/health/ready', endpoint('/v2/health/ready'), only('GET'), (_req, res) => {
    // While shutting down, close the connection after answering so clients move to another replica.
    if (ctx.lifecycle.shuttingDown) res.setHeader('Connection', 'close');
    const ready = !ctx.lifecycle.shuttingDown && ctx.registry.ready();
    res.status(ready ? 200 : 503).json({ ready });
  });
  return r;
}

export function v2Routes(ctx: GatewayContext): Router {
  const r = Router();

  r.all('/v2', endpoint('/v2'), only('GET'), (_req, res) => {
    res.json({ name: SERVER_NAME, version: DRIFTGATE_VERSION, extensions: EXTENSIONS });
  });

  // Before /v2/models/:model, which would take "stats" for a model name (as in Triton, the path wins).
  r.all('/v2/models/stats', endpoint('/v2/models/stats'), only('GET'), (_req, res) => {
    res.json({ model_stats: ctx.registry.modelNames().flatMap((m) => ctx.registry.loadedVersions(m).map((s) => s.stats.report(m, s.version))) });
  });

  const metadata = (req: Request, res: Response) => {
    const { model, version } = target(ctx, req, res);
    const { manifestVersion, ...described } = modelMetadata(ctx, model, version);
    labelsOf(res).version = String(manifestVersion);
    res.json(described);
  };
  r.all('/v2/models/:model', endpoint('/v2/models/{model}'), only('GET'), metadata);
  r.all('/v2/models/:model/versions/:version', endpoint('/v2/models/{model}/versions/{version}'), only('GET'), metadata);

  const ready = (req: Request, res: Response) => {
    const { model, version } = target(ctx, req, res);
    const isReady = !ctx.lifecycle.shuttingDown && ctx.registry.isReady(model, version);
    res.status(isReady ? 200 : 503).json({ ready: isReady });
  };
  r.all('/v2/models/:model/ready', endpoint('/v2/models/{model}/ready'), only('GET'), ready);
  r.all('/v2/models/:model/versions/:version/ready', endpoint('/v2/models/{model}/versions/{version}/ready'), only('GET'), ready);

  const config = (req: Request, res: Response) => {
    const { model, version } = target(ctx, req, res);
    const manifest = ctx.registry.manifest(model, version);
    labelsOf(res).version = String(manifest.version);
    res.json(modelConfig(manifest, ctx.config));
  };
  r.all('/v2/models/:model/config', endpoint('/v2/models/{model}/config'), only('GET'), config);
  r.all('/v2/models/:model/versions/:version/config', endpoint('/v2/models/{model}/versions/{version}/config'), only('GET'), config);

  const stats = (req: Request, res: Response) => {
    const { model, version } = target(ctx, req, res);
    if (!ctx.registry.has(model)) throw new DriftgateError('MODEL_NOT_FOUND', `model "${model}" is not served here`);
    const loaded = ctx.registry.loadedVersions(model).filter((s) => version === undefined || s.version === version);
    if (version !== undefined && loaded.length === 0) throw new DriftgateError('VERSION_NOT_FOUND', `version ${version} of model "${model}" is not loaded`);
    if (version !== undefined) labelsOf(res).version = String(version);
    res.json({ model_stats: loaded.map((s) => s.stats.report(model, s.version)) });
  };
  r.all('/v2/models/:model/stats', endpoint('/v2/models/{model}/stats'), only('GET'), stats);
  r.all('/v2/models/:model/versions/:version/stats', endpoint('/v2/models/{model}/versions/{version}/stats'), only('GET'), stats);

  const body = inferBody(ctx.config.maxBodyBytes);
  const infer = async (req: Request, res: Response) => {
    const startedAt = performance.now();
    const { model, version } = target(ctx, req, res);
    const request = readInferRequest(req, ctx.config.maxRequestRows);
    const binary = binaryOutputChoice(request);
    const result = await runInfer(ctx, model, version, request, startedAt, (v) => (labelsOf(res).version = String(v)));
    const header = { model_name: result.model_name, model_version: result.model_version, id: result.id, parameters: { prediction_ids: result.prediction_ids } };
    const response = encodeInferResponse(header, result.outputs, binary);
    if (!response.binary) return res.json(response.json);
    res.setHeader(INFERENCE_HEADER, String(response.binary.headerLength));
    res.type('application/octet-stream').send(response.binary.body);
  };
  r.all('/v2/models/:model/infer', endpoint('/v2/models/{model}/infer'), only('POST'), ...body, infer);
  r.all('/v2/models/:model/versions/:version/infer', endpoint('/v2/models/{model}/versions/{version}/infer'), only('POST'), ...body, infer);

  return r;
}

export function notFound(req: Request): never {
  throw new DriftgateError('NOT_FOUND', `no endpoint ${req.method} ${req.path.slice(0, 200)}`);
}
