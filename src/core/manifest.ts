// The manifest `driftgate.json` that sits beside every model version. It is the contract between
// the trainer that writes a version and the gateway and monitor that read it: which features the
// model takes and in what order, how raw values become the model's input vector, what the outputs
// mean, and what the training data looked like (for drift tests).
//
// `readManifestAt` is the one place a manifest file is read and parsed; everything else (the
// repository owner, fine-tuning bases, lineage) goes through it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { describeError } from './errors.js';

export const MANIFEST_FILE = 'driftgate.json';

/** What a model predicts: a class (with `labels`) or a number. */
export const TASKS = ['classification', 'regression'] as const;
export type Task = (typeof TASKS)[number];

/** Names that are safe as path segments and metric label values. */
export const modelNameSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'model names use letters, digits, "_", "-" and "." and start with a letter or digit')
  .refine((name) => !name.includes('..'), 'model names may not contain ".."');

export const featureSchema = z.discriminatedUnion('type', [
  z.object({ name: z.string().min(1), type: z.literal('numeric') }),
  z.object({ name: z.string().min(1), type: z.literal('categorical'), categories: z.array(z.string()).min(1) }),
]);
export type Feature = z.infer<typeof featureSchema>;

/** How one numeric feature is scaled before it reaches the model. Fitted on the training split. */
export const scalerSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('standardize'), mean: z.number(), std: z.number().positive() }),
  z.object({ kind: z.literal('minmax'), min: z.number(), max: z.number() }),
]);
export type Scaler = z.infer<typeof scalerSchema>;

/**
 * Serving applies these before the model. Numeric features without a scaler pass through raw;
 * categorical features are always one-hot encoded over their manifest categories.
 */
export const preprocessingSchema = z.object({
  scalers: z.record(z.string(), scalerSchema).default({}),
  /** What to do with a categorical value outside the known categories: reject the request, or encode all zeros. */
  unknownCategory: z.enum(['error', 'ignore']).default('error'),
});
export type Preprocessing = z.infer<typeof preprocessingSchema>;

export const numericProfileSchema = z.object({
  type: z.literal('numeric'),
  count: z.number().int().nonnegative(),
  mean: z.number(),
  std: z.number().nonnegative(),
  min: z.number(),
  max: z.number(),
  /** Quantiles at evenly spaced probabilities 0, 1/(n-1), ..., 1. */
  quantiles: z.array(z.number()),
  /** A seeded random sample of the training values (at most a few thousand), for two-sample tests. */
  sample: z.array(z.number()),
});
export const categoricalProfileSchema = z.object({
  type: z.literal('categorical'),
  count: z.number().int().nonnegative(),
  counts: z.record(z.string(), z.number().nonnegative()),
});
export const columnProfileSchema = z.discriminatedUnion('type', [numericProfileSchema, categoricalProfileSchema]);
export type ColumnProfile = z.infer<typeof columnProfileSchema>;

/** Distribution of the training data, the reference that live traffic is compared against. */
export const referenceProfileSchema = z.object({
  rows: z.number().int().nonnegative(),
  features: z.record(z.string(), columnProfileSchema),
  /** Predicted class (classification) or predicted value (regression) on the training data. */
  prediction: columnProfileSchema.optional(),
  /** Labels of the training data. */
  label: columnProfileSchema.optional(),
});
export type ReferenceProfile = z.infer<typeof referenceProfileSchema>;

export const batchingSchema = z.object({
  max_batch_size: z.number().int().min(1).max(4096).optional(),
  max_queue_delay_us: z.number().int().min(0).max(10_000_000).optional(),
});

/**
 * A field driftgate reads whose value an older or foreign manifest may hold in another shape. Such a
 * value is dropped (the field reads as absent, as the readers' own checks treated it before the
 * schema typed it) rather than making the whole version unusable.
 */
function lenient<S extends z.ZodType>(schema: S) {
  return schema.optional().catch(undefined);
}

const score = lenient(z.number().finite());

/**
 * Scores of a model on one data split. The trainer writes its whole evaluation report here
 * (classification: accuracy, log loss, ROC-AUC, macro and weighted precision/recall/F1, per-class
 * scores, confusion matrix; regression: mse, rmse, mae, r2); the example models and older manifests
 * carry a few flat keys (`accuracy`, `log_loss`; `rmse`, `mae`, `r2`). Other keys are kept as they are.
 */
export const splitMetricsSchema = z
  .object({
    /** Examples scored. */
    n: lenient(z.number().int().nonnegative()),
    accuracy: score,
    /** Macro-averaged per-class scores, as the trainer's classification report writes them. */
    macro: lenient(z.object({ precision: score, recall: score, f1: score }).passthrough()),
    /** Macro F1 as a flat key, as other tools write it. */
    macro_f1: score,
    f1: score,
    mae: score,
    rmse: score,
    r2: score,
  })
  .passthrough();
