// The status page on the embedded stack, in a real headless browser (Debian's chromium): the loop
// recovers from a concept change on iris-onnx (as in retrain-loop.test.ts), and the page lists the
// models, loads without a console error, and its chart marks the promotion. Feature names that are
// markup render as text. The JSON endpoints behind it follow their documented contract, and a gateway
// without a monitor of its own reads one through DRIFTGATE_MONITOR_URL. Without chromium the browser
// checks are skipped, except in CI (CI=true), where they fail.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/core/index.js';
import { startDriftgate } from '../../src/cli/stack.js';
import { HeadlessBrowser, findChromium } from '../helpers/browser.js';
import { get } from '../helpers/gateway.js';
import { LabelingClient, irisTraffic } from '../helpers/loop-traffic.js';
import { HOSTILE_FEATURES, hostileSamples, loopConfig, recoverFromConceptChange, startLoopStack } from '../helpers/status-scenario.js';
import type { LoopStack } from '../helpers/status-scenario.js';
import { waitFor } from '../helpers/wait.js';

const HOSTILE = 'odd-names';
const browserSkip = findChromium() || process.env['CI'] === 'true' ? false : 'chromium is not installed (.ci/run installs it; CI=true fails instead of skipping)';

interface StatusModel {
  name: string;
  metric: string;
  servingVersion: number | null;
  versions: { version: number; state: string; parent?: number; job?: string; trigger?: string; report: string | null; headline?: { name: string; value: number } }[];
  live: { version: number; metric: string; value: number; labels: number } | null;
  drift: { version: number; detected: boolean; share: number | null; features: { feature: string; test: string; score: number | null; pValue: number | null; drifted: boolean }[]; windows: unknown[] } | null;
  events: { type: string; version: number; ts: string; summary: string }[];
  jobs: Record<string, unknown>[];
}

