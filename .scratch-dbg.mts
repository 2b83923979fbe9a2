import { startGateway, tempRepo, post, IRIS_ROW } from './tests/helpers/gateway.js';
import { writeSlowModel } from './tests/helpers/slow-model.js';
const repo = tempRepo();
writeSlowModel(repo, { name: 'slow', version: 1 });
const gw = await startGateway({ repo, config: { maxQueueDelayUs: 1_000_000, shutdownGraceMs: 15000 } });
const t0 = performance.now();
// warm a keep-alive connection first
console.log((await post(`${gw.url}/v1/models/slow:predict`, { instances: [IRIS_ROW] })).status, Math.round(performance.now() - t0));
const slow = post(`${gw.url}/v1/models/slow:predict`, { instances: [IRIS_ROW] }).then((r) => { console.log('resp', r.status, r.headers.get('connection'), Math.round(performance.now() - t0)); return r; });
const reg = gw.gateway.context.registry;
while (reg.status()[0]!.versions[0]!.inFlight !== 1) await new Promise((r) => setTimeout(r, 10));
console.log('inflight', Math.round(performance.now() - t0));
const closing = gw.gateway.close().then(() => console.log('closed', Math.round(performance.now() - t0)));
console.log('shuttingDown', gw.gateway.context.lifecycle.shuttingDown);
await Promise.all([slow, closing]);
