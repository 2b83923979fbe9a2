// The manifest (`driftgate.json`) of a version the trainer wrote: what the gateway needs to serve it
// (features, preprocessing, tensor names, labels), what the monitor needs to watch it (the reference
// profile), and what a person needs to trust it (metrics, and the lineage: where the data and the
// starting weights came from, with which settings).
import { manifestSchema, taskFields } from '../core/index.js';
import type { Artifacts, Manifest, ManifestInput } from '../core/index.js';
import type { TrainOptions, TrainResult } from './types.js';

/** Files a trained version holds besides the served model, named in the manifest's `artifacts` (its schema is core's). */
export type VersionArtifacts = Artifacts;

/** Manifest fields a version takes over from the version it was fine-tuned from. */
export interface InheritedFields {
  /** The serving batch settings. */
  batching?: Manifest['batching'];
  /** The retrain recipe (`retrain` block), so the next retrain follows the same one. */
  retrain?: unknown;
}

export interface VersionManifestInput {
  model: string;
  version: number;
  /** ISO time recorded as `lineage.createdAt`. */
  createdAt: string;
  artifacts: VersionArtifacts;
  /** The options of the run, recorded (minus in-memory data) as `lineage.recipe`. */
  training?: TrainOptions;
  /** The served format. @defaultValue `tfjs-layers` */
  format?: 'tfjs-layers' | 'onnx';
  /** `candidate`: written by the retrain loop, not served until promoted. @defaultValue an ordinary version */
  stage?: 'candidate';
  inherit?: InheritedFields;
  /** More lineage fields (e.g. what the training rows were made of); they do not replace the standard ones. */
  lineage?: Record<string, unknown>;
}

/**
 * Builds and validates the manifest of a trained version. The served format is `tfjs-layers` unless
 * `format` says `onnx`: a version directory serves one format, and the other travels beside it as an
 * artifact (`artifacts.onnx`, which `driftgate evaluate --onnx` can score, or `artifacts.tfjs`, which
 * fine-tuning starts from).
 *
 * `lineage.parent` is set only when the base was a version of the same model (the schema's meaning);
 * `lineage.from` names the base in every case, including a base of another model.
 *
 * @throws ZodError when the result does not make a valid manifest (e.g. duplicate feature names).
 */
export function buildVersionManifest(result: TrainResult, input: VersionManifestInput): Manifest {
  const parent = result.parent;
  const metrics: Record<string, unknown> = {
    validation: result.validation,
    test: result.test,
    bestEpoch: result.bestEpoch,
    epochs: result.history.length,
  };
  if (result.baseline) metrics['baseline'] = result.baseline;

  const lineage: Record<string, unknown> = {
    ...input.lineage,
    parent: parent && parent.name === input.model ? parent.version : null,
    trigger: result.trigger,
    dataFingerprint: result.dataFingerprint,
    hyperparameters: toJson(result.hyperparameters),
    seed: result.seed,
    createdAt: input.createdAt,
    target: result.cleaning.target.name,
    rows: result.rows,
    cleaning: toJson(result.cleaning),
    backend: result.backend,
    durationMs: Math.round(result.durationMs),
  };
  if (result.job !== undefined) lineage['job'] = result.job;
  if (parent) lineage['from'] = { model: parent.name, version: parent.version };
  if (result.trials.length > 0) lineage['trials'] = result.trials.length;
  if (input.training) lineage['recipe'] = describeRecipe(input.training);

  const draft: ManifestInput & Record<string, unknown> = {
    name: input.model,
    version: input.version,
    format: input.format ?? 'tfjs-layers',
    ...(input.stage ? { stage: input.stage } : {}),
    ...taskFields(result.task, result.labels),
    description: describeVersion(result, input.model),
    features: result.features,
    input: result.inputName,
    output: result.outputName,
    preprocessing: result.preprocessing,
    reference: result.reference,
    metrics,
    lineage,
    artifacts: input.artifacts,
    ...(input.inherit?.batching ? { batching: input.inherit.batching } : {}),
    ...(input.inherit?.retrain !== undefined ? { retrain: input.inherit.retrain } : {}),
  };
  return manifestSchema.parse(draft);
}

function describeVersion(result: TrainResult, model: string): string {
  const what = result.task === 'classification' ? `${result.labels?.length ?? 0}-class classifier` : 'regressor';
  const target = result.cleaning.target.name;
  const origin = result.parent
    ? `fine-tuned from ${result.parent.name === model ? '' : `${result.parent.name} `}version ${result.parent.version}`
    : 'trained from scratch';
  return `A ${what} of "${target}", ${origin} by driftgate on ${result.rows.train} training rows.`;
}

/**
 * The run's options as plain JSON: in-memory data is replaced by its size, since a manifest should
 * say where data came from, not hold it.
 */
export function describeRecipe(options: TrainOptions): Record<string, unknown> {
  const { data, ...rest } = options;
  const source =
    data.kind === 'csv' || data.kind === 'jsonl'
      ? { kind: data.kind, path: data.path }
      : data.kind === 'table'
        ? { kind: 'table', rows: data.table.rows.length }
        : { kind: 'examples', rows: data.examples.length };
  return toJson({ data: source, ...rest }) as Record<string, unknown>;
}

/** A JSON round trip: drops undefined fields and turns typed arrays into plain objects of numbers. */
function toJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}
