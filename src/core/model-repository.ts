// The model repository on disk, and its one owner: <repo>/<model>/<version>/ with a manifest in each
// version, the serving pointer <repo>/<model>/serving.json with its history, and the claim of the next
// version number. Gateways, the monitor, `driftgate train` and the retrain loop all go through this
// class, so a separate retrain process promotes exactly as a gateway's admin API does.
//
// Nothing outside the repository is read: names are validated, and every path is resolved through
// symlinks and checked to stay inside.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { z } from 'zod';
import { describeValue } from './describe.js';
import { DriftgateError, describeError } from './errors.js';
import type { Logger } from './logger.js';
import { ManifestError, modelNameSchema, readManifestAt } from './manifest.js';
import type { Manifest } from './manifest.js';

export const POINTER_FILE = 'serving.json';
/** A second copy of the pointer, written just before it: what a process that never read a good pointer falls back on. */
export const POINTER_BACKUP_FILE = '.serving.json.last-good';
/** Prefix of the hidden directories a version is prepared in before it is renamed into place. */
export const TEMP_PREFIX = '.tmp-';
/** A version as a directory name and in URLs: a positive integer of at most nine digits. */
export const VERSION_PATTERN = /^[1-9][0-9]{0,8}$/;
/** Entries kept in the pointer's change log. */
const POINTER_LOG_SIZE = 50;
/** Earlier serving versions kept in the pointer's history (where rollback goes). */
const POINTER_HISTORY_SIZE = 20;
/** Attempts at claiming a number before giving up (each lost race moves to the next number). */
const MAX_CLAIMS = 50;

const pointerChangeSchema = z.object({
  version: z.number().int().positive(),
  action: z.enum(['promote', 'rollback']),
  reason: z.string(),
  at: z.string(),
  /** The retrain job that caused the change, when the loop made it. */
  job: z.string().optional(),
});
export type PointerChange = z.infer<typeof pointerChangeSchema>;

const pointerSchema = z.object({
  version: z.number().int().positive(),
  /** Earlier serving versions, most recent first: where rollback goes. */
  history: z.array(z.number().int().positive()).default([]),
  updatedAt: z.string().optional(),
  reason: z.string().optional(),
  /** Every promote and rollback, oldest first, the last 50. */
  log: z.array(pointerChangeSchema).default([]),
});
export type ServingPointer = z.infer<typeof pointerSchema>;

/** Checks a model name from a URL or a request; throws INVALID_INPUT naming the problem. */
export function checkModelName(name: string): string {
  const result = modelNameSchema.safeParse(name);
  if (!result.success) throw new DriftgateError('INVALID_INPUT', `invalid model name ${describeValue(name)}: ${result.error.issues[0]?.message}`);
  return name;
}

/** Parses a version segment; throws INVALID_INPUT unless it is a positive integer. */
export function checkVersion(raw: string): number {
  if (!VERSION_PATTERN.test(raw)) throw new DriftgateError('INVALID_INPUT', `invalid version ${describeValue(raw)}: versions are positive integers`);
  return Number(raw);
}

/**
 * Whether a version may serve default traffic: an ordinary version always may; a candidate (written by
 * the retrain loop, `stage: "candidate"`) only once a promotion named it in the serving pointer.
 */
export function isPromotable(manifest: Pick<Manifest, 'version'> & { stage?: unknown }, pointer: ServingPointer | undefined): boolean {
  if (manifest.stage !== 'candidate') return true;
  if (!pointer) return false;
  return pointer.version === manifest.version || pointer.history.includes(manifest.version);
}

export interface ModelRepositoryOptions {
  logger?: Logger;
  /** Called when a serving pointer cannot be read or parsed (the last good one is kept). */
  onPointerProblem?: (model: string, problem: string) => void;
}

export interface PointerUpdate {
  reason: string;
  job?: string;
  /** Clock for `updatedAt` and the log. @defaultValue the current time */
  now?: Date;
}

