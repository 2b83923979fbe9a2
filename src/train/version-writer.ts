// Writes a training result into the model repository as the model's next version, all at once.
//
// The gateway polls the repository and loads any version directory it finds, so a version must appear
// complete or not at all. Everything is written into a hidden temporary directory beside the versions
// (`<repo>/<model>/.tmp-*`, which the gateway ignores: versions are positive integers) and renamed into
// place at the end. A failure before that removes the temporary directory and leaves the repository
// as it was.
//
// Choosing the number is the repository owner's job (`ModelRepository.claimVersion` in src/core): the
// rename itself is the claim, so when two writers pick the same next number only one rename succeeds
// and the other writes its manifest and report again with the following number. The owner flushes the
// files before the rename and the model directory after it. Reserving the number first with an
// exclusive mkdir would also work, but would show the gateway's poll an empty version directory (a
// failed load in /admin/models) for as long as the files take to write.
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { MANIFEST_FILE, ModelRepository, TEMP_PREFIX, modelNameSchema } from '../core/index.js';
import { TFJS_MODEL_FILE, saveLayersModelToDir } from '../core/tfjs.js';
import type { Manifest } from '../core/index.js';
import { ONNX_MODEL_FILE } from './base-model.js';
import { lineageChain } from './lineage.js';
import type { LineageEntry } from './lineage.js';
import { deriveSeed } from './network.js';
import { exportCheckedOnnx } from './onnx-artifact.js';
import { renderReport } from './report.js';
import { TRAINING_SAMPLE_FILE, drawTrainingSample } from './training-sample.js';
import type { TrainingSampleOptions } from './training-sample.js';
import type { TrainOptions, TrainResult } from './types.js';
import { buildVersionManifest } from './version-manifest.js';
import type { InheritedFields, VersionArtifacts } from './version-manifest.js';

export const REPORT_FILE = 'report.html';

/** A temporary directory older than this belongs to a writer that died; the next writer removes it. */
const STALE_TEMP_MS = 60 * 60 * 1000;
/** Stream of the run seed the training sample is drawn from (train-run.ts and prepare.ts use 1 to 6 and 100 up). */
const SEED_SAMPLE = 7;

export interface WriteVersionOptions {
  /** Model name: the directory under the repository and the manifest's `name`. */
  model: string;
  /** Also write `model.onnx` (exported and checked against tfjs) beside the tfjs files. @defaultValue false */
  onnx?: boolean;
  /** Write `report.html`. @defaultValue true */
  report?: boolean;
  /** The options the run was started with, recorded in the manifest's lineage. @defaultValue not recorded */
  training?: TrainOptions;
  /** Clock for `lineage.createdAt`. @defaultValue the current time */
  now?: () => Date;
  /**
   * The served format. `onnx`: the ONNX export is required (a failed export or parity check is an
   * error, and nothing is written), `model.onnx` is the served file, and the tfjs files stay beside it
   * (`artifacts.tfjs`) for later fine-tuning. @defaultValue `tfjs-layers`
   */
  format?: 'tfjs-layers' | 'onnx';
  /** `candidate`: a version the retrain loop wrote, not served until promoted. @defaultValue an ordinary version */
  stage?: 'candidate';
  /**
   * Write `training-sample.jsonl`: up to `rows` train-split rows and `holdout` test-split rows, drawn
   * with a seed derived from the run's; `false` writes none. Needs `result.splitRows`.
   * @defaultValue `{ rows: 2000, holdout: 500 }`
   */
  trainingSample?: Omit<TrainingSampleOptions, 'seed'> | false;
  /** Fields taken over from the version the run started from (batching, retrain recipe). @defaultValue none */
  inherit?: InheritedFields;
  /** More lineage fields, e.g. what the training rows were made of. @defaultValue none */
  lineage?: Record<string, unknown>;
}

export interface WrittenVersion {
  version: number;
  /** The version directory. */
  dir: string;
  manifest: Manifest;
  /** Why `model.onnx` was not written although asked for (an unsupported layer, a parity failure). */
  onnxError?: string;
}

/**
 * Writes `result` as the next version of `opts.model` under `repoDir` (created when missing): tfjs
 * layers files, optionally `model.onnx` (served when `format` is `onnx`), the manifest
 * `driftgate.json` (validated with the manifest schema), `training-sample.jsonl` and `report.html`.
 * The next version is one more than the highest version directory present.
 *
 * @throws when the result does not make a valid manifest (nothing is written then), when an `onnx`
 *   version cannot be exported, or when writing fails (the temporary directory is removed).
 */
