// The one way an HTTP server of driftgate (the gateway, the monitor's and the retrainer's status
// servers) answers a failure: the catalogue's status and `{"error": "...", "code": "..."}`.
import type { ErrorRequestHandler, NextFunction, Request, Response } from 'express';
import { DriftgateError, asDriftgateError, codeForStatus, describeError, errorBody, isDriftgateError } from './errors.js';
import type { Logger } from './logger.js';

/**
 * The catalogue error for an http-errors style client error (Express's own, like a path segment that
 * does not decode): same message, the code for its 4xx status, or INVALID_INPUT (400) for a status the
 * catalogue has no code for. Undefined for anything else.
 */
export function httpClientError(err: unknown): DriftgateError | undefined {
  const status = (err as { status?: unknown } | null | undefined)?.status;
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  return new DriftgateError(codeForStatus(status) ?? 'INVALID_INPUT', describeError(err));
}

/**
 * The error middleware. `recognise` turns failures the server knows (body-parser's, say) into catalogue
 * errors; DriftgateErrors pass as they are; anything else is answered as INTERNAL and logged. Retriable
 * errors that name a wait get Retry-After.
 */
export function jsonErrorHandler(logger: Logger | undefined, recognise: (err: unknown) => DriftgateError | undefined = httpClientError): ErrorRequestHandler {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const known = isDriftgateError(err) ? err : recognise(err);
    if (!known) logger?.error('unhandled error', { path: req.path, error: describeError(err), stack: err instanceof Error ? err.stack : undefined });
    const error = known ?? asDriftgateError(err);
    if (res.headersSent) return;
    if (error.retriable && error.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(error.retryAfterSeconds));
    // Exactly `application/json`, without the `; charset=utf-8` that res.json and res.type add: KServe's
    // REST client reads the message out of an error body only under that exact type (JSON is UTF-8 anyway).
    res.setHeader('Content-Type', 'application/json');
    res.status(error.status).send(Buffer.from(JSON.stringify(errorBody(error))));
  };
}
