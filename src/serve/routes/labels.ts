// Ground truth in: POST /v2/models/{m}/labels with {"labels": [{"id", "label"}]}. Ids are the
// prediction ids the predict/infer responses returned. Labels are checked against the serving
// version's manifest (a class name or index for classifiers, a number for regressors) and handed to
// the event pipeline; the monitor joins them with their predictions. Labels judge models and become
// training data, so DRIFTGATE_LABEL_TOKEN, when set, guards the endpoint with a bearer token.
import { createHash, timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import type { RequestHandler } from 'express';
import { describeValue, DriftgateError, invalidInput } from '../../core/index.js';
import type { LabelRecordLike, Manifest } from '../../core/index.js';
import { endpoint, labelsOf, only, parseBody } from '../http.js';
import { checkModelName } from '../../core/index.js';
import { labelsRequest } from '../schemas.js';
import type { GatewayContext } from './context.js';

/** Normalises one label to what the monitor expects: the class name, or the numeric value. */
export function normaliseLabel(manifest: Manifest, label: string | number): string | number | undefined {
  if (manifest.task === 'regression') return typeof label === 'number' && Number.isFinite(label) ? label : undefined;
  const classes = manifest.labels ?? [];
  if (typeof label === 'string') return classes.includes(label) ? label : undefined;
  return Number.isInteger(label) && label >= 0 && label < classes.length ? classes[label] : undefined;
}

/**
 * Refuses label calls without the bearer token (401) or with another one (403) while a token is set;
 * lets every call through while it is unset. Runs before the body is read, so a refused call costs
 * no parsing.
 */
export function labelAuth(token: string | undefined): RequestHandler {
  // Comparing digests keeps the comparison constant-time whatever length the caller sends.
  const digest = (s: string) => createHash('sha256').update(s).digest();
  const expected = token === undefined ? undefined : digest(token);
  return (req, res, next) => {
    if (!expected) return next();
    const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (!match) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="driftgate-labels"');
      return next(new DriftgateError('UNAUTHORIZED', 'label calls need an Authorization: Bearer <token> header (the gateway sets DRIFTGATE_LABEL_TOKEN)'));
    }
    if (!timingSafeEqual(digest(match[1]!.trim()), expected)) return next(new DriftgateError('FORBIDDEN', 'the label token is wrong'));
    next();
  };
}

export function labelRoutes(ctx: GatewayContext): Router {
  const r = Router();
  if (ctx.config.labelToken === undefined) {
    ctx.logger.warn('labels are accepted without a token: set DRIFTGATE_LABEL_TOKEN in production, since labels judge models and become training data');
  }
  r.all('/v2/models/:model/labels', endpoint('/v2/models/{model}/labels'), only('POST'), labelAuth(ctx.config.labelToken), ...ctx.body, (req, res) => {
    const model = checkModelName(String(req.params.model));
    const body = parseBody(labelsRequest, req.body);
    const manifest = ctx.registry.manifest(model);
    labelsOf(res).model = model;
    const ts = new Date().toISOString();
    const out: LabelRecordLike[] = [];
    const bad: string[] = [];
    for (const { id, label } of body.labels) {
      const value = normaliseLabel(manifest, label);
      if (value === undefined) bad.push(describeValue(label));
      else out.push({ id, model, label: value, ts });
    }
    if (bad.length > 0) {
      const expected =
        manifest.task === 'regression'
          ? 'finite numbers'
          : `one of ${manifest.labels.map((l) => JSON.stringify(l)).join(', ')} or a class index 0-${manifest.labels.length - 1}`;
      const shown = [...new Set(bad)].slice(0, 10).join(', ');
      throw invalidInput(`unknown label value${bad.length > 1 ? 's' : ''} ${shown} for model "${model}": labels are ${expected}`);
    }
    ctx.labels.record(out);
    res.status(202).json({ accepted: out.length });
  });
  return r;
}
