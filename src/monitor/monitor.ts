// The drift monitor: consumes predictions and labels, joins them by (model, prediction id), feeds the
// drift windows and the rolling performance of each served version, asks the policy what to do, and
// publishes its decisions on the model-events topic. One batch of events is applied in one store transaction (events, state
// snapshots and the decisions' outbox together), and the bus commits the batch only afterwards: at
// least once end to end, and idempotent on replay because the store ignores ids it already has.
import type { Counter, Registry } from 'prom-client';
import { consumeEvents, DEAD_LETTER_HEADERS, describeError, drainOutbox, EVENT_SCHEMA_VERSION, silentLogger, toLabeledMessage, toModelEventMessage } from '../core/index.js';
import type { EventBatch, EventBus, EventTopics, LabelEvent, LabeledEvent, Logger, OutgoingMessage, PredictionEvent, Subscription } from '../core/index.js';
import type { ModelCatalog } from './catalog.js';
import { evaluateLabels, evaluateWindow } from './drift.js';
import type { ColumnDrift, DriftReport } from './drift.js';
import { VersionHistory } from './history.js';
import type { PerformancePoint, WindowPoint } from './history.js';
import { createMonitorMetrics } from './metrics.js';
import type { MonitorMetrics } from './metrics.js';
import { LABEL_COLUMN, PREDICTION_COLUMN, VersionState } from './model-state.js';
import { expectedMetric, performanceDrop } from './performance.js';
import { onPerformance, onWindow, policyFor } from './policy.js';
import type { Decision, MonitorPolicy } from './policy.js';
import type { MonitorStore, StoredPrediction, WaitingPrediction } from './store.js';
import { checkLabel, checkPrediction, joinProblem, labelProblem, normaliseLabel, predictedValue } from './validate.js';

export interface DriftMonitorOptions {
  bus: EventBus;
  topics: EventTopics;
  store: MonitorStore;
  catalog: ModelCatalog;
  policy: MonitorPolicy;
  registry: Registry;
  logger?: Logger;
  /** Consumer group; monitors in one group share the partitions. @defaultValue 'driftgate-monitor' */
  groupId?: string;
  /** How long a prediction waits for its label (and a label for its prediction), in event-time ms. @defaultValue 7 days */
  joinTtlMs?: number;
  /** Predictions that may wait for their label, all models together; beyond it the oldest are dropped and counted. @defaultValue 1,000,000 */
  maxPending?: number;
  /** Labels that may wait for their prediction, per model; beyond it that model's oldest are dropped and counted. @defaultValue 100,000 */
  maxEarlyLabels?: number;
  /** Joined labels between two performance verdicts. @defaultValue 50 */
  performanceEvery?: number;
  /** How often consumer lag is read from the bus, in ms; 0 = never. @defaultValue 10000 */
  lagIntervalMs?: number;
  /** `ce_source` of the decisions the monitor publishes. @defaultValue '/driftgate/monitor' */
  source?: string;
  /** Publish each joined example on `driftgate.labeled` for the retrain loop. @defaultValue true */
  publishLabeled?: boolean;
}

/** What one version looks like to an operator (GET /monitor/models). */
export interface VersionSummary {
  model: string;
  version: number;
  reference: 'manifest' | 'live' | 'collecting';
  lastWindow: DriftReport | undefined;
  lastLabelDrift: ColumnDrift | undefined;
  performance: ReturnType<VersionState['performance']['current']>;
  expected: number | undefined;
  drop: number | undefined;
  policy: VersionState['policyState'];
}

/** A model's recent performance verdicts and drift windows over all its versions (GET /monitor/models/{m}/timeline). */
export interface ModelTimeline {
  model: string;
  task: 'classification' | 'regression';
  /** Oldest first, at most the limit asked for; `ts` in event time (ms). */
  points: (PerformancePoint & { version: number })[];
  /** Oldest first, at most the limit asked for. */
  windows: (WindowPoint & { version: number })[];
}

