// The monitor's and the retrainer's HTTP servers answer errors as the gateway does: the catalogue's
// status and `{"error", "code"}`, JSON even for a route that throws something unexpected.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { DriftgateError, listenStatus, statusApp } from '../../src/core/index.js';
import type { StatusServer } from '../../src/core/index.js';
import { retrainerApp } from '../../src/lifecycle/index.js';
import { monitorApp } from '../../src/monitor/index.js';
import { get } from '../helpers/gateway.js';

describe('status server errors', () => {
  const servers: StatusServer[] = [];
  let monitorUrl: string;
  let retrainerUrl: string;
  let bareUrl: string;
  const serve = async (app: Parameters<typeof listenStatus>[0]) => {
    const server = await listenStatus(app, 0, '127.0.0.1');
    servers.push(server);
    return `http://127.0.0.1:${server.port}`;
  };

  before(async () => {
    // Only what the routes call: the monitor knows model "known", the retrainer has no jobs yet.
    monitorUrl = await serve(
      monitorApp({ summaries: () => [], timeline: (model) => (model === 'known' ? { model, task: 'classification', points: [], windows: [] } : undefined), decisions: () => [] }, new Registry()),
    );
    retrainerUrl = await serve(retrainerApp({ jobs: () => [] }, new Registry()));
    bareUrl = await serve(
      statusApp(new Registry(), (app) => {
        app.get('/throws', () => {
          throw new Error('a bug with details the caller should not see');
        });
        app.get('/busy', () => {
          throw new DriftgateError('MODEL_NOT_READY', 'not yet', { retryAfterSeconds: 2 });
        });
      }),
    );
  });
  after(async () => {
    for (const server of servers) await server.close();
  });

  it('monitor: an unknown model → 404 MODEL_NOT_FOUND, a bad limit → 400 INVALID_INPUT', async () => {
    const missing = await get(`${monitorUrl}/monitor/models/nope/timeline`);
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { error: 'the monitor knows no version of model "nope"', code: 'MODEL_NOT_FOUND' });
    assert.equal((await get(`${monitorUrl}/monitor/models/known/timeline`)).status, 200);
    const bad = await get(`${monitorUrl}/monitor/models/known/decisions?limit=5000`);
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body, { error: 'limit must be an integer from 1 to 1000, got "5000"', code: 'INVALID_INPUT' });
  });

  it('retrainer: a bad model name → 400 INVALID_INPUT, an unknown path → 404 NOT_FOUND', async () => {
    assert.equal((await get(`${retrainerUrl}/retrain/models/iris/jobs`)).status, 200);
    const bad = await get(`${retrainerUrl}/retrain/models/..%2Fx/jobs`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'INVALID_INPUT');
    assert.match(String(bad.body.error), /invalid model name/);
    const missing = await get(`${retrainerUrl}/retrain/models/iris`);
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { error: 'not found', code: 'NOT_FOUND' });
  });

  it('a path that does not decode → 400 INVALID_INPUT, as JSON', async () => {
    const res = await get(`${retrainerUrl}/retrain/models/%E0%A4%A/jobs`);
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'INVALID_INPUT');
  });

  it('an unexpected failure → 500 INTERNAL without its message; a retriable one keeps Retry-After', async () => {
    const res = await get(`${bareUrl}/throws`);
    assert.equal(res.status, 500);
    assert.deepEqual(res.body, { error: 'internal error', code: 'INTERNAL' });
    const busy = await get(`${bareUrl}/busy`);
    assert.equal(busy.status, 503);
    assert.equal(busy.headers.get('retry-after'), '2');
    assert.deepEqual(busy.body, { error: 'not yet', code: 'MODEL_NOT_READY' });
  });
});
