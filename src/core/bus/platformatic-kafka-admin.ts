// The @platformatic/kafka adapter's admin side: creating topics and reading a group's lag, over one
// admin client made on first use.
import { setTimeout as sleep } from 'node:timers/promises';
import { Admin } from '@platformatic/kafka';
import { DriftgateError, describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { PlatformaticClientSettings } from './platformatic-kafka-client.js';
import { partitionLag } from './types.js';
import type { PartitionLag, TopicSpec } from './types.js';

const EARLIEST = -2n;
const LATEST = -1n;

export class PlatformaticTopicAdmin {
  private client: Admin | undefined;

  constructor(
    private readonly settings: PlatformaticClientSettings,
    private readonly requestTimeoutMs: number,
    private readonly logger: Logger,
  ) {}

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    if (topics.length === 0) return;
    const admin = this.admin();
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    for (const spec of missing) {
      // One request per topic: topics may differ in partitions and replication.
      await admin.createTopics({ topics: [spec.name], partitions: spec.partitions, replicas: spec.replicationFactor }).catch((err: unknown) => {
        // Another process created it first: it exists, which is all ensureTopics promises.
        if (!hasCode(err, 'TOPIC_ALREADY_EXISTS')) throw err;
      });
    }
    if (missing.length > 0) await this.waitForLeaders(missing.map((t) => t.name));
    const present = topics.filter((t) => existing.has(t.name));
    if (present.length > 0) await this.warnOfFewerPartitions(present);
  }

  /** Reads offsets through the admin client only, so it never joins the group nor commits for it. */
  async consumerLag(groupId: string, topics: string[]): Promise<PartitionLag[]> {
    const admin = this.admin();
    const existing = new Set(await admin.listTopics());
    const present = [...new Set(topics)].filter((t) => existing.has(t));
    if (present.length === 0) return [];
    const metadata = await admin.metadata({ topics: present, forceUpdate: true });
    const partitionsOf = (name: string) => Array.from({ length: metadata.topics.get(name)?.partitionsCount ?? 0 }, (_, p) => p);
    const request = (timestamp: bigint) => ({
      topics: present.map((name) => ({ name, partitions: partitionsOf(name).map((partitionIndex) => ({ partitionIndex, timestamp })) })),
    });
    const [starts, ends, groups] = await Promise.all([
      admin.listOffsets(request(EARLIEST)),
      admin.listOffsets(request(LATEST)),
      admin.listConsumerGroupOffsets({ groups: [{ groupId, topics: present.map((name) => ({ name, partitionIndexes: partitionsOf(name) })) }] }),
    ]);
    const offsetOf = (listed: typeof starts, topic: string, partition: number) =>
      String(listed.find((t) => t.name === topic)?.partitions.find((p) => p.partitionIndex === partition)?.offset ?? 0n);
    const commits = groups.find((g) => g.groupId === groupId)?.topics ?? [];
    const rows: PartitionLag[] = [];
    for (const topic of present) {
      const committed = new Map(commits.find((t) => t.name === topic)?.partitions.map((p) => [p.partitionIndex, p.committedOffset]));
      for (const partition of partitionsOf(topic)) {
        const offset = committed.get(partition);
        // The broker reports "no commit" as -1.
        const committedOffset = offset === undefined || offset < 0n ? null : String(offset);
        rows.push(partitionLag(topic, partition, { startOffset: offsetOf(starts, topic, partition), endOffset: offsetOf(ends, topic, partition), committedOffset }));
      }
    }
    return rows;
  }

  async close(): Promise<void> {
    const admin = this.client;
    this.client = undefined;
    await admin?.close().catch((err: unknown) => this.logger.warn('Kafka admin did not close cleanly', { error: describeError(err) }));
  }

  private admin(): Admin {
    if (this.client) return this.client;
    const admin = new Admin(this.settings);
    admin.on('error', (err: unknown) => this.logger.warn('Kafka admin error', { error: describeError(err) }));
    this.client = admin;
    return admin;
  }

  private async warnOfFewerPartitions(present: TopicSpec[]): Promise<void> {
    const metadata = await this.admin().metadata({ topics: present.map((t) => t.name) });
    for (const spec of present) {
      const have = metadata.topics.get(spec.name)?.partitionsCount ?? 0;
      if (have < spec.partitions) {
        this.logger.warn('topic exists with fewer partitions than configured; left as it is', { topic: spec.name, partitions: have, configured: spec.partitions });
      }
    }
  }

  private async waitForLeaders(topics: string[]): Promise<void> {
    const deadline = Date.now() + this.requestTimeoutMs;
    for (;;) {
      const metadata = await this.admin()
        .metadata({ topics, forceUpdate: true })
        .catch(() => undefined);
      const led = metadata && topics.every((t) => (metadata.topics.get(t)?.partitions ?? []).length > 0 && metadata.topics.get(t)!.partitions.every((p) => p.leader >= 0));
      if (led) return;
      if (Date.now() > deadline) throw new DriftgateError('EVENT_BUS_UNAVAILABLE', `topics ${topics.join(', ')} have no leaders after ${this.requestTimeoutMs} ms`);
      await sleep(100);
    }
  }
}

/** True when a @platformatic/kafka error, or one of the errors it wraps, carries the Kafka error `id`. */
function hasCode(err: unknown, id: string): boolean {
  const found = (err as { findBy?: (key: string, value: unknown) => unknown } | null)?.findBy?.('apiId', id);
  return Boolean(found);
}