export class DriftMonitor {
  readonly metrics: MonitorMetrics;
  private readonly logger: Logger;
  private readonly versions = new Map<string, VersionState>();
  /** Newest version seen per model, so a new version inherits the previous one's cooldown. */
  private readonly newestVersion = new Map<string, number>();
  /** Joined and expired predictions per model since the store began; kept in the store. */
  private readonly coverage = new Map<string, { joined: number; expired: number }>();
  private readonly coverageTouched = new Set<string>();
  private subscription: Subscription | undefined;
  private watermark: number;
  private lagTimer: NodeJS.Timeout | undefined;
  private outboxBusy = false;
  /**
   * Counter updates of the batch in progress. They are applied only once its transaction has
   * committed, so a batch that rolls back and comes again is not counted twice.
   */
  private countLater: (() => void)[] = [];
  /** Set when decisions could not be published: every later batch tries again. */
  private outboxPending = true;
  private readonly joinTtlMs: number;
  private readonly maxPending: number;
  private readonly maxEarlyLabels: number;
  private readonly performanceEvery: number;
  /** Per prediction id in the batch being checked: the models (and versions) that predicted it. */
  private batchPredictions = new Map<string, Map<string, number>>();
  /** The waiting prediction (or null: none) the checks found for a label, so applying it looks up nothing more. */
  private readonly waitingFor = new WeakMap<LabelEvent, WaitingPrediction | null>();
  /** Histories of versions not in memory, read from their stored snapshot for the timeline (they get no new events). */
  private readonly storedHistories = new Map<string, VersionHistory>();
  /** Models whose early-label gauge was set, so one that empties is set back to 0. */
  private readonly earlyReported = new Set<string>();

  constructor(private readonly opts: DriftMonitorOptions) {
    this.logger = opts.logger ?? silentLogger;
    this.metrics = createMonitorMetrics(opts.registry);
    this.joinTtlMs = opts.joinTtlMs ?? 7 * 24 * 3600 * 1000;
    this.maxPending = opts.maxPending ?? 1_000_000;
    this.maxEarlyLabels = opts.maxEarlyLabels ?? 100_000;
    this.performanceEvery = opts.performanceEvery ?? 50;
    this.watermark = opts.store.getState<number>('watermark') ?? 0;
    this.reportPending();
  }

  get groupId(): string {
    return this.opts.groupId ?? 'driftgate-monitor';
  }

  /** Subscribes to the prediction and label topics and publishes any decisions left from before. */
  async start(): Promise<void> {
    const { bus, topics, catalog } = this.opts;
    this.subscription = await consumeEvents({
      bus,
      groupId: this.groupId,
      topics,
      registry: this.opts.registry,
      logger: this.logger,
      fromBeginning: true,
      checks: {
        prepare: async (batch) => {
          await catalog.ensure(batch.predictions.map((p) => [p.model, p.version] as const));
          await catalog.ensureModels(batch.labels.map((l) => l.model));
          this.batchPredictions = indexById(batch.predictions);
        },
        prediction: (event) => checkPrediction(catalog, event),
        label: (event) => checkLabel(catalog, event) ?? this.checkJoin(event),
      },
      handlers: { batch: (batch) => this.apply(batch) },
    });
    void this.flushOutbox();
    const lagEvery = this.opts.lagIntervalMs ?? 10_000;
    if (lagEvery > 0) {
      this.lagTimer = setInterval(() => void this.readLag(), lagEvery);
      this.lagTimer.unref();
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.lagTimer);
    await this.subscription?.stop();
    this.subscription = undefined;
  }

