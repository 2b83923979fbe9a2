import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CE_TYPE_LABEL,
  CE_TYPE_PREDICTION,
  cloudEventHeaders,
  decodeEvent,
  labelEventSchema,
  modelEventCeType,
  modelEventSchema,
  predictionEventSchema,
  toLabelMessages,
  toModelEventMessage,
  toPredictionMessages,
  topicNames,
} from '../../src/core/events.js';
import type { PredictionEvent } from '../../src/core/events.js';

const prediction: PredictionEvent = {
  schema: 1,
  id: 'p-1',
  model: 'iris',
  version: 3,
  ts: '2025-01-02T03:04:05.678Z',
  features: { sepal_length: 5.1, species_hint: 'setosa', flagged: false, missing: null },
  output: { label: 'setosa', probabilities: { setosa: 0.9, versicolor: 0.07, virginica: 0.03 } },
  latency_ms: 1.25,
};

describe('topicNames', () => {
  it('uses the driftgate. prefix by default', () => {
    assert.deepEqual(topicNames(), {
      predictions: 'driftgate.predictions',
      labels: 'driftgate.labels',
      modelEvents: 'driftgate.model-events',
      labeled: 'driftgate.labeled',
      deadLetter: 'driftgate.dead-letter',
    });
  });

  it('takes another prefix', () => {
    assert.equal(topicNames('staging.').modelEvents, 'staging.model-events');
  });
});

describe('cloudEventHeaders', () => {
  it('writes the CloudEvents 1.0 binary-mode attributes as ce_ headers', () => {
    const h = cloudEventHeaders({ id: 'x', type: CE_TYPE_PREDICTION, source: '/driftgate/test', time: '2025-01-01T00:00:00Z' });
    assert.deepEqual(h, {
      ce_specversion: '1.0',
      ce_id: 'x',
      ce_type: 'io.driftgate.prediction',
      ce_source: '/driftgate/test',
      ce_time: '2025-01-01T00:00:00Z',
      'content-type': 'application/json',
    });
  });

  it('defaults the time to now', () => {
    const before = Date.now();
    const h = cloudEventHeaders({ id: 'x', type: CE_TYPE_LABEL, source: '/s' });
    assert.ok(Date.parse(h.ce_time!) >= before - 1);
  });

  it('names model event types under io.driftgate.model-event', () => {
    assert.equal(modelEventCeType('model.promoted'), 'io.driftgate.model-event.model.promoted');
  });
});

