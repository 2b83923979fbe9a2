// Proving that a message did not come, without sleeping: a partition delivers in order, so a message
// published before a marker on the same partition arrives before that marker. Once a marker on every
// partition has arrived, whatever was published earlier has arrived too, or never will.
import { partitionForKey } from '../../src/core/bus/types.js';

/** One key per partition by the Kafka default partitioner (`${prefix}0`, `${prefix}1`, ...), in partition order. */
export function keyPerPartition(prefix: string, partitions: number): string[] {
  const keys = new Map<number, string>();
  for (let i = 0; keys.size < partitions; i++) {
    const key = `${prefix}${i}`;
    const partition = partitionForKey(key, partitions);
    if (!keys.has(partition)) keys.set(partition, key);
  }
  return Array.from({ length: partitions }, (_, p) => keys.get(p)!);
}
