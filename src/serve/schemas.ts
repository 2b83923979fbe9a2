// Request and response shapes of the HTTP API, as zod schemas. The same schemas validate requests
// and generate the OpenAPI document, so the document cannot drift from the code.
import { z } from 'zod';

export const v2Datatypes = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] as const;
export type V2Datatype = (typeof v2Datatypes)[number];

const parameters = z.record(z.string(), z.unknown()).describe('Free-form parameters (Open Inference Protocol).');

export const errorResponse = z.object({ error: z.string().describe('What went wrong, naming the offending field or value.') }).meta({ id: 'Error' });

export const inferInputTensor = z
  .object({
    name: z.string().min(1).describe('The model input tensor name, or a feature name when features are sent one tensor each.'),
    shape: z.array(z.number().int().min(0)).min(1).max(8),
    datatype: z.enum(v2Datatypes),
    parameters: parameters.optional(),
    data: z.array(z.unknown()).describe('Tensor contents in row-major order, flat or nested.'),
  })
  .strict()
  .meta({ id: 'InferInputTensor' });

export const inferRequest = z
  .object({
    id: z.string().max(256).optional().describe('Request id, echoed in the response; prediction ids derive from it.'),
    parameters: parameters
      .and(z.object({ prediction_ids: z.array(z.string().min(1).max(256)).optional() }))
      .optional()
      .describe('`prediction_ids`: one id per row, used instead of derived ids.'),
    inputs: z.array(inferInputTensor).min(1, 'inputs must hold at least one tensor'),
    outputs: z
      .array(z.object({ name: z.string().min(1), parameters: parameters.optional() }).strict())
      .optional()
      .describe('Outputs to return; all when absent.'),
  })
  .strict()
  .meta({ id: 'InferRequest' });
export type InferRequest = z.infer<typeof inferRequest>;

export const inferOutputTensor = z
  .object({ name: z.string(), shape: z.array(z.number().int()), datatype: z.enum(v2Datatypes), data: z.array(z.union([z.number(), z.string()])) })
  .meta({ id: 'InferOutputTensor' });

export const inferResponse = z
  .object({
    model_name: z.string(),
    model_version: z.string(),
    id: z.string(),
    parameters: z.object({ prediction_ids: z.array(z.string()) }),
    outputs: z.array(inferOutputTensor),
  })
  .meta({ id: 'InferResponse' });

export const tensorMetadata = z.object({ name: z.string(), datatype: z.enum(v2Datatypes), shape: z.array(z.number().int()) }).meta({ id: 'TensorMetadata' });

export const modelMetadataResponse = z
  .object({
    name: z.string(),
    versions: z.array(z.string()),
    platform: z.string(),
    inputs: z.array(tensorMetadata),
    outputs: z.array(tensorMetadata),
    parameters: z
      .object({
        task: z.enum(['classification', 'regression']),
        labels: z.array(z.string()).optional(),
        features: z.array(z.object({ name: z.string(), type: z.string(), categories: z.array(z.string()).optional() })),
      })
      .optional(),
  })
  .meta({ id: 'ModelMetadata' });

export const serverMetadataResponse = z.object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) }).meta({ id: 'ServerMetadata' });
export const liveResponse = z.object({ live: z.boolean() }).meta({ id: 'Live' });
export const readyResponse = z.object({ ready: z.boolean() }).meta({ id: 'Ready' });

const rawValue = z.union([z.number(), z.string(), z.boolean(), z.null()], {
  error: 'feature values must be finite numbers, strings, booleans or null',
});
export const predictRequest = z
  .object({
    instances: z
      .array(z.union([z.record(z.string(), rawValue), z.array(rawValue)], { error: 'each instance must be an object keyed by feature name or an array of values' }))
      .min(1, 'instances must hold at least one row')
      .describe('Rows: objects keyed by feature name, or arrays of values in the model\'s feature order.'),
    ids: z.array(z.string().min(1).max(256)).optional().describe('One prediction id per row; generated when absent.'),
  })
  .strict()
  .meta({ id: 'PredictRequest' });
export type PredictRequest = z.infer<typeof predictRequest>;

export const classPrediction = z.object({ label: z.string(), probabilities: z.record(z.string(), z.number()) }).meta({ id: 'ClassPrediction' });
export const valuePrediction = z.object({ value: z.number() }).meta({ id: 'ValuePrediction' });
export const predictResponse = z
  .object({
    predictions: z.array(z.union([classPrediction, valuePrediction])),
    model_version: z.string(),
    ids: z.array(z.string()),
  })
  .meta({ id: 'PredictResponse' });

export const labelsRequest = z
  .object({
    labels: z
      .array(
        z
          .object({
            id: z.string().min(1).max(256).describe('The prediction id the predict or infer response returned.'),
            label: z.union([z.string(), z.number()]).describe('Class name or class index (classification), or the true value (regression).'),
          })
          .strict(),
      )
      .min(1, 'labels must hold at least one label')
      .max(100_000),
  })
  .strict()
  .meta({ id: 'LabelsRequest' });
export const labelsResponse = z.object({ accepted: z.number().int() }).meta({ id: 'LabelsResponse' });

export const versionStatus = z
  .object({
    version: z.number().int(),
    state: z.enum(['serving', 'loaded', 'available', 'failed']),
    inFlight: z.number().int().optional(),
    queuedRows: z.number().int().optional(),
    breakerOpen: z.boolean().optional(),
    loadedAt: z.string().optional(),
    error: z.string().optional(),
  })
  .meta({ id: 'VersionStatus' });
export const modelStatus = z
  .object({ name: z.string(), servingVersion: z.number().int().nullable(), pinned: z.boolean(), history: z.array(z.number().int()), versions: z.array(versionStatus) })
  .meta({ id: 'ModelStatus' });
export const adminModelsResponse = z.object({ models: z.array(modelStatus) }).meta({ id: 'AdminModels' });
export const retrainRequested = z
  .object({ model: z.string(), version: z.number().int(), requested: z.literal(true), note: z.string() })
  .meta({ id: 'RetrainRequested' });
/** A retrain job as the retrain loop announces it (docs/retraining.md lists the fields). */
export const retrainJob = z
  .object({
    id: z.string(),
    model: z.string(),
    state: z.enum(['queued', 'training', 'gating', 'promoting', 'promoted', 'rejected', 'failed', 'cancelled']),
    trigger: z.object({ reason: z.string(), requestedAt: z.string() }).passthrough(),
    champion: z.number().int().optional(),
    challenger: z.number().int().optional(),
    phases: z.record(z.string(), z.number()).optional(),
    gate: z.record(z.string(), z.unknown()).optional(),
    error: z.string().optional(),
  })
  .passthrough()
  .meta({ id: 'RetrainJob' });
export const retrainJobsResponse = z.object({ model: z.string(), jobs: z.array(retrainJob) }).meta({ id: 'RetrainJobs' });