  /**
   * The label's side of the join, checked before its batch is applied so a label that cannot join is
   * dead-lettered on its own (joinProblem). The store is written only by this subscription's handler,
   * which has finished the previous batch, so reading it here sees every pair applied so far.
   */
  private checkJoin(event: LabelEvent): string | undefined {
    const pairs = this.opts.store.pairsOf(event.id);
    const inBatch = this.batchPredictions.get(event.id);
    const problem = joinProblem(this.opts.catalog, event, pairs, inBatch);
    // What applying the label needs to know, unless a prediction of the batch may change it
    if (problem === undefined && !inBatch?.has(event.model)) {
      const pair = pairs.find((p) => p.model === event.model);
      this.waitingFor.set(event, pair?.hasPrediction && !pair.hasLabel ? pair.prediction : null);
    }
    return problem;
  }

  /**
   * Applies one batch: the join, the windows, the policy, durably, then publishes the decisions.
   * Public so the benchmark and tests can drive the monitor without a bus.
   */
  async apply(batch: EventBatch): Promise<void> {
    const timer = this.metrics.batchDuration.startTimer();
    const decisions: { state: VersionState; decision: Decision }[] = [];
    this.countLater = [];
    try {
      this.opts.store.transaction(() => this.applyInTransaction(batch, decisions));
    } catch (err) {
      // The store rolled back; in-memory state may be ahead of it, so rebuild it from the store.
      this.versions.clear();
      this.storedHistories.clear();
      this.newestVersion.clear();
      this.coverage.clear();
      this.coverageTouched.clear();
      this.watermark = this.opts.store.getState<number>('watermark') ?? 0;
      throw err;
    } finally {
      timer();
    }
    for (const count of this.countLater) count();
    this.countLater = [];
    for (const { state, decision } of decisions) this.reportDecision(state, decision);
    this.reportPending();
    if (this.watermark > 0) this.metrics.eventTimeLag.set(Math.max(0, (Date.now() - this.watermark) / 1000));
    if (decisions.length > 0 || this.outboxPending) await this.flushOutbox();
  }

  private reportPending(): void {
    const pending = this.opts.store.pendingCounts();
    this.metrics.pending.set({ kind: 'prediction' }, pending.predictions);
    this.metrics.pending.set({ kind: 'label' }, pending.labels);
    const early = this.opts.store.earlyLabelCounts();
    for (const model of this.earlyReported) if (!early.has(model)) this.metrics.earlyLabels.set({ model }, 0);
    this.earlyReported.clear();
    for (const [model, n] of early) {
      this.metrics.earlyLabels.set({ model }, n);
      this.earlyReported.add(model);
    }
  }

  private applyInTransaction(batch: EventBatch, decisions: { state: VersionState; decision: Decision }[]): void {
    const { store } = this.opts;
    const touched = new Set<VersionState>();
    for (const event of batch.predictions) this.applyPrediction(event, touched, decisions);
    for (const event of batch.labels) this.applyLabel(event, touched, decisions);

    for (const e of store.expire(this.watermark, { ttlMs: this.joinTtlMs, maxPendingPredictions: this.maxPending, maxEarlyLabels: this.maxEarlyLabels })) {
      this.countLater.push(() => this.metrics.expired.inc({ model: e.model, kind: e.kind, reason: e.reason }, e.count));
      if (e.kind === 'prediction') this.countCoverage(e.model, 0, e.count);
    }
    const models = new Set<string>();
    for (const state of touched) {
      store.putState(stateKey(state.manifest.name, state.manifest.version), state.snapshot());
      models.add(state.manifest.name);
    }
    for (const model of models) store.trimLabeled(model);
    for (const model of this.coverageTouched) store.putState(`coverage:${model}`, this.coverage.get(model));
    this.coverageTouched.clear();
    for (const { state, decision } of decisions) this.recordDecision(state, decision);
    store.putState('watermark', this.watermark);
  }

