// The drift monitor: consumes predictions and labels, joins them by (model, prediction id), feeds the
// drift windows and the rolling performance of each served version, asks the policy what to do, and
// publishes its decisions on the model-events topic. One batch of events is applied in one store transaction (events, state
// snapshots and the decisions' outbox together), and the bus commits the batch only afterwards: at
// least once end to end, and idempotent on replay because the store ignores ids it already has.
// This class orchestrates; the join (join.ts), the windows and performance (version-evaluator.ts),
// the outbox (monitor-outbox.ts), version states (version-states.ts), label coverage and consumer lag
// each have a collaborator of their own.
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { BATCH_DEFAULTS, configDefaults, consumeEvents, silentLogger } from '../core/index.js';
import type { EventBatch, EventBus, EventTopics, LabelEvent, Logger, PredictionEvent, Subscription } from '../core/index.js';
import { BatchEffects } from './batch-effects.js';
import { BatchGatherer } from './batch-gather.js';
import type { ModelCatalog } from './catalog.js';
import { ConsumerLagReader } from './consumer-lag.js';
import { PredictionLabelJoin } from './join.js';
import { LabelCoverage } from './label-coverage.js';
import { createMonitorMetrics } from './metrics.js';
import type { MonitorMetrics } from './metrics.js';
import { PREDICTION_COLUMN } from './model-state.js';
import type { VersionState } from './model-state.js';
import { MonitorOutbox } from './monitor-outbox.js';
import type { JoinedPair } from './monitor-outbox.js';
import { summarise, timelineOf } from './monitor-views.js';
import type { ModelTimeline, VersionSummary } from './monitor-views.js';
import type { MonitorPolicy } from './policy.js';
import type { MonitorStore } from './store.js';
import { normaliseLabel, predictedValue } from './validate.js';
import { VersionEvaluator } from './version-evaluator.js';
import { reportDecision } from './version-metrics.js';
import { VersionStates, stateKey } from './version-states.js';

export type { ModelTimeline, VersionSummary } from './monitor-views.js';

/** The event-time watermark as stored (epoch ms); a bad one is logged and the monitor starts from 0. */
const watermarkSchema = z.number().nonnegative();

export interface DriftMonitorOptions {
  bus: EventBus;
  topics: EventTopics;
  store: MonitorStore;
  catalog: ModelCatalog;
  policy: MonitorPolicy;
  registry: Registry;
  logger?: Logger;
  /** Consumer group; monitors in one group share the partitions. @defaultValue DRIFTGATE_MONITOR_GROUP's default, 'driftgate-monitor' */
  groupId?: string;
  /** How long a prediction waits for its label (and a label for its prediction), in event-time ms. @defaultValue DRIFTGATE_JOIN_TTL_MS's default, 7 days */
  joinTtlMs?: number;
  /** Predictions that may wait for their label, all models together; beyond it the oldest are dropped and counted. @defaultValue DRIFTGATE_JOIN_MAX_PENDING's default, 1,000,000 */
  maxPending?: number;
  /** Labels that may wait for their prediction, per model; beyond it that model's oldest are dropped and counted. @defaultValue DRIFTGATE_JOIN_MAX_EARLY_LABELS's default, 100,000 */
  maxEarlyLabels?: number;
  /** Joined labels between two performance verdicts. @defaultValue 50 */
  performanceEvery?: number;
  /** How often consumer lag is read from the bus, in ms; 0 = never. @defaultValue DRIFTGATE_MONITOR_LAG_INTERVAL_MS's default, 10000 */
  lagIntervalMs?: number;
  /** `ce_source` of the decisions the monitor publishes. @defaultValue '/driftgate/monitor' */
  source?: string;
  /** Publish each joined example on `driftgate.labeled` for the retrain loop. @defaultValue true */
  publishLabeled?: boolean;
  /**
   * How long a bus batch waits for others to share its transaction (batch-gather.ts), in ms; 0 = each
   * batch alone. Only where nothing else needs the thread. @defaultValue 0
   */
  gatherMs?: number;
  /** Events at which a gathered transaction starts without waiting longer. @defaultValue BATCH_DEFAULTS.consumerBatchSize */
  gatherMaxEvents?: number;
}

