import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSampling, publishingSinks } from '../../src/serve/index.js';
import type { PredictionRecord } from '../../src/serve/index.js';
import type { EventPublisher, OutgoingMessage } from '../../src/core/index.js';
import { seededRandom, topicNames } from '../../src/core/index.js';

/** Records what would be enqueued: the sink's sampling logic is what is under test here. */
function capture() {
  const calls: { topic: string; messages: readonly OutgoingMessage[] }[] = [];
  const publisher = { enqueue: (topic: string, messages: readonly OutgoingMessage[]) => void calls.push({ topic, messages }) } as unknown as EventPublisher;
  return { calls, publisher };
}

const record = (model: string, i: number): PredictionRecord => ({
  id: `${model}-${i}`,
  model,
  version: 1,
  ts: '2026-01-01T00:00:00.000Z',
  features: { a: i },
  output: { value: i },
  latency_ms: 1,
});

describe('parseSampling', () => {
  it('reads a default rate and per-model overrides', () => {
    assert.deepEqual(parseSampling('1'), { default: 1, models: {} });
    assert.deepEqual(parseSampling('0.2, iris-onnx=1,delivery=0'), { default: 0.2, models: { 'iris-onnx': 1, delivery: 0 } });
    assert.deepEqual(parseSampling('iris=0.5'), { default: 1, models: { iris: 0.5 } });
  });
  it('refuses rates outside [0, 1]', () => {
    assert.throws(() => parseSampling('1.5'), /from 0 to 1/);
    assert.throws(() => parseSampling('iris=-0.1'), /from 0 to 1/);
  });
});

describe('publishingSinks', () => {
  const topics = topicNames('driftgate.');

  it('publishes every prediction at rate 1, none at rate 0, and says which models it wants', () => {
    const { calls, publisher } = capture();
    const sinks = publishingSinks(publisher, topics, parseSampling('1,off=0'));
    assert.equal(sinks.predictions.wants('iris'), true);
    assert.equal(sinks.predictions.wants('off'), false);
    sinks.predictions.record([record('iris', 0), record('iris', 1)]);
    sinks.predictions.record([record('off', 0)]);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.topic, 'driftgate.predictions');
    assert.deepEqual(calls[0]!.messages.map((m) => m.key), ['iris-0', 'iris-1']);
  });

  it('keeps about the configured share of predictions', () => {
    const { calls, publisher } = capture();
    const sinks = publishingSinks(publisher, topics, parseSampling('0.25'), seededRandom(7));
    for (let i = 0; i < 4000; i++) sinks.predictions.record([record('iris', i)]);
    const kept = calls.reduce((n, c) => n + c.messages.length, 0);
    assert.ok(kept > 850 && kept < 1150, `kept ${kept} of 4000 at rate 0.25`);
  });

  it('never samples labels', () => {
    const { calls, publisher } = capture();
    const sinks = publishingSinks(publisher, topics, parseSampling('0'));
    sinks.labels.record([{ id: 'a', model: 'iris', label: 'setosa', ts: '2026-01-01T00:00:00.000Z' }]);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.topic, 'driftgate.labels');
    assert.equal(JSON.parse(calls[0]!.messages[0]!.value).label, 'setosa');
  });
});
