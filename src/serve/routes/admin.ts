// Control API: list, load, unload, promote and roll back model versions. Guarded by a bearer token;
// refused entirely while no token is configured, since loading models is code execution territory.
import { Router } from 'express';
import { adminAuth, endpoint, labelsOf } from '../http.js';
import { checkModelName, checkVersion } from '../repository.js';
import type { GatewayContext } from './context.js';

export function adminRoutes(ctx: GatewayContext): Router {
  const r = Router();
  r.use('/admin', adminAuth(ctx.config.adminToken));

  const model = (raw: unknown, res: Parameters<typeof labelsOf>[0]) => {
    const name = checkModelName(String(raw));
    if (ctx.registry.has(name)) labelsOf(res).model = name;
    return name;
  };

  r.get('/admin/models', endpoint('/admin/models'), (_req, res) => {
    res.json({ models: ctx.registry.status() });
  });

  r.post('/admin/models/:model/versions/:version/load', endpoint('/admin/models/{model}/versions/{version}/load'), async (req, res) => {
    const status = await ctx.registry.load(model(req.params.model, res), checkVersion(String(req.params.version)));
    res.json(status);
  });

  r.post('/admin/models/:model/versions/:version/unload', endpoint('/admin/models/{model}/versions/{version}/unload'), async (req, res) => {
    const status = await ctx.registry.unload(model(req.params.model, res), checkVersion(String(req.params.version)));
    res.json(status);
  });

  r.post('/admin/models/:model/promote/:version', endpoint('/admin/models/{model}/promote/{version}'), async (req, res) => {
    const status = await ctx.registry.promote(model(req.params.model, res), checkVersion(String(req.params.version)));
    ctx.logger.info('admin promote', { model: status.name, version: status.servingVersion });
    res.json(status);
  });

  r.post('/admin/models/:model/rollback', endpoint('/admin/models/{model}/rollback'), async (req, res) => {
    const status = await ctx.registry.rollback(model(req.params.model, res));
    ctx.logger.info('admin rollback', { model: status.name, version: status.servingVersion });
    res.json(status);
  });
  return r;
}
