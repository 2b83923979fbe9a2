// The monitor's stored state (watermark, label coverage, per-version snapshots) is read back through
// schemas: a valid one continues exactly, a corrupt one is logged and that state starts afresh.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { EmbeddedBus, silentLogger, topicNames } from '../../src/core/index.js';
import type { Logger, Manifest } from '../../src/core/index.js';
import { ModelCatalog } from '../../src/monitor/catalog.js';
import { DriftMonitor } from '../../src/monitor/monitor.js';
import { initialPolicyState, parsePolicyDocument } from '../../src/monitor/policy.js';
import { MonitorStore } from '../../src/monitor/store.js';
import { VersionStates, stateKey } from '../../src/monitor/version-states.js';
import { generateStream, manifestSource, syntheticManifest } from '../helpers/drift-scenario.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const T0 = Date.parse('2026-01-01T00:00:00Z');
const MODEL = 'restore';
const KEY = stateKey(MODEL, 1);
const policy = parsePolicyDocument(JSON.stringify({ default: { window: { size: 200, minSamples: 50 }, datasetDriftShare: 0.25 } }));

interface Warning {
  msg: string;
  fields: Record<string, unknown> | undefined;
}

function capturingLogger(): { logger: Logger; warnings: Warning[] } {
  const warnings: Warning[] = [];
  const logger: Logger = { ...silentLogger, warn: (msg, fields) => warnings.push({ msg, fields }), child: () => logger };
  return { logger, warnings };
}

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dg-restore-'));
  dirs.push(dir);
  return join(dir, 'monitor.db');
}

function catalogOf(manifest: Manifest): ModelCatalog {
  const catalog = new ModelCatalog(manifestSource([manifest]), silentLogger);
  catalog.add(manifest);
  return catalog;
}

/** A store holding the state of a monitor that saw a shifted stream with labels. */
async function monitoredStore(manifest: Manifest): Promise<string> {
  const path = tempDb();
  const store = new MonitorStore({ path });
  const bus = new EmbeddedBus();
  const monitor = new DriftMonitor({ bus, topics: topicNames(), store, catalog: catalogOf(manifest), policy, registry: new Registry(), lagIntervalMs: 0, publishLabeled: false });
  const stream = generateStream({ model: MODEL, count: 600, seed: 3, startTs: T0, shift: { f0: 0.8 }, idPrefix: 'r' });
  for (let i = 0; i < stream.predictions.length; i += 100) {
    await monitor.apply({ predictions: stream.predictions.slice(i, i + 100), labels: stream.labels.slice(i, i + 100) });
  }
  store.close();
  await bus.close();
  return path;
}

function rawState(path: string, key: string): string | undefined {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare('SELECT value FROM state WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  } finally {
    db.close();
  }
}

