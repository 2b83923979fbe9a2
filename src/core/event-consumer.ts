// Reading driftgate's event streams: one consumer-group subscription over the prediction, label and
// model-event topics that decodes every message against its schema. A message that does not decode
// (not JSON, another schema version, wrong fields), or that the caller's `check` rejects (unknown
// model, label outside the class set), is copied to the dead-letter topic with the reason and its
// origin in headers, counted, and skipped: one bad message never stalls the group. Offsets are
// committed by the bus only after the handlers (and dead-lettering) of a batch have finished.
import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import type { BusMessage, EventBus, OutgoingMessage, Subscription } from './bus/index.js';
import { decodeEvent, fastLabelEvent, fastPredictionEvent, labelEventSchema, labeledEventSchema, modelEventSchema, predictionEventSchema } from './events.js';
import type { EventTopics, LabelEvent, LabeledEvent, ModelEvent, PredictionEvent } from './events.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';

export interface EventBatch {
  predictions: PredictionEvent[];
  labels: LabelEvent[];
}

export interface EventHandlers {
  /**
   * The predictions and labels of one bus batch together, so a consumer can apply them in one
   * transaction. When set, `predictions` and `labels` are not called.
   */
  batch?: (batch: EventBatch) => Promise<void>;
  predictions?: (events: PredictionEvent[]) => Promise<void>;
  labels?: (events: LabelEvent[]) => Promise<void>;
  modelEvents?: (events: ModelEvent[]) => Promise<void>;
  /** Joined examples (`driftgate.labeled`), for the retrain loop. */
  labeled?: (events: LabeledEvent[]) => Promise<void>;
}

/** Semantic checks beyond the schema; return a reason to dead-letter the event. */
export interface EventChecks {
  /**
   * Runs on the decoded events of a batch before the checks below, e.g. to load the manifests of
   * models seen for the first time. It may throw, which redelivers the batch.
   */
  prepare?: (batch: EventBatch) => Promise<void>;
  prediction?: (event: PredictionEvent) => string | undefined;
  label?: (event: LabelEvent) => string | undefined;
}

export interface ConsumeOptions {
  bus: EventBus;
  groupId: string;
  topics: EventTopics;
  handlers: EventHandlers;
  checks?: EventChecks;
  fromBeginning?: boolean;
  registry?: Registry;
  logger?: Logger;
}

/** Bounded reason classes for the dead-letter metric (the full reason travels in the header). */
export type DeadLetterClass = 'not_json' | 'schema_version' | 'schema' | 'rejected';

function classify(reason: string): DeadLetterClass {
  if (reason.startsWith('value is not JSON') || reason.startsWith('value is not a JSON object')) return 'not_json';
  if (reason.includes('schema version')) return 'schema_version';
  if (reason.startsWith('schema mismatch')) return 'schema';
  return 'rejected';
}

export const DEAD_LETTER_HEADERS = {
  reason: 'dg_dead_letter_reason',
  topic: 'dg_source_topic',
  partition: 'dg_source_partition',
  offset: 'dg_source_offset',
} as const;

