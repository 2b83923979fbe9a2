// Which versions of which models are loaded, and which one serves. Loads happen off to the side:
// a new version is opened and warmed up first, then the serving reference is switched in one step,
// and the old version drains its in-flight requests before it is freed. A version that fails to load
// is recorded and the serving one stays. All changes to one model are serialised by a lock.
// A loaded version whose worker broke restarts it by itself (served-version.ts); meanwhile requests
// without a version go to another loaded version that answers, if there is one.
import { DriftgateError, describeError } from '../core/index.js';
import type { Logger, Manifest } from '../core/index.js';
import type { ServeMetrics } from './metrics.js';
import { isPromotable } from '../core/index.js';
import type { ModelRepository } from '../core/index.js';
import type { SupervisorEvent } from './runtime/index.js';
import { ServedVersion } from './served-version.js';
import type { VersionSettings } from './served-version.js';

export interface RegistryOptions {
  repo: ModelRepository;
  settings: VersionSettings;
  metrics: ServeMetrics;
  logger: Logger;
  /** Models to serve; empty means every model found in the repository. */
  models: readonly string[];
  versionsLoaded: number;
  drainTimeoutMs: number;
  pollIntervalMs: number;
}

interface LoadFailure {
  error: string;
  at: Date;
  stamp: number;
}

interface ModelState {
  name: string;
  available: number[];
  loaded: Map<number, ServedVersion>;
  serving: ServedVersion | undefined;
  /** Earlier serving versions, most recent first: where rollback goes. */
  history: number[];
  pinned: boolean;
  /** Per version read so far: whether its manifest says `stage: candidate` (versions do not change stage). */
  stages: Map<number, boolean>;
  /** Candidates no promotion has named: loadable by hand, never served by default or kept loaded. */
  blocked: Set<number>;
  /** Versions loaded on request through the admin API; kept until unloaded. */
  explicit: Set<number>;
  failed: Map<number, LoadFailure>;
  /** Stamp of the files each loaded version was opened from. */
  stamps: Map<number, number>;
  lock: Promise<unknown>;
}

export interface VersionStatus {
  version: number;
  state: 'serving' | 'loaded' | 'available' | 'failed';
  inFlight?: number;
  queuedRows?: number;
  breakerOpen?: boolean;
  loadedAt?: string;
  error?: string;
}

export interface ModelStatus {
  name: string;
  servingVersion: number | null;
  pinned: boolean;
  history: number[];
  versions: VersionStatus[];
}

export class ModelRegistry {
  private readonly models = new Map<string, ModelState>();
  private started = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private readonly disposals = new Set<Promise<unknown>>();

  constructor(private readonly opts: RegistryOptions) {}

  /** Loads every selected model once; resolves when the first pass is over (failures are recorded, not thrown). */
  async start(): Promise<void> {
    await this.refresh();
    this.started = true;
    if (this.opts.pollIntervalMs > 0) {
      this.pollTimer = setInterval(() => {
        if (this.polling) return;
        this.polling = this.refresh()
          .catch((err) => this.opts.logger.error('repository poll failed', { error: describeError(err) }))
          .finally(() => (this.polling = undefined));
      }, this.opts.pollIntervalMs);
      this.pollTimer.unref();
    }
  }

  /** Scans the repository and brings every selected model to its wanted state. */
  async refresh(): Promise<void> {
    let names: readonly string[] = this.opts.models;
    if (names.length === 0) {
      try {
        names = await this.opts.repo.listModels();
      } catch (err) {
        this.opts.logger.error('cannot list the model repository', { error: describeError(err) });
        return;
      }
    }
    // Models load side by side (each in its own worker); one model's trouble (unreadable
    // directory, escaping link) must not stop the others.
    await Promise.all(
      names.map((name) =>
        this.withModel(name, (state) => this.sync(state)).catch((err) =>
          this.opts.logger.error('cannot scan model', { model: name, error: describeError(err) }),
        ),
      ),
    );
  }

  /** True once start-up loading is done and every explicitly selected model has a version that answers. */
  ready(): boolean {
    if (!this.started) return false;
    return this.opts.models.every((m) => {
      const state = this.models.get(m);
      return state !== undefined && this.answering(state) !== undefined;
    });
  }

