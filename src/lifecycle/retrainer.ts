// The retrainer: the loop's actor. It keeps a window of joined examples per model (from
// `driftgate.labeled`), turns `retrain.requested` events and admin requests into jobs, and runs each
// job through its phases: data (choose the training rows, the holdout and the replay share), train
// (fine-tune the champion in a worker thread into a candidate version of the same format), gate
// (score champion and challenger on the holdout and, for data drift, the reference holdout), swap
// (promote through the repository's serving pointer and announce it with `model.promoted`). After a
// promotion it watches the new version's live metric and rolls back when it falls short.
//
// One job per model at a time; requests while one is open are folded into it. Jobs are stored with
// their events in one transaction (an outbox), so a restart resumes or retries a job once and never
// promotes it twice.
import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import { consumeEvents, describeError, drainOutbox, isPromotable, subscribeInBackground, toModelEventMessage } from '../core/index.js';
import type { EventBus, EventTopics, LabeledEvent, Logger, Manifest, ModelEvent, ModelEventType, ModelRepository, Subscription } from '../core/index.js';
import { estimateOnset, hashSeed, sampleRows, selectExamples } from './examples.js';
import type { Example, SelectionRules } from './examples.js';
import { decideGate } from './gate.js';
import type { GateScores } from './gate.js';
import { createRetrainMetrics } from './metrics.js';
import { PromotionWatch } from './watch.js';
import type { RetrainMetrics } from './metrics.js';
import { FINAL_STATES } from './store.js';
import type { Phase, RetrainJob, RetrainStore, Watch } from './store.js';

/** A version as the backend needs it. */
export interface VersionRef {
  dir: string;
  manifest: Manifest;
}

/** A labeled row for training or scoring. */
export interface LabeledRow {
  features: Record<string, number | string | boolean | null>;
  label: string | number;
}

export interface Score {
  metric: string;
  higherIsBetter: boolean;
  /** Rows that could be scored (rows with missing or unseen values are left out). */
  rows: number;
  value: number;
}

/** What the retrainer needs done that it does not do itself: training, scoring, reading samples. */
export interface RetrainBackend {
  /** Fine-tunes `champion` on `rows` and writes the result as a candidate version of the same format. */
  train(request: {
    model: string;
    champion: VersionRef;
    rows: LabeledRow[];
    jobId: string;
    trigger: string;
    signal: AbortSignal;
  }): Promise<VersionRef & { version: number }>;
  /** Scores a version on labeled rows with its serving runtime. */
  score(version: VersionRef, rows: readonly LabeledRow[]): Promise<Score>;
  /** The version's stored sample of its training rows: `train` for replay, `holdout` for the reference check. */
  trainingSample(version: VersionRef): Promise<{ train: LabeledRow[]; holdout: LabeledRow[] }>;
}

export interface RetrainSettings {
  selection: SelectionRules;
  /** Replay rows as a share of the new training rows, for data-drift and manual retrains. */
  replayShare: number;
  gate: { margin: number; tolerance: number };
  /** Labels of a promoted version before the watch judges it. */
  watchLabels: number;
  /** How much worse than its baseline a promoted version may be live before it is rolled back. */
  watchTolerance: number;
  /** Longest a training may run; past it the job fails. */
  trainTimeoutMs: number;
  /** How long a job after a concept change may wait for enough labels since the change. */
  waitMs: number;
}

export interface RetrainerOptions {
  bus: EventBus;
  topics: EventTopics;
  store: RetrainStore;
  repo: ModelRepository;
  backend: RetrainBackend;
  registry: Registry;
  logger: Logger;
  groupId: string;
  settings: RetrainSettings;
  /** `ce_source` of the events it publishes. @defaultValue '/driftgate/retrainer' */
  source?: string;
}

/** Thrown inside a job to end it as failed (or cancelled) with a sentence for the record. */
class JobEnd extends Error {
  constructor(
    message: string,
    readonly state: 'failed' | 'cancelled' = 'failed',
  ) {
    super(message);
  }
}

