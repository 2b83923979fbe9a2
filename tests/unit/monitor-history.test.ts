// The monitor's bounded history per version (what the status page charts): verdicts are recorded at
// their event time, bounded, survive a snapshot, and a monitor's timeline merges the versions of a
// model, also after a restart.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { EmbeddedBus, silentLogger, topicNames } from '../../src/core/index.js';
import type { Manifest } from '../../src/core/index.js';
import { DriftMonitor, ModelCatalog, MonitorStore, VersionHistory, parsePolicyDocument } from '../../src/monitor/index.js';
import type { DriftReport } from '../../src/monitor/drift.js';
import { generateStream, manifestSource, syntheticManifest } from '../helpers/drift-scenario.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function report(ts: number, score: number): DriftReport {
  const column = { column: '<f>', test: 'chisquare' as const, score, pValue: 0, threshold: 0.05, drifted: true, samples: 10, missing: 0 };
  return { windowIndex: ts, startTime: ts - 1, endTime: ts, samples: 10, columns: [column], features: [column], share: 1, datasetDrift: true, skipped: [] };
}

describe('VersionHistory', () => {
  it('keeps the newest verdicts and windows up to its limits, oldest first', () => {
    const h = new VersionHistory('classification', { points: 3, windows: 2 });
    for (let i = 1; i <= 5; i++) h.addPerformance(i * 1000, { task: 'classification', count: i * 10, accuracy: i / 10, macroF1: i / 20 });
    for (let i = 1; i <= 3; i++) h.addWindow(report(i, 1));
    assert.deepEqual(
      h.performance().map((p) => [p.ts, p.labels, p.accuracy]),
      [
        [3000, 30, 0.3],
        [4000, 40, 0.4],
        [5000, 50, 0.5],
      ],
    );
    assert.deepEqual(
      h.windows().map((w) => w.ts),
      [2, 3],
    );
  });

  it('skips a verdict over an empty window and keeps an infinite score as null', () => {
    const h = new VersionHistory('classification');
    h.addPerformance(1, { task: 'classification', count: 0, accuracy: NaN, macroF1: NaN });
    h.addWindow(report(5, Infinity));
    assert.equal(h.performance().length, 0);
    assert.equal(h.windows()[0]!.features[0]!.score, null);
  });

  it('comes back the same from its snapshot (through JSON), and empty from a missing one', () => {
    const h = new VersionHistory('regression');
    h.addPerformance(1000, { task: 'regression', count: 50, mae: 2.5, rmse: 3 });
    h.addWindow(report(900, 0.2));
    const restored = VersionHistory.restore(JSON.parse(JSON.stringify(h.snapshot())), 'regression');
    assert.deepEqual(restored.performance(), h.performance());
    assert.deepEqual(restored.windows(), h.windows());
    assert.equal(VersionHistory.restore(undefined, 'regression').performance().length, 0);
    assert.equal(VersionHistory.restore({ points: 'no' }, 'regression').performance().length, 0);
  });
});

describe('DriftMonitor.timeline', () => {
  const T0 = Date.parse('2026-01-01T00:00:00Z');
  const manifests: Manifest[] = [syntheticManifest({ name: 'perf', rows: 800, seed: 13 }), syntheticManifest({ name: 'perf', version: 2, rows: 800, seed: 14 })];

  function start(path: string): { monitor: DriftMonitor; store: MonitorStore } {
    const store = new MonitorStore({ path });
    const catalog = new ModelCatalog(manifestSource(manifests), silentLogger);
    for (const m of manifests) catalog.add(m);
    const monitor = new DriftMonitor({ bus: new EmbeddedBus(), topics: topicNames(), store, catalog, policy: parsePolicyDocument('{}'), registry: new Registry(), logger: silentLogger, lagIntervalMs: 0, publishLabeled: false });
    return { monitor, store };
  }

  it('merges the versions of a model in event time, one point per 50 labels, and keeps them over a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dg-history-'));
    dirs.push(dir);
    const path = join(dir, 'monitor.db');
    let { monitor, store } = start(path);
    for (const [version, startTs] of [
      [1, T0],
      [2, T0 + 600 * 100],
    ] as const) {
      const stream = generateStream({ model: 'perf', version, count: 600, seed: version, startTs, labelDelayMs: 0 });
      await monitor.apply({ predictions: stream.predictions, labels: stream.labels });
    }
    const timeline = monitor.timeline('perf')!;
    assert.equal(timeline.task, 'classification');
    assert.equal(timeline.points.length, 24, '600 labels per version, a verdict every 50');
    assert.deepEqual([...new Set(timeline.points.map((p) => p.version))], [1, 2]);
    assert.ok(timeline.points.every((p, i) => i === 0 || p.ts >= timeline.points[i - 1]!.ts), 'oldest first');
    assert.ok(timeline.points.every((p) => p.accuracy! > 0.7 && p.accuracy! <= 1));
    assert.equal(timeline.points[0]!.ts, T0 + 49 * 100, 'the event time of the 50th label');
    assert.ok(timeline.windows.length >= 2, 'a drift window per 500 predictions');
    assert.equal(monitor.timeline('nope'), undefined);

    store.close();
    ({ monitor, store } = start(path));
    assert.deepEqual(monitor.timeline('perf'), timeline, 'read back from the stored snapshots');
    store.close();
  });
});
