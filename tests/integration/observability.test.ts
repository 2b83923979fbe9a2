// The metrics contract: alert rules and dashboards only use metrics the gateway exports, the rules and
// scrape config pass promtool, and a real Prometheus server scrapes and queries the gateway.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess, SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig, silentLogger } from '../../src/core/index.js';
import { startDriftgate } from '../../src/cli/stack.js';
import { IRIS_ROW, get, post, tempRepo } from '../helpers/gateway.js';

interface RunningStack {
  url: string;
  close(): Promise<void>;
}

async function startStack(): Promise<RunningStack> {
  const repo = tempRepo(['iris-onnx']);
  const spoolDir = mkdtempSync(join(tmpdir(), 'dg-obs-spool-'));
  const config = loadConfig({}, { modelRepo: repo, spoolDir, port: 0, host: '127.0.0.1', pollIntervalMs: 0, warmupRuns: 1, logLevel: 'silent', monitorStore: join(spoolDir, 'monitor.db') });
  const dg = await startDriftgate(config, silentLogger, { monitorPort: null });
  return {
    url: `http://127.0.0.1:${dg.port}`,
    close: async () => {
      await dg.close();
      rmSync(repo, { recursive: true, force: true });
      rmSync(spoolDir, { recursive: true, force: true });
    },
  };
}
import { requireTool } from '../helpers/tools.js';

const root = resolve(import.meta.dirname, '../..');

function metricNamesIn(text: string): Set<string> {
  return new Set([...text.matchAll(/\b(driftgate_[a-z0-9_]+)/g)].map((m) => m[1]!));
}

/**
 * Names a scrape exposes: every sample's name (with the _bucket/_sum/_count series of histograms) and
 * every family declared by a `# TYPE` line, so labelled counters count before their first event.
 */
function exposedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[ {]/.exec(line) ?? /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) /.exec(line);
    if (m) names.add(m[1]!);
  }
  return names;
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? res(addr.port) : rej(new Error('no port'))));
    });
  });
}

describe('observability', () => {
  let gw: RunningStack;
  let exposition = '';

  before(async () => {
    // The whole stack (gateway + event publisher on the embedded bus), so every exported family shows.
    gw = await startStack();
    for (let i = 0; i < 5; i++) assert.equal((await post(`${gw.url}/v1/models/iris-onnx:predict`, { instances: [IRIS_ROW] })).status, 200);
    await post(`${gw.url}/v1/models/iris-onnx:predict`, { instances: [] });
    exposition = String((await get(`${gw.url}/metrics`)).body);
  });
  after(async () => gw?.close());

  it('every driftgate metric used by the alert rules and dashboards is exported by the gateway', () => {
    const exposed = exposedNames(exposition);
    const serving = ['driftgate_requests_total', 'driftgate_request_duration_seconds_bucket', 'driftgate_inference_duration_seconds_bucket', 'driftgate_queue_duration_seconds_bucket', 'driftgate_batch_size_bucket', 'driftgate_models_loaded', 'driftgate_breaker_state', 'driftgate_serving_version', 'driftgate_queue_rows', 'driftgate_predictions_total'];
    for (const name of serving) assert.ok(exposed.has(name), `${name} is not exported`);
    const sources = [join(root, 'deploy/prometheus/alerts.yml'), ...readdirSync(join(root, 'grafana/dashboards')).map((f) => join(root, 'grafana/dashboards', f))];
    for (const file of sources) {
      const used = metricNamesIn(readFileSync(file, 'utf8'));
      assert.ok(used.size > 0, `${file} uses no driftgate metric`);
      for (const name of used) {
        const family = name.replace(/_(bucket|sum|count)$/, '');
        assert.ok(exposed.has(name) || exposed.has(family), `${file} uses ${name}, which the gateway does not export`);
      }
    }
  });

  it('the alert rules and scrape configuration pass promtool', (t) => {
    const promtool = requireTool(t, 'promtool', 'apt-get install prometheus');
    if (!promtool) return;
    const checks: string[][] = [
      ['check', 'rules', 'deploy/prometheus/alerts.yml'],
      ['check', 'config', 'deploy/prometheus/prometheus.yml'],
      ['check', 'config', 'deploy/prometheus/compose.yml'],
    ];
    for (const args of checks) {
      const check: SpawnSyncReturns<string> = spawnSync(promtool, args, { cwd: root, encoding: 'utf8' });
      assert.equal(check.status, 0, `promtool ${args.join(' ')}: ${check.stdout}${check.stderr}`);
    }
    // `check metrics` parses the exposition and lints names; prom-client's own Node.js gauges draw
    // lint findings we do not control, so only findings on driftgate's metrics count.
    const r = spawnSync(promtool, ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
    const findings = (r.stdout + r.stderr).split('\n').filter((l) => l.trim());
    assert.ok(!findings.some((l) => /error while linting|parse/i.test(l)), findings.join('\n'));
    assert.deepEqual(findings.filter((l) => l.includes('driftgate_')), []);
  });

  it('a real Prometheus server scrapes the gateway and answers queries on its metrics', async (t) => {
    const prometheus = requireTool(t, 'prometheus', 'apt-get install prometheus');
    if (!prometheus) return;
    const dir = mkdtempSync(join(tmpdir(), 'dg-prom-'));
    const port = await freePort();
    const target = new URL(gw.url).host;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: driftgate-gateway\n    static_configs:\n      - targets: ['${target}']\n`,
    );
    let child: ChildProcess | undefined;
    try {
      child = spawn(prometheus, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], {
        stdio: 'ignore',
      });
      const deadline = Date.now() + 60_000;
      let series: { metric: Record<string, string>; value: [number, string] }[] = [];
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        try {
          const q = encodeURIComponent('sum by (model, endpoint, status) (driftgate_requests_total{model="iris-onnx"})');
          const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${q}`);
          const body = (await res.json()) as { data?: { result: typeof series } };
          series = body.data?.result ?? [];
          if (series.length >= 2) break;
        } catch {
          // not up yet
        }
      }
      const ok = series.find((s) => s.metric.status === '2xx' && s.metric.endpoint === '/v1/models/{model}:predict');
      const bad = series.find((s) => s.metric.status === '4xx');
      assert.ok(ok && Number(ok.value[1]) >= 5, `2xx series: ${JSON.stringify(series)}`);
      assert.ok(bad && Number(bad.value[1]) >= 1, `4xx series: ${JSON.stringify(series)}`);
      const up = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=up`).then((r) => r.json() as Promise<{ data: { result: { value: [number, string] }[] } }>);
      assert.equal(up.data.result[0]?.value[1], '1');
    } finally {
      child?.kill('SIGTERM');
      if (child && child.exitCode === null) await new Promise((r) => child!.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
