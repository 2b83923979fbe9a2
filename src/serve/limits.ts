// The per-request row bound of both prediction APIs. It is checked on the parsed JSON before schema
// validation and tensor decoding, so an oversized request (a small gzip body can inflate to a million
// rows) costs no more than reading its body, and never reaches the batcher or the runtime.
import { DriftgateError } from '../core/index.js';

/**
 * The rows a body (not yet validated) asks for: the largest leading dimension among its V2 `inputs`
 * shapes, or the length of its v1 `instances`; 0 when it declares none (validation then says why).
 */
export function declaredRows(body: unknown): number {
  if (!body || typeof body !== 'object') return 0;
  const { inputs, instances } = body as { inputs?: unknown; instances?: unknown };
  let rows = Array.isArray(instances) ? instances.length : 0;
  if (Array.isArray(inputs)) {
    for (const tensor of inputs as unknown[]) {
      const shape = tensor && typeof tensor === 'object' ? (tensor as { shape?: unknown }).shape : undefined;
      const n = Array.isArray(shape) ? (shape as unknown[])[0] : undefined;
      if (typeof n === 'number' && n > rows) rows = n;
    }
  }
  return rows;
}

/** Refuses (413) a body that declares more than `limit` rows. */
export function checkRequestRows(body: unknown, limit: number): void {
  const rows = declaredRows(body);
  if (rows > limit) {
    throw new DriftgateError('PAYLOAD_TOO_LARGE', `the request holds ${rows} rows; the limit is ${limit} rows per request (DRIFTGATE_MAX_REQUEST_ROWS)`);
  }
}