  private applyPrediction(event: PredictionEvent, touched: Set<VersionState>, decisions: { state: VersionState; decision: Decision }[]): void {
    const ts = Date.parse(event.ts);
    this.watermark = Math.max(this.watermark, ts);
    const stored: StoredPrediction = {
      id: event.id,
      model: event.model,
      version: event.version,
      ts,
      features: JSON.stringify(event.features),
      output: JSON.stringify(event.output),
    };
    // An early label was checked against the model's newest version; this prediction's may differ.
    const manifest = this.opts.catalog.get(event.model, event.version);
    const judge = manifest && ((label: string) => labelProblem(manifest, JSON.parse(label) as string | number));
    const result = this.opts.store.addPrediction(stored, judge);
    if (result.status === 'pending' && result.rejectedLabel) {
      const { label, labeledTs, reason } = result.rejectedLabel;
      this.deadLetterLabel({ id: event.id, model: event.model, label: JSON.parse(label) as string | number, ts: labeledTs }, `the prediction was made by version ${event.version}: ${reason}`);
    }
    if (result.status === 'duplicate') {
      this.countLater.push(() => this.metrics.duplicates.inc({ kind: 'prediction' }));
      return;
    }
    const state = this.versionState(event.model, event.version);
    if (!state) return;
    touched.add(state);
    const row: Record<string, number | string | null | undefined> = { ...(event.features as Record<string, number | string | null>) };
    row[PREDICTION_COLUMN] = predictedValue(event);
    if (!state.collectReference(row)) {
      state.window.add(row, ts);
      while (state.window.ready(ts)) this.evaluateDataWindow(state, decisions);
    }
    if (result.status === 'joined') {
      const label = JSON.parse(result.label) as string | number;
      this.applyJoin(state, predictedValue(event), label, ts, result.labeledTs, touched, decisions);
      this.publishJoined(state, event.id, ts, result.labeledTs, stored.features, event.output, label);
    }
  }

  private applyLabel(event: LabelEvent, touched: Set<VersionState>, decisions: { state: VersionState; decision: Decision }[]): void {
    const ts = Date.parse(event.ts);
    this.watermark = Math.max(this.watermark, ts);
    // joinProblem has turned away labels the version cannot judge; this catches a manifest it lacked then
    const judge = (p: { model: string; version: number }) => {
      const manifest = this.opts.catalog.get(p.model, p.version);
      const problem = manifest && labelProblem(manifest, event.label);
      return problem && `the prediction was made by version ${p.version}: ${problem}`;
    };
    const result = this.opts.store.addLabel({ id: event.id, model: event.model, label: JSON.stringify(event.label), ts }, judge, this.waitingFor.get(event));
    if (result.status === 'duplicate') {
      // The first label of a pair is kept (docs/monitoring.md, "Second labels"); repeats and conflicts are counted.
      const value = result.sameValue ? 'same' : 'different';
      this.countLater.push(() => {
        this.metrics.duplicates.inc({ kind: 'label' });
        this.metrics.labelDuplicates.inc({ model: event.model, value });
      });
      return;
    }
    if (result.status === 'rejected') {
      this.deadLetterLabel({ id: event.id, model: event.model, label: event.label, ts }, result.reason);
      return;
    }
    if (result.status !== 'joined') return;
    const p = result.prediction;
    const state = this.versionState(p.model, p.version);
    if (!state) return;
    touched.add(state);
    const output = JSON.parse(p.output) as PredictionEvent['output'];
    this.applyJoin(state, predictedValue({ output }), event.label, p.ts, ts, touched, decisions);
    const features = this.opts.publishLabeled === false ? undefined : this.opts.store.featuresOf(event.id, p.model);
    if (features !== undefined) this.publishJoined(state, event.id, p.ts, ts, features, output, event.label);
  }