export class DriftMonitor {
  readonly metrics: MonitorMetrics;
  private readonly logger: Logger;
  private readonly versions: VersionStates;
  private readonly coverage: LabelCoverage;
  private readonly outbox: MonitorOutbox;
  private readonly join: PredictionLabelJoin;
  private readonly evaluator: VersionEvaluator;
  private readonly lag: ConsumerLagReader;
  private subscription: Subscription | undefined;
  private watermark: number;

  constructor(private readonly opts: DriftMonitorOptions) {
    const { store, catalog, bus, topics, registry } = opts;
    const logger = (this.logger = opts.logger ?? silentLogger);
    this.metrics = createMonitorMetrics(registry);
    this.versions = new VersionStates({ store, catalog, policy: opts.policy, logger });
    this.coverage = new LabelCoverage(store, this.metrics.labelCoverage);
    const source = opts.source ?? '/driftgate/monitor';
    this.outbox = new MonitorOutbox({ store, bus, topics, registry, logger, source, publishLabeled: opts.publishLabeled !== false });
    const bounds = {
      ttlMs: opts.joinTtlMs ?? configDefaults.joinTtlMs,
      maxPendingPredictions: opts.maxPending ?? configDefaults.joinMaxPending,
      maxEarlyLabels: opts.maxEarlyLabels ?? configDefaults.joinMaxEarlyLabels,
    };
    this.join = new PredictionLabelJoin({ store, catalog, outbox: this.outbox, metrics: this.metrics, bounds });
    this.evaluator = new VersionEvaluator(this.metrics, logger, opts.performanceEvery ?? 50);
    this.lag = new ConsumerLagReader({ bus, topics, groupId: this.groupId, gauge: this.metrics.consumerLag, logger });
    this.watermark = store.getState('watermark', watermarkSchema) ?? 0;
    this.join.reportWaiting();
  }

  get groupId(): string {
    return this.opts.groupId ?? configDefaults.monitorGroup;
  }

  /** Subscribes to the prediction and label topics and publishes any decisions left from before. */
  async start(): Promise<void> {
    this.subscription = await consumeEvents({
      bus: this.opts.bus,
      groupId: this.groupId,
      topics: this.opts.topics,
      registry: this.opts.registry,
      logger: this.logger,
      fromBeginning: true,
      checks: this.join.checks,
      handlers: { batch: this.batchHandler() },
    });
    void this.flushOutbox();
    this.lag.start(this.opts.lagIntervalMs ?? configDefaults.monitorLagIntervalMs);
  }

  private batchHandler(): (batch: EventBatch) => Promise<void> {
    const { gatherMs = 0, gatherMaxEvents = BATCH_DEFAULTS.consumerBatchSize } = this.opts;
    if (gatherMs <= 0) return (batch) => this.apply(batch);
    const gatherer = new BatchGatherer((batch) => this.apply(batch), gatherMs, gatherMaxEvents);
    return (batch) => gatherer.add(batch);
  }

  async stop(): Promise<void> {
    this.lag.stop();
    await this.subscription?.stop();
    this.subscription = undefined;
  }

  /**
   * Applies one batch: the join, the windows, the policy, durably, then publishes the decisions.
   * Public so the benchmark and tests can drive the monitor without a bus.
   */
  async apply(batch: EventBatch): Promise<void> {
    const timer = this.metrics.batchDuration.startTimer();
    const effects = new BatchEffects();
    try {
      this.opts.store.transaction(() => this.applyInTransaction(batch, effects));
    } catch (err) {
      // The store rolled back; in-memory state may be ahead of it, so rebuild it from the store.
      this.versions.clear();
      this.coverage.clear();
      this.watermark = this.opts.store.getState('watermark', watermarkSchema) ?? 0;
      throw err;
    } finally {
      timer();
    }
    effects.committed();
    for (const { state, decision } of effects.decisions) reportDecision(this.metrics, this.logger, state, decision);
    this.join.reportWaiting();
    if (this.watermark > 0) this.metrics.eventTimeLag.set(Math.max(0, (Date.now() - this.watermark) / 1000));
    if (effects.decisions.length > 0 || this.outbox.pending) await this.flushOutbox();
  }

