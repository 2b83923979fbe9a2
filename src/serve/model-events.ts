// The gateway's side of the model events: it follows `driftgate.model-events` so that a promotion or a
// rollback made anywhere (the retrain loop, another gateway's admin API) is loaded, warmed and swapped
// in at once, with the repository poll left as the fallback; and it keeps the recent retrain jobs
// announced on the stream, for `GET /admin/models/{m}/retrains` and the status page. It also
// publishes the events the gateway itself causes (admin promote/rollback, a retrain asked for by hand).
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import { consumeEvents, describeError, subscribeInBackground, toModelEventMessage } from '../core/index.js';
import type { EventBus, EventPublisher, EventTopics, Logger, ModelEvent, Subscription } from '../core/index.js';

/** Where the gateway's own model events go. */
export interface ModelEventSink {
  record(event: Omit<ModelEvent, 'schema'>): void;
}

export const discardModelEvents: ModelEventSink = { record: () => undefined };

export function publishingModelEvents(publisher: EventPublisher, topics: EventTopics): ModelEventSink {
  return { record: (event) => publisher.enqueue(topics.modelEvents, [toModelEventMessage(event, '/driftgate/gateway')]) };
}

/** A model event as the status endpoints show it. */
export interface SeenModelEvent {
  type: ModelEvent['type'];
  version: number;
  ts: string;
  details: Record<string, unknown>;
}

/** What the follower needs of the registry: a way to bring one model up to date now. */
export interface ModelRefresher {
  has(model: string): boolean;
  refreshModel(model: string): Promise<void>;
}

export interface ModelEventFollowerOptions {
  bus: EventBus;
  topics: EventTopics;
  registry: ModelRefresher;
  logger: Logger;
  /** Each gateway reads every event, so each has a group of its own. @defaultValue driftgate-gateway-<host>-<pid>-<random> */
  groupId?: string;
  metricsRegistry?: Registry;
  /** Events kept per model. @defaultValue 200 */
  keep?: number;
}

export class ModelEventFollower {
  private subscription: Subscription | undefined;
  private readonly events = new Map<string, SeenModelEvent[]>();
  private readonly keep: number;

  constructor(private readonly opts: ModelEventFollowerOptions) {
    this.keep = opts.keep ?? 200;
  }

  async start(): Promise<void> {
    const groupId = this.opts.groupId ?? `driftgate-gateway-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    // In the background: with the bus down the gateway serves, and follows the pointer by its poll.
    this.subscription = subscribeInBackground(
      () =>
        consumeEvents({
          bus: this.opts.bus,
          groupId,
          topics: this.opts.topics,
          // From the start of the topic: the recent jobs shown after a restart are rebuilt from it.
          fromBeginning: true,
          logger: this.opts.logger,
          ...(this.opts.metricsRegistry ? { registry: this.opts.metricsRegistry } : {}),
          handlers: { modelEvents: (events) => this.onEvents(events) },
        }),
      this.opts.logger,
      'model events',
    );
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
  }

  /**
   * The model's recent events, newest first by their own time, optionally of some types only. Events
   * arrive in log order, which is not always time order: the monitor stamps a drift decision with the
   * event time of its window, while the retrainer stamps its events when it acts.
   */
  recent(model: string, types?: readonly ModelEvent['type'][], limit = 100): SeenModelEvent[] {
    const all = this.events.get(model) ?? [];
    const picked = types ? all.filter((e) => types.includes(e.type)) : all;
    // Array.prototype.sort is stable: events with the same time keep their log order (newest last, so reversed).
    return picked
      .slice(-limit)
      .reverse()
      .sort((a, b) => Date.parse(b.ts) - Date.parse(a.ts));
  }

  /** Retrain jobs as the last event about each announced them, newest first. */
  jobs(model: string, limit = 50): Record<string, unknown>[] {
    const latest = new Map<string, Record<string, unknown>>();
    for (const e of this.events.get(model) ?? []) {
      const record = e.details['record'];
      const id = e.details['job'];
      if (typeof id === 'string' && record && typeof record === 'object') {
        latest.delete(id);
        latest.set(id, record as Record<string, unknown>);
      }
    }
    return [...latest.values()].reverse().slice(0, limit);
  }

  private async onEvents(events: ModelEvent[]): Promise<void> {
    const refresh = new Set<string>();
    for (const e of events) {
      let list = this.events.get(e.model);
      if (!list) this.events.set(e.model, (list = []));
      list.push({ type: e.type, version: e.version, ts: e.ts, details: e.details });
      if (list.length > this.keep) list.splice(0, list.length - this.keep);
      if ((e.type === 'model.promoted' || e.type === 'model.rolled_back') && this.opts.registry.has(e.model)) refresh.add(e.model);
    }
    for (const model of refresh) {
      // Not awaited: loading and warming a version must not hold the event stream (or the bus's
      // delivery to other consumers in this process). The registry serialises work per model.
      this.opts.registry.refreshModel(model).catch((err) => this.opts.logger.warn('could not follow a model event; the poll will retry', { model, error: describeError(err) }));
    }
  }
}
