// One catalogue of the errors driftgate reports. Each code has a fixed HTTP status and says whether
// the caller may retry; the gateway's error middleware turns any of them into `{"error": "..."}`.

export const errorCatalogue = {
  INVALID_INPUT: { status: 400, retriable: false },
  MALFORMED_JSON: { status: 400, retriable: false },
  UNAUTHORIZED: { status: 401, retriable: false },
  FORBIDDEN: { status: 403, retriable: false },
  NOT_FOUND: { status: 404, retriable: false },
  MODEL_NOT_FOUND: { status: 404, retriable: false },
  VERSION_NOT_FOUND: { status: 404, retriable: false },
  METHOD_NOT_ALLOWED: { status: 405, retriable: false },
  CONFLICT: { status: 409, retriable: false },
  PAYLOAD_TOO_LARGE: { status: 413, retriable: false },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retriable: false },
  MODEL_LOAD_FAILED: { status: 422, retriable: false },
  INTERNAL: { status: 500, retriable: true },
  MODEL_NOT_READY: { status: 503, retriable: true },
  QUEUE_FULL: { status: 503, retriable: true },
  BREAKER_OPEN: { status: 503, retriable: true },
  SHUTTING_DOWN: { status: 503, retriable: true },
  INFERENCE_TIMEOUT: { status: 504, retriable: true },
} as const satisfies Record<string, { status: number; retriable: boolean }>;

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