describe('decodeEvent', () => {
  it('accepts a valid prediction from a Buffer and from a string', () => {
    const text = JSON.stringify(prediction);
    for (const value of [text, Buffer.from(text)]) {
      const result = decodeEvent(predictionEventSchema, value);
      assert.ok(result.ok);
      assert.deepEqual(result.event, prediction);
    }
  });

  it('accepts a regression output and timestamps with an offset', () => {
    const event = { ...prediction, output: { value: 12.5 }, ts: '2025-01-02T03:04:05+02:00' };
    assert.ok(decodeEvent(predictionEventSchema, JSON.stringify(event)).ok);
  });

  it('gives a reason for a value that is not JSON', () => {
    const result = decodeEvent(predictionEventSchema, '{"schema": 1, "id": ');
    assert.equal(result.ok, false);
    assert.match(!result.ok ? result.reason : '', /not JSON/);
  });

  it('gives a reason for JSON that is not an object', () => {
    for (const value of ['[1,2]', '42', 'null']) {
      const result = decodeEvent(labelEventSchema, value);
      assert.ok(!result.ok && /not a JSON object/.test(result.reason), value);
    }
  });

  it('names a missing or unsupported schema version', () => {
    const { schema: _drop, ...noVersion } = prediction;
    const missing = decodeEvent(predictionEventSchema, JSON.stringify(noVersion));
    assert.ok(!missing.ok && /no "schema"/.test(missing.reason));
    const future = decodeEvent(predictionEventSchema, JSON.stringify({ ...prediction, schema: 2 }));
    assert.ok(!future.ok && /unsupported schema version 2/.test(future.reason));
  });

  it('names the fields that do not fit', () => {
    const bad = { ...prediction, version: 1.5, ts: 'yesterday', features: { a: [1] } };
    const result = decodeEvent(predictionEventSchema, JSON.stringify(bad));
    assert.ok(!result.ok);
    assert.match(result.reason, /schema mismatch/);
    for (const field of ['version', 'ts', 'features.a']) assert.ok(result.reason.includes(field), `${field} in ${result.reason}`);
  });

  it('validates labels: string or number label', () => {
    const base = { schema: 1, id: 'p-1', model: 'iris', ts: '2025-01-02T03:04:05Z' };
    assert.ok(decodeEvent(labelEventSchema, JSON.stringify({ ...base, label: 'setosa' })).ok);
    assert.ok(decodeEvent(labelEventSchema, JSON.stringify({ ...base, label: 2 })).ok);
    assert.ok(!decodeEvent(labelEventSchema, JSON.stringify({ ...base, label: true })).ok);
  });

  it('validates model events: only the six known types', () => {
    const base = { schema: 1, model: 'iris', version: 4, ts: '2025-01-02T03:04:05Z', details: { psi: 0.3 } };
    assert.ok(decodeEvent(modelEventSchema, JSON.stringify({ ...base, type: 'drift.detected' })).ok);
    const unknown = decodeEvent(modelEventSchema, JSON.stringify({ ...base, type: 'model.exploded' }));
    assert.ok(!unknown.ok && unknown.reason.includes('type'));
  });

  it('never throws, whatever the bytes', () => {
    for (const value of [Buffer.from([0xff, 0xfe, 0x00]), '', ' ', '{}', '{"schema":"1"}']) {
      assert.doesNotThrow(() => decodeEvent(predictionEventSchema, value));
      assert.equal(decodeEvent(predictionEventSchema, value).ok, false);
    }
  });
});

describe('event messages', () => {
  it('toPredictionMessages: key = id, schema-1 value, CloudEvents headers, no extra fields', () => {
    const record = { ...prediction, features: { ...prediction.features, absent: undefined }, secret: 'not for the bus' };
    const [message] = toPredictionMessages([record], '/driftgate/gateway');
    assert.ok(message);
    assert.equal(message.key, 'p-1');
    const decoded = decodeEvent(predictionEventSchema, message.value);
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.event, prediction);
    assert.ok(!message.value.includes('secret') && !message.value.includes('absent'));
    assert.equal(message.headers?.ce_id, 'p-1');
    assert.equal(message.headers?.ce_type, CE_TYPE_PREDICTION);
    assert.equal(message.headers?.ce_source, '/driftgate/gateway');
    assert.equal(message.headers?.ce_time, prediction.ts);
  });

  it('toLabelMessages: key = prediction id, a CloudEvents id of its own', () => {
    const [message] = toLabelMessages([{ id: 'p-1', model: 'iris', label: 'setosa', ts: '2025-01-02T03:04:05Z' }]);
    assert.ok(message);
    assert.equal(message.key, 'p-1');
    assert.ok(decodeEvent(labelEventSchema, message.value).ok);
    assert.equal(message.headers?.ce_type, CE_TYPE_LABEL);
    assert.notEqual(message.headers?.ce_id, 'p-1');
  });

  it('toModelEventMessage: key = model, type in ce_type', () => {
    const message = toModelEventMessage({ type: 'model.promoted', model: 'iris', version: 5, ts: '2025-01-02T03:04:05Z', details: { from: 4 } });
    assert.equal(message.key, 'iris');
    const decoded = decodeEvent(modelEventSchema, message.value);
    assert.ok(decoded.ok && decoded.event.type === 'model.promoted' && decoded.event.schema === 1);
    assert.equal(message.headers?.ce_type, 'io.driftgate.model-event.model.promoted');
  });
});
