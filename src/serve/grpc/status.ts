// gRPC statuses: a DriftgateError travels with its catalogue's gRPC code and the same message the HTTP
// API writes; anything else is the catalogue's INTERNAL with its generic message (and is logged). The request metric
// labels every call with the HTTP status class of the equivalent status, so one dashboard counts both.
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { asDriftgateError, describeError, errorCatalogue, isDriftgateError } from '../../core/index.js';
import type { Logger } from '../../core/index.js';

/** A status to end a call with, and the HTTP status it stands for (for the request metric). */
export interface CallFailure {
  error: Partial<ServiceError>;
  httpStatus: number;
}

export function toCallFailure(err: unknown, logger: Logger, method: string): CallFailure {
  if (!isDriftgateError(err)) logger.error('unhandled error', { method, error: describeError(err), stack: (err as Error)?.stack });
  const failure = asDriftgateError(err);
  const metadata = new Metadata();
  // Clients see the catalogue's stable code next to the message, as HTTP clients do in the body.
  metadata.set('driftgate-error-code', failure.code);
  if (failure.retryAfterSeconds !== undefined) metadata.set('retry-after', String(failure.retryAfterSeconds));
  return { error: { code: GrpcStatus[errorCatalogue[failure.code].grpc], details: failure.message, metadata }, httpStatus: failure.status };
}

/** HTTP status of a status that gRPC itself ended a call with (message too large, deadline, cancel...). */
const HTTP_EQUIVALENT: Partial<Record<GrpcStatus, number>> = {
  [GrpcStatus.OK]: 200,
  [GrpcStatus.CANCELLED]: 499,
  [GrpcStatus.INVALID_ARGUMENT]: 400,
  [GrpcStatus.OUT_OF_RANGE]: 400,
  [GrpcStatus.UNAUTHENTICATED]: 401,
  [GrpcStatus.PERMISSION_DENIED]: 403,
  [GrpcStatus.NOT_FOUND]: 404,
  [GrpcStatus.ALREADY_EXISTS]: 409,
  [GrpcStatus.ABORTED]: 409,
  [GrpcStatus.FAILED_PRECONDITION]: 400,
  [GrpcStatus.RESOURCE_EXHAUSTED]: 413,
  [GrpcStatus.UNIMPLEMENTED]: 501,
  [GrpcStatus.UNAVAILABLE]: 503,
  [GrpcStatus.DEADLINE_EXCEEDED]: 504,
};

export function httpStatusOf(code: GrpcStatus): number {
  return HTTP_EQUIVALENT[code] ?? 500;
}