/** Whether the job runs as a manual retrain: asked by an operator, or an operator's request folded into it. */
function isManual(job: RetrainJob): boolean {
  return job.trigger.reason === 'manual' || job.trigger.manual === true;
}

export class Retrainer {
  readonly metrics: RetrainMetrics;
  private subscription: Subscription | undefined;
  private readonly running = new Map<string, Promise<void>>();
  private readonly aborts = new Map<string, AbortController>();
  /** Models whose open job waits for more labels. */
  private readonly waiting = new Set<string>();
  /**
   * The one copy of each job handed to run() until it ends: a request folded into the job while it
   * runs or waits changes this copy, so the run's own writes do not undo it.
   */
  private readonly live = new Map<string, RetrainJob>();
  /** Models whose counters exist. */
  private readonly seen = new Set<string>();
  private outboxBusy = false;
  private stopped = false;
  private readonly source: string;

  private readonly watch: PromotionWatch;

  constructor(private readonly opts: RetrainerOptions) {
    this.metrics = createRetrainMetrics(opts.registry);
    this.source = opts.source ?? '/driftgate/retrainer';
    this.watch = new PromotionWatch({
      store: opts.store,
      repo: opts.repo,
      settings: opts.settings,
      logger: opts.logger,
      metrics: this.metrics,
      topic: opts.topics.modelEvents,
      source: this.source,
      flush: () => void this.flushOutbox(),
    });
  }

  async start(): Promise<void> {
    for (const job of this.opts.store.openJobs()) this.recover(job);
    // In the background: with the bus down, `driftgate serve` still starts and serves; the retrainer
    // joins its group once the bus answers.
    this.subscription = subscribeInBackground(
      () =>
        consumeEvents({
          bus: this.opts.bus,
          groupId: this.opts.groupId,
          topics: this.opts.topics,
          fromBeginning: true,
          registry: this.opts.registry,
          logger: this.opts.logger,
          handlers: {
            modelEvents: (events) => this.onModelEvents(events),
            labeled: (events) => this.onLabeled(events),
          },
        }),
      this.opts.logger,
      'the retrain loop',
    );
    void this.flushOutbox();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.subscription?.stop();
    for (const a of this.aborts.values()) a.abort();
    await Promise.allSettled([...this.running.values()]);
  }

  /** Jobs of a model, newest first. */
  jobs(model: string, limit = 50): RetrainJob[] {
    return this.opts.store.jobs(model, limit);
  }

  /** Waits until no job runs (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  /**
   * Asks for a retrain of `model`. While a job of the model is open the request is folded into it and
   * that job is returned.
   */
  request(model: string, trigger: { reason: string; version?: number; since?: string }): RetrainJob {
    const { store } = this.opts;
    this.touch(model);
    const stored = store.openJobs().find((j) => j.model === model);
    const open = stored && (this.live.get(stored.id) ?? stored);
    if (open) {
      open.trigger.coalesced += 1;
      open.updatedAt = new Date().toISOString();
      // An operator's request does not wait behind the monitor's: a job waiting for labels or for a
      // watch goes now, on the window as a manual retrain takes it.
      const wakes = trigger.reason === 'manual' && !isManual(open) && open.waiting !== undefined;
      if (trigger.reason === 'manual') open.trigger.manual = true;
      store.putJob(open);
      this.opts.logger.info('retrain request folded into the open job', { model, job: open.id, reason: trigger.reason, ...(wakes ? { wakes: true } : {}) });
      if (wakes && this.waiting.delete(model)) this.kick(open);
      return open;
    }
    const now = new Date().toISOString();
    const job: RetrainJob = {
      id: `${model}-${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`,
      model,
      state: 'queued',
      trigger: { reason: trigger.reason, requestedAt: now, coalesced: 0, ...(trigger.version !== undefined ? { version: trigger.version } : {}), ...(trigger.since ? { since: trigger.since } : {}) },
      createdAt: now,
      updatedAt: now,
      attempts: 0,
      phases: {},
    };
    store.putJob(job);
    this.metrics.activeJobs.inc({ model });
    this.opts.logger.info('retrain job queued', { model, job: job.id, reason: trigger.reason });
    this.kick(job);
    return job;
  }

