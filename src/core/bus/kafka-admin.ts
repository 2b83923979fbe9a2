// The Kafka adapter's admin side: creating the topics it is asked for and reading a group's lag,
// over one lazily connected kafkajs admin client.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Kafka } from 'kafkajs';
import { DriftgateError } from '../errors.js';
import type { Logger } from '../logger.js';
import { LazyConnection } from './kafka-connection.js';
import { logDisconnect } from './kafka-messages.js';
import { partitionLag } from './types.js';
import type { PartitionLag, TopicSpec } from './types.js';

export class KafkaTopicAdmin {
  private readonly admin: LazyConnection<Admin>;

  constructor(
    kafka: Kafka,
    private readonly requestTimeoutMs: number,
    private readonly logger: Logger,
  ) {
    this.admin = new LazyConnection(() => kafka.admin());
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    if (topics.length === 0) return;
    const admin = await this.admin.get();
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length > 0) {
      const created = await admin.createTopics({
        topics: missing.map((t) => ({ topic: t.name, numPartitions: t.partitions, replicationFactor: t.replicationFactor })),
        waitForLeaders: true,
        timeout: this.requestTimeoutMs,
      });
      // false: another process created some of them first, and kafkajs skipped waiting for leaders.
      if (!created) await this.waitForLeaders(admin, missing.map((t) => t.name));
    }
    const present = topics.filter((t) => existing.has(t.name));
    if (present.length > 0) await this.warnOfFewerPartitions(admin, present);
  }

  /**
   * Through the admin client, so it reads offsets without joining the group. The topic list
   * comes first: offset requests for a topic that does not exist fail, after kafkajs' retries.
   */
  async consumerLag(groupId: string, topics: string[]): Promise<PartitionLag[]> {
    const admin = await this.admin.get();
    const existing = new Set(await admin.listTopics());
    const present = [...new Set(topics)].filter((t) => existing.has(t));
    if (present.length === 0) return [];
    const [ends, commits] = await Promise.all([
      Promise.all(present.map((topic) => admin.fetchTopicOffsets(topic))),
      // Never resolveOffsets: it would write offsets for the group.
      admin.fetchOffsets({ groupId, topics: present }),
    ]);
    const rows: PartitionLag[] = [];
    present.forEach((topic, i) => {
      const committed = new Map(commits.find((c) => c.topic === topic)?.partitions.map((p) => [p.partition, p.offset]));
      const partitions = [...ends[i]!].sort((a, b) => a.partition - b.partition);
      for (const { partition, low, high } of partitions) {
        const offset = committed.get(partition);
        // kafkajs reports "no commit" as -1.
        const committedOffset = offset === undefined || BigInt(offset) < 0n ? null : offset;
        rows.push(partitionLag(topic, partition, { startOffset: low, endOffset: high, committedOffset }));
      }
    });
    return rows;
  }

  async close(): Promise<void> {
    const admin = await this.admin.current();
    await admin?.disconnect().catch((err: unknown) => logDisconnect(this.logger, 'admin', err));
  }

  private async warnOfFewerPartitions(admin: Admin, present: TopicSpec[]): Promise<void> {
    const metadata = await admin.fetchTopicMetadata({ topics: present.map((t) => t.name) });
    for (const spec of present) {
      const have = metadata.topics.find((t) => t.name === spec.name)?.partitions.length ?? 0;
      if (have < spec.partitions) {
        this.logger.warn('topic exists with fewer partitions than configured; left as it is', {
          topic: spec.name,
          partitions: have,
          configured: spec.partitions,
        });
      }
    }
  }

  private async waitForLeaders(admin: Admin, topics: string[]): Promise<void> {
    const deadline = Date.now() + this.requestTimeoutMs;
    for (;;) {
      const metadata = await admin.fetchTopicMetadata({ topics }).catch(() => undefined);
      const led = metadata?.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
      if (led) return;
      if (Date.now() > deadline) throw new DriftgateError('EVENT_BUS_UNAVAILABLE', `topics ${topics.join(', ')} have no leaders after ${this.requestTimeoutMs} ms`);
      await sleep(100);
    }
  }
}
