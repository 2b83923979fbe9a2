// Ground truth in: POST /v2/models/{m}/labels with {"labels": [{"id", "label"}]}. Ids are the
// prediction ids the predict/infer responses returned. Labels are checked against the serving
// version's manifest (a class name or index for classifiers, a number for regressors) and handed to
// the event pipeline; the monitor joins them with their predictions.
import { Router } from 'express';
import { describeValue, invalidInput } from '../../core/index.js';
import type { LabelRecordLike, Manifest } from '../../core/index.js';
import { endpoint, labelsOf, parseBody } from '../http.js';
import { checkModelName } from '../repository.js';
import { labelsRequest } from '../schemas.js';
import type { GatewayContext } from './context.js';

/** Normalises one label to what the monitor expects: the class name, or the numeric value. */
export function normaliseLabel(manifest: Manifest, label: string | number): string | number | undefined {
  if (manifest.task === 'regression') return typeof label === 'number' && Number.isFinite(label) ? label : undefined;
  const classes = manifest.labels ?? [];
  if (typeof label === 'string') return classes.includes(label) ? label : undefined;
  return Number.isInteger(label) && label >= 0 && label < classes.length ? classes[label] : undefined;
}

export function labelRoutes(ctx: GatewayContext): Router {
  const r = Router();
  r.post('/v2/models/:model/labels', endpoint('/v2/models/{model}/labels'), ...ctx.body, (req, res) => {
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
          : `one of ${manifest.labels!.map((l) => JSON.stringify(l)).join(', ')} or a class index 0-${manifest.labels!.length - 1}`;
      const shown = [...new Set(bad)].slice(0, 10).join(', ');
      throw invalidInput(`unknown label value${bad.length > 1 ? 's' : ''} ${shown} for model "${model}": labels are ${expected}`);
    }
    ctx.labels.record(out);
    res.status(202).json({ accepted: out.length });
  });
  return r;
}