  /**
   * Hands a joined example to the retrain loop (`driftgate.labeled`, key = model) through the outbox,
   * in the batch's transaction: every monitor of a group publishes its share, and the retrainer that
   * owns the model sees them all.
   */
  private publishJoined(state: VersionState, id: string, ts: number, labelTs: number, featuresJson: string, output: PredictionEvent['output'], label: string | number): void {
    if (this.opts.publishLabeled === false) return;
    const { name: model, version } = state.manifest;
    const message = toLabeledMessage(
      {
        id,
        model,
        version,
        ts: new Date(ts).toISOString(),
        label_ts: new Date(labelTs).toISOString(),
        features: JSON.parse(featuresJson) as LabeledEvent['features'],
        label: normaliseLabel(state.manifest, label),
        output,
      },
      this.opts.source ?? '/driftgate/monitor',
    );
    this.opts.store.addOutbox(this.opts.topics.labeled, message.key, JSON.stringify(message));
    this.outboxPending = true;
  }

  private applyJoin(
    state: VersionState,
    predicted: string | number,
    label: string | number,
    predictionTs: number,
    labelTs: number,
    touched: Set<VersionState>,
    decisions: { state: VersionState; decision: Decision }[],
  ): void {
    touched.add(state);
    const model = state.manifest.name;
    const actual = normaliseLabel(state.manifest, label);
    state.performance.add(predicted, actual);
    state.joined += 1;
    this.countLater.push(() => {
      this.metrics.labelsJoined.inc({ model });
      this.metrics.labelLag.observe({ model }, Math.max(0, labelTs - predictionTs) / 1000);
    });
    this.countCoverage(model, 1, 0);

    state.labelWindow.add({ [LABEL_COLUMN]: actual }, labelTs);
    while (state.labelWindow.ready(labelTs)) this.evaluateLabelWindow(state);

    if (state.joined % this.performanceEvery === 0) this.judgePerformance(state, labelTs, decisions);
  }

  private evaluateDataWindow(state: VersionState, decisions: { state: VersionState; decision: Decision }[]): void {
    const contents = state.window.take();
    const references = state.references;
    if (!references) return;
    const policy = state.policy;
    const report = evaluateWindow({
      contents,
      references,
      features: state.featureNames,
      overrides: state.overrides,
      thresholds: policy.thresholds,
      datasetDriftShare: policy.datasetDriftShare,
      bonferroni: policy.bonferroni,
    });
    const { name: model, version } = state.manifest;
    const labels = { model, version: String(version) };
    for (const c of report.columns) {
      this.metrics.driftScore.set({ ...labels, feature: c.column, test: c.test }, finiteOr(c.score, 1e9));
      if (c.pValue !== undefined) this.metrics.driftPValue.set({ ...labels, feature: c.column, test: c.test }, c.pValue);
      this.metrics.featureDrifted.set({ ...labels, feature: c.column }, c.drifted ? 1 : 0);
    }
    this.metrics.driftShare.set(labels, report.share);
    this.metrics.driftDetected.set(labels, report.datasetDrift ? 1 : 0);
    this.countLater.push(() => this.metrics.windows.inc({ ...labels, kind: 'data', result: report.datasetDrift ? 'drift' : 'no_drift' }));
    state.lastWindow = report;
    state.history.addWindow(report);
    this.logger.debug('window evaluated', { model, version, window: report.windowIndex, share: report.share, drift: report.datasetDrift });

    const verdict = {
      windowIndex: report.windowIndex,
      endTime: report.endTime,
      datasetDrift: report.datasetDrift,
      share: report.share,
      samples: report.samples,
      drifted: report.features
        .filter((f) => f.drifted)
        .map((f) => (f.pValue === undefined ? { feature: f.column, test: f.test, score: f.score } : { feature: f.column, test: f.test, score: f.score, pValue: f.pValue })),
    };
    const result = onWindow(policy, state.policyState, verdict);
    state.policyState = result.state;
    const prediction = report.prediction;
    for (const decision of result.decisions) {
      if (prediction && decision.type === 'drift.detected') decision.evidence['prediction'] = columnEvidence(prediction);
      const label = state.lastLabelDrift;
      if (label && decision.type === 'drift.detected') decision.evidence['label'] = columnEvidence(label);
      decisions.push({ state, decision });
    }
  }

