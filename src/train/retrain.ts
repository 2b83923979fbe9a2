// One retrain, as the retrain loop asks for it: fine-tune the serving version (the champion) on recent
// labelled examples plus a replayed share of the champion's own training rows, in a worker thread, and
// write the result as a candidate version in the champion's served format. Whether the candidate is
// promoted is the loop's decision (it scores both with evaluateVersion); this only trains and writes.
//
// The candidate takes the same requests and answers in the same columns as the champion: fine-tuning
// starts from the champion's network and keeps its features, preprocessing and labels (trainer.ts),
// and this module checks the written manifest says so before handing it back.
import { rm } from 'node:fs/promises';
import { modelNameSchema, seededRandom } from '../core/index.js';
import type { Manifest } from '../core/index.js';
import { DataError } from './data/index.js';
import { resolveRetrainRecipe } from './retrain-recipe.js';
import type { RetrainRecipe, RetrainRecipeInput } from './retrain-recipe.js';
import { DEFAULT_SEED } from './trainer.js';
import { pick, readTrainingSample } from './training-sample.js';
import type { SampleExample } from './training-sample.js';
import type { TrainEvent, TrainOptions } from './types.js';
import { runTraining } from './worker.js';
import type { TrainResultSummary } from './worker.js';

/** A recent labelled example, as the loop's window holds it. `ts` is not used for training. */
export interface RetrainExample {
  features: Record<string, number | string | boolean | null>;
  /** Class name or class index (classification), or the value (regression). */
  label: string | number;
  ts?: string | number;
}

export interface RetrainVersionOptions {
  /** Model repository the candidate is written into. */
  repo: string;
  /** Model name; the champion must be a version of it. */
  model: string;
  /** The serving version to start from, with its manifest. */
  champion: { dir: string; manifest: Manifest };
  /** Recent labelled examples: the new data. */
  examples: readonly RetrainExample[];
  /**
   * Rows to replay, a `recipe.replayShare` share of which joins the recent examples. `[]` replays
   * nothing (e.g. when the caller mixed replay rows into `examples` itself).
   * @defaultValue the train rows of the champion's training sample (none when it has no sample)
   */
  replay?: readonly SampleExample[];
  /** Recipe fields that override the champion's `retrain` block. @defaultValue none */
  recipe?: RetrainRecipeInput;
  /** Aborting cancels the training; nothing is written. */
  signal?: AbortSignal;
  /** Progress from the worker: stages, epochs, trials. */
  onEvent?: (event: TrainEvent) => void;
  /** The retrain job, recorded as `lineage.job`; also seeds the run when the recipe gives no seed. */
  jobId?: string;
  /** Why the retrain happened, recorded as `lineage.trigger`, e.g. `retrain:data_drift`. @defaultValue `retrain` */
  trigger?: string;
  /** Write `report.html`. @defaultValue true */
  report?: boolean;
}

export interface RetrainedVersion {
  version: number;
  dir: string;
  /** The candidate's manifest (`stage: 'candidate'`). */
  manifest: Manifest;
  /** The training run: metrics on its own validation and test splits, history, hyperparameters... */
  training: TrainResultSummary;
  /** The recipe used, defaults filled in. */
  recipe: RetrainRecipe;
  /** Rows trained on (before the split): recent examples and replayed rows. */
  rows: { recent: number; replay: number };
  durationMs: number;
}

/**
 * Fine-tunes `champion` on the examples (plus replay) in a worker thread and writes the result as a
 * candidate version of `model`, in the champion's served format (ONNX stays ONNX, with tfjs files
 * beside it; tfjs layers stays tfjs layers).
 *
 * @throws DataError for a champion that cannot be fine-tuned (another model, a tfjs graph model), an
 *   invalid recipe, or unusable examples; the training's own errors (DriftgateError INVALID_INPUT for
 *   bad data) and an AbortError when cancelled. Nothing is written when it throws.
 */
