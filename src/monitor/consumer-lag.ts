// How far the monitor's consumer group is behind on the prediction and label topics, read from the
// bus every few seconds into a gauge.
import { describeError } from '../core/index.js';
import type { EventBus, EventTopics, Logger } from '../core/index.js';
import type { MonitorMetrics } from './metrics.js';

export class ConsumerLagReader {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: { bus: EventBus; topics: EventTopics; groupId: string; gauge: MonitorMetrics['consumerLag']; logger: Logger },
  ) {}

  /** Reads the lag every `intervalMs`; 0 never reads it. */
  start(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => void this.read(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async read(): Promise<void> {
    const { bus, topics, groupId, gauge } = this.deps;
    try {
      const rows = await bus.consumerLag(groupId, [topics.predictions, topics.labels]);
      const byTopic = new Map<string, number>([
        [topics.predictions, 0],
        [topics.labels, 0],
      ]);
      for (const r of rows) byTopic.set(r.topic, (byTopic.get(r.topic) ?? 0) + r.lag);
      for (const [topic, lag] of byTopic) gauge.set({ topic }, lag);
    } catch (err) {
      this.deps.logger.debug('could not read consumer lag', { error: describeError(err) });
    }
  }
}
