// A consumer-group assignor that keeps partition numbers together: a member that owns partition p of
// one topic owns partition p of every topic the group reads. A prediction and its label are keyed by
// the same id, so they land on the same partition number of their two topics; with Kafka's usual
// round-robin over all topic-partitions, two monitors in a group would each get one half of most
// pairs and never join them. Members are the group's consumers, sorted by id; partition p goes to
// member p mod n.
import { AssignerProtocol } from 'kafkajs';
import type { Assignment, PartitionAssigner } from 'kafkajs';

export const CO_PARTITION_ASSIGNER = 'DriftgateCoPartitionAssigner';

/** Partition numbers to members: p goes to the (p mod n)-th member id in sorted order. */
export function assignCoPartitioned(memberIds: readonly string[], partitionsByTopic: ReadonlyMap<string, readonly number[]>): Map<string, Assignment> {
  const members = [...memberIds].sort();
  const out = new Map<string, Assignment>(members.map((m) => [m, {}]));
  if (members.length === 0) return out;
  for (const [topic, partitions] of partitionsByTopic) {
    for (const p of [...partitions].sort((a, b) => a - b)) {
      const assignment = out.get(members[p % members.length]!)!;
      (assignment[topic] ??= []).push(p);
    }
  }
  return out;
}

export const coPartitionAssigner: PartitionAssigner = ({ cluster }) => ({
  name: CO_PARTITION_ASSIGNER,
  version: 0,
  async assign({ members, topics }) {
    const partitions = new Map(topics.map((t) => [t, cluster.findTopicPartitionMetadata(t).map((m) => m.partitionId)] as const));
    const assignments = assignCoPartitioned(
      members.map((m) => m.memberId),
      partitions,
    );
    return [...assignments].map(([memberId, assignment]) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment, userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }) {
    return { name: CO_PARTITION_ASSIGNER, metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) };
  },
});
