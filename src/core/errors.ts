// One catalogue of the errors driftgate reports. Each code has a fixed HTTP status and says whether
// the caller may retry; the gateway's error middleware turns any of them into `{"error": "..."}`.

/** gRPC status names (google.rpc.Code) the catalogue maps to; the gRPC transport turns them into numbers. */
export type GrpcStatusName =
  | 'INVALID_ARGUMENT'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'NOT_FOUND'
  | 'UNIMPLEMENTED'
  | 'FAILED_PRECONDITION'
  | 'RESOURCE_EXHAUSTED'
  | 'INTERNAL'
  | 'UNAVAILABLE'
  | 'DEADLINE_EXCEEDED';

export const errorCatalogue = {
  INVALID_INPUT: { status: 400, retriable: false, grpc: 'INVALID_ARGUMENT' },
  MALFORMED_JSON: { status: 400, retriable: false, grpc: 'INVALID_ARGUMENT' },
  UNAUTHORIZED: { status: 401, retriable: false, grpc: 'UNAUTHENTICATED' },
  FORBIDDEN: { status: 403, retriable: false, grpc: 'PERMISSION_DENIED' },
  NOT_FOUND: { status: 404, retriable: false, grpc: 'NOT_FOUND' },
  MODEL_NOT_FOUND: { status: 404, retriable: false, grpc: 'NOT_FOUND' },
  VERSION_NOT_FOUND: { status: 404, retriable: false, grpc: 'NOT_FOUND' },
  METHOD_NOT_ALLOWED: { status: 405, retriable: false, grpc: 'UNIMPLEMENTED' },
  CONFLICT: { status: 409, retriable: false, grpc: 'FAILED_PRECONDITION' },
  PAYLOAD_TOO_LARGE: { status: 413, retriable: false, grpc: 'RESOURCE_EXHAUSTED' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retriable: false, grpc: 'INVALID_ARGUMENT' },
  MODEL_LOAD_FAILED: { status: 422, retriable: false, grpc: 'FAILED_PRECONDITION' },
  INTERNAL: { status: 500, retriable: true, grpc: 'INTERNAL' },
  MODEL_NOT_READY: { status: 503, retriable: true, grpc: 'UNAVAILABLE' },
  QUEUE_FULL: { status: 503, retriable: true, grpc: 'RESOURCE_EXHAUSTED' },
  BREAKER_OPEN: { status: 503, retriable: true, grpc: 'UNAVAILABLE' },
  SHUTTING_DOWN: { status: 503, retriable: true, grpc: 'UNAVAILABLE' },
  INFERENCE_TIMEOUT: { status: 504, retriable: true, grpc: 'DEADLINE_EXCEEDED' },
} as const satisfies Record<string, { status: number; retriable: boolean; grpc: GrpcStatusName }>;

export type ErrorCode = keyof typeof errorCatalogue;

export class DriftgateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retriable: boolean;
  /** Seconds the caller should wait before retrying (sent as Retry-After). */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DriftgateError';
    this.code = code;
    this.status = errorCatalogue[code].status;
    this.retriable = errorCatalogue[code].retriable;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export function invalidInput(message: string): DriftgateError {
  return new DriftgateError('INVALID_INPUT', message);
}

export function isDriftgateError(err: unknown): err is DriftgateError {
  return err instanceof DriftgateError;
}

/** The message of anything thrown, for logs and error reports. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