export type SplitMetrics = z.infer<typeof splitMetricsSchema>;

/**
 * `metrics`: the trainer writes `validation` and `test` (a split's report each), the epochs run and
 * the best one, and `baseline` (the base version's test scores) for a fine-tuned version. A manifest
 * without split reports carries its scores flat at the top level, so the top level is a split report
 * too.
 */
export const manifestMetricsSchema = splitMetricsSchema
  .extend({
    validation: lenient(splitMetricsSchema),
    test: lenient(splitMetricsSchema),
    baseline: lenient(splitMetricsSchema),
    bestEpoch: lenient(z.number().int().nonnegative()),
    epochs: lenient(z.number().int().nonnegative()),
  })
  .passthrough();
export type ManifestMetrics = z.infer<typeof manifestMetricsSchema>;

/** The splits of `metrics` a score may come from. */
export type MetricSplit = 'validation' | 'test';
/** A score a reader looks up: `f1` is the macro F1. */
export type ScoreName = 'accuracy' | 'f1' | 'mae' | 'rmse' | 'r2';

/** `name` on one split report; the macro F1 from the trainer's `macro.f1`, else a flat `macro_f1` or `f1`. */
export function splitScore(split: SplitMetrics, name: ScoreName): number | undefined {
  return name === 'f1' ? (split.macro?.f1 ?? split.macro_f1 ?? split.f1) : split[name];
}

/**
 * The recorded `name` of a version: from the splits in `order` that the manifest has, then from its
 * flat top-level scores. Undefined when no section records it.
 */
export function recordedScore(metrics: ManifestMetrics, name: ScoreName, order: readonly MetricSplit[]): number | undefined {
  for (const section of metricSections(metrics, order)) {
    const value = splitScore(section.metrics, name);
    if (value !== undefined) return value;
  }
  return undefined;
}

/** The split reports in `order` that `metrics` holds, then the top level (`split: undefined`). */
export function metricSections(metrics: ManifestMetrics, order: readonly MetricSplit[]): { split: MetricSplit | undefined; metrics: SplitMetrics }[] {
  const named = order.flatMap((split) => {
    const report = metrics[split];
    return report ? [{ split, metrics: report }] : [];
  });
  return [...named, { split: undefined, metrics }];
}

/**
 * Where a version's weights started: a version of this or another model. Names and numbers are
 * checked where they are used (a lineage walk reports a bad one instead of dropping it).
 */
export const parentRefSchema = z.object({ model: z.string(), version: z.number() });

export const lineageSchema = z
  .object({
    /** The version of the same model this one was fine-tuned from; null when trained from scratch or from another model. */
    parent: z.number().int().positive().nullable().default(null),
    trigger: z.string().default('manual'),
    dataFingerprint: z.string().optional(),
    hyperparameters: z.record(z.string(), z.unknown()).default({}),
    seed: z.number().int().optional(),
    createdAt: z.string().optional(),
    /** The base the weights started from, of this model or another (`parent` names only the former). */
    from: lenient(parentRefSchema),
    /** The training data's target column. */
    target: lenient(z.string()),
    /** Rows of each split; `train` at least. */
    rows: lenient(z.object({ train: z.number().int().nonnegative() }).passthrough()),
    /** The retrain job that wrote the version. */
    job: lenient(z.string()),
  })
  .passthrough();
export type Lineage = z.infer<typeof lineageSchema>;

/** Files a version holds besides the served model. */
const artifactFields = z.object({
    /** `model.onnx` beside the tfjs files (the served file of an `onnx` version). */
    onnx: lenient(z.string()),
    /** Why the ONNX export was skipped, when it was asked for and failed. */
    onnxError: lenient(z.string()),
    /** `model.json` of the tfjs layers files kept beside an `onnx` version, which fine-tuning starts from. */
    tfjs: lenient(z.string()),
    /** The training report (`report.html`). */
    report: lenient(z.string()),
    /** `training-sample.jsonl`: a seeded sample of the training rows (train) and test rows (holdout). */
    trainingSample: lenient(z.string()),
    /** Rows of each split in the training sample. */
    trainingSampleRows: lenient(z.object({ train: z.number().int().nonnegative(), holdout: z.number().int().nonnegative() })),
});
export const artifactsSchema = artifactFields.passthrough();
/** The artifacts driftgate names (a manifest may hold more). */
export type Artifacts = z.infer<typeof artifactFields>;

const LABELS_NEEDED = 'a classification model needs at least two labels';