  private recover(job: RetrainJob): void {
    this.touch(job.model);
    this.metrics.activeJobs.inc({ model: job.model });
    if (job.state === 'promoting') {
      this.schedule(job.model, () => this.finishPromotion(job));
      return;
    }
    if (job.state !== 'queued' && job.attempts >= 2) {
      this.schedule(job.model, async () => this.end(job, 'failed', `interrupted twice (last in ${job.state}); not retried again`));
      return;
    }
    this.opts.logger.info('resuming a retrain job after a restart', { model: job.model, job: job.id, state: job.state });
    this.kick(job);
  }

  private kick(job: RetrainJob): void {
    const live = this.live.get(job.id) ?? job;
    this.live.set(job.id, live);
    this.schedule(job.model, () => this.run(live));
  }

  /** Runs `fn` after whatever the model is already running, so one model has one job at a time. */
  private schedule(model: string, fn: () => Promise<void>): void {
    const previous = this.running.get(model) ?? Promise.resolve();
    const next = previous.then(fn).catch((err) => this.opts.logger.error('retrain job crashed', { model, error: describeError(err) }));
    this.running.set(model, next);
    void next.finally(() => {
      if (this.running.get(model) === next) this.running.delete(model);
    });
  }

  // ---- events ---------------------------------------------------------------------------------

  private async onModelEvents(events: ModelEvent[]): Promise<void> {
    for (const e of events) {
      if (e.type === 'retrain.requested') {
        const since = typeof e.details['degradedSince'] === 'number' || typeof e.details['driftingSince'] === 'number'
          ? new Date(Number(e.details['degradedSince'] ?? e.details['driftingSince'])).toISOString()
          : typeof e.details['since'] === 'string'
            ? e.details['since']
            : undefined;
        this.request(e.model, { reason: String(e.details['reason'] ?? 'requested'), version: e.version, ...(since ? { since } : {}) });
      } else if (e.type === 'model.promoted' && e.details['by'] !== 'retrainer') {
        this.watch.watchPromotion(e);
      } else if (e.type === 'model.rolled_back' && e.details['by'] !== 'retrainer') {
        this.opts.store.endWatch(e.model);
      }
    }
  }

  /**
   * Starts a model's counters at 0 the first time it is seen, so a first failure, promotion or rollback
   * is an increase Prometheus can see rather than a series that appears already at 1.
   */
  private touch(model: string): void {
    if (this.seen.has(model)) return;
    this.seen.add(model);
    for (const outcome of ['promoted', 'rejected', 'failed', 'cancelled']) this.metrics.jobs.inc({ model, outcome }, 0);
    this.metrics.promotions.inc({ model }, 0);
    this.metrics.rejections.inc({ model }, 0);
    this.metrics.rollbacks.inc({ model }, 0);
    this.metrics.activeJobs.inc({ model }, 0);
  }

  private async onLabeled(events: LabeledEvent[]): Promise<void> {
    const examples: Example[] = events.map((e) => ({
      id: e.id,
      model: e.model,
      version: e.version,
      ts: Date.parse(e.ts),
      labelTs: Date.parse(e.label_ts),
      features: e.features,
      label: e.label,
      output: e.output,
    }));
    this.opts.store.addExamples(examples);
    const models = new Set(examples.map((e) => e.model));
    for (const model of models) {
      this.touch(model);
      this.metrics.windowExamples.set({ model }, this.opts.store.countExamples(model));
      const watch = this.opts.store.watch(model);
      if (watch) this.schedule(model, () => this.watch.judge(watch));
      if (this.waiting.delete(model)) {
        const job = this.opts.store.openJobs().find((j) => j.model === model);
        if (job) this.kick(job);
      }
    }
  }

