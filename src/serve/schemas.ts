// Request and response shapes of the HTTP API, as zod schemas. The same schemas validate requests
// and generate the OpenAPI document, so the document cannot drift from the code.
import { z } from 'zod';
import { MODEL_EVENT_TYPES, TASKS, errorCodes } from '../core/index.js';

export const v2Datatypes = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] as const;
export type V2Datatype = (typeof v2Datatypes)[number];

const parameters = z.record(z.string(), z.unknown()).describe('Free-form parameters (Open Inference Protocol).');

export const errorResponse = z
  .object({
    error: z.string().describe('What went wrong, naming the offending field or value.'),
    code: z.enum(errorCodes).describe('A stable code from the error catalogue (docs/errors.md), for programs to branch on.'),
  })
  .meta({ id: 'Error' });

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
    model_name: z.string().optional().describe("Ignored: the path names the model. KServe's Python client sends it."),
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

/**
 * The JSON part of a binary-extension infer body (header Inference-Header-Content-Length): as an
 * infer request, but an input whose `parameters.binary_data_size` is set has no `data`; its values
 * follow the JSON as raw bytes.
 */
export const inferRequestHeader = inferRequest
  .extend({ inputs: z.array(inferInputTensor.partial({ data: true })).min(1, 'inputs must hold at least one tensor') })
  .meta({ id: 'InferRequestHeader' });
export type InferRequestHeader = z.infer<typeof inferRequestHeader>;

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
        task: z.enum(TASKS),
        labels: z.array(z.string()).optional(),
        features: z.array(z.object({ name: z.string(), type: z.string(), categories: z.array(z.string()).optional() })),
      })
      .optional(),
  })
  .meta({ id: 'ModelMetadata' });

const tritonTensor = z.object({
  name: z.string(),
  data_type: z.string().describe('TYPE_FP32, TYPE_STRING (BYTES), ...'),
  dims: z.array(z.number().int()).describe('Without the batch dimension.'),
  reshape: z.object({ shape: z.array(z.number().int()) }).optional().describe('[] for a tensor that has only the batch dimension.'),
});
export const modelConfigResponse = z
  .object({
    name: z.string(),
    platform: z.string(),
    backend: z.string(),
    max_batch_size: z.number().int().describe('Most rows in one request (DRIFTGATE_MAX_REQUEST_ROWS).'),
    input: z.array(tritonTensor),
    output: z.array(tritonTensor),
    dynamic_batching: z
      .object({ max_queue_delay_microseconds: z.number().int(), default_queue_policy: z.object({ max_queue_size: z.number().int().describe('In rows, not requests.') }) })
      .optional()
      .describe('Present while dynamic batching is on (DRIFTGATE_BATCHING).'),
  })
  .meta({ id: 'ModelConfig' });

const durationStat = z.object({ count: z.number().int(), ns: z.number().int() });
export const modelStat = z
  .object({
    name: z.string(),
    version: z.string(),
    last_inference: z.number().int().describe('Milliseconds since the epoch; 0 before the first request.'),
    inference_count: z.number().int().describe('Rows predicted.'),
    execution_count: z.number().int().describe('Runtime calls (batches).'),
    inference_stats: z.object({
      success: durationStat.describe('Requests answered; time from joining the batch queue to the outputs.'),
      fail: durationStat.describe('Requests the version refused or failed (queue full, breaker open, timeout, runtime error).'),
      queue: durationStat,
      compute_input: durationStat.describe('Always zero: part of compute_infer here.'),
      compute_infer: durationStat,
      compute_output: durationStat.describe('Always zero: part of compute_infer here.'),
      cache_hit: durationStat.describe('Always zero: no response cache.'),
      cache_miss: durationStat.describe('Always zero: no response cache.'),
    }),
    batch_stats: z.array(z.object({ batch_size: z.number().int(), compute_input: durationStat, compute_infer: durationStat, compute_output: durationStat })),
  })
  .meta({ id: 'ModelStat' });
export const modelStatsResponse = z.object({ model_stats: z.array(modelStat) }).meta({ id: 'ModelStats' });

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

// The status page's JSON (public, read-only): models with their versions, live metric, drift, events
// and jobs; and each model's metric over time with the loop's events. docs/status-page.md explains them.
const isoTime = z.string().describe('ISO 8601 time.');
const modelEventType = z.enum(MODEL_EVENT_TYPES);

