// Plumbing shared by every route: JSON body parsing with a size limit, content-type checks, request
// metrics with bounded labels, and the one error middleware that maps every failure to a status and
// `{"error": "..."}`.
import { timingSafeEqual } from 'node:crypto';
import express from 'express';
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import { DriftgateError, describeError, describeValue, describeValues, isDriftgateError } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { ServeMetrics } from './metrics.js';

/** Labels of the request metric; handlers fill them in once the model is known to the registry. */
export interface RequestLabels {
  endpoint: string;
  model: string;
  version: string;
}

export function labelsOf(res: Response): RequestLabels {
  return res.locals as RequestLabels;
}

/** Names the endpoint template (never the raw path) for metrics. */
export function endpoint(name: string): RequestHandler {
  return (_req, res, next) => {
    labelsOf(res).endpoint = name;
    next();
  };
}

export function requestMetrics(metrics: ServeMetrics): RequestHandler {
  return (_req, res, next) => {
    const start = process.hrtime.bigint();
    const labels = labelsOf(res);
    labels.endpoint = 'unmatched';
    labels.model = '';
    labels.version = '';
    res.on('finish', () => {
      const status = `${Math.floor(res.statusCode / 100)}xx`;
      const l = { model: labels.model, version: labels.version, endpoint: labels.endpoint, status };
      metrics.requests.labels(l).inc();
      metrics.requestDuration.labels(l).observe(Number(process.hrtime.bigint() - start) / 1e9);
    });
    next();
  };
}

export function jsonBody(limitBytes: number): RequestHandler[] {
  const parse = express.json({ limit: limitBytes, strict: false, type: ['application/json', 'application/*+json'] });
  const requireJson: RequestHandler = (req, _res, next) => {
    if (req.method !== 'POST' && req.method !== 'PUT') return next();
    const length = Number(req.headers['content-length'] ?? 0);
    const hasBody = length > 0 || req.headers['transfer-encoding'] !== undefined;
    if (hasBody && !req.is(['application/json', 'application/*+json'])) {
      const given = req.headers['content-type'];
      return next(new DriftgateError('UNSUPPORTED_MEDIA_TYPE', `content-type must be application/json, got ${given === undefined ? 'none' : describeValue(given).slice(1, -1)}`));
    }
    next();
  };
  return [requireJson, parse];
}

/** One step of an issue path: `[3]`, `.name`, or a long or odd key (the client's) shown cut short. */
function pathStep(p: PropertyKey): string {
  if (typeof p === 'number') return `[${p}]`;
  const key = String(p);
  return /^[A-Za-z_][A-Za-z0-9_]{0,39}$/.test(key) ? `.${key}` : `[${describeValue(key, 40)}]`;
}

/** Validates a body against a schema; the error names the first few offending fields. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new DriftgateError('INVALID_INPUT', 'the request body must be a JSON object');
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 5).map((i) => {
    const path = i.path.length ? i.path.slice(0, 10).map(pathStep).join('').replace(/^\./, '') : 'body';
    // zod lists every unrecognized key in full; they are the client's, so show a few, cut short.
    const message = i.code === 'unrecognized_keys' ? `Unrecognized key${i.keys.length > 1 ? 's' : ''}: ${describeValues(i.keys, 5, 40)}` : i.message;
    return `${path}: ${message}`;
  });
  throw new DriftgateError('INVALID_INPUT', issues.join('; '));
}

export function adminAuth(token: string | undefined): RequestHandler {
  const expected = token ? Buffer.from(token) : undefined;
  return (req, res, next) => {
    if (!expected) return next(new DriftgateError('FORBIDDEN', 'the admin API is disabled: set DRIFTGATE_ADMIN_TOKEN to enable it'));
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="driftgate-admin"');
      return next(new DriftgateError('UNAUTHORIZED', 'admin calls need an Authorization: Bearer <token> header'));
    }
    const given = Buffer.from(match[1]!.trim());
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return next(new DriftgateError('FORBIDDEN', 'the admin token is wrong'));
    }
    next();
  };
}

interface BodyParserError {
  type?: string;
  status?: number;
  message: string;
  encoding?: string;
  charset?: string;
}

/** Maps errors to responses. Client errors are answered plainly; anything unexpected is logged. */
export function errorHandler(logger: Logger, bodyLimitBytes: number): ErrorRequestHandler {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let status = 500;
    let message = 'internal error';
    if (isDriftgateError(err)) {
      status = err.status;
      message = err.message;
      if (err.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(err.retryAfterSeconds));
    } else {
      const bp = err as BodyParserError;
      switch (bp?.type) {
        case 'entity.parse.failed':
          status = 400;
          message = `malformed JSON: ${bp.message}`;
          break;
        case 'entity.too.large':
          status = 413;
          message = `request body is larger than the limit of ${bodyLimitBytes} bytes (DRIFTGATE_MAX_BODY_BYTES)`;
          break;
        // The request body may be gzip, deflate or br: DRIFTGATE_MAX_BODY_BYTES bounds its inflated size.
        case 'encoding.unsupported':
          status = 415;
          message = `content-encoding ${describeValue(bp.encoding ?? '', 40)} is not supported; send identity, gzip, deflate or br`;
          break;
        case 'charset.unsupported':
          status = 415;
          message = `charset ${describeValue(bp.charset ?? '', 40)} is not supported; send utf-8`;
          break;
        case 'request.aborted':
          status = 400;
          message = 'request aborted';
          break;
        default:
          if (typeof bp?.status === 'number' && bp.status >= 400 && bp.status < 500) {
            status = bp.status;
            message = bp.message;
          }
      }
    }
    if (status >= 500 && !isDriftgateError(err)) logger.error('unhandled error', { path: req.path, error: describeError(err), stack: (err as Error)?.stack });
    if (res.headersSent) return;
    res.status(status).json({ error: message });
  };
}
