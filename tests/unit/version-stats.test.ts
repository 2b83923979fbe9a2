import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VersionStats } from '../../src/serve/version-stats.js';

describe('VersionStats', () => {
  it('starts at zero with every field of the statistics extension', () => {
    const report = new VersionStats().report('m', 2);
    assert.equal(report.version, '2');
    assert.equal(report.last_inference, 0);
    assert.deepEqual(Object.keys(report.inference_stats).sort(), ['cache_hit', 'cache_miss', 'compute_infer', 'compute_input', 'compute_output', 'fail', 'queue', 'success']);
    assert.ok(Object.values(report.inference_stats).every((s) => s.count === 0 && s.ns === 0));
    assert.deepEqual(report.batch_stats, []);
  });

  it('adds up requests, rows, failures, queue time and runtime calls per batch size, in nanoseconds', () => {
    const stats = new VersionStats();
    const before = Date.now();
    stats.succeeded(3, 1.5);
    stats.succeeded(1, 0.5);
    stats.failed(2);
    stats.queued(0.25);
    stats.executed(4, 1);
    stats.executed(4, 0.5);
    stats.executed(1, 0.001);
    const r = stats.report('m', 1);
    assert.equal(r.inference_count, 4);
    assert.equal(r.execution_count, 3);
    assert.deepEqual(r.inference_stats.success, { count: 2, ns: 2_000_000 });
    assert.deepEqual(r.inference_stats.fail, { count: 1, ns: 2_000_000 });
    assert.deepEqual(r.inference_stats.queue, { count: 1, ns: 250_000 });
    assert.deepEqual(r.inference_stats.compute_infer, { count: 3, ns: 1_501_000 });
    assert.deepEqual(r.batch_stats.map((b) => [b.batch_size, b.compute_infer]), [
      [1, { count: 1, ns: 1000 }],
      [4, { count: 2, ns: 1_500_000 }],
    ]);
    assert.ok(r.last_inference >= before);
  });

  it('reports copies: a report does not change as the counters move on', () => {
    const stats = new VersionStats();
    const first = stats.report('m', 1);
    stats.succeeded(1, 1);
    assert.equal(first.inference_stats.success.count, 0);
  });
});