export const statusVersion = z
  .object({
    version: z.number().int(),
    state: z.enum(['serving', 'loaded', 'available', 'failed']).describe('As the gateway holds it (see /admin/models).'),
    stage: z.literal('candidate').optional().describe('Written by the retrain loop; serves only once promoted.'),
    createdAt: z.string().optional(),
    parent: z.number().int().optional().describe('The version of the same model it was fine-tuned from (lineage).'),
    trigger: z.string().optional().describe('Why it was trained (lineage.trigger), e.g. retrain:performance.'),
    job: z.string().optional().describe('The retrain job that made it.'),
    headline: z.object({ name: z.enum(['accuracy', 'mae']), value: z.number() }).optional().describe('Accuracy or MAE on its test split when it was trained.'),
    report: z.string().nullable().describe('URL of its training report (report.html), or null when it has none.'),
  })
  .meta({ id: 'StatusVersion' });
export const statusLive = z
  .object({
    version: z.number().int().describe('The serving version.'),
    metric: z.enum(['accuracy', 'mae']),
    value: z.number().describe('Over the monitor\'s rolling window of joined labels.'),
    labels: z.number().int().describe('Joined labels in that window.'),
  })
  .meta({ id: 'StatusLive' });
export const statusFeatureDrift = z
  .object({
    feature: z.string(),
    test: z.string().describe('ks, psi, wasserstein, chisquare or jensenshannon.'),
    score: z.number().nullable().describe('null when infinite (a category the reference never had).'),
    pValue: z.number().nullable().describe('Only for ks and chisquare.'),
    drifted: z.boolean(),
  })
  .meta({ id: 'StatusFeatureDrift' });
export const statusDriftWindow = z
  .object({ ts: isoTime, version: z.number().int(), share: z.number(), detected: z.boolean(), features: z.array(statusFeatureDrift) })
  .meta({ id: 'StatusDriftWindow' });
export const statusDrift = z
  .object({
    version: z.number().int().describe('The version whose last window this is: the serving one, else the last judged.'),
    ts: isoTime.optional().describe('Event time of the window\'s newest prediction.'),
    detected: z.boolean().describe('Dataset drift in that window.'),
    share: z.number().nullable().describe('Share of drifted features.'),
    features: z.array(statusFeatureDrift),
    windows: z.array(statusDriftWindow).describe('The model\'s last drift windows, oldest first, all versions (at most 12).'),
  })
  .meta({ id: 'StatusDrift' });
export const statusEvent = z
  .object({ type: modelEventType, version: z.number().int(), ts: isoTime, summary: z.string().describe('One line of plain text.') })
  .meta({ id: 'StatusEvent' });
export const statusModel = z
  .object({
    name: z.string(),
    task: z.enum(TASKS),
    metric: z.enum(['accuracy', 'mae']),
    servingVersion: z.number().int().nullable(),
    versions: z.array(statusVersion).describe('Newest first.'),
    live: statusLive.nullable().describe('null without a monitor, or before the serving version has joined labels.'),
    drift: statusDrift.nullable().describe('null without a monitor, or before a drift window closed.'),
    events: z.array(statusEvent).describe('Model events, newest first, at most 50.'),
    jobs: z.array(retrainJob).describe('Retrain jobs as the last event about each announced them, newest first, at most 10.'),
  })
  .meta({ id: 'StatusModel' });
export const statusModelsResponse = z
  .object({
    generatedAt: isoTime,
    monitor: z
      .object({ source: z.enum(['embedded', 'remote', 'none']), problem: z.string().optional() })
      .describe('Where live numbers come from: the monitor in this process, DRIFTGATE_MONITOR_URL, or none.'),
    models: z.array(statusModel),
  })
  .meta({ id: 'StatusModels' });
export const statusTimelineResponse = z
  .object({
    model: z.string(),
    metric: z.enum(['accuracy', 'mae']),
    points: z
      .array(z.object({ ts: isoTime, version: z.number().int(), value: z.number(), labels: z.number().int() }))
      .describe('The monitor\'s verdicts (every 50 joined labels, in event time), oldest first, at most 500.'),
    events: z
      .array(z.object({ ts: isoTime, type: modelEventType, version: z.number().int(), summary: z.string() }))
      .describe('drift.detected, retrain.requested, retrain.started, model.promoted, model.rejected, model.rolled_back; oldest first, at most 100.'),
  })
  .meta({ id: 'StatusTimeline' });
