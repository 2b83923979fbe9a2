// `driftgate demo` flags: parsed once into DemoOptions, every bad value a UsageError (exit 2) naming
// the flag.
import { loadConfig } from '../../core/index.js';
import { durationMs, enumFlag, integerFlag, numberFlag, parseFlags, UsageError } from '../args.js';
import { DRIFT_KINDS } from './traffic.js';
import type { DriftKind } from './traffic.js';

export const DEMO_USAGE = `usage: driftgate demo [flags]

Drives Iris traffic and delayed labels at a driftgate stack, injects a drift midway and prints a live
timeline: accuracy, the monitor's detection, the retrain job and its phases, the gate's decision,
the swap and the accuracy after. Exits 0 when the model recovered, 1 when it did not within
--timeout, 2 on bad flags or an unreachable stack, 130 on Ctrl-C.

  --url URL          gateway to drive (default http://localhost:8080); when nothing answers there and
                     the host is this machine, the demo starts a stack of its own on that port
  --attach           never start a stack: exit 2 when nothing answers at --url
  --model NAME       Iris model to drive (default iris-onnx; iris-tfjs works too)
  --drift KIND       concept | covariate | both (default concept); see docs/demo.md
  --at N             clean traffic before the drift: seconds (15, 15s, 1m) or labels (600labels)
                     (default 10s)
  --rate N           predict requests per second (default 10)
  --batch N          rows per request (default 20)
  --label-delay MS   how long after its prediction each label is sent (default 200)
  --after S          seconds of traffic measured after the recovery (default 5)
  --timeout D        overall bound, e.g. 180s or 5m (default 5m); at most rate × timeout requests
  --token T          label token, when the gateway runs with DRIFTGATE_LABEL_TOKEN
  --admin-token T    admin token: job records from /admin when the gateway has no /status page
  --repo DIR         model repository the Iris rows (and a stack of its own) come from
                     (default $DRIFTGATE_MODEL_REPO or ./models)
  --seed N           traffic seed (default 1)`;

export interface DemoOptions {
  url: string;
  /** --attach: never start a stack of its own. */
  attachOnly: boolean;
  model: string;
  drift: DriftKind;
  at: { seconds: number } | { labels: number };
  rate: number;
  batch: number;
  labelDelayMs: number;
  afterS: number;
  timeoutMs: number;
  token: string | undefined;
  adminToken: string | undefined;
  repo: string;
  seed: number;
}

export function parseDemoFlags(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): DemoOptions | 'help' {
  const v = parseFlags(
    argv,
    {
      url: { type: 'string' },
      attach: { type: 'boolean' },
      model: { type: 'string' },
      drift: { type: 'string' },
      at: { type: 'string' },
      rate: { type: 'string' },
      batch: { type: 'string' },
      'label-delay': { type: 'string' },
      after: { type: 'string' },
      timeout: { type: 'string' },
      token: { type: 'string' },
      'admin-token': { type: 'string' },
      repo: { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    'demo',
  );
  if (v.help) return 'help';
  const url = (v.url ?? 'http://localhost:8080').replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url must be an http(s) URL, got ${JSON.stringify(v.url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`--url must be an http(s) URL, got ${JSON.stringify(v.url)}`);
  return {
    url,
    attachOnly: v.attach ?? false,
    model: v.model ?? 'iris-onnx',
    drift: enumFlag(v.drift, 'drift', DRIFT_KINDS) ?? 'concept',
    at: atFlag(v.at ?? '10s'),
    rate: numberFlag(v.rate, 'rate', { positive: true, max: 1000 }) ?? 10,
    batch: integerFlag(v.batch, 'batch', 1, 1000) ?? 20,
    labelDelayMs: integerFlag(v['label-delay'], 'label-delay', 0, 600_000) ?? 200,
    afterS: numberFlag(v.after, 'after', { positive: true, max: 3600 }) ?? 5,
    timeoutMs: v.timeout === undefined ? 300_000 : durationMs(v.timeout, 'timeout'),
    token: v.token,
    adminToken: v['admin-token'],
    repo: v.repo ?? loadConfig(env).modelRepo,
    seed: integerFlag(v.seed, 'seed', 0) ?? 1,
  };
}

/** `15`, `15s`, `1m` (seconds of clean traffic) or `600labels` / `600l` (labels sent). */
export function atFlag(raw: string): { seconds: number } | { labels: number } {
  const labels = /^(\d+)\s*(l|labels?)$/.exec(raw.trim());
  if (labels) {
    const n = Number(labels[1]);
    if (n < 1) throw new UsageError('--at: the number of labels must be at least 1');
    return { labels: n };
  }
  if (/^\d+(\.\d+)?(ms|s|m|h)?$/.test(raw.trim())) return { seconds: durationMs(raw, 'at') / 1000 };
  throw new UsageError(`--at must be seconds (15, 15s, 1m) or labels (600labels), got ${JSON.stringify(raw)}`);
}
