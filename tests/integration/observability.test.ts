// The metrics contract: alert rules and dashboards only use metrics the gateway exports, the rules and
// scrape config pass promtool (and the rules' unit tests), and a real Prometheus server scrapes the
// gateway: it answers queries on the serving metrics, and after the retrain loop failed, promoted and
// rolled back it fires the loop's alerts and answers every query of the dashboard's Retraining row.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig, seededRandom, silentLogger } from '../../src/core/index.js';
import { startDriftgate } from '../../src/cli/stack.js';
import { IRIS_ROW, get, metricValue, post, tempRepo } from '../helpers/gateway.js';
import { IRIS_CLASSES, LabelingClient, irisTraffic } from '../helpers/loop-traffic.js';
import { startPrometheus } from '../helpers/prometheus.js';
import type { PromSample, RunningPrometheus } from '../helpers/prometheus.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';

const root = resolve(import.meta.dirname, '../..');
const TOKEN = 'observability-test-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const MODEL = 'iris-onnx';

interface RunningStack {
  url: string;
  close(): Promise<void>;
}

/** The whole stack (gateway, monitor and retrain loop on the embedded bus), so every exported family shows. */
async function startStack(): Promise<RunningStack> {
  const repo = tempRepo([MODEL]);
  const dir = mkdtempSync(join(tmpdir(), 'dg-obs-'));
  const config = loadConfig(
    {},
    {
      modelRepo: repo,
      spoolDir: join(dir, 'spool'),
      monitorStore: join(dir, 'monitor.db'),
      retrainStore: join(dir, 'retrain.db'),
      // Only retrains asked for by the test: the monitor reports and does not request any.
      monitorPolicy: JSON.stringify({ default: { drift: { action: 'report' }, performance: { action: 'report' } } }),
      adminToken: TOKEN,
      retrainMinTrain: 100,
      retrainMinHoldout: 40,
      // A retrain by hand also checks the champion's reference holdout, which a new concept fails on
      // purpose; widened here so the test's concept change is promoted.
      gateTolerance: 0.5,
      watchLabels: 40,
      port: 0,
      host: '127.0.0.1',
      pollIntervalMs: 0,
      warmupRuns: 1,
      logLevel: 'silent',
      publishLingerMs: 1,
    },
  );
  const dg = await startDriftgate(config, silentLogger, { monitorPort: null });
  return {
    url: `http://127.0.0.1:${dg.port}`,
    close: async () => {
      await dg.close();
      rmSync(repo, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

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

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string; legendFormat?: string }[];
}

interface Dashboard {
  panels: Panel[];
  annotations: { list: { name: string; expr?: string }[] };
}

const monitoringDashboard = (): Dashboard => JSON.parse(readFileSync(join(root, 'grafana/dashboards/driftgate-monitoring.json'), 'utf8')) as Dashboard;

/** The panels of a dashboard row, up to the next row. */
function rowPanels(dashboard: Dashboard, title: string): Panel[] {
  const start = dashboard.panels.findIndex((p) => p.type === 'row' && p.title === title);
  assert.ok(start >= 0, `no row "${title}"`);
  const end = dashboard.panels.findIndex((p, i) => i > start && p.type === 'row');
  return dashboard.panels.slice(start + 1, end < 0 ? undefined : end);
}

/** A dashboard expression as Grafana would send it, for one model. */
function interpolate(expr: string): string {
  return expr.replaceAll('$model', MODEL).replaceAll('$__rate_interval', '5m').replaceAll('$__range', '1h');
}

async function firing(prom: RunningPrometheus, alert: string): Promise<PromSample[]> {
  return prom.query(`ALERTS{alertname="${alert}", alertstate="firing", model="${MODEL}"}`);
}

async function retrainJobs(url: string): Promise<Record<string, unknown>[]> {
  const res = await get(`${url}/admin/models/${MODEL}/retrains`, auth);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body['jobs'] as Record<string, unknown>[];
}

/** Asks for a retrain and waits until more than `ended` jobs have ended; returns the newest ended one. */
async function retrainOnce(url: string, ended: number, ms: number): Promise<Record<string, unknown>> {
  const asked = await post(`${url}/admin/models/${MODEL}/retrain`, {}, auth);
  assert.equal(asked.status, 202, JSON.stringify(asked.body));
  let job: Record<string, unknown> | undefined;
  await waitFor(`retrain job ${ended + 1} to end`, ms, async () => {
    const done = (await retrainJobs(url)).filter((j) => ['promoted', 'rejected', 'failed', 'cancelled'].includes(String(j['state'])));
    job = done[0];
    return done.length > ended;
  });
  return job!;
}

describe('observability', () => {
  let gw: RunningStack;
  let exposition = '';

  before(async () => {
    gw = await startStack();
    for (let i = 0; i < 5; i++) assert.equal((await post(`${gw.url}/v1/models/${MODEL}:predict`, { instances: [IRIS_ROW] })).status, 200);
    await post(`${gw.url}/v1/models/${MODEL}:predict`, { instances: [] });
    exposition = String((await get(`${gw.url}/metrics`)).body);
  });
  after(async () => gw?.close());

  it('every driftgate metric used by the alert rules and dashboards is exported by the gateway', () => {
    const exposed = exposedNames(exposition);
    const serving = ['driftgate_requests_total', 'driftgate_request_duration_seconds_bucket', 'driftgate_inference_duration_seconds_bucket', 'driftgate_queue_duration_seconds_bucket', 'driftgate_batch_size_bucket', 'driftgate_models_loaded', 'driftgate_breaker_state', 'driftgate_serving_version', 'driftgate_queue_rows', 'driftgate_predictions_total'];
    const lifecycle = ['driftgate_retrains_total', 'driftgate_retrain_phase_duration_seconds', 'driftgate_promotions_total', 'driftgate_rejections_total', 'driftgate_rollbacks_total', 'driftgate_last_recovery_seconds', 'driftgate_last_promotion_timestamp_seconds', 'driftgate_retrain_jobs_active', 'driftgate_retrain_window_examples', 'driftgate_serving_pointer_errors_total'];
    for (const name of [...serving, ...lifecycle]) assert.ok(exposed.has(name), `${name} is not exported`);
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

  it('the alert rules, their unit tests and the scrape configuration pass promtool', (t) => {
    const promtool = requireTool(t, 'promtool', 'apt-get install prometheus');
    if (!promtool) return;
    const checks: string[][] = [
      ['check', 'rules', 'deploy/prometheus/alerts.yml'],
      ['test', 'rules', 'deploy/prometheus/alerts.test.yml'],
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
    const binary = requireTool(t, 'prometheus', 'apt-get install prometheus');
    if (!binary) return;
    const prom = await startPrometheus(binary, { job: 'driftgate-gateway', targets: [new URL(gw.url).host] });
    try {
      const series = await prom.until(`sum by (model, endpoint, status) (driftgate_requests_total{model="${MODEL}"})`, 60_000, (s) => s.length >= 2);
      const ok = series.find((s) => s.metric.status === '2xx' && s.metric.endpoint === '/v1/models/{model}:predict');
      const bad = series.find((s) => s.metric.status === '4xx');
      assert.ok(ok && Number(ok.value[1]) >= 5, `2xx series: ${JSON.stringify(series)}`);
      assert.ok(bad && Number(bad.value[1]) >= 1, `4xx series: ${JSON.stringify(series)}`);
      const up = await prom.query('up');
      assert.equal(up[0]?.value[1], '1');
    } finally {
      await prom.close();
    }
  });

  it('after the loop failed, promoted and rolled back, a real Prometheus fires its alerts and answers the Retraining row', async (t) => {
    const binary = requireTool(t, 'prometheus', 'apt-get install prometheus');
    if (!binary) return;
    const prom = await startPrometheus(binary, { job: 'driftgate-gateway', targets: [new URL(gw.url).host], ruleFiles: [join(root, 'deploy/prometheus/alerts.yml')] });
    const dashboard = monitoringDashboard();
    const annotation = (name: string) => interpolate(dashboard.annotations.list.find((a) => a.name === name)!.expr!);
    try {
      // Scraped before anything happens to the loop, so its counters are born under observation.
      await prom.until('up{job="driftgate-gateway"} == 1', 60_000);

      // Three retrains with an empty window fail in their data phase.
      for (let i = 0; i < 3; i++) {
        const job = await retrainOnce(gw.url, i, 30_000);
        assert.equal(job['state'], 'failed', JSON.stringify(job));
      }
      await prom.until(`ALERTS{alertname="DriftgateRetrainFailing", alertstate="firing", model="${MODEL}"}`, 30_000);

      // Labels of a new concept (petal length) from the start: a retrain by hand learns it and is promoted.
      const client = new LabelingClient(gw.url);
      const next = irisTraffic(5);
      for (let i = 0; i < 16; i++) await client.round(MODEL, next(20, 'petal-length'));
      await waitFor('the retrain window', 30_000, async () => (await metricValue(gw.url, 'driftgate_retrain_window_examples', { model: MODEL })) >= 300);
      const promoted = await retrainOnce(gw.url, 3, 240_000);
      assert.equal(promoted['state'], 'promoted', JSON.stringify(promoted));
      t.diagnostic(`promoted job phases (ms): ${JSON.stringify(promoted['phases'])}`);
      await prom.until(annotation('Promotions'), 30_000);
      // A promotion ends the failing streak.
      await prom.until(`ALERTS{alertname="DriftgateRetrainFailing", alertstate="firing", model="${MODEL}"}`, 30_000, (s) => s.length === 0);

      // Labels at random for the promoted version: its watch finds it worse than its baseline and rolls it back.
      const challenger = String(promoted['challenger']);
      await waitFor(`the gateway to serve version ${challenger}`, 30_000, async () => (await client.round(MODEL, next(5, 'petal-length'))).version === challenger);
      const random = seededRandom(9);
      await waitFor('the watch to roll the promotion back', 60_000, async () => {
        await client.round(MODEL, next(20, 'petal-length'), () => IRIS_CLASSES[Math.floor(random() * 3)]!);
        return (await metricValue(gw.url, 'driftgate_rollbacks_total', { model: MODEL })) >= 1;
      });
      await prom.until(`ALERTS{alertname="DriftgateModelRolledBack", alertstate="firing", model="${MODEL}"}`, 30_000);
      await prom.until(annotation('Rollbacks'), 30_000);
      assert.equal(client.failed, 0, 'no request failed');
      assert.deepEqual(await firing(prom, 'DriftgateServingPointerDamaged'), []);

      // Every target of the Retraining row answers with series once the scrapes have the end state.
      const panels = rowPanels(dashboard, 'Retraining');
      assert.ok(panels.length >= 8, `${panels.length} panels in the Retraining row`);
      await prom.until(`driftgate_last_recovery_seconds{model="${MODEL}"}`, 30_000);
      for (const panel of panels) {
        const answers = await Promise.all(panel.targets!.map((target) => prom.query(interpolate(target.expr))));
        assert.ok(answers.some((a) => a.length > 0), `panel "${panel.title}" shows nothing: ${panel.targets!.map((x) => interpolate(x.expr)).join(' | ')}`);
        for (const series of answers.flat()) assert.ok(Number.isFinite(Number(series.value[1])), `panel "${panel.title}": ${JSON.stringify(series)}`);
      }
      const byOutcome = await prom.query(`sum by (outcome) (driftgate_retrains_total{model="${MODEL}"})`);
      // Every outcome's series exists from the model's first event on (at 0 until it happens).
      assert.deepEqual(Object.fromEntries(byOutcome.map((s) => [s.metric.outcome, Number(s.value[1])])), { cancelled: 0, failed: 3, promoted: 1, rejected: 0 });
      const phases = rowPanels(dashboard, 'Retraining').find((p) => p.title.startsWith('Retrain phase duration'))!;
      const p95 = await prom.query(interpolate(phases.targets![1]!.expr));
      assert.deepEqual(p95.map((s) => s.metric.phase).sort(), ['data', 'gate', 'swap', 'train']);
      const recovery = await prom.query(`driftgate_last_recovery_seconds{model="${MODEL}"}`);
      assert.ok(Number(recovery[0]!.value[1]) > 0);
    } finally {
      await prom.close();
    }
  });
});
