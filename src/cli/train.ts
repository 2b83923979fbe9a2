// `driftgate train`: trains a model from a CSV or JSONL file (from scratch, or fine-tuning a version)
// in a worker thread, with progress on stderr, and writes it as the next version in the repository.
// Exit codes: 0 written; 2 bad flags or bad data (nothing written); 130 cancelled with Ctrl-C
// (nothing written); 1 anything else.
import { stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { MANIFEST_FILE, loadConfig, modelNameSchema } from '../core/index.js';
import type { MetricsReport } from '../train/index.js';
import { EXIT_INTERRUPTED, EXIT_USAGE, UsageError, isInputError, oneLine, parseFlags } from './args.js';
import { TrainingProgress } from './progress.js';
import { BASE_STRATEGIES, DEFAULT_BASE_STRATEGY, DEFAULT_HYPERPARAMETERS, OPTIMIZERS, REPORT_FILE, runTraining } from '../train/index.js';
import type { TrainOptions, TrainingOutcome } from '../train/index.js';
import { TRAIN_FLAG_SPEC, trainOptionsFromFlags } from './train-flags.js';
import type { TrainFlags } from './train-flags.js';

export const TRAIN_USAGE = `usage: driftgate train --data FILE --target COLUMN --model NAME [flags]

Trains a model on a CSV or JSONL file and writes it as the next version of NAME in the repository
(<repo>/<NAME>/<version>/: tfjs files, driftgate.json, report.html). Progress goes to stderr, the
summary to stdout. Full guide: docs/fine-tuning.md.

data
  --data FILE              CSV (header row) or JSONL (.jsonl/.ndjson) file
  --target COLUMN          column to predict
  --task KIND              classification | regression (default: inferred from the target)
  --features A,B,...       feature columns, in order (default: every column but the target)
  --exclude A,B,...        columns to leave out (ids, timestamps)
  --types A=numeric,B=categorical   declare column types instead of inferring them
  --delimiter CHAR         CSV field separator (default ,)
  --missing KEY=STRATEGY,...  numeric=, categorical= or <column>= mean|median|mode|drop
                           (default numeric=median, categorical=mode)
  --clip RULE              clip numeric outliers: iqr, iqr=K or quantile=LOW:HIGH (default: no clipping)
  --scaling KIND           standardize | minmax | none (default standardize)
  --split T,V,E            train,validation,test fractions (default 0.7,0.15,0.15)
  --augment LIST           noise=STDxCOPIES, mixup=ALPHAxCOPIES, oversample (default: none)

fine-tuning (start from an existing version)
  --base DIR               version directory to start from, e.g. models/iris/3 (tfjs or ONNX)
  --strategy KIND          ${BASE_STRATEGIES.join(' | ')} (default ${DEFAULT_BASE_STRATEGY})
  --freeze K|A,B           freeze the first K weighted layers, or the named layers
  --two-phase E,LR         train the head for E epochs, then unfreeze all at learning rate LR

training
  --epochs N               epochs (default ${DEFAULT_HYPERPARAMETERS.epochs}; with --two-phase, those of the second phase)
  --lr X                   learning rate (default ${DEFAULT_HYPERPARAMETERS.learningRate})
  --batch-size N           batch size (default ${DEFAULT_HYPERPARAMETERS.batchSize})
  --optimizer NAME         ${OPTIMIZERS.join(' | ')} (default ${DEFAULT_HYPERPARAMETERS.optimizer})
  --hidden LIST            hidden layers of a fresh network: 32,16 or 64:tanh,32 or none (default 32,16)
  --initializer NAME       glorotUniform | glorotNormal | heNormal | heUniform | lecunNormal |
                           lecunUniform | randomNormal (default glorotUniform)
  --dropout X              dropout after each hidden layer, 0 to 0.9 (default 0)
  --l1 X, --l2 X           kernel regularization (default 0)
  --patience N             early stopping: epochs without improvement before stopping (default 10)
  --monitor KEY            early stopping metric: val_loss | val_accuracy | val_mae | loss | accuracy | mae
                           (default val_loss)
  --min-delta X            early stopping: smallest change that counts as improvement (default 0)
  --start-from-epoch N     early stopping: epochs at the start that are not watched (default 0)
  --no-early-stopping      train every epoch, keep the last weights
  --search SPEC            hyperparameter search: trials=N[,time=60s][,eta=3][,min-epochs=N]
  --seed N                 seed of every random choice (default 42)

output
  --repo DIR               model repository (default: $DRIFTGATE_MODEL_REPO or ./models)
  --model NAME             model name (directory under the repository)
  --onnx                   also write model.onnx (checked against tfjs) beside the tfjs files
  --no-report              do not write report.html

exit codes: 0 version written; 2 bad flags or data (nothing written); 130 interrupted; 1 other errors`;

export interface CommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
}

const defaultIo: CommandIo = { stdout: process.stdout, stderr: process.stderr };