export async function retrainVersion(opts: RetrainVersionOptions): Promise<RetrainedVersion> {
  const started = performance.now();
  const { champion, model } = opts;
  const manifest = champion.manifest;
  if (!modelNameSchema.safeParse(model).success) throw new DataError(`invalid model name ${JSON.stringify(model)}`);
  if (manifest.name !== model) throw new DataError(`the champion is a version of "${manifest.name}", not of "${model}"`);
  if (manifest.format === 'tfjs-graph') {
    throw new DataError(`${model} version ${manifest.version} is a tfjs graph model, which cannot be fine-tuned; serve a tfjs-layers or ONNX version`);
  }
  const retrainBlock = (manifest as Record<string, unknown>)['retrain'];
  const recipe = resolveRetrainRecipe(retrainBlock, opts.recipe, `${model} version ${manifest.version}`);
  if (opts.examples.length === 0) throw new DataError('no recent examples to retrain on');
  const seed = recipe.seed ?? (opts.jobId ? hashSeed(opts.jobId) : DEFAULT_SEED);

  const recent = opts.examples.map((e) => ({ features: e.features, label: asClassName(manifest, e.label) }));
  const replaySource = opts.replay ?? (await readTrainingSample(champion.dir, manifest))?.train ?? [];
  const replayCount = Math.min(replaySource.length, Math.round(recent.length * recipe.replayShare));
  const replay = pick(replaySource.length, replayCount, seededRandom(seed)).map((i) => replaySource[i]!);

  const target = targetColumn(manifest);
  const options: TrainOptions = {
    data: { kind: 'examples', examples: [...recent, ...replay] },
    target,
    task: manifest.task,
    base: {
      dir: champion.dir,
      strategy: 'fine-tune',
      ...(recipe.freeze ? { freeze: recipe.freeze } : {}),
      ...(recipe.twoPhase ? { twoPhase: recipe.twoPhase } : {}),
    },
    hyperparameters: { ...recipe.hyperparameters, epochs: recipe.epochs },
    earlyStopping: recipe.earlyStopping,
    ...(recipe.search ? { search: recipe.search } : {}),
    ...(recipe.split ? { split: recipe.split } : {}),
    seed,
    modelName: model,
    trigger: opts.trigger ?? 'retrain',
    ...(opts.jobId ? { job: opts.jobId } : {}),
  };
  const outcome = await runTraining(options, {
    repo: opts.repo,
    report: opts.report ?? true,
    format: manifest.format === 'onnx' ? 'onnx' : 'tfjs-layers',
    stage: 'candidate',
    ...(recipe.trainingSample ? { trainingSample: recipe.trainingSample } : {}),
    inherit: { ...(manifest.batching ? { batching: manifest.batching } : {}), ...(retrainBlock !== undefined ? { retrain: retrainBlock } : {}) },
    lineage: { examples: { recent: recent.length, replay: replay.length } },
    ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const { version, dir, manifest: written, onnxError: _onnxError, ...training } = outcome;

  const drift = interfaceDifference(manifest, written);
  if (drift) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`the candidate would not take the champion's requests (${drift}); it was removed`);
  }
  return { version, dir, manifest: written, training, recipe, rows: { recent: recent.length, replay: replay.length }, durationMs: performance.now() - started };
}

/**
 * The label column the examples are trained under: the champion's own target name when it recorded
 * one, so `driftgate evaluate` finds it in the candidate's lineage, else `label`. Never a feature name.
 */
function targetColumn(manifest: Manifest): string {
  const names = new Set(manifest.features.map((f) => f.name));
  const recorded = (manifest.lineage as Record<string, unknown> | undefined)?.['target'];
  if (typeof recorded === 'string' && recorded !== '' && !names.has(recorded)) return recorded;
  let name = 'label';
  while (names.has(name)) name = `_${name}`;
  return name;
}

/** A class index becomes the class name, as the labels endpoint accepts both. */
function asClassName(manifest: Manifest, label: string | number): string | number {
  const labels = manifest.labels;
  if (manifest.task !== 'classification' || !labels || typeof label !== 'number') return label;
  if (labels.includes(String(label))) return label;
  return Number.isInteger(label) && label >= 0 && label < labels.length ? labels[label]! : label;
}

/** What differs between two versions' request and response contract, or undefined when nothing does. */
function interfaceDifference(a: Manifest, b: Manifest): string | undefined {
  const same = (x: unknown, y: unknown): boolean => JSON.stringify(x) === JSON.stringify(y);
  if (!same(a.features, b.features)) return 'features differ';
  if (!same(a.preprocessing, b.preprocessing)) return 'preprocessing differs';
  if (!same(a.labels, b.labels)) return 'labels differ';
  if (a.task !== b.task || a.input !== b.input || a.output !== b.output) return 'task or tensor names differ';
  return undefined;
}

/** FNV-1a of a string, as a non-negative 31-bit seed. */
function hashSeed(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0) & 0x7fffffff;
}