  private applyInTransaction(batch: EventBatch, effects: BatchEffects): void {
    const { store } = this.opts;
    for (const event of batch.predictions) this.applyPrediction(event, effects);
    for (const event of batch.labels) this.applyLabel(event, effects);

    for (const e of this.join.expire(this.watermark, effects)) {
      if (e.kind === 'prediction') this.coverage.count(e.model, 0, e.count);
    }
    const models = new Set<string>();
    for (const state of effects.touched) {
      store.putState(stateKey(state.manifest.name, state.manifest.version), state.snapshot());
      models.add(state.manifest.name);
    }
    for (const model of models) store.trimLabeled(model);
    this.coverage.save();
    for (const { state, decision } of effects.decisions) this.outbox.recordDecision(state, decision);
    store.putState('watermark', this.watermark);
  }

  private applyPrediction(event: PredictionEvent, effects: BatchEffects): void {
    const ts = Date.parse(event.ts);
    this.watermark = Math.max(this.watermark, ts);
    const added = this.join.addPrediction(event, ts, effects);
    if (!added) return;
    const state = this.versions.get(event.model, event.version);
    if (!state) return;
    effects.touched.add(state);
    const row: Record<string, number | string | null | undefined> = { ...(event.features as Record<string, number | string | null>) };
    row[PREDICTION_COLUMN] = predictedValue(event);
    this.evaluator.addPrediction(state, row, ts, effects);
    if (added.joined) {
      const { label, labeledTs } = added.joined;
      const { features } = added.stored;
      this.applyJoin(state, predictedValue(event), { id: event.id, ts, labelTs: labeledTs, features: () => features, output: event.output, label }, effects);
    }
  }

  private applyLabel(event: LabelEvent, effects: BatchEffects): void {
    const ts = Date.parse(event.ts);
    this.watermark = Math.max(this.watermark, ts);
    const p = this.join.addLabel(event, ts, effects);
    if (!p) return;
    const state = this.versions.get(p.model, p.version);
    if (!state) return;
    effects.touched.add(state);
    const output = JSON.parse(p.output) as PredictionEvent['output'];
    const features = () => this.opts.store.featuresOf(event.id, p.model);
    this.applyJoin(state, predictedValue({ output }), { id: event.id, ts: p.ts, labelTs: ts, features, output, label: event.label }, effects);
  }

  /** A joined pair: label coverage, the version's performance and label window, and the pair for the retrain loop. */
  private applyJoin(state: VersionState, predicted: string | number, pair: JoinedPair, effects: BatchEffects): void {
    effects.touched.add(state);
    const actual = normaliseLabel(state.manifest, pair.label);
    const joined = { predicted, actual, predictionTs: pair.ts, labelTs: pair.labelTs };
    this.evaluator.addJoined(state, joined, effects);
    this.coverage.count(state.manifest.name, 1, 0);
    this.evaluator.judgeJoined(state, joined, effects);
    this.outbox.publishJoined(state, pair);
  }

  /**
   * Publishes what the outbox holds (decisions, and labels the join dead-lettered), in order; on
   * failure the entries stay and are retried with the next batch.
   */
  async flushOutbox(): Promise<void> {
    await this.outbox.flush();
  }

  /** Per-version summaries for the status endpoint. */
  summaries(): VersionSummary[] {
    return [...this.versions.all()].map(summarise);
  }

  /**
   * The model's performance verdicts and drift windows over time, across its versions, oldest first.
   * Versions this process has not touched since it started (an old version after a restart) are
   * read from their stored snapshot. Undefined when the monitor knows no version of the model.
   */
  timeline(model: string, limit = 500, windowLimit = 60): ModelTimeline | undefined {
    const histories = this.versions.histories(model);
    return histories && timelineOf(model, histories, limit, windowLimit);
  }

  /** Decision history from the store. */
  decisions(model?: string, limit?: number) {
    return this.opts.store.decisions(model, limit);
  }
}
