// How every gRPC call is handled and counted. grpc-js hands the handlers the request bytes undecoded
// (the services are registered with a pass-through deserializer), so a malformed message is answered
// INVALID_ARGUMENT by driftgate rather than INTERNAL by grpc-js. An interceptor times each call, wraps
// its bytes with a record the handler fills in (model, version, outcome), and counts the call in the
// request metric when it ends: by the handler, or by grpc-js itself (deadline exceeded, a message over
// the size limit, a client that cancelled).
import { ServerInterceptingCall } from '@grpc/grpc-js';
import type { ServerInterceptor, ServerUnaryCall, ServiceDefinition, sendUnaryData } from '@grpc/grpc-js';
import { DriftgateError, describeError } from '../../core/index.js';
import type { Logger } from '../../core/index.js';
import type { ServeMetrics } from '../metrics.js';
import { statusClass } from '../metrics.js';
import { httpStatusOf, toCallFailure } from './status.js';

/** What a handler learns about its call, for the request metric. */
export interface CallRecord {
  model: string;
  version: string;
  /** The HTTP status equivalent to how the handler ended the call. */
  httpStatus?: number;
}

/** The request as the handlers receive it: the message bytes and the call's record. */
export interface RawRequest {
  bytes: Buffer;
  record: CallRecord;
}

/** A service definition whose requests reach the handlers as bytes; `decode` turns them into messages. */
export function passThroughRequests(service: ServiceDefinition): { definition: ServiceDefinition; decoders: Record<string, (bytes: Buffer) => unknown> } {
  const definition: Record<string, ServiceDefinition[string]> = {};
  const decoders: Record<string, (bytes: Buffer) => unknown> = {};
  for (const [name, method] of Object.entries(service)) {
    definition[name] = { ...method, requestDeserialize: (bytes: Buffer) => bytes };
    decoders[name] = method.requestDeserialize;
  }
  return { definition: definition as ServiceDefinition, decoders };
}

/** Decodes a request message; a malformed one is the client's error. */
export function decodeRequest<T>(decode: (bytes: Buffer) => unknown, bytes: Buffer, method: string): T {
  try {
    return decode(bytes) as T;
  } catch (err) {
    throw new DriftgateError('INVALID_INPUT', `malformed ${method} request message: ${describeError(err)}`);
  }
}

/** Counts every call in the request metrics, with protocol="grpc" and the method as endpoint. */
export function requestMetricsInterceptor(metrics: ServeMetrics): ServerInterceptor {
  return (method, call) => {
    const endpoint = method.path.replace(/^\//, '');
    const record: CallRecord = { model: '', version: '' };
    const start = process.hrtime.bigint();
    let counted = false;
    const count = (httpStatus: number) => {
      if (counted) return;
      counted = true;
      const labels = { protocol: 'grpc', model: record.model, version: record.version, endpoint, status: statusClass(httpStatus) };
      metrics.requests.labels(labels).inc();
      metrics.requestDuration.labels(labels).observe(Number(process.hrtime.bigint() - start) / 1e9);
    };
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMessage: (message: Buffer, pass) => pass({ bytes: message, record } satisfies RawRequest),
          // grpc-js ended the call without the handler: past the deadline, or a refused message or a
          // cancel by the client (client errors, like HTTP's 413 and 499).
          onCancel: () => count(Date.now() >= Number(call.getDeadline()) ? 504 : (record.httpStatus ?? 499)),
        }),
      sendStatus: (status, next) => {
        count(record.httpStatus ?? httpStatusOf(status.code));
        next(status);
      },
    });
  };
}

/** A unary handler: decodes the request, runs `handle`, and answers with its result or its error's status. */
export function unary<Req, Res>(
  method: string,
  decode: (bytes: Buffer) => unknown,
  logger: Logger,
  handle: (request: Req, record: CallRecord, call: ServerUnaryCall<RawRequest, Res>) => Promise<Res> | Res,
) {
  return (call: ServerUnaryCall<RawRequest, Res>, callback: sendUnaryData<Res>): void => {
    const { bytes, record } = call.request;
    Promise.resolve()
      .then(() => handle(decodeRequest<Req>(decode, bytes, method), record, call))
      .then(
        (response) => {
          record.httpStatus = 200;
          callback(null, response);
        },
        (err: unknown) => {
          const failure = toCallFailure(err, logger, method);
          record.httpStatus = failure.httpStatus;
          callback(failure.error);
        },
      );
  };
}