  private state(name: string): ModelState {
    let s = this.models.get(name);
    if (!s) {
      s = { name, available: [], loaded: new Map(), serving: undefined, history: [], pinned: false, stages: new Map(), blocked: new Set(), explicit: new Set(), failed: new Map(), stamps: new Map(), lock: Promise.resolve() };
      this.models.set(name, s);
    }
    return s;
  }

  private withModel<T>(name: string, fn: (state: ModelState) => Promise<T>): Promise<T> {
    const state = this.state(name);
    const run = state.lock.then(() => fn(state));
    state.lock = run.catch(() => undefined);
    return run;
  }

  private async sync(state: ModelState): Promise<void> {
    const { repo, logger } = this.opts;
    state.available = await repo.listVersions(state.name);
    const pointer = await repo.readPointer(state.name);
    state.pinned = pointer !== undefined && state.available.includes(pointer.version);
    if (state.pinned && pointer) state.history = pointer.history;
    await this.readStages(state);
    state.blocked = new Set(state.available.filter((v) => state.stages.get(v) === true && !isPromotable({ version: v, stage: 'candidate' }, pointer)));

    // Which version should serve: the pinned one, else the newest that loads and is not a candidate
    // waiting for its gate (the retrain loop writes those; only a promotion lets them serve).
    const candidates = state.pinned && pointer ? [pointer.version] : [...state.available].reverse().filter((v) => !state.blocked.has(v));
    for (const v of candidates) {
      if (state.serving?.version === v) break;
      if (!state.pinned && state.serving && v < state.serving.version) break;
      // A version restarting its worker gets there by itself; loading it again here would race that.
      if (state.loaded.get(v)?.health.state === 'restarting') continue;
      if (await this.skipFailed(state, v)) continue;
      try {
        const next = await this.ensureLoaded(state, v);
        this.switchServing(state, next, state.pinned ? 'pointer' : 'newest');
        break;
      } catch {
        // recorded in state.failed; try the next candidate
      }
    }

    // Keep the newest N versions loaded (plus the serving one and those loaded by hand). A loaded
    // version whose worker could not be restarted is loaded again once its files change.
    const keep = this.keepSet(state);
    for (const v of keep) {
      const loaded = state.loaded.get(v);
      if ((loaded && loaded.health.state !== 'failed') || (await this.skipFailed(state, v))) continue;
      await this.ensureLoaded(state, v).catch(() => undefined);
    }
    for (const [v, served] of state.loaded) {
      if (!keep.has(v) && served !== state.serving) this.retire(state, served, 'not among the versions kept loaded');
    }
    this.updateGauges(state);
    if (state.available.length === 0 && !state.serving) logger.warn('model has no versions', { model: state.name });
  }

  /** Notes which versions are candidates, reading each manifest once. */
  private async readStages(state: ModelState): Promise<void> {
    for (const v of state.available) {
      if (state.stages.has(v)) continue;
      try {
        const { manifest } = await this.opts.repo.readManifest(state.name, v);
        state.stages.set(v, manifest.stage === 'candidate');
      } catch {
        // an unreadable manifest fails its load and is recorded there; read it again next time
      }
    }
  }

  /** Brings one model up to date now (a model event announced a promotion or rollback). */
  async refreshModel(name: string): Promise<void> {
    if (this.opts.models.length > 0 && !this.opts.models.includes(name)) return;
    await this.withModel(name, (state) => this.sync(state));
  }

  private keepSet(state: ModelState): Set<number> {
    const healthy = state.available.filter((v) => !state.failed.has(v) && !state.blocked.has(v));
    const keep = new Set<number>(healthy.slice(-this.opts.versionsLoaded));
    if (state.serving) keep.add(state.serving.version);
    for (const v of state.explicit) keep.add(v);
    return keep;
  }

  /** A version that failed to load is retried only after its files change. */
  private async skipFailed(state: ModelState, v: number): Promise<boolean> {
    const failure = state.failed.get(v);
    if (!failure) return false;
    const stamp = await this.opts.repo.versionStamp(state.name, v).catch(() => failure.stamp);
    return stamp === failure.stamp;
  }

