// What the demo reads from the stack, as one snapshot per poll: the status page's JSON
// (`GET /status/models`), or, on a gateway without it, Prometheus `/metrics` (with the job records of
// `GET /admin/models/{m}/retrains` when an admin token is known). Both give the same shape, so the
// timeline does not care where it came from; `exact` says whether the job records are the retrainer's
// own (timestamps and phases) or pieced together from counters.
import type { Phase } from '../../lifecycle/index.js';

export interface SliceScores {
  champion: { rows: number; value: number };
  challenger: { rows: number; value: number };
}

/** A retrain job as the status page (and the admin API) reports it. */
export interface JobView {
  id: string;
  state: string;
  trigger: { reason: string; requestedAt: string; since?: string; coalesced?: number };
  champion?: number;
  challenger?: number;
  updatedAt?: string;
  phases: Partial<Record<Phase, number>>;
  data?: { train: number; holdout: number; replay: number; window: number };
  gate?: { metric: string; holdout: SliceScores; reference?: SliceScores; promote: boolean; reason: string };
  waiting?: string;
  error?: string;
  watch?: { rows: number; live: number; baseline: number; outcome: string };
}

export interface EventView {
  type: string;
  version: number | null;
  /** ISO time. */
  ts: string;
  summary: string;
}

export interface Snapshot {
  servingVersion: number | null;
  /** The monitor's live score of the serving version. */
  live: { version: number; metric: string; value: number; labels: number } | null;
  /** Newest first. */
  events: EventView[];
  /** Newest first. */
  jobs: JobView[];
}

export interface StackObserver {
  /** `status` (the status page), `metrics` (Prometheus, plus the admin API when a token is known). */
  readonly kind: 'status' | 'metrics';
  /** Whether job records carry the retrainer's own times and phases. */
  readonly exact: boolean;
  snapshot(): Promise<Snapshot>;
}

const TIMEOUT_MS = 5_000;

async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: res.status, body: text };
  }
}

/** The status page's view of one model. */
export class StatusObserver implements StackObserver {
  readonly kind = 'status';
  readonly exact = true;
  constructor(
    private readonly url: string,
    private readonly model: string,
  ) {}

  async snapshot(): Promise<Snapshot> {
    const { status, body } = await getJson(`${this.url}/status/models`);
    if (status !== 200) throw new Error(`GET /status/models answered ${status}`);
    const models = (body as { models?: Record<string, unknown>[] }).models ?? [];
    const m = models.find((x) => x['name'] === this.model);
    if (!m) return { servingVersion: null, live: null, events: [], jobs: [] };
    return {
      servingVersion: typeof m['servingVersion'] === 'number' ? m['servingVersion'] : m['servingVersion'] == null ? null : Number(m['servingVersion']),
      live: (m['live'] as Snapshot['live']) ?? null,
      events: ((m['events'] as EventView[] | undefined) ?? []).map((e) => ({ ...e, summary: e.summary ?? '' })),
      jobs: (m['jobs'] as JobView[] | undefined) ?? [],
    };
  }
}

/** True when the gateway has the status page's JSON. */
export async function hasStatusPage(url: string): Promise<boolean> {
  try {
    return (await getJson(`${url}/status/models`)).status === 200;
  } catch {
    return false;
  }
}

type Samples = Map<string, number>;

/** Prometheus text: `name{a="b",...}` → value, with label pairs sorted so lookups are exact. */
export function parseMetrics(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) continue;
    const labels = [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => `${l[1]}=${l[2]}`).sort();
    out.set(`${m[1]}{${labels.join(',')}}`, Number(m[3]));
  }
  return out;
}

export function metric(samples: Samples, name: string, labels: Record<string, string>): number | undefined {
  const key = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(',');
  return samples.get(`${name}{${key}}`);
}

const DECISIONS: [type: string, reason: string][] = [
  ['drift.detected', 'data'],
  ['drift.detected', 'performance'],
  ['retrain.requested', 'data_drift'],
  ['retrain.requested', 'performance'],
  ['drift.cleared', 'data'],
  ['drift.cleared', 'performance'],
];
const OUTCOMES = ['promoted', 'rejected', 'failed', 'cancelled'] as const;
const PHASE_NAMES: Phase[] = ['data', 'train', 'gate', 'swap'];

