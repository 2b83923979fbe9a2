// One contract, two adapters: EmbeddedBus in process and KafkaBus against the real broker
// (tests/helpers/kafka.ts: KAFKA_BROKERS, or the development broker it starts; skipped with the
// reason outside CI when there is none, an error in CI).
import { MessageChannel } from 'node:worker_threads';
import { EmbeddedBus } from '../../src/core/bus/embedded.js';
import { KafkaBus } from '../../src/core/bus/kafka.js';
import { PortBus, hostBusOnPort } from '../../src/core/bus/port-bus.js';
import type { EventBus } from '../../src/core/bus/types.js';
import { silentLogger } from '../../src/core/logger.js';
import { busContractSuite } from '../helpers/bus-contract.js';
import { kafkaBrokers, testKafka } from '../helpers/kafka.js';

busContractSuite('embedded', async () => new EmbeddedBus({ retryBackoffMs: 20 }));

// The monitor's worker thread reaches the gateway's embedded bus through a port: the same contract
// holds on the far side (a MessageChannel in one thread crosses the same structured clone).
busContractSuite('embedded across a port (PortBus)', async () => {
  const hosted = new EmbeddedBus({ retryBackoffMs: 20 });
  const channel = new MessageChannel();
  const host = hostBusOnPort(hosted, channel.port1, silentLogger);
  const far = new PortBus(channel.port2, hosted.kind, silentLogger);
  const bus: EventBus = {
    kind: far.kind,
    ensureTopics: (topics) => far.ensureTopics(topics),
    publish: (topic, messages) => far.publish(topic, messages),
    subscribe: (opts) => far.subscribe(opts),
    consumerLag: (groupId, topics) => far.consumerLag(groupId, topics),
    close: async () => {
      await far.close();
      await host.close();
      await hosted.close();
    },
  };
  return bus;
});

const kafkaContractOptions = {
  clientId: 'driftgate-contract',
  connectionTimeoutMs: 3_000,
  requestTimeoutMs: 10_000,
  retry: { retries: 5, initialRetryTimeMs: 200, maxRetryTimeMs: 2_000 },
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 1_000,
  // Short fetch long-polls: subscribe waits for the first fetch, stop for the one in flight.
  maxWaitTimeMs: 250,
  retryBackoffMs: 100,
};

const removeCreated = {
  cleanup: async ({ topics, groups }: { topics: string[]; groups: string[] }) => {
    const found = await kafkaBrokers();
    if ('skip' in found) return;
    const admin = testKafka(found, 'driftgate-contract-cleanup').admin();
    try {
      await admin.connect();
      await admin.deleteGroups(groups).catch(() => undefined);
      await admin.deleteTopics({ topics, timeout: 10_000 }).catch(() => undefined);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  },
};

busContractSuite(
  'kafka',
  async () => {
    const found = await kafkaBrokers();
    if ('skip' in found) return found;
    return new KafkaBus({ ...kafkaContractOptions, brokers: found, kafkaLogLevel: process.env.DRIFTGATE_TEST_KAFKA_LOG ? 'warn' : 'nothing' });
  },
  removeCreated,
);
