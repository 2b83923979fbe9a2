import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { parseBody } from '../../src/serve/http.js';

const messageOf = (schema: z.ZodType, body: unknown): string => {
  try {
    parseBody(schema, body);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('did not throw');
};

describe('parseBody', () => {
  it('names fields by path, showing a long or odd key (the client\'s) quoted and cut short', () => {
    const schema = z.object({ scores: z.record(z.string(), z.number()) });
    assert.equal(messageOf(schema, { scores: { ok_key: 'x' } }), 'scores.ok_key: Invalid input: expected number, received string');
    const message = messageOf(schema, { scores: { ['k'.repeat(1_000_000)]: 'x' } });
    assert.match(message, /^scores\["k+…"\]: Invalid input/);
    assert.ok(message.length < 200, `${message.length} chars`);
  });

  it('lists a few unrecognized keys, cut short, and counts the rest', () => {
    const body = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`${'u'.repeat(10_000)}${i}`, 1]));
    const message = messageOf(z.object({}).strict(), body);
    assert.match(message, /^body: Unrecognized keys: "u+…", .* and 995 more$/);
    assert.ok(message.length < 400, `${message.length} chars`);
  });
});