/**
 * Snapshots pieced together from the gateway's `/metrics`: monitor decisions from their counters
 * (with the event time of the last one of each type), the live accuracy of the serving version, and
 * jobs from the admin API when `adminToken` is given, else from the retrain counters (state and phase
 * durations, no gate scores). In a Kafka set-up the gateway's /metrics holds no monitor or retrainer
 * series: only the client's own view and the admin API's jobs remain.
 */
export class MetricsObserver implements StackObserver {
  readonly kind = 'metrics';
  readonly exact: boolean;
  private previous: Samples | undefined;
  private readonly events: EventView[] = [];
  private readonly jobs: JobView[] = [];
  private open: { job: JobView; phaseSums: Record<string, number> } | undefined;

  constructor(
    private readonly url: string,
    private readonly model: string,
    private readonly adminToken?: string,
  ) {
    this.exact = adminToken !== undefined;
  }

  async snapshot(): Promise<Snapshot> {
    const res = await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
    const now = parseMetrics(await res.text());
    const model = this.model;
    const servingVersion = metric(now, 'driftgate_serving_version', { model }) ?? null;
    const accuracy = servingVersion === null ? undefined : metric(now, 'driftgate_model_accuracy', { model, version: String(servingVersion) });
    const labels = servingVersion === null ? undefined : metric(now, 'driftgate_model_performance_labels', { model, version: String(servingVersion) });
    const live = servingVersion !== null && accuracy !== undefined && Number.isFinite(accuracy) ? { version: servingVersion, metric: 'accuracy', value: accuracy, labels: labels ?? 0 } : null;
    if (this.previous) this.diffDecisions(this.previous, now);
    let jobs: JobView[];
    if (this.adminToken !== undefined) {
      const { status, body } = await getJson(`${this.url}/admin/models/${encodeURIComponent(model)}/retrains`, { authorization: `Bearer ${this.adminToken}` });
      jobs = status === 200 ? ((body as { jobs?: JobView[] }).jobs ?? []) : [];
    } else {
      if (this.previous) this.diffJobs(this.previous, now);
      jobs = this.jobs;
    }
    this.previous = now;
    return { servingVersion, live, events: this.events, jobs };
  }

  private diffDecisions(before: Samples, now: Samples): void {
    for (const [type, reason] of DECISIONS) {
      const labels = { model: this.model, type, reason };
      const added = (metric(now, 'driftgate_monitor_decisions_total', labels) ?? 0) - (metric(before, 'driftgate_monitor_decisions_total', labels) ?? 0);
      if (added <= 0) continue;
      const at = metric(now, 'driftgate_monitor_last_decision_timestamp_seconds', { model: this.model, type });
      const ts = new Date(at !== undefined && at > 0 ? at * 1000 : Date.now()).toISOString();
      this.events.unshift({ type, version: null, ts, summary: reason });
    }
  }

  private diffJobs(before: Samples, now: Samples): void {
    const model = this.model;
    const active = metric(now, 'driftgate_retrain_jobs_active', { model }) ?? 0;
    const sums = () => Object.fromEntries(PHASE_NAMES.map((p) => [p, metric(now, 'driftgate_retrain_phase_duration_seconds_sum', { model, phase: p }) ?? 0]));
    const ended = OUTCOMES.find((o) => (metric(now, 'driftgate_retrains_total', { model, outcome: o }) ?? 0) > (metric(before, 'driftgate_retrains_total', { model, outcome: o }) ?? 0));
    if (!this.open && (active > 0 || ended)) {
      const requested = this.events.find((e) => e.type === 'retrain.requested');
      const phaseSums = Object.fromEntries(PHASE_NAMES.map((p) => [p, metric(before, 'driftgate_retrain_phase_duration_seconds_sum', { model, phase: p }) ?? 0]));
      const job: JobView = { id: `job-${this.jobs.length + 1}`, state: 'queued', trigger: { reason: requested?.summary ?? 'unknown', requestedAt: requested?.ts ?? new Date().toISOString() }, phases: {} };
      this.jobs.unshift(job);
      this.open = { job, phaseSums };
    }
    if (!this.open) return;
    const { job, phaseSums } = this.open;
    const current = sums();
    job.phases = Object.fromEntries(PHASE_NAMES.filter((p) => current[p]! > phaseSums[p]!).map((p) => [p, Math.round((current[p]! - phaseSums[p]!) * 1000)]));
    if (ended) {
      job.state = ended;
      job.updatedAt = new Date().toISOString();
      this.open = undefined;
    } else if (job.phases.train !== undefined) job.state = 'gating';
    else if (job.phases.data !== undefined) job.state = 'training';
  }
}
