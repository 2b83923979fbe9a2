// What the monitor publishes, through the store's outbox: its decisions on the model-events topic,
// joined examples on the labeled topic, and labels the join dead-lettered. Entries are written in the
// batch's transaction and published after it, in order; what could not be published stays and goes
// with the next batch.
import type { Counter, Registry } from 'prom-client';
import { DEAD_LETTER_HEADERS, describeError, drainOutbox, EVENT_SCHEMA_VERSION, toLabeledMessage, toModelEventMessage } from '../core/index.js';
import type { EventBus, EventTopics, LabelEvent, LabeledEvent, Logger, OutgoingMessage, PredictionEvent } from '../core/index.js';
import type { BatchEffects } from './batch-effects.js';
import type { VersionState } from './model-state.js';
import type { Decision } from './policy.js';
import type { MonitorStore } from './store.js';
import { normaliseLabel } from './validate.js';

export interface MonitorOutboxDeps {
  store: MonitorStore;
  bus: EventBus;
  topics: EventTopics;
  registry: Registry;
  logger: Logger;
  /** `ce_source` of the events published. */
  source: string;
  /** Whether joined examples go on the labeled topic. */
  publishLabeled: boolean;
}

/** One joined prediction and label, as the retrain loop gets it. */
export interface JoinedPair {
  id: string;
  /** Event times of the prediction and of the label. */
  ts: number;
  labelTs: number;
  /** The prediction's features as stored (JSON), read only when the pair is published. */
  features: () => string | undefined;
  output: PredictionEvent['output'];
  label: string | number;
}

export class MonitorOutbox {
  /** Set when entries may wait to be published: at start, after a write, and after a failed flush. */
  private unpublished = true;
  private flushing = false;

  constructor(private readonly deps: MonitorOutboxDeps) {}

  get pending(): boolean {
    return this.unpublished;
  }

  /**
   * A label the consumer's checks could not turn away (it had waited for its prediction, or its
   * version's manifest was not known then) goes to the dead-letter topic, with the reason and the
   * labels topic as its source (its offset is long committed, so there is none).
   */
  deadLetterLabel(label: { id: string; model: string; label: string | number; ts: number }, reason: string, effects: BatchEffects): void {
    const { topics, store, registry, logger } = this.deps;
    const event: LabelEvent = { schema: EVENT_SCHEMA_VERSION, id: label.id, model: label.model, label: label.label, ts: new Date(label.ts).toISOString() };
    const message: OutgoingMessage = {
      key: label.id,
      value: JSON.stringify(event),
      headers: { [DEAD_LETTER_HEADERS.reason]: reason.slice(0, 1000), [DEAD_LETTER_HEADERS.topic]: topics.labels },
    };
    store.addOutbox(topics.deadLetter, message.key, JSON.stringify(message));
    this.unpublished = true;
    effects.afterCommit(() => {
      // the consumer's counter, shared through the registry (absent when the monitor runs without a bus)
      const counter = registry.getSingleMetric('driftgate_events_dead_lettered_total') as Counter<'topic' | 'reason'> | undefined;
      counter?.inc({ topic: topics.labels, reason: 'rejected' });
      logger.warn('event dead-lettered', { topic: topics.labels, id: label.id, model: label.model, reason: reason.slice(0, 300) });
    });
  }

  /**
   * Hands a joined example to the retrain loop (`driftgate.labeled`, key = model): every monitor of
   * a group publishes its share, and the retrainer that owns the model sees them all.
   */
  publishJoined(state: VersionState, pair: JoinedPair): void {
    if (!this.deps.publishLabeled) return;
    const featuresJson = pair.features();
    if (featuresJson === undefined) return;
    const { name: model, version } = state.manifest;
    const message = toLabeledMessage(
      {
        id: pair.id,
        model,
        version,
        ts: new Date(pair.ts).toISOString(),
        label_ts: new Date(pair.labelTs).toISOString(),
        features: JSON.parse(featuresJson) as LabeledEvent['features'],
        label: normaliseLabel(state.manifest, pair.label),
        output: pair.output,
      },
      this.deps.source,
    );
    this.deps.store.addOutbox(this.deps.topics.labeled, message.key, JSON.stringify(message));
    this.unpublished = true;
  }

  /** Durable part of a decision: history row and, for bus event types, an outbox entry. */
  recordDecision(state: VersionState, decision: Decision): void {
    const { store, topics, source } = this.deps;
    const { name: model, version } = state.manifest;
    const details = { ...decision.evidence, ...('reason' in decision ? { reason: decision.reason } : {}), ...('kind' in decision ? { kind: decision.kind } : {}) };
    store.addDecision(model, version, decision.type, decision.time, details);
    if (decision.type === 'drift.cleared') return;
    const message = toModelEventMessage({ type: decision.type, model, version, ts: new Date(decision.time).toISOString(), details }, source);
    store.addOutbox(topics.modelEvents, message.key, JSON.stringify(message));
  }

  /** Publishes what the outbox holds, in order; on failure the entries stay for the next batch. */
  async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      await drainOutbox(this.deps.store, this.deps.bus);
      this.unpublished = false;
    } catch (err) {
      this.unpublished = true;
      this.deps.logger.warn('could not publish monitor decisions; they stay in the outbox and go with the next batch', { error: describeError(err) });
    } finally {
      this.flushing = false;
    }
  }
}
