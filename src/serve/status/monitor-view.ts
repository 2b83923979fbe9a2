// The status page's port to the drift monitor: what it currently thinks of each version, and each
// model's performance and drift over time. Two adapters: the monitor running in this process (filled
// in by the composition root, since serve never imports the monitor), and a monitor running elsewhere
// read over HTTP (`DRIFTGATE_MONITOR_URL`, its /monitor/models endpoints).
import { describeError } from '../../core/index.js';
import type { Logger } from '../../core/index.js';
import type { Task } from '../../core/index.js';

/** One feature's test in a drift window; a score of Infinity arrives as null through JSON. */
export interface MonitoredFeatureDrift {
  column: string;
  test: string;
  score: number | null;
  pValue?: number | null | undefined;
  drifted: boolean;
}

/** What the status page reads of a monitored version (a subset of the monitor's per-version summary). */
export interface MonitoredVersion {
  model: string;
  version: number;
  /** The rolling window's quality now; NaN (null through JSON) while it is empty. */
  performance: { task: Task; count: number; accuracy?: number | null; macroF1?: number | null; mae?: number | null; rmse?: number | null };
  lastWindow?: { endTime: number; share: number; datasetDrift: boolean; features: MonitoredFeatureDrift[] } | undefined;
}

/** A model's recent performance verdicts and drift windows, oldest first (the monitor's timeline). */
export interface MonitoredTimeline {
  task: Task;
  points: { ts: number; version: number; labels: number; accuracy?: number; f1?: number; mae?: number; rmse?: number }[];
  windows: { ts: number; version: number; share: number; detected: boolean; features: { feature: string; test: string; score: number | null; pValue: number | null; drifted: boolean }[] }[];
}

export interface MonitorView {
  /** Where the numbers come from, shown on the page. */
  readonly source: 'embedded' | 'remote';
  summaries(): Promise<MonitoredVersion[]>;
  /** Undefined when the monitor knows no version of the model. */
  timeline(model: string): Promise<MonitoredTimeline | undefined>;
  /** Why the last read failed, while it keeps failing (remote only). */
  problem(): string | undefined;
}

/** The monitor running in this process. */
export function embeddedMonitorView(monitor: { summaries(): MonitoredVersion[]; timeline(model: string): MonitoredTimeline | undefined }): MonitorView {
  return {
    source: 'embedded',
    summaries: () => Promise.resolve(monitor.summaries()),
    timeline: (model) => Promise.resolve(monitor.timeline(model)),
    problem: () => undefined,
  };
}

export interface RemoteMonitorOptions {
  /** Base URL of the monitor, e.g. http://driftgate-monitor:8081. */
  url: string;
  logger: Logger;
  /** Time limit of one request, in ms. @defaultValue 2000 */
  timeoutMs?: number;
  /** How long an answer is reused, so several open pages make one request. @defaultValue 2000 */
  cacheMs?: number;
}

/**
 * A monitor in its own process, read over HTTP. A monitor that does not answer gives no numbers (the
 * page says why) rather than an error: serving does not depend on it. With several monitors in one
 * consumer group each knows only the models it owns, so the URL should name one monitor, or a
 * deployment running a single one.
 */
export function remoteMonitorView(opts: RemoteMonitorOptions): MonitorView {
  const base = opts.url.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 2000;
  const cacheMs = opts.cacheMs ?? 2000;
  const cache = new Map<string, { at: number; value: Promise<unknown> }>();
  let problem: string | undefined;

  const read = (path: string, notFoundAs: unknown): Promise<unknown> => {
    const hit = cache.get(path);
    if (hit && Date.now() - hit.at < cacheMs) return hit.value;
    const value = (async () => {
      try {
        const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
        if (res.status === 404) {
          problem = undefined;
          return notFoundAs;
        }
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const body: unknown = await res.json();
        problem = undefined;
        return body;
      } catch (err) {
        if (problem === undefined) opts.logger.warn('the drift monitor does not answer; the status page shows no live numbers', { url: base, error: describeError(err) });
        problem = `the monitor at ${base} does not answer: ${describeError(err)}`;
        return notFoundAs;
      }
    })();
    cache.set(path, { at: Date.now(), value });
    return value;
  };

  return {
    source: 'remote',
    summaries: async () => {
      const body = (await read('/monitor/models', undefined)) as { versions?: unknown } | undefined;
      return Array.isArray(body?.versions) ? (body.versions as MonitoredVersion[]) : [];
    },
    timeline: async (model) => {
      const body = (await read(`/monitor/models/${encodeURIComponent(model)}/timeline`, undefined)) as MonitoredTimeline | undefined;
      return body && Array.isArray(body.points) && Array.isArray(body.windows) ? body : undefined;
    },
    problem: () => problem,
  };
}
