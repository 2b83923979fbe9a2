// Control API: list, load, unload, promote and roll back model versions. Guarded by a bearer token;
// refused entirely while no token is configured, since loading models is code execution territory.
import { Router } from 'express';
import { DriftgateError } from '../../core/index.js';
import { adminAuth, endpoint, labelsOf, only } from '../http.js';
import { checkModelName, checkVersion } from '../../core/index.js';
import type { GatewayContext } from './context.js';

export function adminRoutes(ctx: GatewayContext): Router {
  const r = Router();
  // The method check comes before the token check: a method no admin path serves is refused (405) as anywhere else.
  const auth = adminAuth(ctx.config.adminToken);

  const model = (raw: unknown, res: Parameters<typeof labelsOf>[0]) => {
    const name = checkModelName(String(raw));
    if (ctx.registry.has(name)) labelsOf(res).model = name;
    return name;
  };

  r.all('/admin/models', endpoint('/admin/models'), only('GET'), auth, (_req, res) => {
    res.json({ models: ctx.registry.status() });
  });

  r.all('/admin/models/:model/versions/:version/load', endpoint('/admin/models/{model}/versions/{version}/load'), only('POST'), auth, async (req, res) => {
    const status = await ctx.registry.load(model(req.params.model, res), checkVersion(String(req.params.version)));
    res.json(status);
  });

  r.all('/admin/models/:model/versions/:version/unload', endpoint('/admin/models/{model}/versions/{version}/unload'), only('POST'), auth, async (req, res) => {
    const status = await ctx.registry.unload(model(req.params.model, res), checkVersion(String(req.params.version)));
    res.json(status);
  });

  // Promotions and rollbacks by hand are announced like the loop's: other gateways follow at once,
  // and the retrain loop watches a promoted version's live accuracy.
  r.all('/admin/models/:model/promote/:version', endpoint('/admin/models/{model}/promote/{version}'), only('POST'), auth, async (req, res) => {
    const name = model(req.params.model, res);
    const from = ctx.registry.status().find((m) => m.name === name)?.servingVersion ?? null;
    const status = await ctx.registry.promote(name, checkVersion(String(req.params.version)));
    ctx.logger.info('admin promote', { model: status.name, version: status.servingVersion });
    if (status.servingVersion !== null && status.servingVersion !== from) {
      ctx.modelEvents.record({ type: 'model.promoted', model: name, version: status.servingVersion, ts: new Date().toISOString(), details: { by: 'admin', from } });
    }
    res.json(status);
  });

  r.all('/admin/models/:model/rollback', endpoint('/admin/models/{model}/rollback'), only('POST'), auth, async (req, res) => {
    const name = model(req.params.model, res);
    const from = ctx.registry.status().find((m) => m.name === name)?.servingVersion ?? null;
    const status = await ctx.registry.rollback(name);
    ctx.logger.info('admin rollback', { model: status.name, version: status.servingVersion });
    if (status.servingVersion !== null) {
      ctx.modelEvents.record({ type: 'model.rolled_back', model: name, version: status.servingVersion, ts: new Date().toISOString(), details: { by: 'admin', from } });
    }
    res.json(status);
  });

  r.all('/admin/models/:model/retrain', endpoint('/admin/models/{model}/retrain'), only('POST'), auth, (req, res) => {
    const name = model(req.params.model, res);
    const version = ctx.registry.status().find((m) => m.name === name)?.servingVersion ?? null;
    if (!ctx.registry.has(name)) throw new DriftgateError('MODEL_NOT_FOUND', `model "${name}" is not served here`);
    if (version === null) throw new DriftgateError('MODEL_NOT_READY', `model "${name}" has no serving version to retrain from`, { retryAfterSeconds: 5 });
    ctx.modelEvents.record({ type: 'retrain.requested', model: name, version, ts: new Date().toISOString(), details: { reason: 'manual', by: 'admin' } });
    res.status(202).json({
      model: name,
      version,
      requested: true,
      note: 'published as retrain.requested; follow the job at GET /admin/models/{model}/retrains',
    });
  });

  r.all('/admin/models/:model/retrains', endpoint('/admin/models/{model}/retrains'), only('GET'), auth, (req, res) => {
    const name = model(req.params.model, res);
    if (!ctx.registry.has(name)) throw new DriftgateError('MODEL_NOT_FOUND', `model "${name}" is not served here`);
    res.json({ model: name, jobs: ctx.follower?.jobs(name) ?? [] });
  });
  // Other paths under /admin need the token too before they are found missing.
  r.use('/admin', auth);
  return r;
}
