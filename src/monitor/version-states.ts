// The monitor's in-memory state of each served version, built on first use from the manifest and the
// version's stored snapshot, and the histories of versions it has not touched since it started.
import { describeError } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { ModelCatalog } from './catalog.js';
import { VersionHistory } from './history.js';
import { VersionState, versionSnapshotSchema } from './model-state.js';
import { policyFor } from './policy.js';
import type { MonitorPolicy } from './policy.js';
import type { MonitorStore } from './store.js';
import type { Task } from '../core/index.js';

/** The store key of a version's snapshot. */
export function stateKey(model: string, version: number): string {
  return `version:${model}:${version}`;
}

/** A model's histories by version, and its task. */
export interface ModelHistories {
  task: Task;
  histories: Map<number, VersionHistory>;
}

export class VersionStates {
  private readonly versions = new Map<string, VersionState>();
  /** Newest version seen per model, so a new version inherits the previous one's cooldown. */
  private readonly newestVersion = new Map<string, number>();
  /** Histories of versions not in memory, read from their stored snapshot for the timeline (they get no new events). */
  private readonly storedHistories = new Map<string, VersionHistory>();

  constructor(private readonly deps: { store: MonitorStore; catalog: ModelCatalog; policy: MonitorPolicy; logger: Logger }) {}

  /** The version's state; undefined when its manifest is not known. */
  get(model: string, version: number): VersionState | undefined {
    const key = stateKey(model, version);
    const known = this.versions.get(key);
    if (known) return known;
    const { store, catalog, logger } = this.deps;
    const manifest = catalog.get(model, version);
    if (!manifest) return undefined;
    const policy = policyFor(this.deps.policy, model);
    const snapshot = store.getState(key, versionSnapshotSchema);
    const newest = this.newestVersion.get(model);
    let state: VersionState | undefined;
    if (snapshot) {
      try {
        state = new VersionState(manifest, policy, snapshot);
      } catch (err) {
        // a window or the performance did not restore: the version starts afresh, as with no snapshot
        logger.warn('ignoring a stored version snapshot that does not restore', { model, version, error: describeError(err) });
      }
    }
    if (!state) {
      const previous = newest !== undefined && newest !== version ? this.versions.get(stateKey(model, newest)) : undefined;
      state = new VersionState(manifest, policy, undefined, previous?.policyState);
    }
    this.storedHistories.delete(key);
    for (const problem of state.overrideProblems) logger.error('drift policy override ignored', { model, version, problem });
    this.versions.set(key, state);
    if (newest === undefined || version > newest) this.newestVersion.set(model, version);
    return state;
  }

  /** The versions in memory. */
  all(): IterableIterator<VersionState> {
    return this.versions.values();
  }

  /**
   * The model's histories over all its versions: those in memory, and those of versions this process
   * has not touched since it started (an old version after a restart) read from their stored snapshot.
   * Undefined when no version of the model is known.
   */
  histories(model: string): ModelHistories | undefined {
    const { store, catalog } = this.deps;
    const histories = new Map<number, VersionHistory>();
    let task: ModelHistories['task'] | undefined;
    for (const state of this.versions.values()) {
      if (state.manifest.name !== model) continue;
      histories.set(state.manifest.version, state.history);
      task = state.manifest.task;
    }
    for (const key of store.stateKeys(`version:${model}:`)) {
      const version = Number(key.slice(key.lastIndexOf(':') + 1));
      if (!Number.isInteger(version) || histories.has(version)) continue;
      const manifest = catalog.get(model, version) ?? catalog.latest(model);
      if (!manifest) continue;
      let history = this.storedHistories.get(key);
      if (!history) {
        history = VersionHistory.restore(store.getState(key, versionSnapshotSchema)?.history, manifest.task);
        this.storedHistories.set(key, history);
      }
      histories.set(version, history);
      task ??= manifest.task;
    }
    return task === undefined ? undefined : { task, histories };
  }

  /** Forgets everything, after a rollback: the states are rebuilt from the store on next use. */
  clear(): void {
    this.versions.clear();
    this.storedHistories.clear();
    this.newestVersion.clear();
  }
}
