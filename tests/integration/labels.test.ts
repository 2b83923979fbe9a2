// The labels endpoint on the real stack (gateway + embedded bus): accepted labels reach a consumer of
// the labels topic normalised to class names; bad ones get a 400 naming them and publish nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { consumeEvents, loadConfig, silentLogger, topicNames } from '../../src/core/index.js';
import type { Config, LabelEvent, Subscription } from '../../src/core/index.js';
import { startDriftgate } from '../../src/cli/stack.js';
import type { Driftgate } from '../../src/cli/stack.js';
import { post, tempRepo } from '../helpers/gateway.js';
import { waitFor } from '../helpers/private-broker.js';

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
        port: 0,
        host: '127.0.0.1',
        pollIntervalMs: 0,
        warmupRuns: 1,
        logLevel: 'silent',
        monitor: false,
        publishLingerMs: 1,
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
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(received.length, before, 'nothing from a rejected request was published');
  });
});