export class ModelRepository {
  readonly root: string;
  private realRoot: string | undefined;
  /** The last pointer that parsed, per model: a damaged file must not unpin a model (undoing a rollback). */
  private readonly lastGoodPointer = new Map<string, ServingPointer>();
  /** The damaged pointer text last reported, per model, so a damaged file is logged once, not every poll. */
  private readonly reportedProblem = new Map<string, string>();

  constructor(
    root: string,
    private readonly options: ModelRepositoryOptions = {},
  ) {
    this.root = resolve(root);
  }

  /** The repository path with symlinks resolved; the fence every read is checked against. */
  private async fence(): Promise<string> {
    if (!this.realRoot) {
      try {
        this.realRoot = await realpath(this.root);
      } catch (err) {
        throw new Error(`model repository ${this.root} cannot be read: ${describeError(err)}`);
      }
    }
    return this.realRoot;
  }

  /** Resolves a path below the repository; refuses one that escapes it through `..` or a symlink. */
  private async inside(...segments: string[]): Promise<string> {
    const fence = await this.fence();
    const target = await realpath(join(fence, ...segments));
    if (target !== fence && !target.startsWith(fence + sep)) {
      throw new DriftgateError('NOT_FOUND', `${segments.join('/')} resolves outside the model repository`);
    }
    return target;
  }

  /** Model names present in the repository (directories with a valid name). */
  async listModels(): Promise<string[]> {
    const fence = await this.fence();
    const entries = await readdir(fence, { withFileTypes: true });
    const names: string[] = [];
    for (const e of entries) {
      if (!modelNameSchema.safeParse(e.name).success) continue;
      if (e.isDirectory()) names.push(e.name);
      else if (e.isSymbolicLink()) {
        try {
          const dir = await this.inside(e.name);
          if ((await stat(dir)).isDirectory()) names.push(e.name);
        } catch {
          // a link that leaves the repository or points nowhere is not a model
        }
      }
    }
    return names.sort();
  }

  /** Version numbers present for a model, ascending. Empty when the model does not exist. */
  async listVersions(model: string): Promise<number[]> {
    checkModelName(model);
    let dir: string;
    try {
      dir = await this.inside(model);
    } catch (err) {
      if (err instanceof DriftgateError) throw err;
      return [];
    }
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch {
      return [];
    }
    const versions: number[] = [];
    for (const e of entries) {
      if (!VERSION_PATTERN.test(e)) continue;
      try {
        // a version that is a link leaving the repository (or pointing nowhere) is not a version
        await this.inside(model, e);
      } catch {
        continue;
      }
      versions.push(Number(e));
    }
    return versions.sort((a, b) => a - b);
  }

  /** The directory of one version, resolved and fenced. */
  async versionDir(model: string, version: number): Promise<string> {
    checkModelName(model);
    try {
      return await this.inside(model, String(version));
    } catch (err) {
      if (err instanceof DriftgateError) throw err;
      throw new DriftgateError('VERSION_NOT_FOUND', `model "${model}" has no version ${version} in the repository`);
    }
  }

  /** Reads and validates a version's manifest; its name and version must match the directory. */
  async readManifest(model: string, version: number): Promise<{ dir: string; manifest: Manifest }> {
    const dir = await this.versionDir(model, version);
    // Model files reached through links must stay inside the repository as well.
    for (const entry of await readdir(dir)) {
      try {
        await this.inside(model, String(version), entry);
      } catch (err) {
        if (err instanceof DriftgateError) {
          throw new DriftgateError('MODEL_LOAD_FAILED', `model "${model}" version ${version}: ${entry} links outside the model repository`);
        }
      }
    }
    let manifest: Manifest;
    try {
      manifest = await readManifestAt(dir);
    } catch (err) {
      if (!(err instanceof ManifestError)) throw err;
      throw new DriftgateError('MODEL_LOAD_FAILED', `model "${model}" version ${version}: ${err.detail}`, { cause: err });
    }
    if (manifest.name !== model || manifest.version !== version) {
      throw new DriftgateError(
        'MODEL_LOAD_FAILED',
        `model "${model}" version ${version}: manifest says "${manifest.name}" version ${manifest.version}`,
      );
    }
    return { dir, manifest };
  }

