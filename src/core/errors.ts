// One catalogue of the errors driftgate reports. Each code has a fixed HTTP status, a gRPC status and
// says whether the caller may retry; every HTTP error body is `{"error": "<message>", "code": "<CODE>"}`,
// so programs branch on `code` and people read `error`. docs/errors.md is generated from this table.

/** gRPC status names (google.rpc.Code) the catalogue maps to; the gRPC transport turns them into numbers. */
export type GrpcStatusName =
  | 'CANCELLED'
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

export interface ErrorKind {
  /** The HTTP status every error of this code is answered with. */
  status: number;
  /**
   * Whether the same request, sent again unchanged, may succeed later: a promise to callers, listed in
   * docs/errors.md. Only retriable errors can carry a Retry-After header, and only the 503s (where
   * RFC 9110 gives it a meaning) set one. Nothing inside driftgate retries by it: the event publisher
   * retries every failed publish from its spool, because events must not be lost, and kafkajs judges
   * broker errors by its own flag.
   */
  retriable: boolean;
  grpc: GrpcStatusName;
  /** What the code means, for docs/errors.md. */
  meaning: string;
  /** A message as driftgate writes it, for docs/errors.md. */
  example: string;
}

export const errorCatalogue = {
  INVALID_INPUT: {
    status: 400,
    retriable: false,
    grpc: 'INVALID_ARGUMENT',
    meaning: 'The request parsed but does not fit the endpoint: a missing or wrong field, a tensor whose shape, datatype or size does not match the model, a bad model name, version or query parameter.',
    example: 'inputs[0]: shape [2, 4] needs 8 values, got 7',
  },
  MALFORMED_JSON: {
    status: 400,
    retriable: false,
    grpc: 'INVALID_ARGUMENT',
    meaning: 'The body is not valid JSON.',
    example: 'malformed JSON: Unexpected end of JSON input',
  },
  REQUEST_ABORTED: {
    status: 400,
    retriable: true,
    grpc: 'CANCELLED',
    meaning: 'The client closed the connection before the whole body arrived; nobody usually reads this answer.',
    example: 'request aborted',
  },
  UNAUTHORIZED: {
    status: 401,
    retriable: false,
    grpc: 'UNAUTHENTICATED',
    meaning: 'An admin or label call came without an `Authorization: Bearer <token>` header.',
    example: 'admin calls need an Authorization: Bearer <token> header',
  },
  FORBIDDEN: {
    status: 403,
    retriable: false,
    grpc: 'PERMISSION_DENIED',
    meaning: 'The bearer token is wrong, or the API it guards is disabled (no token configured).',
    example: 'the admin token is wrong',
  },
  NOT_FOUND: {
    status: 404,
    retriable: false,
    grpc: 'NOT_FOUND',
    meaning: 'No endpoint at this path.',
    example: 'no endpoint GET /v2/modles',
  },
  MODEL_NOT_FOUND: {
    status: 404,
    retriable: false,
    grpc: 'NOT_FOUND',
    meaning: 'No model of this name here: the gateway does not serve it, or the monitor has seen no events of it.',
    example: 'model "irs" is not served here',
  },
  VERSION_NOT_FOUND: {
    status: 404,
    retriable: false,
    grpc: 'NOT_FOUND',
    meaning: 'The model exists but has no such version, or the version is not loaded.',
    example: 'model "iris" has no version 9',
  },
  METHOD_NOT_ALLOWED: {
    status: 405,
    retriable: false,
    grpc: 'UNIMPLEMENTED',
    meaning: 'The path exists but not with this method; the `Allow` header lists the methods it takes.',
    example: 'method DELETE is not allowed on /v2/models/iris/infer; allowed: POST',
  },
  CONFLICT: {
    status: 409,
    retriable: false,
    grpc: 'FAILED_PRECONDITION',
    meaning: 'The admin action contradicts the current state: unloading the serving version, rolling back with nothing to roll back to.',
    example: 'model "iris" has no earlier version to roll back to',
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    retriable: false,
    grpc: 'RESOURCE_EXHAUSTED',
    meaning: 'The body (after decompression) is over DRIFTGATE_MAX_BODY_BYTES, or it holds more rows than one request or the queue may.',
    example: 'request body is larger than the limit of 16777216 bytes (DRIFTGATE_MAX_BODY_BYTES)',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    retriable: false,
    grpc: 'INVALID_ARGUMENT',
    meaning: 'The body is declared as something other than JSON, or uses a content-encoding or charset the gateway cannot read.',
    example: 'content-encoding "zstd" is not supported; send identity, gzip, deflate or br',
  },
  MODEL_LOAD_FAILED: {
    status: 422,
    retriable: false,
    grpc: 'FAILED_PRECONDITION',
    meaning: 'An admin load or promote named a version whose files cannot be loaded (bad manifest, missing or broken artifact).',
    example: 'model "iris" version 3: manifest says "iris" version 2',
  },
  INTERNAL: {
    status: 500,
    retriable: true,
    grpc: 'INTERNAL',
    meaning: 'Something failed that the request did not cause: the model runtime threw (the message says so, and the failure counts towards opening the breaker), or a bug (logged on the server). One retry may help; repeated ones are worth reporting.',
    example: 'inference failed in model "iris" version 1: <the runtime\'s message>',
  },
  MODEL_NOT_READY: {
    status: 503,
    retriable: true,
    grpc: 'UNAVAILABLE',
    meaning: 'The model has no loaded version yet, or its worker is being replaced or unloaded.',
    example: 'model "iris" has no loaded version yet',
  },
  QUEUE_FULL: {
    status: 503,
    retriable: true,
    grpc: 'RESOURCE_EXHAUSTED',
    meaning: 'The version\'s batch queue holds DRIFTGATE_MAX_QUEUE_SIZE rows already: back off.',
    example: 'model "iris" version 1 is overloaded: 2048 rows are waiting (limit 2048)',
  },
  BREAKER_OPEN: {
    status: 503,
    retriable: true,
    grpc: 'UNAVAILABLE',
    meaning: 'Recent calls to this version failed or timed out, so its circuit breaker turns calls away until a trial call succeeds.',
    example: 'model "iris" version 1 is failing; its circuit breaker is open',
  },
  SHUTTING_DOWN: {
    status: 503,
    retriable: true,
    grpc: 'UNAVAILABLE',
    meaning: 'The gateway is draining before it exits; another replica can answer.',
    example: 'the gateway is shutting down',
  },
  EVENT_BUS_UNAVAILABLE: {
    status: 503,
    retriable: true,
    grpc: 'UNAVAILABLE',
    meaning: 'The event bus did not take a call that needs it now (topics without leaders, a closed bus or spool while the process stops). Predictions and labels are never refused for this: their events wait in the spool.',
    example: 'topics dg.predictions have no leaders after 30000 ms',
  },
  INFERENCE_TIMEOUT: {
    status: 504,
    retriable: true,
    grpc: 'DEADLINE_EXCEEDED',
    meaning: 'The runtime did not answer within DRIFTGATE_INFER_TIMEOUT_MS.',
    example: 'model "iris" version 1 did not answer within the inference timeout',
  },
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof errorCatalogue;

/** Every code, in catalogue order (the OpenAPI enum and docs/errors.md list them so). */
export const errorCodes = Object.keys(errorCatalogue) as ErrorCode[];

/** The codes a caller may retry; only these may carry a Retry-After. */
export type RetriableCode = { [C in ErrorCode]: (typeof errorCatalogue)[C]['retriable'] extends true ? C : never }[ErrorCode];

type ErrorOptions<C extends ErrorCode> = { cause?: unknown } & (C extends RetriableCode ? { retryAfterSeconds?: number } : { retryAfterSeconds?: never });

export class DriftgateError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly status: number;
  readonly retriable: boolean;
  /** Seconds the caller should wait before retrying (sent as Retry-After); set on retriable codes only. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: C, message: string, options: ErrorOptions<C> = {}) {
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

/** The body every HTTP error is answered with: the protocol's `error` string plus the stable code. */
export interface ErrorBody {
  error: string;
  code: ErrorCode;
}

export function errorBody(err: DriftgateError): ErrorBody {
  return { error: err.message, code: err.code };
}

/**
 * The error a failure is reported as: a DriftgateError as it is, anything else as INTERNAL with a
 * message that gives nothing away (the original is kept as the cause, for the log).
 */
export function asDriftgateError(err: unknown): DriftgateError {
  return isDriftgateError(err) ? err : new DriftgateError('INTERNAL', 'internal error', { cause: err });
}

/** The first code answered with an HTTP status (the general one: NOT_FOUND before MODEL_NOT_FOUND). */
export function codeForStatus(status: number): ErrorCode | undefined {
  return errorCodes.find((code) => errorCatalogue[code].status === status);
}

/**
 * How an opossum circuit breaker turned a call away, or undefined for the call's own failure:
 * `open` (the breaker is open), `timeout` (the call ran past its timeout), `busy` (its concurrency
 * limit is reached) or `shutdown` (the breaker was shut down). opossum marks these only by `code`.
 */
export function breakerRejection(err: unknown): 'open' | 'timeout' | 'busy' | 'shutdown' | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  switch (code) {
    case 'EOPENBREAKER':
      return 'open';
    case 'ETIMEDOUT':
      return 'timeout';
    case 'ESEMLOCKED':
      return 'busy';
    case 'ESHUTDOWN':
      return 'shutdown';
    default:
      return undefined;
  }
}

/** The message of anything thrown, for logs and error reports. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
