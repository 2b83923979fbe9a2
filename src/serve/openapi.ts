// The OpenAPI 3.1 document of the HTTP API, built from the zod schemas that validate requests.
import { z } from 'zod';
import { DRIFTGATE_VERSION, VERSION_PATTERN, modelNameSchema } from '../core/index.js';
import * as s from './schemas.js';

type Op = {
  summary: string;
  tag: string;
  body?: z.ZodType;
  ok: z.ZodType | 'text' | 'html';
  status?: number;
  errors?: number[];
  /** The body of a 503 that is an answer, not an error: `{"ready": false}` from the readiness endpoints. */
  notReady?: z.ZodType;
  admin?: boolean;
  labelToken?: boolean;
  /** Infer: also takes and answers the binary tensor data extension's application/octet-stream bodies. */
  binary?: boolean;
};

// The manifest's model-name rule; its "no '..'" refinement has no JSON Schema form of its own, so `not`.
const modelParam = { name: 'model', in: 'path', required: true, schema: { ...schemaOf(modelNameSchema), not: { pattern: '\\.\\.' } } };
const versionParam = { name: 'version', in: 'path', required: true, schema: { type: 'string', pattern: VERSION_PATTERN.source } };

// The binary tensor data extension (docs/protocol.md): a JSON header of this many bytes, then raw tensor data.
const inferenceHeaderLength = {
  description: 'Length in bytes of the JSON part of a binary body; the raw tensor data follows it.',
  schema: { type: 'integer', minimum: 0 },
};
const binaryBody = (json: string, rest: string) => ({
  schema: {
    type: 'string',
    contentMediaType: 'application/octet-stream',
    description: `${json} (Inference-Header-Content-Length bytes), then ${rest}, little-endian; a BYTES element is a 4-byte length and its bytes.`,
  },
});
const binaryRequest = binaryBody(
  'An InferRequestHeader as JSON',
  'the raw data of every input whose parameters.binary_data_size is set, in input order. Also read this way when the Content-Type is absent or JSON but the header is set',
);
const binaryResponse = binaryBody('An InferResponse as JSON whose binary outputs carry parameters.binary_data_size instead of data', 'their raw data in output order');

function operation(op: Op, path: string) {
  const params = [path.includes('{model}') ? modelParam : null, path.includes('{version}') ? versionParam : null].filter(Boolean);
  const errorRef = { content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  const responses: Record<string, unknown> = {
    [op.status ?? 200]:
      op.ok === 'text' || op.ok === 'html'
        ? { description: 'OK', content: { [op.ok === 'text' ? 'text/plain' : 'text/html']: { schema: { type: 'string' } } } }
        : {
            description: op.binary ? 'OK: JSON, or application/octet-stream when outputs are asked for as binary data' : 'OK',
            ...(op.binary ? { headers: { 'Inference-Header-Content-Length': { ...inferenceHeaderLength, description: 'Sent with application/octet-stream answers only.' } } } : {}),
            content: { 'application/json': { schema: schemaOf(op.ok) }, ...(op.binary ? { 'application/octet-stream': binaryResponse } : {}) },
          },
  };
  // A model name or version in the path that breaks its pattern is refused with 400 everywhere.
  const errors = new Set([...(params.length ? [400] : []), ...(op.errors ?? [])]);
  for (const code of errors) responses[code] = { description: errorText[code] ?? 'error', ...errorRef };
  if (op.notReady) responses[503] = { description: 'Not ready', content: { 'application/json': { schema: schemaOf(op.notReady) } } };
  return {
    summary: op.summary,
    tags: [op.tag],
    ...(params.length || op.binary ? { parameters: [...params, ...(op.binary ? [{ name: 'Inference-Header-Content-Length', in: 'header', required: false, ...inferenceHeaderLength }] : [])] } : {}),
    ...(op.body
      ? {
          requestBody: {
            required: true,
            description: 'JSON; a body without a Content-Type is read as JSON too.',
            content: { 'application/json': { schema: schemaOf(op.body) }, ...(op.binary ? { 'application/octet-stream': binaryRequest } : {}) },
          },
        }
      : {}),
    ...(op.admin ? { security: [{ bearer: [] }] } : {}),
    // the label token is optional: without DRIFTGATE_LABEL_TOKEN the endpoint is open ({})
    ...(op.labelToken ? { security: [{ labelBearer: [] }, {}] } : {}),
    responses,
  };
}

const errorText: Record<number, string> = {
  400: 'Invalid request (the message names the field)',
  401: 'Missing bearer token',
  403: 'Wrong token, or the admin API is disabled',
  404: 'Unknown model or version',
  409: 'Conflicting state (e.g. unloading the serving version)',
  413: 'Body larger than DRIFTGATE_MAX_BODY_BYTES (once inflated), or more rows than DRIFTGATE_MAX_REQUEST_ROWS or the queue holds',
  415: 'A Content-Type other than application/json (an absent one is read as JSON; application/octet-stream only with Inference-Header-Content-Length), or a Content-Encoding other than gzip, deflate or br',
  422: 'The model version failed to load',
  503: 'Not ready, overloaded (Retry-After) or circuit open',
  504: 'Inference timed out',
};

/** Strips the keys a standalone JSON Schema carries but an OpenAPI component must not. */
function clean(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _s, $id: _i, id: _id, ...rest } = schema;
  return rest;
}