  // ---- the job --------------------------------------------------------------------------------

  private async run(job: RetrainJob): Promise<void> {
    if (this.stopped || FINAL_STATES.includes(job.state)) return;
    const { store, backend, settings, logger } = this.opts;
    const log = logger.child({ model: job.model, job: job.id });
    job.attempts += 1;
    const abort = new AbortController();
    this.aborts.set(job.id, abort);
    const timer = setTimeout(() => abort.abort(new JobEnd(`training ran past DRIFTGATE_RETRAIN_TIMEOUT_MS (${settings.trainTimeoutMs} ms)`)), settings.trainTimeoutMs);
    timer.unref();
    try {
      // data
      let started = performance.now();
      const champion = await this.champion(job.model);
      if (!champion) throw new JobEnd(`model "${job.model}" has no serving version to start from`);
      // isManual is read at each decision, not once: a manual request may be folded in while this
      // run awaits (it marks the shared live copy of the job).
      if (job.trigger.version !== undefined && !isManual(job) && job.trigger.version !== champion.manifest.version) {
        throw new JobEnd(`the request was about version ${job.trigger.version}, but version ${champion.manifest.version} serves now`, 'cancelled');
      }
      // A freshly promoted version is judged by its watch first: if it is bad, the watch rolls it back
      // (and this request, about it, is then cancelled); a retrain would only paper over a bad promotion.
      const watch = store.watch(job.model);
      const watchDeadline = Date.parse(job.trigger.requestedAt) + settings.waitMs;
      if (watch && watch.version === champion.manifest.version && !isManual(job) && Date.now() < watchDeadline) {
        job.attempts -= 1;
        job.waiting = `version ${watch.version} is under its post-promotion watch`;
        store.putJob(job);
        this.waiting.add(job.model);
        log.info('retrain job waits for the post-promotion watch', { version: watch.version });
        return;
      }
      job.champion = champion.manifest.version;
      const window = store.examples(job.model);
      // After a concept change only labels since it began are right; the served version's own
      // correctness shows when that was better than the monitor's detection time does.
      let concept = job.trigger.reason === 'performance';
      let since = job.trigger.since ? Date.parse(job.trigger.since) : undefined;
      if (concept) since = estimateOnset(window.filter((e) => e.version === champion.manifest.version)) ?? since;
      let selection = selectExamples(window, settings.selection, since, concept && since !== undefined);
      if (selection.shortfall && concept && isManual(job)) {
        // An operator asked for a retrain now: rather than wait for more labels since the change,
        // train on the window as a manual retrain does.
        log.info('too few labels since the change for the manual request; training on the window', { shortfall: selection.shortfall });
        concept = false;
        since = undefined;
        selection = selectExamples(window, settings.selection, undefined, false);
      }
      if (selection.shortfall) {
        const deadline = Date.parse(job.trigger.requestedAt) + settings.waitMs;
        if (concept && Date.now() < deadline) {
          // Wait for labels: the job runs again when more arrive.
          job.attempts -= 1;
          job.waiting = selection.shortfall;
          store.putJob(job);
          this.waiting.add(job.model);
          log.info('retrain job waits for labels', { shortfall: selection.shortfall });
          return;
        }
        throw new JobEnd(selection.shortfall);
      }
      delete job.waiting;
      if (since !== undefined) job.trigger.since = new Date(since).toISOString();
      const sample = await backend.trainingSample(champion).catch((err) => {
        log.warn('no training sample for replay and the reference check', { error: describeError(err) });
        return { train: [], holdout: [] };
      });
      // A changed concept makes the old labels wrong: replay only when the inputs drifted (or by hand).
      const replayCount = concept ? 0 : Math.round(selection.train.length * settings.replayShare);
      const replay = sampleRows(sample.train, replayCount, hashSeed(job.id));
      const rows: LabeledRow[] = [...selection.train.map(toRow), ...replay];
      job.data = { train: selection.train.length, holdout: selection.holdout.length, replay: replay.length, window: window.length };
      this.phase(job, 'data', started);

      // train
      job.state = 'training';
      this.save(job, 'retrain.started', champion.manifest.version, { trigger: job.trigger, data: job.data });
      started = performance.now();
      const challenger = await backend.train({
        model: job.model,
        champion,
        rows,
        jobId: job.id,
        trigger: `retrain:${job.trigger.reason}`,
        signal: abort.signal,
      });
      job.challenger = challenger.version;
      this.phase(job, 'train', started);

      // gate
      job.state = 'gating';
      store.putJob(job);
      started = performance.now();
      const holdoutRows = selection.holdout.map(toRow);
      const [champHoldout, challHoldout] = [await backend.score(champion, holdoutRows), await backend.score(challenger, holdoutRows)];
      const checkReference = !concept && sample.holdout.length > 0;
      const scores: GateScores = {
        metric: champHoldout.metric,
        higherIsBetter: champHoldout.higherIsBetter,
        holdout: { champion: pick(champHoldout), challenger: pick(challHoldout) },
      };
      if (checkReference) {
        scores.reference = { champion: pick(await backend.score(champion, sample.holdout)), challenger: pick(await backend.score(challenger, sample.holdout)) };
      }
      const rules = { margin: settings.gate.margin, tolerance: settings.gate.tolerance, checkReference, minHoldoutRows: Math.min(settings.selection.minHoldout, selection.holdout.length) };
      const decision = decideGate(scores, rules);
      job.gate = {
        metric: scores.metric,
        higherIsBetter: scores.higherIsBetter,
        holdout: scores.holdout,
        ...(scores.reference ? { reference: scores.reference } : {}),
        margin: rules.margin,
        tolerance: rules.tolerance,
        checkReference,
        promote: decision.promote,
        reason: decision.reason,
        improvement: Number.isFinite(decision.improvement) ? decision.improvement : null,
      };
      this.phase(job, 'gate', started);
      if (!decision.promote) {
        this.end(job, 'rejected', decision.reason, 'model.rejected', challenger.version);
        log.info('challenger rejected', { challenger: challenger.version, reason: decision.reason });
        return;
      }
      // swap
      job.state = 'promoting';
      store.putJob(job);
      await this.finishPromotion(job);
    } catch (err) {
      const reason = abort.signal.aborted && abort.signal.reason instanceof JobEnd ? abort.signal.reason : err;
      if (this.stopped && !(reason instanceof JobEnd)) {
        // Shutting down: the job stays open and is resumed (or retried) by the next start.
        log.info('retrain job interrupted by shutdown', { state: job.state });
        return;
      }
      if (reason instanceof JobEnd) this.end(job, reason.state, reason.message, reason.state === 'failed' ? 'retrain.failed' : undefined);
      else this.end(job, 'failed', `training failed: ${describeError(reason)}`, 'retrain.failed');
      log.warn('retrain job ended without a promotion', { state: job.state, error: job.error });
    } finally {
      clearTimeout(timer);
      this.aborts.delete(job.id);
    }
  }

