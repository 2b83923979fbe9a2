// The model repository on disk: <repo>/<model>/<version>/ with a manifest in each version, and an
// optional serving pointer <repo>/<model>/serving.json written by promote and rollback so that every
// gateway sharing the repository serves the same version. Nothing outside the repository is read:
// names are validated, and every path is resolved through symlinks and checked to stay inside.
import { mkdir, readFile, readdir, realpath, rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { z } from 'zod';
import { DriftgateError, MANIFEST_FILE, describeError, describeValue, manifestSchema, modelNameSchema } from '../core/index.js';
import type { Manifest } from '../core/index.js';

export const POINTER_FILE = 'serving.json';

const pointerSchema = z.object({
  version: z.number().int().positive(),
  history: z.array(z.number().int().positive()).default([]),
  updatedAt: z.string().optional(),
  reason: z.string().optional(),
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
  if (!/^[1-9][0-9]{0,8}$/.test(raw)) throw new DriftgateError('INVALID_INPUT', `invalid version ${describeValue(raw)}: versions are positive integers`);
  return Number(raw);
}

export class ModelRepository {
  readonly root: string;
  private realRoot: string | undefined;

  constructor(root: string) {
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
      if (!/^[1-9][0-9]{0,8}$/.test(e)) continue;
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
    let text: string;
    try {
      text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
    } catch (err) {
      throw new DriftgateError('MODEL_LOAD_FAILED', `model "${model}" version ${version}: cannot read ${MANIFEST_FILE}: ${describeError(err)}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new DriftgateError('MODEL_LOAD_FAILED', `model "${model}" version ${version}: ${MANIFEST_FILE} is not valid JSON: ${describeError(err)}`);
    }
    const parsed = manifestSchema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      throw new DriftgateError('MODEL_LOAD_FAILED', `model "${model}" version ${version}: invalid ${MANIFEST_FILE}: ${issues}`);
    }
    const manifest = parsed.data;
    if (manifest.name !== model || manifest.version !== version) {
      throw new DriftgateError(
        'MODEL_LOAD_FAILED',
        `model "${model}" version ${version}: manifest says "${manifest.name}" version ${manifest.version}`,
      );
    }
    return { dir, manifest };
  }

  async readPointer(model: string): Promise<ServingPointer | undefined> {
    let text: string;
    try {
      text = await readFile(join(await this.inside(model), POINTER_FILE), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const parsed = pointerSchema.safeParse(JSON.parse(text));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
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

  /** Writes the serving pointer atomically (temp file, then rename). */
  async writePointer(model: string, pointer: ServingPointer): Promise<void> {
    const dir = await this.inside(model);
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `.${POINTER_FILE}.${process.pid}.tmp`);
    await writeFile(tmp, JSON.stringify(pointer, null, 2) + '\n');
    await rename(tmp, join(dir, POINTER_FILE));
  }
}
