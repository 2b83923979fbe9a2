// Plumbing shared by every route: JSON body parsing with a size limit, content-type checks, request
// metrics with bounded labels, and the one error middleware that maps every failure to its catalogue
// status and `{"error": "...", "code": "..."}`.
import { timingSafeEqual } from 'node:crypto';
import express from 'express';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import { DriftgateError, describeValue, describeValues, httpClientError, jsonErrorHandler } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { INFERENCE_HEADER } from './binary-tensors.js';
import { statusClass } from './metrics.js';
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
      const status = statusClass(res.statusCode);
      const l = { protocol: 'http', model: labels.model, version: labels.version, endpoint: labels.endpoint, status };
      metrics.requests.labels(l).inc();
      metrics.requestDuration.labels(l).observe(Number(process.hrtime.bigint() - start) / 1e9);
    });
    next();
  };
}

const JSON_TYPES = ['application/json', 'application/*+json'];

/** Whether a request declares no Content-Type at all (what tritonclient sends); its body is read as JSON. */
function untyped(req: Request): boolean {
  return !req.headers['content-type']?.trim();
}

function declaredJson(req: Request): boolean {
  return Boolean(req.is(JSON_TYPES));
}

/** Whether a POST or PUT carries a body (a length, or a chunked one). */
function hasBody(req: Request): boolean {
  return Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
}

/**
 * JSON body parsing with the size limit. A body without a Content-Type is read as JSON, as Triton,
 * KServe and MLServer do; one declared as anything else is refused (415). A body another parser read
 * first (the binary tensor extension's) is left alone.
 */
export function jsonBody(limitBytes: number): RequestHandler[] {
  // body-parser hands the type check the Express request it was given. An empty body without a type
  // stays unread (undefined), so it is answered as a missing body rather than as `{}`.
  const parse = express.json({ limit: limitBytes, strict: false, type: (req) => declaredJson(req as Request) || (untyped(req as Request) && hasBody(req as Request)) });
  const requireJson: RequestHandler = (req, _res, next) => {
    if ((req.method !== 'POST' && req.method !== 'PUT') || Buffer.isBuffer(req.body)) return next();
    if (hasBody(req) && !untyped(req) && !declaredJson(req)) {
      const given = req.headers['content-type'] ?? '';
      return next(new DriftgateError('UNSUPPORTED_MEDIA_TYPE', `content-type must be application/json, got ${describeValue(given).slice(1, -1)}`));
    }
    next();
  };
  return [requireJson, parse];
}

/** The header of the binary tensor extension, as Node spells request headers. */
const inferenceHeader = INFERENCE_HEADER.toLowerCase();
const BINARY_TYPES = ['application/octet-stream', ...JSON_TYPES];

/**
 * Body parsing of the infer endpoints: JSON, or with an Inference-Header-Content-Length header the
 * binary tensor extension's body, read whole as bytes (with the same size limit and Content-Encoding
 * handling) for the route to split. Such a body may be declared application/octet-stream, JSON, or
 * nothing.
 */
export function inferBody(limitBytes: number): RequestHandler[] {
  const raw = express.raw({ limit: limitBytes, type: () => true });
  const binary: RequestHandler = (req, res, next) => {
    if (req.headers[inferenceHeader] === undefined || req.method !== 'POST') return next();
    if (req.headers['content-type']?.trim() && !req.is(BINARY_TYPES)) {
      const given = describeValue(req.headers['content-type']).slice(1, -1);
      return next(new DriftgateError('UNSUPPORTED_MEDIA_TYPE', `a body with an Inference-Header-Content-Length header must be application/octet-stream (or absent), got ${given}`));
    }
    raw(req, res, next);
  };
  return [binary, ...jsonBody(limitBytes)];
}

/**
 * Lets only the given methods through and answers the others with 405 and an `Allow` header. Mount
 * it with `router.all(path, ...)` in front of the path's handlers. GET implies HEAD (Express answers
 * HEAD from the GET handler).
 */
export function only(...methods: ('GET' | 'POST')[]): RequestHandler {
  const allowed = new Set<string>(methods.includes('GET') ? [...methods, 'HEAD'] : methods);
  const allow = [...allowed].join(', ');
  return (req, res, next) => {
    if (allowed.has(req.method)) return next();
    res.setHeader('Allow', allow);
    next(new DriftgateError('METHOD_NOT_ALLOWED', `method ${describeValue(req.method, 20).slice(1, -1)} is not allowed on ${req.path.slice(0, 200)}; allowed: ${allow}`));
  };
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

/** What body-parser (and other http-errors style errors, like a path segment that does not decode) carry. */
interface BodyParserError {
  type?: string;
  status?: number;
  message: string;
  encoding?: string;
  charset?: string;
}

/** The catalogue error a body-parser failure (or another error with a 4xx status) stands for; undefined otherwise. */
export function fromBodyParserError(err: unknown, bodyLimitBytes: number): DriftgateError | undefined {
  const bp = err as BodyParserError | null | undefined;
  switch (bp?.type) {
    case 'entity.parse.failed':
      return new DriftgateError('MALFORMED_JSON', `malformed JSON: ${bp.message}`);
    case 'entity.too.large':
      return new DriftgateError('PAYLOAD_TOO_LARGE', `request body is larger than the limit of ${bodyLimitBytes} bytes (DRIFTGATE_MAX_BODY_BYTES)`);
    // The request body may be gzip, deflate or br: DRIFTGATE_MAX_BODY_BYTES bounds its inflated size.
    case 'encoding.unsupported':
      return new DriftgateError('UNSUPPORTED_MEDIA_TYPE', `content-encoding ${describeValue(bp.encoding ?? '', 40)} is not supported; send identity, gzip, deflate or br`);
    case 'charset.unsupported':
      return new DriftgateError('UNSUPPORTED_MEDIA_TYPE', `charset ${describeValue(bp.charset ?? '', 40)} is not supported; send utf-8`);
    case 'request.aborted':
      return new DriftgateError('REQUEST_ABORTED', 'request aborted');
  }
  // Any other client error (a body shorter than its Content-Length) keeps its message.
  return httpClientError(err);
}

/** The gateway's error middleware: body-parser failures get their catalogue codes too. */
export function errorHandler(logger: Logger, bodyLimitBytes: number): ErrorRequestHandler {
  return jsonErrorHandler(logger, (err) => fromBodyParserError(err, bodyLimitBytes));
}