  /** Promotes the job's challenger unless the pointer already names it (a restart mid-promotion). */
  private async finishPromotion(job: RetrainJob): Promise<void> {
    const { repo, store } = this.opts;
    const started = performance.now();
    const challenger = job.challenger!;
    const pointer = await repo.readPointer(job.model);
    if (pointer?.version !== challenger) {
      await repo.promote(job.model, challenger, { reason: `retrain ${job.trigger.reason}: ${job.gate?.reason ?? 'gate passed'}`, job: job.id });
    }
    this.phase(job, 'swap', started);
    const requested = Date.parse(job.trigger.requestedAt);
    const recovery = (Date.now() - requested) / 1000;
    const watch: Watch = {
      model: job.model,
      version: challenger,
      previous: job.champion!,
      metric: job.gate?.metric ?? 'accuracy',
      higherIsBetter: job.gate?.higherIsBetter ?? true,
      baseline: job.gate?.holdout.champion.value ?? NaN,
      job: job.id,
      startedAt: Date.now(),
    };
    store.transaction(() => {
      this.end(job, 'promoted', undefined, 'model.promoted', challenger, { from: job.champion, by: 'retrainer', recoverySeconds: recovery });
      if (Number.isFinite(watch.baseline)) store.putWatch(watch);
    });
    this.metrics.promotions.inc({ model: job.model });
    this.metrics.lastRecovery.set({ model: job.model }, recovery);
    this.metrics.lastPromotion.set({ model: job.model }, Date.now() / 1000);
    this.opts.logger.info('challenger promoted', { model: job.model, job: job.id, from: job.champion, to: challenger, recoverySeconds: recovery });
  }