async function statusModels(url: string): Promise<{ generatedAt: string; monitor: { source: string; problem?: string }; models: StatusModel[] }> {
  const res = await get(`${url}/status/models`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as unknown as Awaited<ReturnType<typeof statusModels>>;
}

describe('the status page', () => {
  let stack: LoopStack;

  before(async () => {
    stack = await startLoopStack(['iris-onnx'], { hostile: HOSTILE });
    // The hostile model gets traffic past one drift window (150 predictions in the loop policy).
    const client = new LabelingClient(stack.url);
    const next = irisTraffic(3);
    for (let i = 0; i < 9; i++) await client.round(HOSTILE, hostileSamples(next(20, 'species')));
    assert.equal(client.failed, 0);
  });
  after(async () => {
    await stack?.close();
  });

  it('serves the page, its script and stylesheet from the gateway with a CSP that allows no inline script', async () => {
    for (const path of ['/', '/ui']) {
      const res = await fetch(`${stack.url}${path}`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /script-src 'self'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      const html = await res.text();
      assert.deepEqual([...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)].map((m) => [m[1]!.trim(), m[2]!.trim()]), [['src="/ui/app.js" defer', '']]);
    }
    const js = await fetch(`${stack.url}/ui/app.js`);
    assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.match(await js.text(), /textContent/);
    assert.match((await fetch(`${stack.url}/ui/app.css`)).headers.get('content-type') ?? '', /^text\/css/);
    assert.equal((await get(`${stack.url}/status/models/no-such-model/timeline`)).status, 404);
    assert.equal((await get(`${stack.url}/status/models/iris-onnx/versions/1/report`)).status, 404, 'the example version has no report');
  });

  it('recovers from a concept change, and the JSON and the chart in chromium show the promotion', { skip: browserSkip }, async (t) => {
    const recovery = await recoverFromConceptChange(stack.url, 'iris-onnx');
    t.diagnostic(`accuracy before ${recovery.before.toFixed(3)}, during ${recovery.during.toFixed(3)}, after ${recovery.after.toFixed(3)}; v${recovery.version} served ${recovery.seconds.toFixed(1)} s after the change`);
    assert.equal(recovery.version, '2');
    assert.equal(recovery.failed, 0);
    // The promotion arrives as a model event; the new version's first verdict after 50 of its labels.
    await waitFor('the promotion event and a verdict on v2', 30_000, async () => {
      const res = await get(`${stack.url}/status/models/iris-onnx/timeline`);
      const timeline = res.body as { points: { version: number }[]; events: { type: string }[] };
      return timeline.events.some((e) => e.type === 'model.promoted') && timeline.points.some((p) => p.version === 2);
    });

    const status = await statusModels(stack.url);
    assert.equal(status.monitor.source, 'embedded');
    assert.deepEqual(status.models.map((m) => m.name).sort(), ['iris-onnx', HOSTILE].sort());
    const iris = status.models.find((m) => m.name === 'iris-onnx')!;
    assert.equal(iris.metric, 'accuracy');
    assert.equal(iris.servingVersion, 2);
    const v2 = iris.versions.find((v) => v.version === 2)!;
    assert.equal(v2.state, 'serving');
    assert.equal(v2.parent, 1, 'lineage: fine-tuned from v1');
    assert.equal(v2.report, '/status/models/iris-onnx/versions/2/report');
    const job = iris.jobs.find((j) => j['state'] === 'promoted')!;
    assert.ok(job, JSON.stringify(iris.jobs));
    assert.equal(v2.job, job['id']);
    assert.equal((job['gate'] as { promote: boolean }).promote, true, 'the gate evidence is in the job');
    assert.ok(iris.live && iris.live.version === 2 && iris.live.labels > 0, JSON.stringify(iris.live));
    assert.ok(iris.drift && iris.drift.features.length === 4, JSON.stringify(iris.drift));
    assert.ok(iris.events.length > 0 && iris.events.length <= 50);
    assert.ok(iris.events.every((e, i) => i === 0 || e.ts <= iris.events[i - 1]!.ts), 'newest first');
    const types = iris.events.map((e) => e.type);
    for (const type of ['drift.detected', 'retrain.requested', 'retrain.started', 'model.promoted']) assert.ok(types.includes(type), `${type} in ${types.join(', ')}`);

    const report = await fetch(`${stack.url}${v2.report}`);
    assert.equal(report.status, 200);
    assert.match(report.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(report.headers.get('content-security-policy') ?? '', /^sandbox/);
    assert.match(await report.text(), /<html/i);

    const browser = await HeadlessBrowser.launch();
    try {
      await browser.open(`${stack.url}/`);
      const promoted = '[data-model="iris-onnx"] svg.chart .marker[data-type="model.promoted"][data-version="2"]';
      await browser.waitFor(() => `document.querySelector('${promoted}')`, 15_000, 'the promotion marker on the chart');
      const page = await browser.evaluate<{ models: string[]; boundaries: string[]; lines: number; promotedLabel: string; reportLinks: number }>(`(() => {
        const iris = document.querySelector('[data-model="iris-onnx"]');
        return {
          models: [...document.querySelectorAll('section.model')].map((s) => s.getAttribute('data-model')),
          boundaries: [...iris.querySelectorAll('svg.chart .version-boundary')].map((l) => l.getAttribute('data-version')),
          lines: iris.querySelectorAll('svg.chart path.line').length,
          promotedLabel: iris.querySelector('${promoted} text').textContent,
          reportLinks: iris.querySelectorAll('a[href="/status/models/iris-onnx/versions/2/report"]').length,
        };
      })()`);
      assert.deepEqual(page.models.sort(), ['iris-onnx', HOSTILE].sort(), 'the page lists the models');
      assert.deepEqual(page.boundaries, ['2'], 'the chart marks where v2 began serving');
      assert.equal(page.lines, 2, 'one line per version');
      assert.equal(page.promotedLabel, 'promoted v2');
      assert.equal(page.reportLinks, 1, 'a link to v2\'s training report');
      assert.deepEqual(browser.errors, [], 'no console errors');
      assert.deepEqual(browser.dialogs, []);
    } finally {
      await browser.close();
    }
  });

  it('renders feature names that are markup as text', { skip: browserSkip }, async () => {
    await waitFor('a drift window of the hostile model', 15_000, async () => (await statusModels(stack.url)).models.find((m) => m.name === HOSTILE)?.drift !== null);
    const browser = await HeadlessBrowser.launch();
    try {
      await browser.open(`${stack.url}/ui`);
      await browser.waitFor(() => `document.querySelector('[data-model="${HOSTILE}"] table.last-window')`, 15_000, 'the drift table');
      const seen = await browser.evaluate<{ names: string[]; images: number; scripts: number }>(`(() => ({
        names: [...document.querySelectorAll('[data-model="${HOSTILE}"] table.last-window .feature-name')].map((e) => e.textContent),
        images: document.querySelectorAll('img').length,
        scripts: document.querySelectorAll('script').length,
      }))()`);
      assert.deepEqual(seen.names, Object.values(HOSTILE_FEATURES));
      assert.equal(seen.images, 0, 'no <img> element was made from a feature name');
      assert.equal(seen.scripts, 1, 'only the page\'s own script');
      // give an injected handler the chance to fire
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(browser.dialogs, [], 'no alert ran');
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });

  it('shows a separately running monitor through DRIFTGATE_MONITOR_URL, and says so when it does not answer', async () => {
    const monitorPort = stack.dg.monitor!.port!;
    for (const [monitorUrl, reachable] of [
      [`http://127.0.0.1:${monitorPort}`, true],
      ['http://127.0.0.1:9', false],
    ] as const) {
      const dir = mkdtempSync(join(tmpdir(), 'dg-status-remote-'));
      const gateway = await startDriftgate(loopConfig(stack.repo, dir, { monitor: false, retrain: false, monitorUrl }), silentLogger, { monitorPort: null });
      try {
        const url = `http://127.0.0.1:${gateway.port}`;
        const status = await statusModels(url);
        assert.equal(status.monitor.source, 'remote');
        const odd = status.models.find((m) => m.name === HOSTILE)!;
        const timeline = (await get(`${url}/status/models/${HOSTILE}/timeline`)).body as { points: unknown[] };
        if (reachable) {
          assert.equal(status.monitor.problem, undefined);
          assert.ok(odd.live !== null && odd.drift !== null, JSON.stringify(odd));
          assert.ok(timeline.points.length > 0);
        } else {
          assert.match(status.monitor.problem ?? '', /does not answer/);
          assert.equal(odd.live, null);
          assert.deepEqual(timeline.points, []);
        }
      } finally {
        await gateway.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
