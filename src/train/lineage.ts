// The ancestry of a trained version, read back from the manifests in the model repository: which
// version it was fine-tuned from, which one that came from, and so on up to a version trained from
// scratch. The HTML report shows this chain so a reader can see how a model got where it is.
import { join } from 'node:path';
import { ManifestError, metricSections, modelNameSchema, readManifestAt } from '../core/index.js';
import type { Manifest, ManifestMetrics, SplitMetrics } from '../core/index.js';

/** One ancestor in a lineage chain. */
export interface LineageEntry {
  model: string;
  version: number;
  /** False when the manifest could not be read; `note` says why and the chain ends there. */
  found: boolean;
  createdAt?: string;
  trigger?: string;
  dataFingerprint?: string;
  /** One headline metric as text, e.g. `test accuracy 0.9667`, when the manifest has one. */
  headline?: string;
  /** Training rows, when the manifest records them. */
  rows?: number;
  note?: string;
}

/** Where a version came from, as its manifest records it. */
export interface ParentRef {
  model: string;
  version: number;
}

/**
 * Deepest chain followed. Real chains are short; the bound only matters for a repository whose
 * manifests were edited into a very long or circular history.
 */
const MAX_DEPTH = 100;

/**
 * Walks the lineage up from `parentVersion` of `model`: the parent first, then its parent, and so on.
 * A manifest names its parent either as `lineage.from: {model, version}` (what driftgate writes, and
 * the only form that can point at another model) or as `lineage.parent` (a version of the same model).
 * The walk stops at a version without a parent, at a manifest that cannot be read (kept as an entry
 * with `found: false`), at a cycle, or after 100 steps.
 */
export async function lineageChain(repoDir: string, model: string, parentVersion: number | null | undefined): Promise<LineageEntry[]> {
  const chain: LineageEntry[] = [];
  const seen = new Set<string>();
  let next: ParentRef | undefined = parentVersion ? { model, version: parentVersion } : undefined;
  while (next && chain.length < MAX_DEPTH) {
    const key = `${next.model}/${next.version}`;
    if (seen.has(key)) {
      chain.push({ ...next, found: false, note: 'the lineage loops back to a version already listed' });
      break;
    }
    seen.add(key);
    const read = await readManifestQuietly(repoDir, next);
    if (!read.manifest) {
      chain.push({ ...next, found: false, note: read.problem });
      break;
    }
    chain.push(describeVersion(next, read.manifest));
    next = parentOf(read.manifest);
  }
  return chain;
}

/** The parent a manifest names, if any. */
export function parentOf(manifest: Pick<Manifest, 'name' | 'lineage'>): ParentRef | undefined {
  const lineage = manifest.lineage;
  if (!lineage) return undefined;
  if (lineage.from) return lineage.from;
  return lineage.parent ? { model: manifest.name, version: lineage.parent } : undefined;
}

/**
 * A one-line headline from a manifest's `metrics`: test metrics as driftgate writes them
 * (`metrics.test`), else flat metrics as the example builder writes them.
 */
export function headlineMetric(metrics: ManifestMetrics): string | undefined {
  for (const section of metricSections(metrics, ['test', 'validation'])) {
    const text = pickHeadline(section.metrics);
    if (text) return section.split ? `${section.split} ${text}` : text;
  }
  return undefined;
}

function pickHeadline(metrics: SplitMetrics): string | undefined {
  for (const name of ['accuracy', 'rmse', 'mae', 'r2'] as const) {
    const value = metrics[name];
    if (value !== undefined) return `${name} ${Number(value.toPrecision(4))}`;
  }
  return undefined;
}

function describeVersion(ref: ParentRef, manifest: Manifest): LineageEntry {
  const lineage = manifest.lineage;
  const entry: LineageEntry = { ...ref, found: true };
  if (lineage?.createdAt !== undefined) entry.createdAt = lineage.createdAt;
  if (lineage?.trigger !== undefined) entry.trigger = lineage.trigger;
  if (lineage?.dataFingerprint !== undefined) entry.dataFingerprint = lineage.dataFingerprint;
  if (lineage?.rows !== undefined) entry.rows = lineage.rows.train;
  else if (typeof manifest.reference?.rows === 'number') entry.rows = manifest.reference.rows;
  const headline = headlineMetric(manifest.metrics);
  if (headline) entry.headline = headline;
  return entry;
}

async function readManifestQuietly(repoDir: string, ref: ParentRef): Promise<{ manifest?: Manifest; problem: string }> {
  // The names come from files on disk; a name that is not a model name must not become a path.
  if (!modelNameSchema.safeParse(ref.model).success || !Number.isInteger(ref.version) || ref.version < 1) {
    return { problem: `"${ref.model}" version ${ref.version} is not a valid model version` };
  }
  try {
    return { manifest: await readManifestAt(join(repoDir, ref.model, String(ref.version))), problem: '' };
  } catch (err) {
    if (!(err instanceof ManifestError)) throw err;
    switch (err.problem) {
      case 'missing':
        return { problem: 'not in this repository (deleted, or trained elsewhere)' };
      case 'invalid':
        return { problem: 'its manifest is not valid' };
      default:
        return { problem: `unreadable manifest: ${err.detail}` };
    }
  }
}