function idOf(schema: z.ZodType): string | undefined {
  return (schema.meta() as { id?: string } | undefined)?.id;
}

function schemaOf(schema: z.ZodType) {
  const id = idOf(schema);
  if (id) return { $ref: `#/components/schemas/${id}` };
  return clean(z.toJSONSchema(schema, { target: 'draft-2020-12', unrepresentable: 'any', io: 'input' }) as Record<string, unknown>);
}

/** Every schema with an id becomes a component; nested ones are referenced, not repeated. */
function components(): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  for (const value of Object.values(s)) {
    if (value instanceof z.ZodType) {
      const id = idOf(value);
      if (id) registry.add(value, { id });
    }
  }
  const out = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    unrepresentable: 'any',
    io: 'input',
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Record<string, unknown>> };
  return Object.fromEntries(Object.entries(out.schemas).map(([id, schema]) => [id, clean(schema)]));
}

const inferErrors = [400, 404, 413, 415, 503, 504];
const adminErrors = [400, 401, 403, 404, 409, 422];

export function buildOpenApi(): Record<string, unknown> {
  const ops: Record<string, Record<string, Op>> = {
    '/v2/health/live': { get: { summary: 'Liveness', tag: 'health', ok: s.liveResponse } },
    '/v2/health/ready': { get: { summary: 'Readiness: all selected models loaded and not shutting down', tag: 'health', ok: s.readyResponse, notReady: s.readyResponse } },
    '/v2': { get: { summary: 'Server metadata', tag: 'inference', ok: s.serverMetadataResponse } },
    '/v2/models/{model}': { get: { summary: 'Model metadata (serving version)', tag: 'inference', ok: s.modelMetadataResponse, errors: [400, 404, 503] } },
    '/v2/models/{model}/versions/{version}': { get: { summary: 'Model metadata of one version', tag: 'inference', ok: s.modelMetadataResponse, errors: [400, 404] } },
    '/v2/models/{model}/ready': { get: { summary: 'Model readiness', tag: 'health', ok: s.readyResponse, errors: [400, 404], notReady: s.readyResponse } },
    '/v2/models/{model}/versions/{version}/ready': { get: { summary: 'Version readiness', tag: 'health', ok: s.readyResponse, errors: [400, 404], notReady: s.readyResponse } },
    '/v2/models/{model}/infer': { post: { summary: 'Inference on the serving version', tag: 'inference', body: s.inferRequest, ok: s.inferResponse, errors: inferErrors, binary: true } },
    '/v2/models/{model}/versions/{version}/infer': { post: { summary: 'Inference on one version', tag: 'inference', body: s.inferRequest, ok: s.inferResponse, errors: inferErrors, binary: true } },
    '/v2/models/{model}/config': { get: { summary: 'Model configuration of the serving version, as Triton\'s model_configuration extension', tag: 'inference', ok: s.modelConfigResponse, errors: [400, 404, 503] } },
    '/v2/models/{model}/versions/{version}/config': { get: { summary: 'Model configuration of one loaded version', tag: 'inference', ok: s.modelConfigResponse, errors: [400, 404] } },
    '/v2/models/stats': { get: { summary: 'Statistics of every loaded version of every model, as Triton\'s statistics extension', tag: 'inference', ok: s.modelStatsResponse } },
    '/v2/models/{model}/stats': { get: { summary: 'Statistics of every loaded version of a model', tag: 'inference', ok: s.modelStatsResponse, errors: [400, 404] } },
    '/v2/models/{model}/versions/{version}/stats': { get: { summary: 'Statistics of one loaded version', tag: 'inference', ok: s.modelStatsResponse, errors: [400, 404] } },
    '/v2/models/{model}/labels': {
      post: {
        summary: 'Ground-truth labels for earlier predictions (by prediction id)',
        tag: 'labels',
        body: s.labelsRequest,
        ok: s.labelsResponse,
        status: 202,
        errors: [400, 401, 403, 404, 413, 415, 503],
        labelToken: true,
      },
    },
    '/v1/models/{model}:predict': { post: { summary: 'Row-oriented predict on the serving version', tag: 'predict', body: s.predictRequest, ok: s.predictResponse, errors: inferErrors } },
    '/v1/models/{model}/versions/{version}:predict': { post: { summary: 'Row-oriented predict on one version', tag: 'predict', body: s.predictRequest, ok: s.predictResponse, errors: inferErrors } },
    '/admin/models': { get: { summary: 'Models, versions and their states', tag: 'admin', ok: s.adminModelsResponse, errors: [401, 403], admin: true } },
    '/admin/models/{model}/versions/{version}/load': { post: { summary: 'Load a version (kept until unloaded)', tag: 'admin', ok: s.modelStatus, errors: adminErrors, admin: true } },
    '/admin/models/{model}/versions/{version}/unload': { post: { summary: 'Unload a version after it drains', tag: 'admin', ok: s.modelStatus, errors: adminErrors, admin: true } },
    '/admin/models/{model}/promote/{version}': { post: { summary: 'Make a version the serving one (all gateways on the repository follow)', tag: 'admin', ok: s.modelStatus, errors: adminErrors, admin: true } },
    '/admin/models/{model}/rollback': { post: { summary: 'Serve the previous version again', tag: 'admin', ok: s.modelStatus, errors: adminErrors, admin: true } },
    '/admin/models/{model}/retrain': {
      post: { summary: 'Ask the retrain loop to retrain the model now (published as retrain.requested)', tag: 'admin', ok: s.retrainRequested, status: 202, errors: [401, 403, 404, 503], admin: true },
    },
    '/admin/models/{model}/retrains': {
      get: { summary: 'Recent retrain jobs of the model, as the retrain loop announced them, newest first', tag: 'admin', ok: s.retrainJobsResponse, errors: [401, 403, 404], admin: true },
    },
    '/metrics': { get: { summary: 'Prometheus metrics', tag: 'observability', ok: 'text' } },
    '/': { get: { summary: 'The status page (HTML; its script and stylesheet are /ui/app.js and /ui/app.css); also at /ui', tag: 'status', ok: 'html' } },
    '/status/models': {
      get: { summary: 'Every model: serving version and lineage, live accuracy or MAE, last drift windows, recent events and retrain jobs', tag: 'status', ok: s.statusModelsResponse },
    },
    '/status/models/{model}/timeline': {
      get: { summary: 'Live accuracy (or MAE) over time, with the retrain loop\'s events, oldest first', tag: 'status', ok: s.statusTimelineResponse, errors: [400, 404] },
    },
    '/status/models/{model}/versions/{version}/report': {
      get: { summary: 'The version\'s training report (report.html), sandboxed by its Content-Security-Policy', tag: 'status', ok: 'html', errors: [400, 404] },
    },
  };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [path, methods] of Object.entries(ops)) {
    paths[path] = Object.fromEntries(Object.entries(methods).map(([m, op]) => [m, operation(op, path)]));
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'driftgate',
      version: DRIFTGATE_VERSION,
      description:
        'Model-serving gateway: Open Inference Protocol (KServe V2) and row-oriented predict API, admin control API, Prometheus metrics, status page. ' +
        'A method a path does not list is answered 405 with an Allow header (components.responses.MethodNotAllowed); GET paths answer HEAD too.',
    },
    paths,
    components: {
      schemas: components(),
      responses: {
        MethodNotAllowed: {
          description: 'The path exists but does not serve this method',
          headers: { Allow: { description: 'The methods the path serves, e.g. "POST" or "GET, HEAD".', schema: { type: 'string' } } },
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'DRIFTGATE_ADMIN_TOKEN' },
        labelBearer: { type: 'http', scheme: 'bearer', description: 'DRIFTGATE_LABEL_TOKEN (required while it is set)' },
      },
    },
  };
}