  private evaluateLabelWindow(state: VersionState): void {
    const contents = state.labelWindow.take();
    const reference = state.labelReference;
    if (!reference) return;
    const drift = evaluateLabels(reference, contents, LABEL_COLUMN, state.policy.thresholds);
    if (!drift) return;
    const { name: model, version } = state.manifest;
    const labels = { model, version: String(version) };
    this.metrics.driftScore.set({ ...labels, feature: LABEL_COLUMN, test: drift.test }, finiteOr(drift.score, 1e9));
    if (drift.pValue !== undefined) this.metrics.driftPValue.set({ ...labels, feature: LABEL_COLUMN, test: drift.test }, drift.pValue);
    this.metrics.featureDrifted.set({ ...labels, feature: LABEL_COLUMN }, drift.drifted ? 1 : 0);
    this.countLater.push(() => this.metrics.windows.inc({ ...labels, kind: 'label', result: drift.drifted ? 'drift' : 'no_drift' }));
    state.lastLabelDrift = drift;
  }

  private judgePerformance(state: VersionState, time: number, decisions: { state: VersionState; decision: Decision }[]): void {
    const current = state.performance.current();
    const { name: model, version } = state.manifest;
    const labels = { model, version: String(version) };
    state.history.addPerformance(time, current);
    if (current.task === 'classification') {
      this.metrics.accuracy.set(labels, current.accuracy);
      this.metrics.f1.set(labels, current.macroF1);
    } else {
      this.metrics.mae.set(labels, current.mae);
      this.metrics.rmse.set(labels, current.rmse);
    }
    this.metrics.performanceLabels.set(labels, current.count);
    const metric = state.metric;
    const live = liveMetric(current, metric);
    if (live === undefined) return;
    const expected = expectedMetric(state.manifest.metrics, metric);
    const drop = expected === undefined ? undefined : performanceDrop(metric, expected, live);
    if (drop !== undefined) this.metrics.performanceDrop.set({ ...labels, metric }, drop);
    const result = onPerformance(state.policy, state.policyState, { time, metric, live, expected, drop, labels: current.count });
    state.policyState = result.state;
    for (const decision of result.decisions) decisions.push({ state, decision });
  }

  /**
   * A label the consumer's checks could not turn away (it had waited for its prediction, or its
   * version's manifest was not known then) goes to the dead-letter topic through the outbox, in the
   * batch's transaction, with the reason and the labels topic as its source (its offset is long
   * committed, so there is none).
   */
  private deadLetterLabel(label: { id: string; model: string; label: string | number; ts: number }, reason: string): void {
    const { topics, store } = this.opts;
    const event: LabelEvent = { schema: EVENT_SCHEMA_VERSION, id: label.id, model: label.model, label: label.label, ts: new Date(label.ts).toISOString() };
    const message: OutgoingMessage = {
      key: label.id,
      value: JSON.stringify(event),
      headers: { [DEAD_LETTER_HEADERS.reason]: reason.slice(0, 1000), [DEAD_LETTER_HEADERS.topic]: topics.labels },
    };
    store.addOutbox(topics.deadLetter, message.key, JSON.stringify(message));
    this.outboxPending = true;
    this.countLater.push(() => {
      // the consumer's counter, shared through the registry (absent when the monitor runs without a bus)
      const counter = this.opts.registry.getSingleMetric('driftgate_events_dead_lettered_total') as Counter<'topic' | 'reason'> | undefined;
      counter?.inc({ topic: topics.labels, reason: 'rejected' });
      this.logger.warn('event dead-lettered', { topic: topics.labels, id: label.id, model: label.model, reason: reason.slice(0, 300) });
    });
  }

