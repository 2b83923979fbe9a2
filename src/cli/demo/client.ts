// The demo's client: one predict request of a batch of rows at a steady rate (never two at once), the
// rows' true labels sent `labelDelayMs` later, and its own view of the model: which version answered
// and whether it was right.
import type { Sample } from './traffic.js';

export class LabelAuthError extends Error {
  constructor(status: number) {
    super(
      status === 401
        ? 'the gateway asks for a label token (401): pass --token <DRIFTGATE_LABEL_TOKEN>'
        : 'the gateway refused the label token (403): check --token against DRIFTGATE_LABEL_TOKEN',
    );
    this.name = 'LabelAuthError';
  }
}

export interface RoundResult {
  /** Wall-clock time the request was sent and answered (ms). */
  sentAt: number;
  doneAt: number;
  /** Rows predicted right, and rows sent; 0 and 0 when the request failed. */
  correct: number;
  rows: number;
  /** The version that answered ('' when the request failed). */
  version: string;
}

export interface DemoClientOptions {
  url: string;
  model: string;
  /** Requests per second. */
  rate: number;
  labelDelayMs: number;
  token?: string | undefined;
  /** Longest wait for one HTTP call. @defaultValue 10000 */
  requestTimeoutMs?: number;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export class DemoClient {
  requests = 0;
  failedRequests = 0;
  labelsSent = 0;
  failedLabels = 0;
  /** Set when a label call was refused for its token; the caller stops on it. */
  authError: LabelAuthError | undefined;
  private due = performance.now();
  private readonly interval: number;
  private readonly pendingLabels = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly opts: DemoClientOptions) {
    this.interval = 1000 / opts.rate;
  }

  /** Waits for the next slot, predicts the samples, schedules their labels. */
  async round(samples: Sample[], signal?: AbortSignal): Promise<RoundResult> {
    const wait = this.due - performance.now();
    if (wait > 0) await sleep(wait, signal);
    this.due = Math.max(this.due + this.interval, performance.now());
    const sentAt = Date.now();
    this.requests++;
    let body: { predictions?: { label: string }[]; ids?: string[]; model_version?: string } = {};
    let ok = false;
    try {
      const res = await fetch(`${this.opts.url}/v1/models/${encodeURIComponent(this.opts.model)}:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: samples.map((s) => s.row) }),
        signal: AbortSignal.timeout(this.opts.requestTimeoutMs ?? 10_000),
      });
      body = (await res.json()) as typeof body;
      ok = res.status === 200 && Array.isArray(body.predictions) && Array.isArray(body.ids);
    } catch {
      ok = false;
    }
    const doneAt = Date.now();
    if (!ok) {
      this.failedRequests++;
      return { sentAt, doneAt, correct: 0, rows: 0, version: '' };
    }
    const ids = body.ids!;
    const labels = ids.map((id, i) => ({ id, label: samples[i]!.label }));
    if (this.opts.labelDelayMs <= 0) await this.sendLabels(labels);
    else {
      const timer = setTimeout(() => {
        this.pendingLabels.delete(timer);
        this.track(this.sendLabels(labels));
      }, this.opts.labelDelayMs);
      this.pendingLabels.add(timer);
    }
    const correct = body.predictions!.filter((p, i) => p.label === samples[i]!.label).length;
    return { sentAt, doneAt, correct, rows: samples.length, version: String(body.model_version) };
  }

  /** Drops the labels not sent yet and waits for those on their way. */
  async stop(): Promise<void> {
    for (const timer of this.pendingLabels) clearTimeout(timer);
    this.pendingLabels.clear();
    await Promise.allSettled([...this.inFlight]);
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async sendLabels(labels: { id: string; label: string }[]): Promise<void> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.opts.token) headers['authorization'] = `Bearer ${this.opts.token}`;
    try {
      const res = await fetch(`${this.opts.url}/v2/models/${encodeURIComponent(this.opts.model)}/labels`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ labels }),
        signal: AbortSignal.timeout(this.opts.requestTimeoutMs ?? 10_000),
      });
      await res.arrayBuffer();
      if (res.status === 401 || res.status === 403) this.authError ??= new LabelAuthError(res.status);
      if (res.status === 202) this.labelsSent += labels.length;
      else this.failedLabels += labels.length;
    } catch {
      this.failedLabels += labels.length;
    }
  }
}

/** Accuracy over the newest `size` rows. */
export class RollingAccuracy {
  private readonly hits: boolean[] = [];
  private right = 0;
  constructor(private readonly size: number) {}

  add(correct: number, rows: number): void {
    for (let i = 0; i < rows; i++) {
      const hit = i < correct;
      this.hits.push(hit);
      if (hit) this.right++;
      if (this.hits.length > this.size && this.hits.shift()) this.right--;
    }
  }

  get value(): number | undefined {
    return this.hits.length === 0 ? undefined : this.right / this.hits.length;
  }

  get count(): number {
    return this.hits.length;
  }
}