function writeRawState(path: string, key: string, value: string): void {
  const db = new Database(path);
  db.prepare('INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  db.close();
}

describe('monitor state restore', () => {
  const manifest = syntheticManifest({ name: MODEL, rows: 800, seed: 5 });

  it('restores a valid version snapshot exactly: the restored state writes back what was stored (key order aside)', async () => {
    const path = await monitoredStore(manifest);
    const stored = rawState(path, KEY);
    assert.ok(stored, 'the monitor stored a snapshot');
    const parsed = JSON.parse(stored) as { joined: number; lastWindow?: { features: { score: number | null; pValue?: number | null }[] } };
    assert.ok(parsed.joined > 0 && parsed.lastWindow, 'the stream joined labels and closed windows');

    const { logger, warnings } = capturingLogger();
    const store = new MonitorStore({ path, logger });
    const states = new VersionStates({ store, catalog: catalogOf(manifest), policy, logger });
    const state = states.get(MODEL, 1)!;
    assert.deepEqual(JSON.parse(JSON.stringify(state.snapshot())), JSON.parse(stored));
    assert.equal(state.joined, parsed.joined);
    assert.ok(store.getState('watermark', z.number())! > T0);
    assert.deepEqual(warnings, []);
    store.close();
  });

  it('reads a stored null score or p-value (JSON has no Infinity) back as a number, and writes it back as null', async () => {
    const path = await monitoredStore(manifest);
    const snapshot = JSON.parse(rawState(path, KEY)!) as { lastWindow: { features: { score: number | null; pValue?: number | null }[] } };
    const first = snapshot.lastWindow.features[0]!;
    first.score = null;
    first.pValue = null;
    const stored = JSON.stringify(snapshot);
    writeRawState(path, KEY, stored);

    const store = new MonitorStore({ path });
    const state = new VersionStates({ store, catalog: catalogOf(manifest), policy, logger: silentLogger }).get(MODEL, 1)!;
    assert.equal(state.lastWindow?.features[0]?.score, Number.POSITIVE_INFINITY);
    assert.ok(Number.isNaN(state.lastWindow?.features[0]?.pValue));
    assert.deepEqual(JSON.parse(JSON.stringify(state.snapshot())), JSON.parse(stored));
    store.close();
  });

  const corruptions: [string, (snapshot: Record<string, unknown>) => unknown, string][] = [
    ['a policy state of the wrong shape', (s) => ({ ...s, policy: { data: { drifting: 'yes' } } }), 'skipping a stored row that does not fit its schema'],
    ['a negative joined count', (s) => ({ ...s, joined: -1 }), 'skipping a stored row that does not fit its schema'],
    ['a drift report without its columns', (s) => ({ ...s, lastWindow: { windowIndex: 1 } }), 'skipping a stored row that does not fit its schema'],
    ['not an object at all', () => [1, 2, 3], 'skipping a stored row that does not fit its schema'],
    ['a window that does not restore', (s) => ({ ...s, window: { v: 99 } }), 'ignoring a stored version snapshot that does not restore'],
    ['a performance window of the other task', (s) => ({ ...s, performance: { task: 'regression', size: 3, errors: [], sumAbs: 0, sumSquared: 0, sinceRecompute: 0 } }), 'ignoring a stored version snapshot that does not restore'],
  ];
  for (const [what, corrupt, message] of corruptions) {
    it(`logs a version snapshot with ${what} and starts the version afresh`, async () => {
      const path = await monitoredStore(manifest);
      writeRawState(path, KEY, JSON.stringify(corrupt(JSON.parse(rawState(path, KEY)!) as Record<string, unknown>)));

      const { logger, warnings } = capturingLogger();
      const store = new MonitorStore({ path, logger });
      const states = new VersionStates({ store, catalog: catalogOf(manifest), policy, logger });
      const state = states.get(MODEL, 1)!;
      assert.equal(state.joined, 0);
      assert.deepEqual(state.policyState, initialPolicyState());
      assert.equal(state.lastWindow, undefined);
      assert.equal(state.performance.current().count, 0);
      assert.equal(state.history.windows().length, 0);
      assert.deepEqual(
        warnings.map((w) => w.msg),
        [message],
      );
      store.close();
    });
  }

  it('logs a version snapshot that is not JSON, starts it afresh, and shows no history for it', async () => {
    const path = await monitoredStore(manifest);
    writeRawState(path, KEY, '{"window": ');
    const { logger, warnings } = capturingLogger();
    const store = new MonitorStore({ path, logger });
    const states = new VersionStates({ store, catalog: catalogOf(manifest), policy, logger });
    assert.deepEqual(states.histories(MODEL)?.histories.get(1)?.windows(), []);
    assert.equal(states.get(MODEL, 1)?.joined, 0);
    assert.deepEqual(
      warnings.map((w) => [w.msg, w.fields?.['key']]),
      [
        ['skipping a stored row that is not valid JSON', KEY],
        ['skipping a stored row that is not valid JSON', KEY],
      ],
    );
    store.close();
  });

  for (const [what, value] of [
    ['a string', '"soon"'],
    ['not JSON', '17e'],
    ['negative', '-5'],
  ] as const) {
    it(`logs a stored watermark that is ${what}, and the monitor starts from 0`, async () => {
      const path = tempDb();
      new MonitorStore({ path }).close();
      writeRawState(path, 'watermark', value);
      writeRawState(path, `coverage:${MODEL}`, '{"joined": "many"}');
      const { logger, warnings } = capturingLogger();
      const store = new MonitorStore({ path, logger });
      const bus = new EmbeddedBus();
      const monitor = new DriftMonitor({ bus, topics: topicNames(), store, catalog: catalogOf(manifest), policy, registry: new Registry(), logger, lagIntervalMs: 0, publishLabeled: false });
      assert.deepEqual(
        warnings.map((w) => w.fields?.['key']),
        ['watermark'],
      );
      const stream = generateStream({ model: MODEL, count: 10, seed: 4, startTs: T0, idPrefix: 'w' });
      await monitor.apply(stream);
      // the watermark moved on from 0 to the batch's event time, and coverage counted afresh
      assert.equal(store.getState('watermark', z.number()), Date.parse(stream.labels.at(-1)!.ts));
      assert.deepEqual(store.getState(`coverage:${MODEL}`, z.unknown()), { joined: 10, expired: 0 });
      assert.deepEqual(
        warnings.map((w) => w.fields?.['key']),
        ['watermark', `coverage:${MODEL}`],
      );
      store.close();
      await bus.close();
    });
  }
});
