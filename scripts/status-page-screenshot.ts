// Takes the README's picture of the status page (docs/images/status-page.png) from a real run: the
// embedded stack serves iris-onnx and delivery-onnx with steady traffic and labels; iris-onnx goes
// through the concept change of the status page test, and the loop retrains and promotes a second
// version. Then headless chromium (Debian's `chromium`) opens the page and saves a screenshot.
//
//   npx tsx scripts/status-page-screenshot.ts [--out docs/images/status-page.png] [--width 1280]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { seededRandom } from '../src/core/index.js';
import { HeadlessBrowser } from '../tests/helpers/browser.js';
import { post } from '../tests/helpers/gateway.js';
import { recoverFromConceptChange, startLoopStack } from '../tests/helpers/status-scenario.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: resolve(import.meta.dirname, '../docs/images/status-page.png') },
    width: { type: 'string', default: '1280' },
  },
});
const out = resolve(values.out);
const width = Number(values.width);

const stack = await startLoopStack(['iris-onnx', 'delivery-onnx']);
console.log(`stack on ${stack.url}`);

// delivery-onnx: deliveries as in its training data, labelled with their true time, all along
const rows = readFileSync(join(stack.repo, 'delivery-onnx', '1', 'training-sample.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as { features: Record<string, number | string>; label: number });
const random = seededRandom(23);
let steady = true;
const deliveries = (async () => {
  while (steady) {
    const samples = Array.from({ length: 20 }, () => rows[Math.floor(random() * rows.length)]!);
    const res = await post(`${stack.url}/v1/models/delivery-onnx:predict`, { instances: samples.map((s) => s.features) });
    const ids = res.body['ids'] as string[] | undefined;
    if (ids) await post(`${stack.url}/v2/models/delivery-onnx/labels`, { labels: ids.map((id, i) => ({ id, label: samples[i]!.label })) });
    await new Promise((r) => setTimeout(r, 150));
  }
})();

try {
  const recovery = await recoverFromConceptChange(stack.url, 'iris-onnx', { beforeRounds: 25, afterRounds: 30, paceMs: 250 });
  console.log(`iris-onnx: accuracy ${recovery.before.toFixed(3)} before, ${recovery.during.toFixed(3)} during, ${recovery.after.toFixed(3)} after; v${recovery.version} served ${recovery.seconds.toFixed(1)} s after the change`);
  steady = false;
  await deliveries;
  const browser = await HeadlessBrowser.launch({ width, height: 900 });
  try {
    await browser.open(`${stack.url}/`);
    await browser.waitFor(() => `document.querySelector('[data-model="iris-onnx"] svg.chart .marker[data-type="model.promoted"]')`, 30_000, 'the promotion on the chart');
    await new Promise((r) => setTimeout(r, 500));
    if (browser.errors.length > 0) throw new Error(`the page logged errors: ${browser.errors.join('; ')}`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, await browser.screenshot(true));
    console.log(`wrote ${out}`);
  } finally {
    await browser.close();
  }
} finally {
  steady = false;
  await deliveries.catch(() => undefined);
  await stack.close();
}
