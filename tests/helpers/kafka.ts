// Finds a Kafka broker for integration tests: the one named by KAFKA_BROKERS, or else the
// development broker that deploy/kafka/kafka.sh runs from Maven Central jars (started here when it
// is not running yet). Outside CI a machine without Java or Maven skips the Kafka tests; in CI
// (CI=true) a missing broker is an error, so a broken setup cannot pass as "all skipped".
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';

const KAFKA_SCRIPT = fileURLToPath(new URL('../../deploy/kafka/kafka.sh', import.meta.url));

/** How long `kafka.sh start` may take: a first start downloads about 45 MB of jars. */
const START_TIMEOUT_MS = 300_000;

/** How long a broker named by KAFKA_BROKERS gets to answer a metadata request. */
const PROBE_TIMEOUT_MS = 8_000;

export type KafkaSkip = { skip: string };

/**
 * A kafkajs client for tests. Its logger is silent unless DRIFTGATE_TEST_KAFKA_LOG is `error`,
 * `warn`, `info` or `debug`: kafkajs logs expected events (rebalances, leader elections) at ERROR.
 */
export function testKafka(brokers: string[], clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers,
    logLevel: testLogLevel(),
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2_000 },
  });
}

function testLogLevel(): logLevel {
  switch (process.env.DRIFTGATE_TEST_KAFKA_LOG) {
    case 'error':
      return logLevel.ERROR;
    case 'warn':
      return logLevel.WARN;
    case 'info':
      return logLevel.INFO;
    case 'debug':
      return logLevel.DEBUG;
    default:
      return logLevel.NOTHING;
  }
}

let cached: Promise<string[] | KafkaSkip> | undefined;

/**
 * The brokers the integration tests should use, or why there are none.
 * Throws instead of returning a skip when `CI=true`.
 */
export function kafkaBrokers(): Promise<string[] | KafkaSkip> {
  cached ??= findBrokers().then((found) => {
    if ('skip' in found && process.env.CI === 'true') {
      throw new Error(`Kafka is required in CI: ${found.skip}`);
    }
    return found;
  });
  return cached;
}

async function findBrokers(): Promise<string[] | KafkaSkip> {
  const configured = process.env.KAFKA_BROKERS?.trim();
  if (configured) {
    const brokers = configured
      .split(',')
      .map((b) => b.trim())
      .filter((b) => b.length > 0);
    const problem = await probe(brokers);
    return problem === undefined ? brokers : { skip: `KAFKA_BROKERS=${configured} is not reachable: ${problem}` };
  }

  const missing = ['java', 'mvn'].filter((command) => !onPath(command));
  if (missing.length > 0) {
    return { skip: `no KAFKA_BROKERS and ${missing.join(' and ')} not on PATH, so the dev broker cannot start` };
  }
  const started = spawnSync('bash', [KAFKA_SCRIPT, 'start'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: START_TIMEOUT_MS,
  });
  if (started.status !== 0) {
    const why = started.error ? started.error.message : `exit ${String(started.status ?? started.signal)}`;
    const output = `${started.stdout}${started.stderr}`.trim().split('\n').slice(-30).join('\n');
    return { skip: `${KAFKA_SCRIPT} start failed (${why}):\n${output}` };
  }
  return [`127.0.0.1:${process.env.DRIFTGATE_KAFKA_PORT ?? '9092'}`];
}

/** Asks the cluster for its brokers; returns what went wrong, or undefined when it answered. */
async function probe(brokers: string[]): Promise<string | undefined> {
  const admin = new Kafka({
    clientId: 'driftgate-test-probe',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    requestTimeout: 5_000,
    retry: { retries: 1, initialRetryTime: 200 },
  }).admin();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
  });
  try {
    await Promise.race([
      (async () => {
        await admin.connect();
        const cluster = await admin.describeCluster();
        if (cluster.brokers.length === 0) throw new Error('the cluster reported no brokers');
      })(),
      deadline,
    ]);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => undefined);
  }
}

function onPath(command: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** A topic (or group) name no other test run uses: `<prefix>-<time>-<random>`. */
export function uniqueTopic(prefix: string): string {
  const safe = prefix.replace(/[^a-zA-Z0-9._-]/g, '-');
  return `${safe}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/**
 * Creates topics with one replica each and waits until every partition has a leader, so tests
 * never depend on the broker creating topics on first use.
 */
export async function createTopics(brokers: string[], topics: string[], partitions: number): Promise<void> {
  const admin = testKafka(brokers, 'driftgate-test-admin').admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
      waitForLeaders: true,
      timeout: 10_000,
    });
  } finally {
    await admin.disconnect();
  }
}

/** Deletes what a test made on a long-lived broker: its consumer groups, then its topics. Best effort. */
export async function deleteTopicsAndGroups(brokers: string[], made: { topics: string[]; groups: string[] }): Promise<void> {
  const admin = testKafka(brokers, 'driftgate-test-cleanup').admin();
  try {
    await admin.connect();
    if (made.groups.length > 0) await admin.deleteGroups(made.groups).catch(() => undefined);
    if (made.topics.length > 0) await admin.deleteTopics({ topics: made.topics, timeout: 10_000 }).catch(() => undefined);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
