// The post-promotion watch: once a promoted version has `watchLabels` labels of its own, its live
// score is compared with a baseline (the champion's score on the gate's holdout after a loop
// promotion, the previous version's recent live score after a promotion by hand); a version worse than
// that by more than `watchTolerance` is rolled back, and `model.rolled_back` is announced through the
// store's outbox.
import { describeError, toModelEventMessage } from '../core/index.js';
import type { Logger, ModelEvent, ModelRepository } from '../core/index.js';
import { liveScore } from './examples.js';
import type { LiveScore } from './examples.js';
import type { RetrainMetrics } from './metrics.js';
import type { RetrainStore, Watch } from './store.js';

export interface PromotionWatchDeps {
  store: RetrainStore;
  repo: ModelRepository;
  settings: { watchLabels: number; watchTolerance: number };
  logger: Logger;
  metrics: RetrainMetrics;
  /** The model-events topic. */
  topic: string;
  source: string;
  /** Asks for the outbox to be published. */
  flush: () => void;
}

/**
 * How far the live score falls short of the baseline, in the gate's units: accuracy points for a
 * score where higher is better, the relative increase for an error. Positive = worse.
 */
export function watchShortfall(watch: Pick<Watch, 'baseline' | 'higherIsBetter'>, live: Pick<LiveScore, 'value'>): number {
  if (watch.higherIsBetter) return watch.baseline - live.value;
  if (watch.baseline === 0) return live.value > 0 ? Infinity : 0;
  return (live.value - watch.baseline) / watch.baseline;
}

export class PromotionWatch {
  constructor(private readonly deps: PromotionWatchDeps) {}

  /** A promotion made by hand is watched against the previous version's recent live score. */
  watchPromotion(e: ModelEvent): void {
    const { store, settings, logger } = this.deps;
    const previous = typeof e.details['from'] === 'number' ? e.details['from'] : undefined;
    if (previous === undefined || previous === e.version) return;
    const before = liveScore(store.examplesOfVersion(e.model, previous, settings.watchLabels));
    if (!before || before.rows < Math.min(50, settings.watchLabels)) {
      logger.info('not watching a promotion: too few labels of the previous version to compare with', { model: e.model, version: e.version, previous });
      return;
    }
    store.putWatch({
      model: e.model,
      version: e.version,
      previous,
      metric: before.metric,
      higherIsBetter: before.higherIsBetter,
      baseline: before.value,
      job: null,
      // Only predictions made after the promotion judge it: a version promoted back may have old labels.
      startedAt: Date.parse(e.ts),
    });
  }

  /** Judges a watch once its version has enough labels: ends it, or rolls the promotion back. */
  async judge(watch: Watch): Promise<void> {
    const { store, repo, settings, logger } = this.deps;
    const current = store.watch(watch.model);
    if (!current || current.version !== watch.version) return;
    // Only predictions the version made since it was promoted count: a version promoted again (a
    // rollback by hand, an old version forced back) may hold labels from its earlier time in service.
    const live = liveScore(store.examplesOfVersion(watch.model, watch.version, settings.watchLabels, watch.startedAt));
    if (!live || live.rows < settings.watchLabels) return;
    const job = watch.job ? store.job(watch.job) : undefined;
    if (watchShortfall(watch, live) <= settings.watchTolerance) {
      store.transaction(() => {
        store.endWatch(watch.model);
        if (job) {
          job.watch = { rows: live.rows, live: live.value, baseline: watch.baseline, outcome: 'kept' };
          store.putJob(job);
        }
      });
      logger.info('promoted version passed its watch', { model: watch.model, version: watch.version, live: live.value, baseline: watch.baseline });
      return;
    }
    const reason = `live ${live.metric} ${live.value.toFixed(4)} over ${live.rows} labels is worse than the baseline ${watch.baseline.toFixed(4)} by more than ${settings.watchTolerance}`;
    try {
      await repo.rollback(watch.model, { to: watch.previous, reason: `watch: ${reason}`, ...(watch.job ? { job: watch.job } : {}) });
    } catch (err) {
      logger.error('could not roll back a promoted version', { model: watch.model, version: watch.version, error: describeError(err) });
      return;
    }
    const ts = new Date().toISOString();
    store.transaction(() => {
      store.endWatch(watch.model);
      if (job) {
        job.watch = { rows: live.rows, live: live.value, baseline: watch.baseline, outcome: 'rolled_back' };
        store.putJob(job);
      }
      const details = { from: watch.version, to: watch.previous, reason, live: live.value, baseline: watch.baseline, by: 'retrainer', ...(watch.job ? { job: watch.job } : {}), ...(job ? { record: job } : {}) };
      const message = toModelEventMessage({ type: 'model.rolled_back', model: watch.model, version: watch.previous, ts, details }, this.deps.source);
      store.addOutbox(this.deps.topic, message.key, JSON.stringify(message));
    });
    this.deps.metrics.rollbacks.inc({ model: watch.model });
    logger.warn('promoted version rolled back by its watch', { model: watch.model, from: watch.version, to: watch.previous, reason });
    this.deps.flush();
  }
}