/** The fields every manifest has, whatever its task. */
const commonFields = {
  name: modelNameSchema,
  version: z.number().int().positive(),
  format: z.enum(['onnx', 'tfjs-layers', 'tfjs-graph']),
  features: z.array(featureSchema).min(1),
  /** Name of the model's input tensor (ONNX input name; informational for tfjs). */
  input: z.string().min(1),
  /** Name of the model's output tensor: class probabilities or the regression value. */
  output: z.string().min(1),
  preprocessing: preprocessingSchema.default({ scalers: {}, unknownCategory: 'error' }),
  reference: referenceProfileSchema.optional(),
  metrics: manifestMetricsSchema.default({}),
  lineage: lineageSchema.optional(),
  artifacts: artifactsSchema.optional(),
  batching: batchingSchema.optional(),
  description: z.string().optional(),
  /**
   * `candidate`: a version written by the retrain loop that waits for its gate and promotion; the
   * gateway does not route default traffic to it. Absent: an ordinary version.
   */
  stage: z.literal('candidate').optional(),
};

export const manifestSchema = z
  .discriminatedUnion(
    'task',
    [
      z
        .object({
          ...commonFields,
          task: z.literal('classification'),
          /** Class names, in the order of the model's output columns. */
          labels: z.array(z.string(), { error: LABELS_NEEDED }).min(2, LABELS_NEEDED),
        })
        .passthrough(),
      z
        .object({
          ...commonFields,
          task: z.literal('regression'),
          /** A regressor has no labels; a stray list in an older manifest is dropped. */
          labels: z.undefined().optional().catch(undefined),
        })
        .passthrough(),
    ],
    // zod's own message for a bad discriminator is a bare "Invalid input"; keep the enum's wording.
    { error: `Invalid option: expected one of ${TASKS.map((t) => JSON.stringify(t)).join('|')}` },
  )
  .superRefine((m, ctx) => {
    const names = new Set<string>();
    for (const f of m.features) {
      if (names.has(f.name)) ctx.addIssue({ code: 'custom', path: ['features'], message: `duplicate feature "${f.name}"` });
      names.add(f.name);
    }
    for (const name of Object.keys(m.preprocessing.scalers)) {
      const f = m.features.find((x) => x.name === name);
      if (!f || f.type !== 'numeric') {
        ctx.addIssue({ code: 'custom', path: ['preprocessing', 'scalers', name], message: `no numeric feature "${name}"` });
      }
    }
  });
export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestInput = z.input<typeof manifestSchema>;

/**
 * The task fields of a manifest being written: a classifier with its labels, or a regressor with
 * none. A classifier without labels gets an empty list, which the schema refuses with its message.
 */
export function taskFields(task: Task, labels: readonly string[] | undefined): { task: 'classification'; labels: string[] } | { task: 'regression' } {
  return task === 'classification' ? { task, labels: [...(labels ?? [])] } : { task };
}

/** Width of the model's input vector: one column per numeric feature, one per category. */
export function inputWidth(features: readonly Feature[]): number {
  return features.reduce((n, f) => n + (f.type === 'numeric' ? 1 : f.categories.length), 0);
}

/** Width of the model's output: one column per class, or one value. */
export function outputWidth(manifest: Pick<Manifest, 'task' | 'labels'>): number {
  return manifest.task === 'classification' ? (manifest.labels?.length ?? 0) : 1;
}

export function parseManifest(json: unknown): Manifest {
  return manifestSchema.parse(json);
}

/** What is wrong with a directory's manifest. */
export type ManifestProblem = 'missing' | 'unreadable' | 'not-json' | 'invalid';

/**
 * A manifest that cannot be used. The message leads with the directory; `detail` names only the file,
 * for callers that say which version they mean in their own words (`model "iris" version 3: …`).
 */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';

  constructor(
    readonly dir: string,
    readonly problem: ManifestProblem,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(`${dir}: ${detail}`, options);
  }
}

/**
 * Reads and validates `<dir>/driftgate.json`. It does not check that name and version agree with the
 * directory: `ModelRepository.readManifest` does, for a version inside the repository.
 *
 * @throws ManifestError saying whether the file is missing, unreadable, not JSON or not a valid manifest
 */
export async function readManifestAt(dir: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ManifestError(dir, 'missing', `${MANIFEST_FILE} not found (not a model version)`, { cause: err });
    }
    throw new ManifestError(dir, 'unreadable', `cannot read ${MANIFEST_FILE}: ${describeError(err)}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ManifestError(dir, 'not-json', `${MANIFEST_FILE} is not valid JSON: ${describeError(err)}`, { cause: err });
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ManifestError(dir, 'invalid', `${MANIFEST_FILE} is not a valid manifest: ${issues}`);
  }
  return parsed.data;
}