  /** Durable part of a decision: history row and, for bus event types, an outbox entry. */
  private recordDecision(state: VersionState, decision: Decision): void {
    const { name: model, version } = state.manifest;
    const details = { ...decision.evidence, ...('reason' in decision ? { reason: decision.reason } : {}), ...('kind' in decision ? { kind: decision.kind } : {}) };
    this.opts.store.addDecision(model, version, decision.type, decision.time, details);
    if (decision.type === 'drift.cleared') return;
    const message = toModelEventMessage(
      { type: decision.type, model, version, ts: new Date(decision.time).toISOString(), details },
      this.opts.source ?? '/driftgate/monitor',
    );
    this.opts.store.addOutbox(this.opts.topics.modelEvents, message.key, JSON.stringify(message));
  }

  /** Logs and metrics of a decision, once its transaction has committed. */
  private reportDecision(state: VersionState, decision: Decision): void {
    const { name: model, version } = state.manifest;
    const reason = 'reason' in decision ? decision.reason : decision.kind;
    this.metrics.decisions.inc({ model, type: decision.type, reason });
    this.metrics.lastDecision.set({ model, type: decision.type }, decision.time / 1000);
    this.logger.info('monitor decision', { model, version, type: decision.type, reason, evidence: decision.evidence });
  }

  /**
   * Publishes what the outbox holds (decisions, and labels the join dead-lettered), in order; on
   * failure the entries stay and are retried with the next batch.
   */
  async flushOutbox(): Promise<void> {
    if (this.outboxBusy) return;
    this.outboxBusy = true;
    try {
      await drainOutbox(this.opts.store, this.opts.bus);
      this.outboxPending = false;
    } catch (err) {
      this.outboxPending = true;
      this.logger.warn('could not publish monitor decisions; they stay in the outbox and go with the next batch', { error: describeError(err) });
    } finally {
      this.outboxBusy = false;
    }
  }

  private async readLag(): Promise<void> {
    const { bus, topics } = this.opts;
    try {
      const rows = await bus.consumerLag(this.groupId, [topics.predictions, topics.labels]);
      const byTopic = new Map<string, number>([
        [topics.predictions, 0],
        [topics.labels, 0],
      ]);
      for (const r of rows) byTopic.set(r.topic, (byTopic.get(r.topic) ?? 0) + r.lag);
      for (const [topic, lag] of byTopic) this.metrics.consumerLag.set({ topic }, lag);
    } catch (err) {
      this.logger.debug('could not read consumer lag', { error: describeError(err) });
    }
  }

  private versionState(model: string, version: number): VersionState | undefined {
    const key = stateKey(model, version);
    const known = this.versions.get(key);
    if (known) return known;
    const manifest = this.opts.catalog.get(model, version);
    if (!manifest) return undefined;
    const policy = policyFor(this.opts.policy, model);
    const snapshot = this.opts.store.getState<ConstructorParameters<typeof VersionState>[2]>(key);
    let previous: VersionState | undefined;
    const newest = this.newestVersion.get(model);
    if (!snapshot && newest !== undefined && newest !== version) previous = this.versions.get(stateKey(model, newest));
    const state = new VersionState(manifest, policy, snapshot, previous?.policyState);
    this.storedHistories.delete(key);
    for (const problem of state.overrideProblems) this.logger.error('drift policy override ignored', { model, version, problem });
    this.versions.set(key, state);
    if (newest === undefined || version > newest) this.newestVersion.set(model, version);
    return state;
  }

  private countCoverage(model: string, joined: number, expired: number): void {
    let c = this.coverage.get(model);
    if (!c) this.coverage.set(model, (c = this.opts.store.getState<{ joined: number; expired: number }>(`coverage:${model}`) ?? { joined: 0, expired: 0 }));
    this.coverageTouched.add(model);
    c.joined += joined;
    c.expired += expired;
    this.metrics.labelCoverage.set({ model }, c.joined / Math.max(1, c.joined + c.expired));
  }

