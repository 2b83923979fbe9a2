// What the status page shows of each version, read from its manifest in the repository: stage,
// lineage (parent, trigger, job, creation time), the headline metric it was trained to, and whether
// it has a training report. A version's directory never changes once written (the retrain loop claims
// it with one rename), so each is read once and remembered.
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, recordedScore } from '../../core/index.js';
import type { Logger, Manifest, ModelRepository } from '../../core/index.js';

/** The training report's file name (what `driftgate train` and the retrain loop write). */
export const REPORT_FILE = 'report.html';

export interface VersionInfo {
  task: Manifest['task'];
  stage?: 'candidate';
  createdAt?: string;
  /** The version of the same model it was trained from. */
  parent?: number;
  trigger?: string;
  /** The retrain job that made it. */
  job?: string;
  /** Accuracy (classification) or MAE (regression) measured when it was trained. */
  headline?: { name: 'accuracy' | 'mae'; value: number };
  /** The report's file name in the version directory, when there is one. */
  report: string | null;
}

/** The task's headline metric: accuracy for classifiers, MAE for regressors (the gate's metric too). */
export function headlineMetric(task: Manifest['task']): 'accuracy' | 'mae' {
  return task === 'classification' ? 'accuracy' : 'mae';
}

/** The headline metric from a manifest's metrics: the test split, else validation, else the top-level keys. */
export function headlineOf(manifest: Pick<Manifest, 'task' | 'metrics'>): VersionInfo['headline'] {
  const name = headlineMetric(manifest.task);
  const value = recordedScore(manifest.metrics, name, ['test', 'validation']);
  return value === undefined ? undefined : { name, value };
}

export function versionInfoOf(manifest: Manifest): Omit<VersionInfo, 'report'> {
  const lineage = manifest.lineage;
  const info: Omit<VersionInfo, 'report'> = { task: manifest.task };
  if (manifest.stage) info.stage = manifest.stage;
  if (lineage?.createdAt !== undefined) info.createdAt = lineage.createdAt;
  if (typeof lineage?.parent === 'number') info.parent = lineage.parent;
  else if (lineage?.from?.model === manifest.name) info.parent = lineage.from.version;
  if (lineage?.trigger !== undefined) info.trigger = lineage.trigger;
  if (lineage?.job !== undefined) info.job = lineage.job;
  const headline = headlineOf(manifest);
  if (headline) info.headline = headline;
  return info;
}

/** A report named by the manifest must be a plain HTML file name in the version directory. */
function reportFileOf(manifest: Manifest): string {
  const named = manifest.artifacts?.report;
  return named !== undefined && /^[A-Za-z0-9_.-]+\.html$/.test(named) && !named.startsWith('.') ? named : REPORT_FILE;
}

export class VersionCatalog {
  private readonly known = new Map<string, VersionInfo>();

  constructor(
    private readonly repo: ModelRepository,
    private readonly logger: Logger,
  ) {}

  /** The version's details; undefined while its manifest cannot be read (asked again next time). */
  async info(model: string, version: number): Promise<VersionInfo | undefined> {
    const key = `${model}/${version}`;
    const hit = this.known.get(key);
    if (hit) return hit;
    try {
      const { dir, manifest } = await this.repo.readManifest(model, version);
      const file = reportFileOf(manifest);
      const hasReport = await access(join(dir, file)).then(
        () => true,
        () => false,
      );
      const info: VersionInfo = { ...versionInfoOf(manifest), report: hasReport ? file : null };
      this.known.set(key, info);
      return info;
    } catch (err) {
      this.logger.debug('status page: cannot read a version manifest', { model, version, error: describeError(err) });
      return undefined;
    }
  }

  /**
   * The version's training report. The manifest is read again, which fences every file of the
   * version inside the repository (a report linking elsewhere is refused).
   */
  async report(model: string, version: number): Promise<string | undefined> {
    let dir: string;
    let manifest: Manifest;
    try {
      ({ dir, manifest } = await this.repo.readManifest(model, version));
    } catch {
      return undefined;
    }
    try {
      return await readFile(join(dir, reportFileOf(manifest)), 'utf8');
    } catch {
      return undefined;
    }
  }
}