  private phase(job: RetrainJob, phase: Phase, started: number): void {
    const ms = performance.now() - started;
    job.phases[phase] = Math.round(ms);
    this.metrics.phaseDuration.observe({ model: job.model, phase }, ms / 1000);
  }

  /** Records a job's state with the event that announces it, in one transaction; then publishes. */
  private save(job: RetrainJob, type: ModelEventType | undefined, version: number | undefined, details: Record<string, unknown> = {}): void {
    job.updatedAt = new Date().toISOString();
    const { store, topics } = this.opts;
    store.transaction(() => {
      store.putJob(job);
      if (type && version !== undefined) {
        const message = toModelEventMessage({ type, model: job.model, version, ts: job.updatedAt, details: { job: job.id, ...details, record: job } }, this.source);
        store.addOutbox(topics.modelEvents, message.key, JSON.stringify(message));
      }
    });
    void this.flushOutbox();
  }

  private end(job: RetrainJob, state: RetrainJob['state'], error: string | undefined, type?: ModelEventType, version?: number, details: Record<string, unknown> = {}): void {
    job.state = state;
    if (error !== undefined) job.error = error;
    this.live.delete(job.id);
    this.save(job, type, version ?? job.challenger ?? job.champion ?? job.trigger.version, { ...details, ...(error ? { reason: error } : {}) });
    this.metrics.jobs.inc({ model: job.model, outcome: state });
    if (state === 'rejected') this.metrics.rejections.inc({ model: job.model });
    this.metrics.activeJobs.dec({ model: job.model });
  }

  /** The version that serves default traffic: the pointer's, else the newest that is not a candidate. */
  private async champion(model: string): Promise<VersionRef | undefined> {
    const { repo } = this.opts;
    const pointer = await repo.readPointer(model);
    const versions = await repo.listVersions(model);
    if (pointer && versions.includes(pointer.version)) {
      return repo.readManifest(model, pointer.version);
    }
    for (const v of [...versions].reverse()) {
      try {
        const read = await repo.readManifest(model, v);
        if (isPromotable(read.manifest, pointer)) return read;
      } catch {
        // a version that does not read is not the champion
      }
    }
    return undefined;
  }

  /** Publishes what the outbox holds; on failure it stays and goes with the next change. */
  async flushOutbox(): Promise<void> {
    if (this.outboxBusy) return;
    this.outboxBusy = true;
    try {
      await drainOutbox(this.opts.store, this.opts.bus, 100);
    } catch (err) {
      this.opts.logger.warn('could not publish retrain events; they stay in the outbox', { error: describeError(err) });
      setTimeout(() => void this.flushOutbox(), 5_000).unref();
    } finally {
      this.outboxBusy = false;
    }
  }
}

function toRow(e: Example): LabeledRow {
  return { features: e.features, label: e.label };
}

function pick(s: Score): { rows: number; value: number } {
  return { rows: s.rows, value: s.value };
}
