// The join of predictions and labels by (model, prediction id), in the store: the checks that turn a
// label that cannot join away before its batch is applied, the store side of each event, expiry of
// what waited too long, and the gauges of what is still waiting.
import type { EventBatch, EventChecks, LabelEvent, PredictionEvent } from '../core/index.js';
import type { BatchEffects } from './batch-effects.js';
import type { ModelCatalog } from './catalog.js';
import type { MonitorMetrics } from './metrics.js';
import type { MonitorOutbox } from './monitor-outbox.js';
import type { Expired, ExpiryBounds, MonitorStore, StoredPrediction, WaitingPrediction } from './store.js';
import { checkLabel, checkPrediction, joinProblem, labelProblem } from './validate.js';

export interface PredictionLabelJoinDeps {
  store: MonitorStore;
  catalog: ModelCatalog;
  outbox: MonitorOutbox;
  metrics: MonitorMetrics;
  bounds: ExpiryBounds;
}

/** A stored prediction, with the label that was waiting for it, if any. */
export interface AddedPrediction {
  stored: StoredPrediction;
  joined: { label: string | number; labeledTs: number } | undefined;
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

export class PredictionLabelJoin {
  /** Per prediction id in the batch being checked: the models (and versions) that predicted it. */
  private batchPredictions = new Map<string, Map<string, number>>();
  /** The waiting prediction (or null: none) the checks found for a label, so applying it looks up nothing more. */
  private readonly waitingFor = new WeakMap<LabelEvent, WaitingPrediction | null>();
  /** Models whose early-label gauge was set, so one that empties is set back to 0. */
  private readonly earlyReported = new Set<string>();

  constructor(private readonly deps: PredictionLabelJoinDeps) {}

  /** The consumer's checks of a batch, before it is applied: an event they refuse is dead-lettered on its own. */
  readonly checks: EventChecks = {
    prepare: async (batch: EventBatch) => {
      const { catalog } = this.deps;
      await catalog.ensure(batch.predictions.map((p) => [p.model, p.version] as const));
      await catalog.ensureModels(batch.labels.map((l) => l.model));
      this.batchPredictions = indexById(batch.predictions);
    },
    prediction: (event) => checkPrediction(this.deps.catalog, event),
    label: (event) => checkLabel(this.deps.catalog, event) ?? this.checkJoin(event),
  };

  /**
   * Stores a prediction (event time `ts`) and joins it with a label that waited for it. Undefined
   * when the store had it already (counted as a duplicate).
   */
  addPrediction(event: PredictionEvent, ts: number, effects: BatchEffects): AddedPrediction | undefined {
    const { store, catalog, outbox, metrics } = this.deps;
    const stored: StoredPrediction = {
      id: event.id,
      model: event.model,
      version: event.version,
      ts,
      features: JSON.stringify(event.features),
      output: JSON.stringify(event.output),
    };
    // An early label was checked against the model's newest version; this prediction's may differ.
    const manifest = catalog.get(event.model, event.version);
    const judge = manifest && ((label: string) => labelProblem(manifest, JSON.parse(label) as string | number));
    const result = store.addPrediction(stored, judge);
    if (result.status === 'pending' && result.rejectedLabel) {
      const { label, labeledTs, reason } = result.rejectedLabel;
      const rejected = { id: event.id, model: event.model, label: JSON.parse(label) as string | number, ts: labeledTs };
      outbox.deadLetterLabel(rejected, `the prediction was made by version ${event.version}: ${reason}`, effects);
    }
    if (result.status === 'duplicate') {
      effects.afterCommit(() => metrics.duplicates.inc({ kind: 'prediction' }));
      return undefined;
    }
    const joined = result.status === 'joined' ? { label: JSON.parse(result.label) as string | number, labeledTs: result.labeledTs } : undefined;
    return { stored, joined };
  }

  /**
   * Stores a label (event time `ts`) and joins it with its waiting prediction, which it returns.
   * Undefined when there is none yet, or the label is a repeat (counted) or rejected (dead-lettered).
   */
  addLabel(event: LabelEvent, ts: number, effects: BatchEffects): Omit<StoredPrediction, 'features'> | undefined {
    const { store, catalog, outbox, metrics } = this.deps;
    // joinProblem has turned away labels the version cannot judge; this catches a manifest it lacked then
    const judge = (p: { model: string; version: number }) => {
      const manifest = catalog.get(p.model, p.version);
      const problem = manifest && labelProblem(manifest, event.label);
      return problem && `the prediction was made by version ${p.version}: ${problem}`;
    };
    const result = store.addLabel({ id: event.id, model: event.model, label: JSON.stringify(event.label), ts }, judge, this.waitingFor.get(event));
    if (result.status === 'duplicate') {
      // The first label of a pair is kept (docs/monitoring.md, "Second labels"); repeats and conflicts are counted.
      const value = result.sameValue ? 'same' : 'different';
      effects.afterCommit(() => {
        metrics.duplicates.inc({ kind: 'label' });
        metrics.labelDuplicates.inc({ model: event.model, value });
      });
      return undefined;
    }
    if (result.status === 'rejected') {
      outbox.deadLetterLabel({ id: event.id, model: event.model, label: event.label, ts }, result.reason, effects);
      return undefined;
    }
    return result.status === 'joined' ? result.prediction : undefined;
  }

  /** Drops what waited past the bounds at event time `now`, counted once the batch has committed. */
  expire(now: number, effects: BatchEffects): Expired[] {
    const expired = this.deps.store.expire(now, this.deps.bounds);
    for (const e of expired) effects.afterCommit(() => this.deps.metrics.expired.inc({ model: e.model, kind: e.kind, reason: e.reason }, e.count));
    return expired;
  }

  /** Sets the gauges of predictions and labels still waiting for their other half. */
  reportWaiting(): void {
    const { store, metrics } = this.deps;
    const pending = store.pendingCounts();
    metrics.pending.set({ kind: 'prediction' }, pending.predictions);
    metrics.pending.set({ kind: 'label' }, pending.labels);
    const early = store.earlyLabelCounts();
    for (const model of this.earlyReported) if (!early.has(model)) metrics.earlyLabels.set({ model }, 0);
    this.earlyReported.clear();
    for (const [model, n] of early) {
      metrics.earlyLabels.set({ model }, n);
      this.earlyReported.add(model);
    }
  }

  /**
   * The label's side of the join, checked before its batch is applied so a label that cannot join is
   * dead-lettered on its own (joinProblem). The store is written only by this subscription's handler,
   * which has finished the previous batch, so reading it here sees every pair applied so far.
   */
  private checkJoin(event: LabelEvent): string | undefined {
    const pairs = this.deps.store.pairsOf(event.id);
    const inBatch = this.batchPredictions.get(event.id);
    const problem = joinProblem(this.deps.catalog, event, pairs, inBatch);
    // What applying the label needs to know, unless a prediction of the batch may change it
    if (problem === undefined && !inBatch?.has(event.model)) {
      const pair = pairs.find((p) => p.model === event.model);
      this.waitingFor.set(event, pair?.hasPrediction && !pair.hasLabel ? pair.prediction : null);
    }
    return problem;
  }
}
