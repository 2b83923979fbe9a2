// A small, bounded load generator for integration tests. A fixed number of workers each send one
// request at a time (a closed loop) to loopback targets until a request budget or a time limit is
// used up, or the test stops them. Every outcome is kept: HTTP status, the `model_version` of the
// answer, and any network error, with start and end times so a test can reason about ordering.

/** One request a worker sends: a loopback URL and the JSON body to POST. */
export interface LoadTarget {
  url: string;
  body: unknown;
}

export interface LoadOptions {
  /** Worker `i` sends to `targets[i % targets.length]`. */
  targets: readonly LoadTarget[];
  /** Requests in flight at once. */
  concurrency: number;
  /** Stop after this many requests in total (across workers). One of `requests` or `durationMs` is required. */
  requests?: number;
  /** Stop starting new requests after this long. Also the hard limit when `requests` is set. */
  durationMs?: number;
  /** Give up on one request after this long; it is recorded as a network error. @defaultValue 30000 */
  requestTimeoutMs?: number;
}

export interface LoadSample {
  worker: number;
  /** Index of the target in `targets`. */
  target: number;
  /** `performance.now()` when the request was sent and when its answer (or error) was read. */
  startedAt: number;
  endedAt: number;
  /** HTTP status; 0 when the request failed at the network level. */
  status: number;
  /** `model_version` from the JSON answer, when it had one. */
  modelVersion?: string;
  /** The network error, or the `error` field of an error answer. */
  error?: string;
}

export interface LoadRun {
  /** Samples so far, in the order their answers arrived. */
  readonly samples: readonly LoadSample[];
  /** Resolves when every worker has stopped. */
  readonly done: Promise<LoadSummary>;
  /** Asks the workers to stop after their current request; resolves like `done`. */
  stop(): Promise<LoadSummary>;
  /** Resolves once `predicate(samples)` holds; rejects after `timeoutMs` or if the run ends first. */
  until(what: string, predicate: (samples: readonly LoadSample[]) => boolean, timeoutMs: number): Promise<void>;
}

export interface LoadSummary {
  samples: LoadSample[];
  /** Count of each HTTP status (0 = network error). */
  statuses: Record<number, number>;
  networkErrors: LoadSample[];
  /** Every sample that was not a 200. */
  failures: LoadSample[];
  /** Per worker, the `model_version` of each answer in the order the worker got them. */
  versionsByWorker: string[][];
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

function summarize(samples: LoadSample[], workers: number): LoadSummary {
  const statuses: Record<number, number> = {};
  for (const s of samples) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
  const versionsByWorker: string[][] = Array.from({ length: workers }, () => []);
  for (const s of samples) if (s.modelVersion !== undefined) versionsByWorker[s.worker]!.push(s.modelVersion);
  return {
    samples,
    statuses,
    networkErrors: samples.filter((s) => s.status === 0),
    failures: samples.filter((s) => s.status !== 200),
    versionsByWorker,
  };
}

async function send(target: LoadTarget, timeoutMs: number): Promise<Pick<LoadSample, 'status' | 'modelVersion' | 'error'>> {
  try {
    const res = await fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(target.body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let json: { model_version?: unknown; error?: unknown } | undefined;
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      json = undefined;
    }
    return {
      status: res.status,
      ...(typeof json?.model_version === 'string' ? { modelVersion: json.model_version } : {}),
      ...(res.status !== 200 ? { error: typeof json?.error === 'string' ? json.error : text.slice(0, 200) } : {}),
    };
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    return { status: 0, error: `${(err as Error).message}${cause ? `: ${(cause as Error).message ?? String(cause)}` : ''}` };
  }
}

/** Starts the workers at once and returns a handle; the caller awaits `done` or calls `stop()`. */
export function startLoad(opts: LoadOptions): LoadRun {
  if (opts.targets.length === 0) throw new Error('startLoad needs at least one target');
  for (const t of opts.targets) {
    const host = new URL(t.url).hostname;
    if (!LOOPBACK_HOSTS.has(host)) throw new Error(`startLoad only sends to loopback addresses, not ${host}`);
  }
  if (opts.requests === undefined && opts.durationMs === undefined) throw new Error('startLoad needs `requests` or `durationMs` so it ends');
  if (!(opts.concurrency >= 1)) throw new Error('startLoad needs at least one worker');
  const timeoutMs = opts.requestTimeoutMs ?? 30_000;
  const deadline = opts.durationMs === undefined ? Infinity : performance.now() + opts.durationMs;
  const samples: LoadSample[] = [];
  let started = 0;
  let stopping = false;
  const waiters = new Set<() => void>();

  const more = () => !stopping && performance.now() < deadline && (opts.requests === undefined || started < opts.requests);
  const worker = async (index: number) => {
    const targetIndex = index % opts.targets.length;
    const target = opts.targets[targetIndex]!;
    while (more()) {
      started++;
      const startedAt = performance.now();
      const outcome = await send(target, timeoutMs);
      samples.push({ worker: index, target: targetIndex, startedAt, endedAt: performance.now(), ...outcome });
      for (const wake of waiters) wake();
    }
  };
  const done = Promise.all(Array.from({ length: opts.concurrency }, (_, i) => worker(i))).then(() => {
    stopping = true;
    for (const wake of waiters) wake();
    return summarize(samples, opts.concurrency);
  });

  return {
    samples,
    done,
    stop: () => {
      stopping = true;
      return done;
    },
    until: (what, predicate, ms) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (predicate(samples)) finish();
          else if (stopping) finish(new Error(`load ended before ${what} (${samples.length} answers)`));
        };
        const timer = setTimeout(() => finish(new Error(`timed out after ${ms} ms waiting for ${what} (${samples.length} answers)`)), ms);
        const finish = (err?: Error) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (err) reject(err);
          else resolve();
        };
        waiters.add(check);
        check();
      }),
  };
}
