import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, describeConfig, loadConfig } from '../../src/core/index.js';

describe('loadConfig', () => {
  it('has a default for every option and documents each', () => {
    const c = loadConfig({});
    assert.equal(c.port, 8080);
    assert.equal(c.modelRepo, './models');
    assert.equal(c.adminToken, undefined);
    assert.deepEqual(c.kafkaBrokers, []);
    assert.ok(Object.isFrozen(c));
    for (const row of describeConfig()) assert.ok(row.doc.length > 10, row.env);
  });

  it('reads environment variables with types', () => {
    const c = loadConfig({ PORT: '9000', DRIFTGATE_BATCHING: 'false', KAFKA_BROKERS: 'a:1, b:2', DRIFTGATE_MODELS: 'iris' });
    assert.equal(c.port, 9000);
    assert.equal(c.batching, false);
    assert.deepEqual(c.kafkaBrokers, ['a:1', 'b:2']);
    assert.deepEqual(c.models, ['iris']);
  });

  it('names every bad option', () => {
    assert.throws(
      () => loadConfig({ PORT: 'eighty', DRIFTGATE_ONNX_GRAPH_OPTIMIZATION: 'max' }),
      (err: unknown) => err instanceof ConfigError && err.problems.length === 2 && /PORT/.test(err.message) && /DRIFTGATE_ONNX_GRAPH_OPTIMIZATION/.test(err.message),
    );
  });

  it('reads a JSON config file under the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dg-config-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ PORT: 7000, DRIFTGATE_MAX_BATCH_SIZE: 16 }));
    const c = loadConfig({ DRIFTGATE_CONFIG: file, DRIFTGATE_MAX_BATCH_SIZE: '32' });
    assert.equal(c.port, 7000);
    assert.equal(c.maxBatchSize, 32);
    writeFileSync(file, JSON.stringify({ PROT: 7000 }));
    assert.throws(() => loadConfig({ DRIFTGATE_CONFIG: file }), /PROT: unknown option/);
    writeFileSync(file, '{nope');
    assert.throws(() => loadConfig({ DRIFTGATE_CONFIG: file }), /not valid JSON/);
  });
});