/** Runs `driftgate train` with the arguments after `train`; resolves with the exit code. */
export async function trainCommand(argv: readonly string[], io: CommandIo = defaultIo): Promise<number> {
  let options: TrainOptions;
  let repo: string;
  let flags: TrainFlags;
  try {
    flags = parseFlags(argv, TRAIN_FLAG_SPEC, 'train');
    if (flags.help) {
      io.stdout.write(`${TRAIN_USAGE}\n`);
      return 0;
    }
    options = trainOptionsFromFlags(flags);
    repo = flags.repo ?? loadConfig().modelRepo;
    await checkInputs(options, repo);
  } catch (err) {
    io.stderr.write(`driftgate train: ${oneLine(err)}\n`);
    return isInputError(err) ? EXIT_USAGE : 1;
  }

  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
    io.stderr.write('\ncancelling (press Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const progress = new TrainingProgress(io.stderr, io.stderr.isTTY === true);
  try {
    const written = { onnx: flags.onnx ?? false, report: !(flags['no-report'] ?? false) };
    const outcome = await runTraining(options, {
      repo,
      ...written,
      onEvent: (event) => progress.handle(event),
      signal: controller.signal,
    });
    progress.finish();
    io.stdout.write(summarize(outcome, options, written));
    return 0;
  } catch (err) {
    progress.finish();
    if (err instanceof Error && err.name === 'AbortError') {
      io.stderr.write('driftgate train: cancelled; nothing was written\n');
      return EXIT_INTERRUPTED;
    }
    io.stderr.write(`driftgate train: ${oneLine(err)}\n`);
    return isInputError(err) ? EXIT_USAGE : 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** Checks what can be checked without reading the data, so obvious mistakes fail before a worker starts. */
async function checkInputs(options: TrainOptions, repo: string): Promise<void> {
  const name = modelNameSchema.safeParse(options.modelName);
  if (!name.success) throw new UsageError(`--model ${JSON.stringify(options.modelName)}: ${name.error.issues[0]?.message ?? 'invalid name'}`);
  if (options.data.kind === 'csv' || options.data.kind === 'jsonl') {
    const info = await stat(options.data.path).catch(() => undefined);
    if (!info) throw new UsageError(`--data ${options.data.path}: no such file`);
    if (!info.isFile()) throw new UsageError(`--data ${options.data.path}: not a file`);
  }
  if (options.base) {
    const dir = options.base.dir;
    const info = await stat(dir).catch(() => undefined);
    if (!info?.isDirectory()) throw new UsageError(`--base ${dir}: no such directory`);
    const manifest = await stat(join(dir, MANIFEST_FILE)).catch(() => undefined);
    if (!manifest?.isFile()) throw new UsageError(`--base ${dir}: not a model version (no ${MANIFEST_FILE})`);
  }
  const repoInfo = await stat(repo).catch(() => undefined);
  if (repoInfo && !repoInfo.isDirectory()) throw new UsageError(`--repo ${repo}: not a directory`);
}

function summarize(outcome: TrainingOutcome, options: TrainOptions, written: { onnx: boolean; report: boolean }): string {
  const files = written.onnx && outcome.onnxError === undefined ? 'tfjs-layers + model.onnx' : 'tfjs-layers';
  const lines = [`wrote ${options.modelName} version ${outcome.version} to ${displayPath(outcome.dir)} (${files})`];
  const row = (label: string, value: string): string => `  ${label.padEnd(11)} ${value}`;
  lines.push(row('test', headline(outcome.test)));
  lines.push(row('validation', headline(outcome.validation)));
  if (outcome.baseline) lines.push(row('baseline', `${headline(outcome.baseline)}  (validation, before training)`));
  lines.push(row('epochs', `${outcome.history.length} run, best ${outcome.bestEpoch}`));
  const c = outcome.cleaning;
  const augmented = outcome.rows.augmented > 0 ? ` (+${outcome.rows.augmented} augmented)` : '';
  lines.push(
    row(
      'rows',
      `train ${outcome.rows.train}${augmented}, validation ${outcome.rows.validation}, test ${outcome.rows.test}; ` +
        `${c.rowsIn} read, ${c.rowsIn - c.rowsOut} dropped in cleaning`,
    ),
  );
  if (outcome.trials.length > 0) {
    const hp = outcome.hyperparameters;
    lines.push(row('search', `${outcome.trials.length} trials; chosen lr ${Number(hp.learningRate.toPrecision(3))}, batch ${hp.batchSize}`));
  }
  if (outcome.parent) lines.push(row('parent', `${outcome.parent.name} version ${outcome.parent.version}`));
  lines.push(row('time', `${formatDuration(outcome.durationMs)} on the ${outcome.backend} backend`));
  if (outcome.onnxError) lines.push(row('onnx', `not written: ${outcome.onnxError}`));
  if (written.report) lines.push(row('report', displayPath(join(outcome.dir, REPORT_FILE))));
  return `${lines.join('\n')}\n`;
}

function headline(report: MetricsReport): string {
  const f = (x: number | null): string => (x === null || !Number.isFinite(x) ? 'n/a' : String(Number(x.toPrecision(4))));
  if (report.task === 'classification') {
    return `accuracy ${f(report.accuracy)}  macro F1 ${f(report.macro.f1)}  log loss ${f(report.logLoss)}  ROC-AUC ${f(report.rocAuc)}  (n = ${report.n})`;
  }
  return `rmse ${f(report.rmse)}  mae ${f(report.mae)}  r2 ${f(report.r2)}  (n = ${report.n})`;
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** A path relative to the working directory when it lies below it, else as is. */
function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}
