// The labels endpoint on the real stack (gateway + embedded bus): accepted labels reach a consumer of
// the labels topic normalised to class names; bad ones get a 400 naming them and publish nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { consumeEvents, loadConfig, silentLogger, topicNames } from '../../src/core/index.js';
import type { Config, LabelEvent, LabelRecordLike, Subscription } from '../../src/core/index.js';
import { startDriftgate } from '../../src/cli/stack.js';
import type { Driftgate } from '../../src/cli/stack.js';
import { metricValue, post, startGateway, tempRepo } from '../helpers/gateway.js';
import type { RunningGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/wait.js';
import { TEST_STACK_SETTINGS } from '../helpers/test-stack.js';

describe('POST /v2/models/{m}/labels', () => {
  let config: Config;
  let dg: Driftgate;
  let url: string;
  let sub: Subscription;
  const received: LabelEvent[] = [];

  before(async () => {
    config = loadConfig(
      {},
      {
        modelRepo: tempRepo(['iris-onnx', 'delivery-onnx']),
        spoolDir: mkdtempSync(join(tmpdir(), 'dg-labels-')),
        monitor: false,
        ...TEST_STACK_SETTINGS,
      },
    );
    dg = await startDriftgate(config, silentLogger);
    url = `http://127.0.0.1:${dg.port}`;
    sub = await consumeEvents({ bus: dg.bus, groupId: 'labels-test', topics: topicNames(config.topicPrefix), handlers: { labels: async (e) => void received.push(...e) } });
  });
  after(async () => {
    await sub?.stop();
    await dg?.close();
    rmSync(config.modelRepo, { recursive: true, force: true });
    rmSync(config.spoolDir, { recursive: true, force: true });
  });

  it('accepts class names, class indices and regression values, and publishes them', async () => {
    const a = await post(`${url}/v2/models/iris-onnx/labels`, { labels: [{ id: 'c1', label: 'versicolor' }, { id: 'c2', label: 0 }] });
    assert.equal(a.status, 202);
    assert.deepEqual(a.body, { accepted: 2 });
    const b = await post(`${url}/v2/models/delivery-onnx/labels`, { labels: [{ id: 'r1', label: 31.5 }] });
    assert.equal(b.status, 202);
    await waitFor('3 labels', 10_000, () => received.length >= 3);
    const byId = Object.fromEntries(received.map((l) => [l.id, l]));
    assert.equal(byId.c1!.label, 'versicolor');
    assert.equal(byId.c2!.label, 'setosa');
    assert.equal(byId.r1!.label, 31.5);
    assert.equal(byId.r1!.model, 'delivery-onnx');
  });

  it('rejects bad labels with a 400 naming them, and publishes none of the request', async () => {
    const before = received.length;
    const cases: [string, unknown, RegExp][] = [
      ['iris-onnx', { labels: [{ id: 'x', label: 'rose' }, { id: 'y', label: 'setosa' }] }, /unknown label value "rose".*one of "setosa", "versicolor", "virginica" or a class index 0-2/],
      ['iris-onnx', { labels: [{ id: 'x', label: 3 }] }, /unknown label value 3/],
      ['iris-onnx', { labels: [{ id: 'x', label: 1.5 }] }, /unknown label value 1.5/],
      ['delivery-onnx', { labels: [{ id: 'x', label: 'fast' }] }, /unknown label value "fast".*finite numbers/],
      ['iris-onnx', { labels: [] }, /at least one label/],
      ['iris-onnx', { labels: [{ id: '', label: 'setosa' }] }, /labels\[0\]\.id/],
      ['iris-onnx', { labels: [{ label: 'setosa' }] }, /labels\[0\]\.id/],
      ['iris-onnx', { labels: [{ id: 'x', label: 'setosa', extra: 1 }] }, /labels\[0\]/],
      ['iris-onnx', [{ id: 'x', label: 'setosa' }], /must be a JSON object/],
    ];
    for (const [model, body, pattern] of cases) {
      const res = await post(`${url}/v2/models/${model}/labels`, body);
      assert.equal(res.status, 400, `${JSON.stringify(body)} -> ${JSON.stringify(res.body)}`);
      assert.match(String(res.body.error), pattern);
    }
    const unknownModel = await post(`${url}/v2/models/nope/labels`, { labels: [{ id: 'x', label: 1 }] });
    assert.equal(unknownModel.status, 404);
    // Markers with the ids the refused requests carried: labels are keyed by id and a partition
    // delivers in order, so a label those requests had published would come before its marker.
    const markers = await post(`${url}/v2/models/iris-onnx/labels`, { labels: [{ id: 'x', label: 'virginica' }, { id: 'y', label: 'virginica' }] });
    assert.equal(markers.status, 202);
    const since = () => received.slice(before).map((l) => `${l.id}=${l.label}`).sort();
    await waitFor('both markers', 10_000, () => ['x=virginica', 'y=virginica'].every((m) => since().includes(m)));
    assert.deepEqual(
      since(),
      ['x=virginica', 'y=virginica'],
      'nothing from a rejected request was published',
    );
  });
});

describe('POST /v2/models/{m}/labels with DRIFTGATE_LABEL_TOKEN', () => {
  let gw: RunningGateway;
  const recorded: LabelRecordLike[] = [];
  const body = { labels: [{ id: 'p-1', label: 'setosa' }] };

  before(async () => {
    gw = await startGateway({ models: ['iris-onnx'], config: { labelToken: 's3cret-label-token' }, deps: { labels: { record: (l) => void recorded.push(...l) } } });
  });
  after(async () => {
    await gw?.close();
  });

  it('refuses a call without the token (401) or with a wrong one (403), and records nothing of it', async () => {
    const missing = await post(`${gw.url}/v2/models/iris-onnx/labels`, body);
    assert.equal(missing.status, 401);
    assert.match(String(missing.body.error), /label calls need an Authorization: Bearer <token> header/);
    assert.equal(missing.headers.get('www-authenticate'), 'Bearer realm="driftgate-labels"');
    const basic = await post(`${gw.url}/v2/models/iris-onnx/labels`, body, { authorization: 'Basic czNjcmV0' });
    assert.equal(basic.status, 401);
    for (const token of ['wrong', 's3cret-label-token-and-more', 's3cret-label-toke']) {
      const wrong = await post(`${gw.url}/v2/models/iris-onnx/labels`, body, { authorization: `Bearer ${token}` });
      assert.equal(wrong.status, 403, token);
      assert.equal(wrong.body.error, 'the label token is wrong');
    }
    // refused before the body is read: a body that would be a 400 still gets the 401
    const bad = await post(`${gw.url}/v2/models/iris-onnx/labels`, '{not json');
    assert.equal(bad.status, 401);
    assert.equal(recorded.length, 0);
  });

  it('accepts the right token', async () => {
    const res = await post(`${gw.url}/v2/models/iris-onnx/labels`, body, { authorization: 'Bearer s3cret-label-token' });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual(recorded.map((l) => [l.id, l.label]), [['p-1', 'setosa']]);
    assert.equal(await metricValue(gw.url, 'driftgate_requests_total', { endpoint: '/v2/models/{model}/labels', status: '4xx' }), 6);
  });
});