export async function consumeEvents(opts: ConsumeOptions): Promise<Subscription> {
  const { bus, topics, handlers, checks = {} } = opts;
  const logger = opts.logger ?? silentLogger;
  const registers = opts.registry ? [opts.registry] : [];
  // Several consumers (monitor, retrainer, the gateway's model-event listener) may share one registry
  // in a single process: they share these two counters too, told apart by topic.
  const consumed =
    (opts.registry?.getSingleMetric('driftgate_events_consumed_total') as Counter<'topic'> | undefined) ??
    new Counter({ name: 'driftgate_events_consumed_total', help: 'Events decoded and handled, by topic.', labelNames: ['topic'] as const, registers });
  const deadLettered =
    (opts.registry?.getSingleMetric('driftgate_events_dead_lettered_total') as Counter<'topic' | 'reason'> | undefined) ??
    new Counter({
      name: 'driftgate_events_dead_lettered_total',
      help: 'Events skipped and copied to the dead-letter topic, by source topic and reason class.',
      labelNames: ['topic', 'reason'] as const,
      registers,
    });

  const wanted: string[] = [];
  if (handlers.predictions || handlers.batch) wanted.push(topics.predictions);
  if (handlers.labels || handlers.batch) wanted.push(topics.labels);
  if (handlers.modelEvents) wanted.push(topics.modelEvents);
  if (handlers.labeled) wanted.push(topics.labeled);

  const deadLetter = (m: BusMessage, reason: string): OutgoingMessage => {
    deadLettered.labels({ topic: m.topic, reason: classify(reason) }).inc();
    logger.warn('event dead-lettered', { topic: m.topic, partition: m.partition, offset: m.offset, reason: reason.slice(0, 300) });
    return {
      key: m.key ?? '',
      value: m.value.toString('utf8'),
      headers: {
        ...m.headers,
        [DEAD_LETTER_HEADERS.reason]: reason.slice(0, 1000),
        [DEAD_LETTER_HEADERS.topic]: m.topic,
        [DEAD_LETTER_HEADERS.partition]: String(m.partition),
        [DEAD_LETTER_HEADERS.offset]: m.offset,
      },
    };
  };

  function decode<T>(
    messages: BusMessage[],
    schema: z.ZodType<T>,
    dead: OutgoingMessage[],
    fast?: (parsed: Record<string, unknown>) => T | undefined,
  ): { event: T; message: BusMessage }[] {
    const good: { event: T; message: BusMessage }[] = [];
    for (const m of messages) {
      const decoded = decodeEvent(schema, m.value, fast);
      if (decoded.ok) good.push({ event: decoded.event, message: m });
      else dead.push(deadLetter(m, decoded.reason));
    }
    return good;
  }

  function check<T>(decoded: { event: T; message: BusMessage }[], rule: ((e: T) => string | undefined) | undefined, dead: OutgoingMessage[]): T[] {
    if (!rule) return decoded.map((d) => d.event);
    const good: T[] = [];
    for (const d of decoded) {
      const reason = rule(d.event);
      if (reason === undefined) good.push(d.event);
      else dead.push(deadLetter(d.message, reason));
    }
    return good;
  }

  return bus.subscribe({
    groupId: opts.groupId,
    topics: wanted,
    fromBeginning: opts.fromBeginning ?? true,
    handle: async (messages) => {
      const dead: OutgoingMessage[] = [];
      const byTopic = (t: string) => messages.filter((m) => m.topic === t);
      const decodedPredictions = decode(byTopic(topics.predictions), predictionEventSchema, dead, fastPredictionEvent);
      const decodedLabels = decode(byTopic(topics.labels), labelEventSchema, dead, fastLabelEvent);
      const modelEvents = decode(byTopic(topics.modelEvents), modelEventSchema, dead).map((d) => d.event);
      const labeled = decode(byTopic(topics.labeled), labeledEventSchema, dead).map((d) => d.event);
      if (checks.prepare && (decodedPredictions.length > 0 || decodedLabels.length > 0)) {
        await checks.prepare({ predictions: decodedPredictions.map((d) => d.event), labels: decodedLabels.map((d) => d.event) });
      }
      const predictions = check(decodedPredictions, checks.prediction, dead);
      const labels = check(decodedLabels, checks.label, dead);
      // Dead letters first: if the dead-letter topic cannot take them, the batch is redelivered.
      if (dead.length > 0) await bus.publish(topics.deadLetter, dead);
      if (handlers.batch) {
        if (predictions.length > 0 || labels.length > 0) await handlers.batch({ predictions, labels });
      } else {
        if (predictions.length > 0 && handlers.predictions) await handlers.predictions(predictions);
        if (labels.length > 0 && handlers.labels) await handlers.labels(labels);
      }
      if (modelEvents.length > 0 && handlers.modelEvents) await handlers.modelEvents(modelEvents);
      if (labeled.length > 0 && handlers.labeled) await handlers.labeled(labeled);
      if (predictions.length) consumed.labels({ topic: topics.predictions }).inc(predictions.length);
      if (labels.length) consumed.labels({ topic: topics.labels }).inc(labels.length);
      if (modelEvents.length) consumed.labels({ topic: topics.modelEvents }).inc(modelEvents.length);
      if (labeled.length) consumed.labels({ topic: topics.labeled }).inc(labeled.length);
    },
  });
}

/**
 * Subscribes in the background, retrying every `retryMs` while the bus refuses, so a process whose
 * main job is not consuming (a gateway following model events, an embedded retrainer) starts and
 * serves while Kafka is down. `stop()` ends the retries and the subscription once it exists.
 */
export function subscribeInBackground(start: () => Promise<Subscription>, logger: Logger, what: string, retryMs = 10_000): Subscription {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<Subscription | undefined> = Promise.resolve(undefined);
  const attempt = (): void => {
    current = start().then(
      (subscription) => {
        if (stopped) return subscription.stop().then(() => undefined);
        return subscription;
      },
      (err: unknown) => {
        if (!stopped) {
          logger.warn(`cannot subscribe for ${what}; retrying`, { error: err instanceof Error ? err.message : String(err), retryMs });
          timer = setTimeout(attempt, retryMs);
          timer.unref();
        }
        return undefined;
      },
    );
  };
  attempt();
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await (await current)?.stop();
    },
  };
}