  /**
   * The loaded version, or a freshly loaded one. A loaded version whose worker is broken (restarting
   * or given up) is loaded afresh and takes its place, also as the serving version.
   */
  private async ensureLoaded(state: ModelState, version: number): Promise<ServedVersion> {
    const existing = state.loaded.get(version);
    if (existing?.canServe) return existing;
    const { repo, settings, metrics, logger } = this.opts;
    const started = performance.now();
    const stamp = await repo.versionStamp(state.name, version).catch(() => 0);
    try {
      const { dir, manifest } = await repo.readManifest(state.name, version);
      const served = await ServedVersion.open(dir, manifest, settings, metrics, (s, event) => this.workerEvent(state, s, event));
      state.loaded.set(version, served);
      state.stamps.set(version, stamp);
      if (existing) {
        if (state.serving === existing) state.serving = served;
        this.free(state, existing, 'replaced by a fresh load of the same version');
      }
      state.failed.delete(version);
      metrics.modelLoads.labels({ model: state.name, outcome: 'success' }).inc();
      logger.info('model version loaded', { model: state.name, version, format: manifest.format, ms: Math.round(performance.now() - started) });
      return served;
    } catch (err) {
      const error = describeError(err);
      state.failed.set(version, { error, at: new Date(), stamp });
      metrics.modelLoads.labels({ model: state.name, outcome: 'failure' }).inc();
      logger.error('model version failed to load', { model: state.name, version, error });
      throw err instanceof DriftgateError && err.code === 'VERSION_NOT_FOUND'
        ? err
        : new DriftgateError('MODEL_LOAD_FAILED', `model "${state.name}" version ${version} failed to load: ${error}`, { cause: err });
    }
  }

  private switchServing(state: ModelState, next: ServedVersion, reason: string, { remember = true } = {}): void {
    const prev = state.serving;
    if (prev === next) return;
    state.serving = next;
    if (prev && remember) state.history = [prev.version, ...state.history.filter((v) => v !== prev.version)].slice(0, 20);
    this.opts.logger.info('serving version switched', { model: state.name, from: prev?.version ?? null, to: next.version, reason });
    this.updateGauges(state);
  }

  /** Logs what happens to a version's worker; a version that gave up restarting counts as a failed load. */
  private workerEvent(state: ModelState, served: ServedVersion, event: SupervisorEvent): void {
    const { logger } = this.opts;
    const at = { model: state.name, version: served.version };
    switch (event.type) {
      case 'broken':
        logger.error(event.reason === 'timeout' ? 'model worker hung; replacing it' : 'model worker broke; replacing it', { ...at, error: event.error });
        break;
      case 'restarted':
        logger.info('model worker restarted', { ...at, attempt: event.attempt, ms: event.ms });
        break;
      case 'restart-failed':
        logger.warn('model worker restart failed', { ...at, attempt: event.attempt, error: event.error, retryInMs: event.retryInMs ?? null });
        break;
      case 'gave-up': {
        logger.error('model worker not restarted; the version stays failed until it is loaded again or its files change', { ...at, error: event.error });
        // Like a failed load: a poll tries again once the files differ from those it was loaded from.
        if (state.loaded.get(served.version) === served) {
          state.failed.set(served.version, { error: event.error, at: new Date(), stamp: state.stamps.get(served.version) ?? 0 });
        }
        break;
      }
    }
  }

  /** Takes a version out of service; it is freed once its in-flight requests finish. */
  private retire(state: ModelState, served: ServedVersion, why: string): void {
    state.loaded.delete(served.version);
    state.stamps.delete(served.version);
    state.explicit.delete(served.version);
    this.free(state, served, why);
  }

  private free(state: ModelState, served: ServedVersion, why: string): void {
    this.opts.logger.info('model version unloading', { model: state.name, version: served.version, why });
    const done = served
      .drainAndDispose(this.opts.drainTimeoutMs)
      .then(({ drained }) => {
        if (!drained) this.opts.logger.warn('model version freed before its requests finished', { model: state.name, version: served.version });
      })
      .catch((err) => this.opts.logger.error('model version dispose failed', { model: state.name, version: served.version, error: describeError(err) }))
      .finally(() => this.disposals.delete(done));
    this.disposals.add(done);
    this.updateGauges(state);
  }

  private updateGauges(state: ModelState): void {
    this.opts.metrics.modelsLoaded.labels({ model: state.name }).set(state.loaded.size);
    if (state.serving) this.opts.metrics.servingVersion.labels({ model: state.name }).set(state.serving.version);
  }

