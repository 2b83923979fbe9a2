// `driftgate evaluate`: scores a version of a model on a labelled CSV or JSONL file and prints its
// metrics and error analysis. The model runs through the gateway's own runtime (in this thread), with
// the manifest's preprocessing, so the numbers are those of the version as it is served.
// Exit codes: 0 printed; 2 bad flags, unknown model or version, bad data; 1 anything else.
import { stat } from 'node:fs/promises';
import { MANIFEST_FILE, ModelRepository, isDriftgateError, loadConfig } from '../core/index.js';
import type { Manifest } from '../core/index.js';
import { openRuntime } from '../serve/index.js';
import { evaluateVersion, formatErrorAnalysis, formatMetrics, readCsv, readJsonl, selectColumns } from '../train/index.js';
import type { EvaluationExample, RawTable, VersionEvaluation } from '../train/index.js';
import { EXIT_USAGE, UsageError, dataKind, integerFlag, isInputError, oneLine, parseFlags, required } from './args.js';
import type { CommandIo } from './train.js';

export const EVALUATE_USAGE = `usage: driftgate evaluate --data FILE --model NAME [flags]

Scores a model version on labelled data and prints its metrics (accuracy, precision, recall, F1,
ROC-AUC, log loss, confusion matrix; or MSE, RMSE, MAE, R²) and an error analysis (most confused
classes, worst examples, weakest slices).

  --data FILE        CSV (header row) or JSONL (.jsonl/.ndjson) file with the features and the target
  --model NAME       model to evaluate
  --version N        version (default: the serving one, i.e. serving.json's or else the newest that
                     is not a candidate)
  --repo DIR         model repository (default: $DRIFTGATE_MODEL_REPO or ./models)
  --target COLUMN    target column (default: the one the version was trained on, from its manifest)
  --delimiter CHAR   CSV field separator (default ,)
  --onnx             evaluate the version's model.onnx artifact instead of its served format
  --worst N          worst examples listed (default 10)

Rows with a missing or invalid feature value are left out and counted; categories the model has not
seen are encoded as all zeros and counted.

exit codes: 0 done; 2 bad flags, unknown model or version, or bad data; 1 other errors`;

const FLAGS = {
  data: { type: 'string' },
  model: { type: 'string' },
  version: { type: 'string' },
  repo: { type: 'string' },
  target: { type: 'string' },
  delimiter: { type: 'string' },
  onnx: { type: 'boolean' },
  worst: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const defaultIo: CommandIo = { stdout: process.stdout, stderr: process.stderr };

/** Runs `driftgate evaluate` with the arguments after `evaluate`; resolves with the exit code. */
export async function evaluateCommand(argv: readonly string[], io: CommandIo = defaultIo): Promise<number> {
  try {
    const flags = parseFlags(argv, FLAGS, 'evaluate');
    if (flags.help) {
      io.stdout.write(`${EVALUATE_USAGE}\n`);
      return 0;
    }
    const path = required(flags.data, 'data');
    const model = required(flags.model, 'model');
    const repoDir = flags.repo ?? loadConfig().modelRepo;
    const k = integerFlag(flags.worst, 'worst', 0, 1000) ?? 10;
    if (flags.delimiter !== undefined && flags.delimiter.length !== 1) throw new UsageError(`--delimiter must be one character, got ${JSON.stringify(flags.delimiter)}`);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) throw new UsageError(`--data ${path}: no such file`);

    const { dir, manifest, version } = await findVersion(repoDir, model, flags.version);
    const served = flags.onnx ? onnxArtifact(manifest, dir) : manifest;
    const target = flags.target ?? trainedTarget(manifest);
    if (target === undefined) throw new UsageError(`the manifest of ${model} version ${version} does not name its target column; pass --target`);

    const table = dataKind(path) === 'jsonl' ? await readJsonl(path) : await readCsv(path, flags.delimiter === undefined ? {} : { delimiter: flags.delimiter });
    const examples = examplesOf(table, manifest, target);
    const runtime = await openRuntime(dir, served, {
      thread: 'inline',
      tfjsBackend: 'auto',
      onnx: { intraOpThreads: 0, interOpThreads: 0, graphOptimization: 'all' },
    });
    let evaluation: VersionEvaluation;
    try {
      // Unseen categories are scored as all zeros ("none of the known categories") and counted, so a
      // file with a new category still gets a score; serving would refuse such rows unless the
      // manifest says unknownCategory: ignore.
      evaluation = await evaluateVersion({ manifest, predict: (x, rows) => runtime.run(x, rows) }, examples, {
        worst: k,
        unseenCategories: 'zeros',
        batchRows: Math.max(1, examples.length),
      });
    } finally {
      await runtime.dispose();
    }

    const format = flags.onnx ? 'onnx artifact' : manifest.format;
    io.stdout.write(`${model} version ${version} (${format}) on ${path}: ${evaluation.rows} rows, target "${target}"\n`);
    for (const note of notesOf(evaluation)) io.stdout.write(`note: ${note}\n`);
    io.stdout.write(`\n${formatMetrics(evaluation.metrics)}\n\n${formatErrorAnalysis(evaluation.errorAnalysis!)}\n`);
    return 0;
  } catch (err) {
    io.stderr.write(`driftgate evaluate: ${oneLine(err)}\n`);
    return isInputError(err) || isUnknownVersion(err) ? EXIT_USAGE : 1;
  }
}

