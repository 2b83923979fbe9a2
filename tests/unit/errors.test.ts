import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DriftgateError,
  asDriftgateError,
  breakerRejection,
  codeForStatus,
  errorBody,
  errorCatalogue,
  errorCodes,
  httpClientError,
} from '../../src/core/index.js';
import type { ErrorCode } from '../../src/core/index.js';
import { fromBodyParserError } from '../../src/serve/http.js';

describe('the error catalogue', () => {
  it('lists every code once, in UPPER_SNAKE_CASE, with an error status, a meaning and an example', () => {
    assert.deepEqual(errorCodes, Object.keys(errorCatalogue));
    for (const code of errorCodes) {
      const kind = errorCatalogue[code];
      assert.match(code, /^[A-Z]+(_[A-Z]+)*$/);
      assert.ok(kind.status >= 400 && kind.status < 600, code);
      assert.ok(kind.meaning.length > 20 && kind.example.length > 5, code);
    }
  });

  it('calls every 5xx retriable, and no 4xx but an aborted request', () => {
    for (const code of errorCodes) {
      const { status, retriable } = errorCatalogue[code];
      assert.equal(retriable, status >= 500 || code === 'REQUEST_ABORTED', code);
    }
  });

  it('codeForStatus picks the general code of a status', () => {
    assert.equal(codeForStatus(400), 'INVALID_INPUT');
    assert.equal(codeForStatus(404), 'NOT_FOUND');
    assert.equal(codeForStatus(405), 'METHOD_NOT_ALLOWED');
    assert.equal(codeForStatus(503), 'MODEL_NOT_READY');
    assert.equal(codeForStatus(418), undefined);
  });
});

describe('DriftgateError', () => {
  it('takes status and retriable from its code, and answers with {error, code}', () => {
    const err = new DriftgateError('QUEUE_FULL', 'too busy', { retryAfterSeconds: 1 });
    assert.equal(err.status, 503);
    assert.equal(err.retriable, true);
    assert.equal(err.retryAfterSeconds, 1);
    assert.deepEqual(errorBody(err), { error: 'too busy', code: 'QUEUE_FULL' });
  });

  it('refuses Retry-After on a code that is not retriable (a type error)', () => {
    // @ts-expect-error a client error cannot ask the caller to retry later
    const err = new DriftgateError('INVALID_INPUT', 'bad', { retryAfterSeconds: 1 });
    assert.equal(err.retriable, false);
  });

  it('asDriftgateError keeps a DriftgateError and hides anything else behind INTERNAL', () => {
    const known = new DriftgateError('CONFLICT', 'no');
    assert.equal(asDriftgateError(known), known);
    const bug = new TypeError('x is undefined');
    const wrapped = asDriftgateError(bug);
    assert.deepEqual(errorBody(wrapped), { error: 'internal error', code: 'INTERNAL' });
    assert.equal(wrapped.status, 500);
    assert.equal(wrapped.cause, bug);
  });
});

describe('breakerRejection', () => {
  it("recognises opossum's rejections by their code, and nothing else", () => {
    const opossum = (code: string) => Object.assign(new Error(code), { code });
    assert.equal(breakerRejection(opossum('EOPENBREAKER')), 'open');
    assert.equal(breakerRejection(opossum('ETIMEDOUT')), 'timeout');
    assert.equal(breakerRejection(opossum('ESEMLOCKED')), 'busy');
    assert.equal(breakerRejection(opossum('ESHUTDOWN')), 'shutdown');
    assert.equal(breakerRejection(new Error('boom')), undefined);
    assert.equal(breakerRejection(opossum('ECONNREFUSED')), undefined);
    assert.equal(breakerRejection(null), undefined);
    assert.equal(breakerRejection('EOPENBREAKER'), undefined);
  });
});

describe('body-parser and http-errors failures', () => {
  const mapped = (err: unknown): [ErrorCode, number, string] | undefined => {
    const e = fromBodyParserError(err, 2048);
    return e && [e.code, e.status, e.message];
  };
  const bodyParser = (type: string, status: number, message: string, extra: object = {}) => Object.assign(new Error(message), { type, status, ...extra });

  it('get catalogue codes, with the statuses they had before codes existed', () => {
    assert.deepEqual(mapped(bodyParser('entity.parse.failed', 400, 'Unexpected end of JSON input')), ['MALFORMED_JSON', 400, 'malformed JSON: Unexpected end of JSON input']);
    assert.deepEqual(mapped(bodyParser('entity.too.large', 413, 'request entity too large')), ['PAYLOAD_TOO_LARGE', 413, 'request body is larger than the limit of 2048 bytes (DRIFTGATE_MAX_BODY_BYTES)']);
    assert.deepEqual(mapped(bodyParser('encoding.unsupported', 415, 'unsupported', { encoding: 'zstd' })), [
      'UNSUPPORTED_MEDIA_TYPE',
      415,
      'content-encoding "zstd" is not supported; send identity, gzip, deflate or br',
    ]);
    assert.deepEqual(mapped(bodyParser('charset.unsupported', 415, 'unsupported', { charset: 'latin1' })), ['UNSUPPORTED_MEDIA_TYPE', 415, 'charset "latin1" is not supported; send utf-8']);
    assert.deepEqual(mapped(bodyParser('request.aborted', 400, 'request aborted')), ['REQUEST_ABORTED', 400, 'request aborted']);
    assert.deepEqual(mapped(bodyParser('request.size.invalid', 400, 'request size did not match content length')), ['INVALID_INPUT', 400, 'request size did not match content length']);
  });

  it("other 4xx errors keep their message and get their status's code; 5xx and plain errors are not client errors", () => {
    const decode = Object.assign(new URIError("Failed to decode param '%E0%A4%A'"), { status: 400 });
    assert.deepEqual(mapped(decode), ['INVALID_INPUT', 400, "Failed to decode param '%E0%A4%A'"]);
    assert.equal(httpClientError(Object.assign(new Error('gone'), { status: 404 }))?.code, 'NOT_FOUND');
    assert.equal(httpClientError(Object.assign(new Error('teapot'), { status: 418 }))?.status, 400);
    assert.equal(mapped(bodyParser('stream.encoding.set', 500, 'stream encoding should not be set')), undefined);
    assert.equal(mapped(new Error('boom')), undefined);
    assert.equal(mapped(undefined), undefined);
  });
});