  /**
   * The version that answers a request: the serving one, or the one asked for. The caller must call
   * the returned `release` when the request is done so the version can drain.
   */
  acquire(name: string, version?: number): { served: ServedVersion; release: () => void } {
    const state = this.models.get(name);
    if (!state || (state.available.length === 0 && state.loaded.size === 0)) {
      throw new DriftgateError('MODEL_NOT_FOUND', `model "${name}" is not served here`);
    }
    let served: ServedVersion | undefined;
    if (version === undefined) {
      // While the serving version's worker is being replaced, another loaded version answers.
      served = this.answering(state) ?? state.serving;
      if (!served) throw new DriftgateError('MODEL_NOT_READY', `model "${name}" has no loaded version yet`, { retryAfterSeconds: 5 });
    } else {
      served = state.loaded.get(version);
      if (!served) {
        if (state.available.includes(version)) {
          throw new DriftgateError('VERSION_NOT_FOUND', `version ${version} of model "${name}" is not loaded (load it with the admin API)`);
        }
        throw new DriftgateError('VERSION_NOT_FOUND', `model "${name}" has no version ${version}`);
      }
    }
    return { served, release: served.acquire() };
  }

  /**
   * The version that answers requests without a version: the serving one, or while its worker is
   * broken, the most recent earlier serving version still loaded, else the newest loaded one that
   * answers. Undefined when none answers.
   */
  private answering(state: ModelState): ServedVersion | undefined {
    const serving = state.serving;
    if (!serving || serving.canServe) return serving;
    return this.fallback(state, serving);
  }

  private fallback(state: ModelState, except: ServedVersion): ServedVersion | undefined {
    for (const v of state.history) {
      const s = state.loaded.get(v);
      if (s && s !== except && s.canServe) return s;
    }
    let best: ServedVersion | undefined;
    for (const s of state.loaded.values()) if (s !== except && s.canServe && (!best || s.version > best.version)) best = s;
    return best;
  }

  /** The manifest of the serving or a given loaded version, for metadata. */
  manifest(name: string, version?: number): Manifest {
    const { served, release } = this.acquire(name, version);
    release();
    return served.manifest;
  }

  /** Whether a model (or one version of it) can answer now. */
  isReady(name: string, version?: number): boolean {
    const state = this.models.get(name);
    // An admin call about a model the repository does not hold leaves an empty entry behind; the model
    // is still unknown (404), unless it was selected and waits for its first version (not ready).
    if (!state || (!this.has(name) && !this.opts.models.includes(name))) {
      throw new DriftgateError('MODEL_NOT_FOUND', `model "${name}" is not served here`);
    }
    if (version === undefined) return this.answering(state) !== undefined;
    if (!state.loaded.has(version) && !state.available.includes(version)) {
      throw new DriftgateError('VERSION_NOT_FOUND', `model "${name}" has no version ${version}`);
    }
    return state.loaded.get(version)?.canServe ?? false;
  }

  /** The loaded versions of a model, oldest first (for the statistics endpoint). */
  loadedVersions(name: string): ServedVersion[] {
    const state = this.models.get(name);
    return state ? [...state.loaded.values()].sort((a, b) => a.version - b.version) : [];
  }

  /** Whether the registry knows this model (it has versions); cheap enough for every request. */
  has(name: string): boolean {
    const s = this.models.get(name);
    return s !== undefined && (s.available.length > 0 || s.loaded.size > 0);
  }

  modelNames(): string[] {
    return [...this.models.values()].filter((s) => s.available.length > 0 || s.loaded.size > 0).map((s) => s.name).sort();
  }

  status(): ModelStatus[] {
    return this.modelNames().map((name) => this.modelStatus(this.models.get(name)!));
  }

  private modelStatus(state: ModelState): ModelStatus {
    const versions = new Set<number>([...state.available, ...state.loaded.keys()]);
    return {
      name: state.name,
      servingVersion: state.serving?.version ?? null,
      pinned: state.pinned,
      history: state.history,
      versions: [...versions]
        .sort((a, b) => b - a)
        .map((v): VersionStatus => {
          const served = state.loaded.get(v);
          if (served) {
            const broken = served.healthError;
            return {
              version: v,
              state: broken !== undefined ? 'failed' : served === state.serving ? 'serving' : 'loaded',
              inFlight: served.inFlight,
              queuedRows: served.queuedRows,
              breakerOpen: served.breakerOpen,
              loadedAt: served.loadedAt.toISOString(),
              ...(broken !== undefined ? { error: broken } : {}),
            };
          }
          const failure = state.failed.get(v);
          return failure ? { version: v, state: 'failed', error: failure.error } : { version: v, state: 'available' };
        }),
    };
  }