export async function writeVersion(repoDir: string, result: TrainResult, opts: WriteVersionOptions): Promise<WrittenVersion> {
  const model = modelNameSchema.parse(opts.model);
  const createdAt = (opts.now?.() ?? new Date()).toISOString();
  const format = opts.format ?? 'tfjs-layers';
  if (format !== 'tfjs-layers' && format !== 'onnx') throw new Error(`writeVersion: format must be tfjs-layers or onnx, got ${JSON.stringify(format)}`);
  const draft = (version: number, artifacts: VersionArtifacts): Manifest =>
    buildVersionManifest(result, {
      model,
      version,
      createdAt,
      artifacts,
      format,
      ...(opts.training ? { training: opts.training } : {}),
      ...(opts.stage ? { stage: opts.stage } : {}),
      ...(opts.inherit ? { inherit: opts.inherit } : {}),
      ...(opts.lineage ? { lineage: opts.lineage } : {}),
    });
  // Validated before anything touches the disk, so a manifest problem leaves no trace at all.
  draft(1, {});

  const root = resolve(repoDir);
  await mkdir(root, { recursive: true });
  const repository = new ModelRepository(root);
  const modelDir = await repository.modelDir(model);
  await removeStaleTemps(modelDir);
  const temp = await mkdtemp(join(modelDir, TEMP_PREFIX));
  try {
    // mkdtemp makes the directory private (0700); a version must be readable by a gateway running as
    // another user, like every other directory of the repository.
    await chmod(temp, 0o755);
    await saveLayersModelToDir(result.model, temp);
    const artifacts: VersionArtifacts = {};
    const onnxError = opts.onnx || format === 'onnx' ? await writeOnnx(temp, result, model, format, artifacts) : undefined;
    if (opts.trainingSample !== false && result.splitRows) await writeTrainingSample(temp, result, result.splitRows, opts.trainingSample, artifacts);
    const writeReport = opts.report ?? true;
    if (writeReport) artifacts.report = REPORT_FILE;
    const chain = writeReport ? await parentChain(root, result) : [];

    let manifest: Manifest | undefined; // the one the successful claim's prepare wrote
    const { version } = await repository.claimVersion(model, temp, async (version) => {
      manifest = draft(version, artifacts);
      await writeFile(join(temp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
      if (!writeReport) return;
      const html = renderReport(result, chain, {
        model,
        version,
        createdAt,
        onnx: artifacts.onnx !== undefined,
        ...(onnxError ? { onnxError } : {}),
        ...(opts.training ? { recipe: opts.training } : {}),
      });
      await writeFile(join(temp, REPORT_FILE), html);
    });
    // The path as the caller named the repository (the owner's is resolved through symlinks).
    const dir = join(root, model, String(version));
    return { version, dir, manifest: manifest!, ...(onnxError ? { onnxError } : {}) };
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Writes `model.onnx` into `temp` and records it in `artifacts`. An export that fails or misses parity
 * is an error for an `onnx` version; for a tfjs one it is recorded and returned as the reason.
 */
async function writeOnnx(
  temp: string,
  result: TrainResult,
  model: string,
  format: 'tfjs-layers' | 'onnx',
  artifacts: VersionArtifacts,
): Promise<string | undefined> {
  const onnx = await exportCheckedOnnx(result.model, { inputName: result.inputName, outputName: result.outputName });
  if (onnx.ok) {
    await writeFile(join(temp, ONNX_MODEL_FILE), onnx.bytes);
    artifacts.onnx = ONNX_MODEL_FILE;
    if (format === 'onnx') artifacts.tfjs = TFJS_MODEL_FILE;
    return undefined;
  }
  if (format === 'onnx') throw new Error(`cannot write ${model} as an ONNX version: ${onnx.reason}`);
  artifacts.onnxError = onnx.reason;
  return onnx.reason;
}

async function writeTrainingSample(
  temp: string,
  result: TrainResult,
  splitRows: NonNullable<TrainResult['splitRows']>,
  options: Omit<TrainingSampleOptions, 'seed'> | undefined,
  artifacts: VersionArtifacts,
): Promise<void> {
  const sample = drawTrainingSample(
    splitRows,
    { features: result.features.map((f) => f.name), target: result.cleaning.target.name },
    { ...options, seed: deriveSeed(result.seed, SEED_SAMPLE) },
  );
  await writeFile(join(temp, TRAINING_SAMPLE_FILE), sample.text);
  artifacts.trainingSample = TRAINING_SAMPLE_FILE;
  artifacts.trainingSampleRows = { train: sample.train, holdout: sample.holdout };
}

/** The parent's ancestry, read from the repository the parent lives in. */
async function parentChain(repoDir: string, result: TrainResult): Promise<LineageEntry[]> {
  const parent = result.parent;
  if (!parent) return [];
  // A base given as <repo>/<model>/<version> names its own repository; fall back to ours otherwise.
  const parentDir = resolve(parent.dir);
  const parentRepo = dirname(dirname(parentDir));
  const inOwnLayout = join(parentRepo, parent.name, String(parent.version)) === parentDir;
  return lineageChain(inOwnLayout ? parentRepo : repoDir, parent.name, parent.version);
}

async function removeStaleTemps(modelDir: string): Promise<void> {
  const now = Date.now();
  for (const name of await readdir(modelDir)) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const path = join(modelDir, name);
    try {
      if (now - (await stat(path)).mtimeMs > STALE_TEMP_MS) await rm(path, { recursive: true, force: true });
    } catch {
      // another writer removed or renamed it meanwhile
    }
  }
}
