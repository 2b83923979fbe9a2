// Gathers the bus's small batches into fewer, larger monitor transactions. A batch costs the monitor
// about 2 ms whatever its size (the SQLite commit, the version snapshots) plus about 16 µs an event, and
// live traffic arrives a partition and a publisher linger at a time, a few dozen events each: gathered
// for 50 ms, the fixed part is paid a few dozen times a second instead of hundreds. Each bus batch's
// promise settles with the transaction that holds it, so its offsets are still committed only after
// its events are durable, and a failed transaction fails (and redelivers) every batch in it.
// Only where nothing else waits on the thread: the monitor's own worker thread or process.
import type { EventBatch } from '../core/index.js';

interface Gathered {
  batch: EventBatch;
  events: number;
  settle: { resolve: () => void; reject: (err: unknown) => void }[];
}

export class BatchGatherer {
  private gathering: Gathered | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The transaction in progress: transactions run one at a time, in order. */
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly apply: (batch: EventBatch) => Promise<void>,
    /** How long the first batch waits for others. */
    private readonly waitMs: number,
    /** Events at which the gathered batch goes at once. */
    private readonly maxEvents: number,
  ) {}

  /** Resolves once the transaction holding `batch` has committed; rejects if it failed. */
  add(batch: EventBatch): Promise<void> {
    let g = this.gathering;
    if (!g) {
      g = this.gathering = { batch: { predictions: [], labels: [] }, events: 0, settle: [] };
      this.timer = setTimeout(() => this.send(), this.waitMs);
    }
    for (const p of batch.predictions) g.batch.predictions.push(p);
    for (const l of batch.labels) g.batch.labels.push(l);
    g.events += batch.predictions.length + batch.labels.length;
    const done = new Promise<void>((resolve, reject) => g.settle.push({ resolve, reject }));
    if (g.events >= this.maxEvents) this.send();
    return done;
  }

  private send(): void {
    clearTimeout(this.timer);
    const g = this.gathering;
    this.gathering = undefined;
    if (!g) return;
    this.running = this.running.then(
      () => this.apply(g.batch).then(
        () => g.settle.forEach((s) => s.resolve()),
        (err: unknown) => g.settle.forEach((s) => s.reject(err)),
      ),
    );
  }
}
