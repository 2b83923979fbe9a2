// The Kafka adapter in a worker thread (KafkaThreadBus, what `driftgate serve` uses on Kafka): the
// bus contract holds through the thread, and a thread that ends is replaced without losing a
// subscription, against the real broker.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { KafkaThreadBus } from '../../src/core/bus/kafka-thread.js';
import type { BusConfig } from '../../src/core/bus/index.js';
import type { BusMessage } from '../../src/core/bus/types.js';
import { DriftgateError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { busContractSuite } from '../helpers/bus-contract.js';
import { deleteTopicsAndGroups, kafkaBrokers, uniqueTopic } from '../helpers/kafka.js';
import { waitFor } from '../helpers/wait.js';

const busConfig = (brokers: string[]): BusConfig => ({
  kafkaBrokers: brokers,
  topicPrefix: 'unused',
  kafkaClientId: 'driftgate-thread-test',
  kafkaRequestTimeoutMs: 10_000,
});

busContractSuite(
  'kafka in a worker thread (KafkaThreadBus)',
  async () => {
    const found = await kafkaBrokers();
    if ('skip' in found) return found;
    return new KafkaThreadBus(busConfig(found), { logger: silentLogger });
  },
  {
    cleanup: async (created) => {
      const found = await kafkaBrokers();
      if (!('skip' in found)) await deleteTopicsAndGroups(found, created);
    },
  },
);

describe('KafkaThreadBus when its thread ends', () => {
  it('fails the calls in between, starts a new thread and delivers to the old subscription again', { timeout: 120_000 }, async (t) => {
    const found = await kafkaBrokers();
    if ('skip' in found) return t.skip(found.skip);
    const topic = uniqueTopic('thread-restart');
    const groupId = uniqueTopic('thread-restart-group');
    const registry = new Registry();
    const bus = new KafkaThreadBus(busConfig(found), { logger: silentLogger, registry, restartDelayMs: () => 200 });
    t.after(async () => {
      await bus.close();
      await deleteTopicsAndGroups(found, { topics: [topic], groups: [groupId] });
    });
    await bus.ensureTopics([{ name: topic, partitions: 2, replicationFactor: 1 }]);
    const got: BusMessage[] = [];
    await bus.subscribe({ groupId, topics: [topic], fromBeginning: true, handle: async (batch) => void got.push(...batch) });
    await bus.publish(topic, [{ key: 'before', value: 'before' }]);
    await waitFor('the message sent before the thread ended', 30_000, () => got.some((m) => m.key === 'before'));

    await bus.abort();
    // Until the new thread runs, calls fail as a bus that is down does (the publisher spools on it).
    await assert.rejects(bus.publish(topic, [{ key: 'during', value: 'during' }]), (err: unknown) => err instanceof DriftgateError && err.code === 'EVENT_BUS_UNAVAILABLE');

    await waitFor('a publish through the new thread', 30_000, () =>
      bus.publish(topic, [{ key: 'after', value: 'after' }]).then(
        () => true,
        () => false,
      ),
    500);
    await waitFor('the old subscription receiving from the new thread', 60_000, () => got.some((m) => m.key === 'after'));
    assert.equal(got.filter((m) => m.key === 'before').length >= 1, true);
    const restarts = await registry.getSingleMetric('driftgate_kafka_thread_restarts_total')?.get();
    assert.equal(restarts?.values[0]?.value, 1);
  });

  it('close() ends the thread: later calls are refused with EVENT_BUS_UNAVAILABLE', { timeout: 60_000 }, async (t) => {
    const found = await kafkaBrokers();
    if ('skip' in found) return t.skip(found.skip);
    const bus = new KafkaThreadBus(busConfig(found), { logger: silentLogger });
    await bus.close();
    await assert.rejects(bus.publish('any', [{ key: 'k', value: 'v' }]), (err: unknown) => err instanceof DriftgateError && err.code === 'EVENT_BUS_UNAVAILABLE');
  });
});
