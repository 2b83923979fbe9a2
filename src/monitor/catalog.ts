// The manifests the monitor judges events against, read from the model repository the gateways serve
// from. Looked up synchronously on the hot path; a model or version seen for the first time is loaded
// once before its batch is checked, and a miss is remembered for a while so a stream of events for an
// unknown model does not rescan the repository on every batch.
import type { Manifest } from '../core/index.js';
import { describeError } from '../core/index.js';
import type { Logger } from '../core/index.js';

/** What the catalog needs of the repository (the serve context's ModelRepository has it). */
export interface ManifestSource {
  readManifest(model: string, version: number): Promise<{ manifest: Manifest }>;
  listVersions(model: string): Promise<number[]>;
}

export class ModelCatalog {
  private readonly manifests = new Map<string, Manifest>();
  private readonly misses = new Map<string, number>();
  private readonly models = new Set<string>();
  /** When each model's versions were last listed. */
  private readonly listedAt = new Map<string, number>();

  constructor(
    private readonly source: ManifestSource,
    private readonly logger: Logger,
    /** How long a failed lookup is remembered before the repository is read again, in ms. */
    private readonly retryMs = 5_000,
  ) {}

  /** Loads the manifests of these (model, version) pairs that are not known yet. */
  async ensure(pairs: Iterable<readonly [string, number]>): Promise<void> {
    const wanted = new Map<string, readonly [string, number]>();
    for (const pair of pairs) {
      const key = `${pair[0]}@${pair[1]}`;
      if (this.manifests.has(key)) continue;
      const missedAt = this.misses.get(key);
      if (missedAt !== undefined && Date.now() - missedAt < this.retryMs) continue;
      wanted.set(key, pair);
    }
    await Promise.all(
      [...wanted].map(async ([key, [model, version]]) => {
        try {
          const { manifest } = await this.source.readManifest(model, version);
          this.manifests.set(key, manifest);
          this.models.add(model);
          this.misses.delete(key);
        } catch (err) {
          this.misses.set(key, Date.now());
          this.logger.debug('no manifest for events', { model, version, error: describeError(err) });
        }
      }),
    );
  }

  /**
   * Loads the newest version of each model (labels name a model but no version, and are checked
   * against its newest version). The repository is listed again at most every `retryMs` per model,
   * so a version published since is picked up.
   */
  async ensureModels(models: Iterable<string>): Promise<void> {
    const now = Date.now();
    const due = [...new Set(models)].filter((m) => now - (this.listedAt.get(m) ?? -Infinity) >= this.retryMs);
    await Promise.all(
      due.map(async (model) => {
        this.listedAt.set(model, now);
        try {
          const versions = await this.source.listVersions(model);
          const newest = versions[versions.length - 1];
          if (newest === undefined) throw new Error('no versions');
          await this.ensure([[model, newest]]);
          if (!this.models.has(model)) throw new Error('no readable manifest');
        } catch (err) {
          this.logger.debug('unknown model in events', { model, error: describeError(err) });
        }
      }),
    );
  }

  get(model: string, version: number): Manifest | undefined {
    return this.manifests.get(`${model}@${version}`);
  }

  /** The newest known manifest of a model (labels name no version). */
  latest(model: string): Manifest | undefined {
    let best: Manifest | undefined;
    for (const m of this.manifests.values()) if (m.name === model && (!best || m.version > best.version)) best = m;
    return best;
  }

  has(model: string): boolean {
    return this.models.has(model);
  }

  /** Adds a manifest directly (tests, and versions the retrain loop has just written). */
  add(manifest: Manifest): void {
    this.manifests.set(`${manifest.name}@${manifest.version}`, manifest);
    this.models.add(manifest.name);
  }
}
