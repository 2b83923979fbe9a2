// The status page and its JSON: public and read-only (no token), like /metrics. `GET /` and `/ui`
// serve the page, `/ui/*` its script, stylesheet and icon, and `/status/models...` the data the page
// (and `driftgate demo`) reads. Training reports are served sandboxed.
import { Router } from 'express';
import type { Response } from 'express';
import { DriftgateError, checkModelName, checkVersion } from '../../core/index.js';
import { endpoint, labelsOf, only } from '../http.js';
import { statusModels, statusTimeline } from '../status/model-status.js';
import type { StatusSources } from '../status/model-status.js';
import { APP_JS } from '../status/ui/app-script.js';
import { APP_CSS } from '../status/ui/app-style.js';
import { FAVICON_SVG, INDEX_HTML, PAGE_CSP, REPORT_CSP } from '../status/ui/page.js';
import { VersionCatalog } from '../status/versions.js';
import type { GatewayContext } from './context.js';

function sendAsset(res: Response, type: string, body: string, csp?: string): void {
  res.setHeader('Content-Type', type);
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  if (csp) res.setHeader('Content-Security-Policy', csp);
  res.send(body);
}

export function statusRoutes(ctx: GatewayContext): Router {
  const r = Router();
  const versions = new VersionCatalog(ctx.repo, ctx.logger);
  // The follower and the monitor's view are set once the bus is up, so read them per request.
  const sources = (): StatusSources => ({ registry: ctx.registry, versions, follower: ctx.follower, monitor: ctx.monitorView });

  const page = (_req: unknown, res: Response) => sendAsset(res, 'text/html; charset=utf-8', INDEX_HTML, PAGE_CSP);
  r.all('/', endpoint('/'), only('GET'), page);
  r.all('/ui', endpoint('/ui'), only('GET'), page);
  r.all('/ui/app.js', endpoint('/ui/app.js'), only('GET'), (_req, res) => sendAsset(res, 'text/javascript; charset=utf-8', APP_JS));
  r.all('/ui/app.css', endpoint('/ui/app.css'), only('GET'), (_req, res) => sendAsset(res, 'text/css; charset=utf-8', APP_CSS));
  r.all('/ui/favicon.svg', endpoint('/ui/favicon.svg'), only('GET'), (_req, res) => sendAsset(res, 'image/svg+xml', FAVICON_SVG));

  r.all('/status/models', endpoint('/status/models'), only('GET'), async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(await statusModels(sources()));
  });

  const known = (raw: unknown, res: Response): string => {
    const name = checkModelName(String(raw));
    if (!ctx.registry.has(name)) throw new DriftgateError('MODEL_NOT_FOUND', `model "${name}" is not served here`);
    labelsOf(res).model = name;
    return name;
  };

  r.all('/status/models/:model/timeline', endpoint('/status/models/{model}/timeline'), only('GET'), async (req, res) => {
    const name = known(req.params.model, res);
    res.setHeader('Cache-Control', 'no-store');
    res.json(await statusTimeline(sources(), name));
  });

  r.all('/status/models/:model/versions/:version/report', endpoint('/status/models/{model}/versions/{version}/report'), only('GET'), async (req, res) => {
    const name = known(req.params.model, res);
    const version = checkVersion(String(req.params.version));
    const html = await versions.report(name, version);
    if (html === undefined) throw new DriftgateError('VERSION_NOT_FOUND', `model "${name}" version ${version} has no training report`);
    sendAsset(res, 'text/html; charset=utf-8', html, REPORT_CSP);
  });
  return r;
}