  /** Newest modification time of the files in a version directory, to notice a rewritten version. */
  async versionStamp(model: string, version: number): Promise<number> {
    const dir = await this.versionDir(model, version);
    let newest = (await stat(dir)).mtimeMs;
    for (const name of await readdir(dir)) {
      try {
        newest = Math.max(newest, (await stat(join(dir, name))).mtimeMs);
      } catch {
        // a file removed while we look is simply not counted
      }
    }
    return newest;
  }

  /**
   * The serving pointer, or undefined when the model has none. A pointer that cannot be read or parsed
   * is reported (logged once per distinct damage, and through `onPointerProblem`) and the last good
   * pointer this process read is returned instead, so a torn or hand-damaged file does not unpin a
   * model and undo a rollback.
   */
  async readPointer(model: string): Promise<ServingPointer | undefined> {
    let text: string;
    try {
      text = await readFile(join(await this.inside(model), POINTER_FILE), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        this.lastGoodPointer.delete(model);
        return undefined;
      }
      return this.pointerProblem(model, `cannot read ${POINTER_FILE}: ${describeError(err)}`, `read:${code ?? ''}`);
    }
    let parsed: ReturnType<typeof pointerSchema.safeParse>;
    try {
      parsed = pointerSchema.safeParse(JSON.parse(text));
    } catch (err) {
      return this.pointerProblem(model, `${POINTER_FILE} is not valid JSON: ${describeError(err)}`, text);
    }
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return this.pointerProblem(model, `${POINTER_FILE} is invalid: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`, text);
    }
    this.lastGoodPointer.set(model, parsed.data);
    this.reportedProblem.delete(model);
    return parsed.data;
  }

  private async pointerProblem(model: string, problem: string, fingerprint: string): Promise<ServingPointer | undefined> {
    const kept = this.lastGoodPointer.get(model) ?? (await this.readBackup(model));
    if (this.reportedProblem.get(model) !== fingerprint) {
      this.reportedProblem.set(model, fingerprint);
      this.options.logger?.error('serving pointer is damaged; keeping the last good one', {
        model,
        problem,
        kept: kept?.version ?? null,
      });
      this.options.onPointerProblem?.(model, problem);
    }
    return kept;
  }

  /** The backup copy of a pointer, for a process that starts while the pointer itself is damaged. */
  private async readBackup(model: string): Promise<ServingPointer | undefined> {
    try {
      const parsed = pointerSchema.safeParse(JSON.parse(await readFile(join(await this.inside(model), POINTER_BACKUP_FILE), 'utf8')));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Writes the serving pointer durably: a temporary file unique to this writer, flushed to disk, renamed
   * over the old pointer, and the directory flushed, so a crash leaves either the old or the new pointer.
   */
  async writePointer(model: string, pointer: ServingPointer): Promise<void> {
    const dir = await this.modelDir(model);
    const text = JSON.stringify(pointer, null, 2) + '\n';
    // The backup first: whatever happens to the pointer afterwards, the backup holds the newest good one.
    await writeDurably(dir, POINTER_BACKUP_FILE, text);
    await writeDurably(dir, POINTER_FILE, text);
    this.lastGoodPointer.set(model, pointer);
  }

  /**
   * Points every gateway sharing the repository at `version`: the current pointer version goes to the
   * front of the history, and the change is logged with its reason.
   */
  async promote(model: string, version: number, update: PointerUpdate): Promise<ServingPointer> {
    const available = await this.listVersions(model);
    if (!available.includes(version)) throw new DriftgateError('VERSION_NOT_FOUND', `model "${model}" has no version ${version} in the repository`);
    const current = await this.readPointer(model);
    const history = current && current.version !== version ? [current.version, ...current.history.filter((v) => v !== current.version && v !== version)] : (current?.history ?? []);
    const next = this.nextPointer(current, version, history, 'promote', update);
    await this.writePointer(model, next);
    return next;
  }

  /**
   * Goes back to the newest entry of the history that still exists (or `to`). Without a pointer there is
   * nothing to go back to.
   */
  async rollback(model: string, update: PointerUpdate & { to?: number }): Promise<ServingPointer> {
    const current = await this.readPointer(model);
    if (!current) throw new DriftgateError('CONFLICT', `model "${model}" has no serving pointer to roll back`);
    const available = await this.listVersions(model);
    const target = update.to ?? current.history.find((v) => v !== current.version && available.includes(v));
    if (target === undefined || !available.includes(target)) throw new DriftgateError('CONFLICT', `model "${model}" has no earlier version to roll back to`);
    const history = current.history.filter((v) => v !== target);
    const next = this.nextPointer(current, target, history, 'rollback', update);
    await this.writePointer(model, next);
    return next;
  }

  /** Builds the pointer that a promote or rollback writes. */
  nextPointer(current: ServingPointer | undefined, version: number, history: number[], action: PointerChange['action'], update: PointerUpdate): ServingPointer {
    const at = (update.now ?? new Date()).toISOString();
    const change: PointerChange = { version, action, reason: update.reason, at, ...(update.job ? { job: update.job } : {}) };
    return {
      version,
      history: history.slice(0, POINTER_HISTORY_SIZE),
      updatedAt: at,
      reason: update.reason,
      log: [...(current?.log ?? []), change].slice(-POINTER_LOG_SIZE),
    };
  }

  /** The highest version directory of a model; 0 when there is none. */
  async highestVersion(model: string): Promise<number> {
    const versions = await this.listVersions(model);
    return versions.at(-1) ?? 0;
  }

  /** The model's directory, created when missing. */
  async modelDir(model: string): Promise<string> {
    checkModelName(model);
    const fence = await this.fence();
    await mkdir(join(fence, model), { recursive: true });
    return this.inside(model);
  }

  /**
   * Moves a prepared temporary directory into place as the model's next version. The rename itself is
   * the claim: rename(2) refuses to replace a directory that is not empty, so when two writers pick the
   * same number only one succeeds; the other calls `prepare` again with the following number (to
   * rewrite whatever names the version, like the manifest) and retries. Every file in `temp` is
   * flushed to disk before the rename, and the model directory after it, so a crash never leaves a
   * version in place whose files are still only in the page cache.
   */
  async claimVersion(model: string, temp: string, prepare: (version: number) => Promise<void>): Promise<{ version: number; dir: string }> {
    const modelDir = await this.modelDir(model);
    for (let attempt = 0; attempt < MAX_CLAIMS; attempt++) {
      const version = (await this.highestVersion(model)) + 1;
      await prepare(version);
      await syncTree(temp);
      const dir = join(modelDir, String(version));
      try {
        await rename(temp, dir);
      } catch (err) {
        if (isTakenError(err)) continue;
        throw err;
      }
      await syncDir(modelDir);
      return { version, dir };
    }
    throw new Error(`could not claim a version number for ${model} in ${MAX_CLAIMS} attempts: other writers keep taking them`);
  }
}

/** rename(2) answers these when the target exists and is not an empty directory. */
function isTakenError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EEXIST' || code === 'ENOTEMPTY' || code === 'ENOTDIR' || code === 'EISDIR';
}

/** Flushes a directory entry list to disk (after a rename or create in it). */
export async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // some file systems refuse to fsync a directory; the rename is still atomic there
  } finally {
    await handle?.close();
  }
}

/** Flushes every file below `dir` to disk, then the directories themselves. */
async function syncTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      await syncTree(path);
    } else if (entry.isFile()) {
      const handle = await open(path, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  }
  await syncDir(dir);
}

/**
 * Replaces `dir/name` with `text` so a crash leaves the old or the new content, never a mix: a
 * temporary file whose name is unique to this writer (replicas sharing a volume may all be PID 1),
 * flushed, renamed over the target, then the directory flushed.
 */
export async function writeDurably(dir: string, name: string, text: string): Promise<void> {
  const tmp = join(dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'w', 0o644);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await rename(tmp, join(dir, name));
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dir);
}