  /** Per-version summaries for the status endpoint. */
  summaries(): VersionSummary[] {
    return [...this.versions.values()].map((state) => {
      const { name: model, version } = state.manifest;
      const current = state.performance.current();
      const expected = expectedMetric(state.manifest.metrics, state.metric);
      const live = liveMetric(current, state.metric);
      return {
        model,
        version,
        reference: state.liveReference ? 'collecting' : state.manifest.reference ? 'manifest' : 'live',
        lastWindow: state.lastWindow,
        lastLabelDrift: state.lastLabelDrift,
        performance: current,
        expected,
        drop: expected === undefined || live === undefined ? undefined : performanceDrop(state.metric, expected, live),
        policy: state.policyState,
      };
    });
  }

  /**
   * The model's performance verdicts and drift windows over time, across its versions, oldest first.
   * Versions this process has not touched since it started (an old version after a restart) are
   * read from their stored snapshot. Undefined when the monitor knows no version of the model.
   */
  timeline(model: string, limit = 500, windowLimit = 60): ModelTimeline | undefined {
    const histories = new Map<number, VersionHistory>();
    let task: ModelTimeline['task'] | undefined;
    for (const state of this.versions.values()) {
      if (state.manifest.name !== model) continue;
      histories.set(state.manifest.version, state.history);
      task = state.manifest.task;
    }
    for (const key of this.opts.store.stateKeys(`version:${model}:`)) {
      const version = Number(key.slice(key.lastIndexOf(':') + 1));
      if (!Number.isInteger(version) || histories.has(version)) continue;
      const manifest = this.opts.catalog.get(model, version) ?? this.opts.catalog.latest(model);
      if (!manifest) continue;
      let history = this.storedHistories.get(key);
      if (!history) {
        history = VersionHistory.restore(this.opts.store.getState<{ history?: unknown }>(key)?.history, manifest.task);
        this.storedHistories.set(key, history);
      }
      histories.set(version, history);
      task ??= manifest.task;
    }
    if (task === undefined) return undefined;
    const points: ModelTimeline['points'] = [];
    const windows: ModelTimeline['windows'] = [];
    for (const [version, history] of histories) {
      for (const p of history.performance()) points.push({ ...p, version });
      for (const w of history.windows()) windows.push({ ...w, version });
    }
    const byTime = (a: { ts: number; version: number }, b: { ts: number; version: number }) => a.ts - b.ts || a.version - b.version;
    return { model, task, points: points.sort(byTime).slice(-limit), windows: windows.sort(byTime).slice(-windowLimit) };
  }

  /** Decision history from the store. */
  decisions(model?: string, limit?: number) {
    return this.opts.store.decisions(model, limit);
  }
}

/** Prediction id to the models (and versions) that predicted it, over one batch. */
function indexById(predictions: readonly PredictionEvent[]): Map<string, Map<string, number>> {
  const byId = new Map<string, Map<string, number>>();
  for (const p of predictions) {
    let models = byId.get(p.id);
    if (!models) byId.set(p.id, (models = new Map()));
    if (!models.has(p.model)) models.set(p.model, p.version);
  }
  return byId;
}

function stateKey(model: string, version: number): string {
  return `version:${model}:${version}`;
}

function liveMetric(current: ReturnType<VersionState['performance']['current']>, metric: string): number | undefined {
  if (current.count === 0) return undefined;
  if (current.task === 'classification') return metric === 'accuracy' ? current.accuracy : metric === 'f1' ? current.macroF1 : undefined;
  return metric === 'mae' ? current.mae : metric === 'rmse' ? current.rmse : undefined;
}

function columnEvidence(c: ColumnDrift): Record<string, unknown> {
  return { test: c.test, score: finiteOr(c.score, null), pValue: c.pValue, drifted: c.drifted };
}

/** JSON and Prometheus both dislike Infinity (an unseen category gives a chi-squared of Infinity). */
function finiteOr<T>(x: number, fallback: T): number | T {
  return Number.isFinite(x) ? x : fallback;
}
