// Row-oriented predict API in the TF Serving style: POST /v1/models/{m}[/versions/{v}]:predict.
import { Router } from 'express';
import { DriftgateError } from '../../core/index.js';
import { endpoint, labelsOf, only, parseBody } from '../http.js';
import { checkRequestRows } from '../limits.js';
import { predictRows, predictionIds } from '../predict.js';
import { checkModelName, checkVersion } from '../../core/index.js';
import { predictRequest } from '../schemas.js';
import type { GatewayContext } from './context.js';

// Express path patterns cannot put a parameter right before ":predict", so the path is matched by
// a regular expression: /v1/models/<model>[/versions/<version>]:predict
const PREDICT_PATH = /^\/v1\/models\/([^/]+?)(?:\/versions\/([^/]+))?:predict$/;

export function v1Routes(ctx: GatewayContext): Router {
  const r = Router();
  r.all(PREDICT_PATH, endpoint('/v1/models/{model}:predict'), only('POST'), ...ctx.body, async (req, res) => {
    const startedAt = performance.now();
    const params = req.params; // numbered captures of the path's RegExp
    // The router has already percent-decoded the captures; decoding again would turn "%25" into a
    // URIError (a 500) and let "%252F" through as "/".
    const model = checkModelName(params[0] ?? '');
    const version = params[1] === undefined ? undefined : checkVersion(params[1]);
    if (ctx.registry.has(model)) labelsOf(res).model = model;
    if (req.body && typeof req.body === 'object' && 'inputs' in req.body && !('instances' in req.body)) {
      throw new DriftgateError('INVALID_INPUT', 'the columnar "inputs" form is not supported here; send "instances" (rows), or use the V2 infer endpoint');
    }
    checkRequestRows(req.body, ctx.config.maxRequestRows);
    const body = parseBody(predictRequest, req.body);
    const { served, release } = ctx.registry.acquire(model, version);
    try {
      labelsOf(res).version = String(served.version);
      const matrix = served.encoder.encodeRows(body.instances);
      const rows = body.instances.length;
      const ids = predictionIds(rows, body.ids, undefined);
      const featureRows = () =>
        body.instances.map((row) =>
          Array.isArray(row) ? Object.fromEntries(served.encoder.featureNames.map((n, i) => [n, row[i]])) : row,
        );
      const result = await predictRows(served, matrix, rows, ids, ctx.sink, featureRows, startedAt);
      res.json({ predictions: result.predictions, model_version: String(served.version), ids });
    } finally {
      release();
    }
  });
  return r;
}