async function findVersion(repoDir: string, model: string, rawVersion: string | undefined): Promise<{ dir: string; manifest: Manifest; version: number }> {
  const repo = new ModelRepository(repoDir);
  const exists = await stat(repo.root).catch(() => undefined);
  if (!exists?.isDirectory()) throw new UsageError(`--repo ${repoDir}: no such directory`);
  const versions = await repo.listVersions(model);
  if (versions.length === 0) throw new UsageError(`model "${model}" has no versions in ${repoDir}`);
  let version = integerFlag(rawVersion, 'version', 1);
  if (version === undefined) {
    const pointer = await repo.readPointer(model);
    if (pointer && versions.includes(pointer.version)) version = pointer.version;
    else {
      // The newest version that is not a candidate waiting for its gate: candidates are not served.
      for (const v of [...versions].reverse()) {
        const read = await repo.readManifest(model, v);
        if (read.manifest.stage !== 'candidate') return { ...read, version: v };
      }
      version = versions[versions.length - 1]!;
    }
  } else if (!versions.includes(version)) {
    throw new UsageError(`model "${model}" has no version ${version} (versions: ${versions.join(', ')})`);
  }
  const { dir, manifest } = await repo.readManifest(model, version);
  return { dir, manifest, version };
}

/** The manifest to open the version's ONNX copy with. */
function onnxArtifact(manifest: Manifest, dir: string): Manifest {
  if (manifest.format === 'onnx') return manifest;
  if (manifest.artifacts?.onnx === undefined) throw new UsageError(`${dir} has no ONNX copy (train with --onnx to write one); ${MANIFEST_FILE} lists none`);
  return { ...manifest, format: 'onnx' };
}

function trainedTarget(manifest: Manifest): string | undefined {
  return manifest.lineage?.target;
}

/**
 * The file's rows as labelled examples. The target and every feature column must be in the file;
 * typing and leaving out incomplete rows is evaluateVersion's job.
 */
function examplesOf(table: RawTable, manifest: Manifest, target: string): EvaluationExample[] {
  const features = manifest.features.map((f) => f.name);
  const types = Object.fromEntries(manifest.features.map((f) => [f.name, f.type]));
  const selection = selectColumns(table, { target, features, types });
  return selection.rows.map((row) => ({ features: row as EvaluationExample['features'], label: row[target] as EvaluationExample['label'] }));
}

/** What was left out or encoded specially, one line each. */
function notesOf(evaluation: VersionEvaluation): string[] {
  const notes: string[] = [];
  const { skipped } = evaluation;
  const droppedTarget = skipped.missingTarget + skipped.invalidTarget;
  if (droppedTarget > 0) notes.push(`${droppedTarget} rows without a valid target left out`);
  const incomplete = skipped.missingFeature + skipped.invalidFeature;
  if (incomplete > 0) notes.push(`${incomplete} rows with a missing or invalid feature value left out`);
  for (const [name, n] of Object.entries(evaluation.unseenCategories)) {
    if (n > 0) notes.push(`${n} rows hold a category of "${name}" the model never saw (encoded as all zeros)`);
  }
  return notes;
}

function isUnknownVersion(err: unknown): boolean {
  return isDriftgateError(err) && (err.code === 'VERSION_NOT_FOUND' || err.code === 'MODEL_NOT_FOUND');
}

