// Open Inference Protocol (KServe V2) REST endpoints.
import { Router } from 'express';
import type { Request, Response } from 'express';
import { DriftgateError } from '../../core/index.js';
import { endpoint, labelsOf, parseBody } from '../http.js';
import { checkRequestRows } from '../limits.js';
import { runInfer } from '../infer.js';
import { modelMetadata } from '../model-metadata.js';
import { checkModelName, checkVersion } from '../../core/index.js';
import { inferRequest } from '../schemas.js';
import type { GatewayContext } from './context.js';

export const SERVER_NAME = 'driftgate';
export const SERVER_VERSION = '0.1.0';

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
    const { manifestVersion, ...described } = modelMetadata(ctx, model, version);
    labelsOf(res).version = String(manifestVersion);
    res.json(described);
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
    const result = await runInfer(ctx, model, version, body, startedAt, (v) => (labelsOf(res).version = String(v)));
    res.json({
      model_name: result.model_name,
      model_version: result.model_version,
      id: result.id,
      parameters: { prediction_ids: result.prediction_ids },
      outputs: result.outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape, data: o.datatype === 'FP32' ? Array.from(o.data) : o.data })),
    });
  };
  r.post('/v2/models/:model/infer', endpoint('/v2/models/{model}/infer'), ...ctx.body, infer);
  r.post('/v2/models/:model/versions/:version/infer', endpoint('/v2/models/{model}/versions/{version}/infer'), ...ctx.body, infer);

  return r;
}

export function notFound(req: Request): never {
  throw new DriftgateError('NOT_FOUND', `no endpoint ${req.method} ${req.path.slice(0, 200)}`);
}