  private requireKnown(name: string): void {
    if (this.opts.models.length > 0 && !this.opts.models.includes(name)) {
      throw new DriftgateError('MODEL_NOT_FOUND', `model "${name}" is not among the models this gateway serves`);
    }
  }

  /** Loads a version and keeps it loaded until it is unloaded. */
  async load(name: string, version: number): Promise<ModelStatus> {
    this.requireKnown(name);
    return this.withModel(name, async (state) => {
      state.available = await this.opts.repo.listVersions(name);
      if (!state.available.includes(version)) throw new DriftgateError('VERSION_NOT_FOUND', `model "${name}" has no version ${version} in the repository`);
      state.failed.delete(version);
      await this.ensureLoaded(state, version);
      state.explicit.add(version);
      if (!state.serving) this.switchServing(state, state.loaded.get(version)!, 'first loaded');
      this.updateGauges(state);
      return this.modelStatus(state);
    });
  }

  async unload(name: string, version: number): Promise<ModelStatus> {
    this.requireKnown(name);
    return this.withModel(name, async (state) => {
      const served = state.loaded.get(version);
      if (!served) throw new DriftgateError('VERSION_NOT_FOUND', `version ${version} of model "${name}" is not loaded`);
      if (served === state.serving) {
        if (served.canServe) throw new DriftgateError('CONFLICT', `version ${version} of model "${name}" is serving; promote another version first`);
        // A serving version whose worker is broken may go: the version answering in its place serves.
        const next = this.fallback(state, served);
        if (next) this.switchServing(state, next, 'the serving version was broken and unloaded', { remember: false });
        else state.serving = undefined;
      }
      this.retire(state, served, 'unloaded through the admin API');
      return this.modelStatus(state);
    });
  }

  /** Makes a version the serving one for every gateway sharing the repository (writes the pointer). */
  async promote(name: string, version: number, reason = 'promote'): Promise<ModelStatus> {
    this.requireKnown(name);
    return this.withModel(name, async (state) => {
      state.available = await this.opts.repo.listVersions(name);
      if (!state.available.includes(version)) throw new DriftgateError('VERSION_NOT_FOUND', `model "${name}" has no version ${version} in the repository`);
      state.failed.delete(version);
      const next = await this.ensureLoaded(state, version);
      this.switchServing(state, next, reason);
      state.blocked.delete(version);
      await this.pin(state, reason, 'promote');
      return this.modelStatus(state);
    });
  }

  /** Goes back to the version that served before the current one. */
  async rollback(name: string): Promise<ModelStatus> {
    this.requireKnown(name);
    return this.withModel(name, async (state) => {
      state.available = await this.opts.repo.listVersions(name);
      const current = state.serving?.version;
      const fallback = [...state.available].reverse().find((v) => current !== undefined && v < current);
      const target = state.history.find((v) => v !== current && state.available.includes(v)) ?? fallback;
      if (target === undefined) throw new DriftgateError('CONFLICT', `model "${name}" has no earlier version to roll back to`);
      const next = await this.ensureLoaded(state, target);
      state.history = state.history.filter((v) => v !== target);
      this.switchServing(state, next, 'rollback', { remember: false });
      await this.pin(state, 'rollback', 'rollback');
      return this.modelStatus(state);
    });
  }

  private async pin(state: ModelState, reason: string, action: 'promote' | 'rollback'): Promise<void> {
    if (!state.serving) return;
    state.pinned = true;
    try {
      const current = await this.opts.repo.readPointer(state.name);
      const pointer = this.opts.repo.nextPointer(current, state.serving.version, state.history, action, { reason });
      await this.opts.repo.writePointer(state.name, pointer);
    } catch (err) {
      // A read-only repository still lets this gateway switch; others will not follow.
      this.opts.logger.warn('cannot write the serving pointer', { model: state.name, error: describeError(err) });
    }
    for (const [v, served] of state.loaded) {
      if (!this.keepSet(state).has(v) && served !== state.serving) this.retire(state, served, 'not among the versions kept loaded');
    }
  }

  /** Stops polling, waits for in-flight requests (up to the drain timeout) and frees every version. */
  async stop(): Promise<void> {
    if (this.pollTimer) clearInterval(this.pollTimer);
    await this.polling;
    for (const state of this.models.values()) {
      await state.lock;
      for (const served of [...state.loaded.values()]) this.retire(state, served, 'shutdown');
      state.serving = undefined;
    }
    await Promise.all([...this.disposals]);
  }
}
