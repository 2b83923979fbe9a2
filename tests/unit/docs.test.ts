import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { configurationText, errorsText, openApiText } from '../../scripts/gen-docs.js';
import { errorCodes } from '../../src/core/index.js';

const docs = resolve(import.meta.dirname, '../../docs');

describe('generated documents', () => {
  it('docs/openapi.json matches the schemas in code (run `npm run docs` after changing them)', () => {
    assert.equal(readFileSync(resolve(docs, 'openapi.json'), 'utf8'), openApiText());
  });
  it('docs/configuration.md matches the options in code (run `npm run docs` after changing them)', () => {
    assert.equal(readFileSync(resolve(docs, 'configuration.md'), 'utf8'), configurationText());
  });
  it('docs/errors.md matches the error catalogue in code (run `npm run docs` after changing it)', () => {
    assert.equal(readFileSync(resolve(docs, 'errors.md'), 'utf8'), errorsText());
  });
  it('the OpenAPI Error schema lists every catalogue code', () => {
    const doc = JSON.parse(openApiText()) as { components: { schemas: Record<string, { properties?: { code?: { enum?: string[] } } }> } };
    assert.deepEqual(doc.components.schemas['Error']?.properties?.code?.enum, errorCodes);
  });
  it('every $ref in the OpenAPI document resolves', () => {
    const doc = JSON.parse(openApiText()) as { components: { schemas: Record<string, unknown> } };
    const refs = [...openApiText().matchAll(/"\$ref": "#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(refs.length > 10);
    for (const ref of refs) assert.ok(ref in doc.components.schemas, `unresolved $ref ${ref}`);
  });
});
