// The Open Inference Protocol's gRPC service, `inference.GRPCInferenceService`, on the same registry,
// batcher, breaker, prediction events and error catalogue as the HTTP routes.
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { DRIFTGATE_VERSION, DriftgateError, checkModelName, checkVersion } from '../../core/index.js';
import type { Logger } from '../../core/index.js';
import { runInfer } from '../infer.js';
import { parseBody } from '../http.js';
import { checkRequestRows } from '../limits.js';
import { modelMetadata } from '../model-metadata.js';
import type { GatewayContext } from '../routes/context.js';
import { SERVER_NAME } from '../routes/v2.js';
import { inferRequest } from '../schemas.js';
import { unary } from './calls.js';
import type { CallRecord } from './calls.js';
import { encodeRawOutput } from '../raw-tensors.js';
import { PREDICTION_IDS, toInferBody } from './codec.js';
import type { GrpcInferRequest } from './codec.js';

/** Protocol extensions over gRPC (the binary tensor extension is HTTP's; gRPC has raw contents). */
export const GRPC_EXTENSIONS = ['prediction_ids'];

interface ModelRequest {
  name: string;
  version: string;
}

/** The model and optional version a request names; the model metric label is set once the registry knows it. */
function target(ctx: GatewayContext, name: string, version: string, record: CallRecord): { model: string; version: number | undefined } {
  const model = checkModelName(name);
  const v = version === '' ? undefined : checkVersion(version);
  if (ctx.registry.has(model)) record.model = model;
  return { model, version: v };
}

function refuseWhileShuttingDown(ctx: GatewayContext): void {
  if (ctx.lifecycle.shuttingDown) throw new DriftgateError('SHUTTING_DOWN', 'the gateway is shutting down', { retryAfterSeconds: 1 });
}

export function inferenceService(ctx: GatewayContext, decoders: Record<string, (bytes: Buffer) => unknown>, logger: Logger): UntypedServiceImplementation {
  const method = <Req, Res>(name: string, handle: (request: Req, record: CallRecord) => Promise<Res> | Res) => unary<Req, Res>(name, decoders[name]!, logger, handle);
  return {
    ServerLive: method('ServerLive', () => ({ live: true })),
    ServerReady: method('ServerReady', () => ({ ready: !ctx.lifecycle.shuttingDown && ctx.registry.ready() })),
    ServerMetadata: method('ServerMetadata', () => {
      refuseWhileShuttingDown(ctx);
      return { name: SERVER_NAME, version: DRIFTGATE_VERSION, extensions: GRPC_EXTENSIONS };
    }),
    ModelReady: method('ModelReady', (request: ModelRequest, record) => {
      refuseWhileShuttingDown(ctx);
      const { model, version } = target(ctx, request.name, request.version, record);
      return { ready: ctx.registry.isReady(model, version) };
    }),
    ModelMetadata: method('ModelMetadata', (request: ModelRequest, record) => {
      refuseWhileShuttingDown(ctx);
      const { model, version } = target(ctx, request.name, request.version, record);
      const { manifestVersion, parameters, ...described } = modelMetadata(ctx, model, version);
      record.version = String(manifestVersion);
      // The protocol's metadata has string properties only: the lists travel as JSON.
      const properties: Record<string, string> = { task: parameters.task, features: JSON.stringify(parameters.features) };
      if (parameters.labels) properties.labels = JSON.stringify(parameters.labels);
      return { ...described, properties };
    }),
    ModelInfer: method('ModelInfer', async (request: GrpcInferRequest, record) => {
      const startedAt = performance.now();
      refuseWhileShuttingDown(ctx);
      const { model, version } = target(ctx, request.model_name, request.model_version, record);
      // The row bound is checked on the declared shapes, before any tensor data is decoded.
      checkRequestRows(request, ctx.config.maxRequestRows);
      const body = parseBody(inferRequest, toInferBody(request));
      const result = await runInfer(ctx, model, version, body, startedAt, (v) => (record.version = String(v)));
      return {
        model_name: result.model_name,
        model_version: result.model_version,
        id: result.id,
        parameters: { [PREDICTION_IDS]: { string_param: JSON.stringify(result.prediction_ids) } },
        outputs: result.outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape })),
        raw_output_contents: result.outputs.map(encodeRawOutput),
      };
    }),
  };
}
