// Dynamic batching, Triton-style: requests for one model version wait in a bounded queue and are
// merged into one runtime call of up to `maxBatchSize` rows. A batch leaves as soon as the runtime
// is free and either the batch is full or the oldest request has waited `maxQueueDelayUs`; with a
// delay of 0 nothing waits on purpose, and requests that arrive while a batch computes ride together
// in the next one. When the queue is full, new requests are refused at once (load shedding). A
// request counts against the queue bound even when the queue is empty, so one that could never fit
// is refused (413) instead of being held whole; a request larger than `maxBatchSize` is split into
// runtime calls of at most `maxBatchSize` rows, and its outputs are joined again in order.
import { DriftgateError } from '../core/index.js';

export interface BatcherOptions {
  /** Merge concurrent requests; when false every request is its own runtime call. */
  enabled: boolean;
  maxBatchSize: number;
  maxQueueDelayUs: number;
  /** Rows that may wait (or, without batching, be in flight) at once. */
  maxQueueRows: number;
  /** Names the queue in errors, e.g. `iris version 2`. */
  label: string;
}

export interface BatchObserver {
  /** Time a request spent queued before its batch started, in seconds. */
  queued?(seconds: number): void;
  /** Rows in a runtime call that just started. */
  batch?(rows: number): void;
  /** Rows now waiting, after every change. */
  depth?(rows: number): void;
}

type RunFn = (input: Float32Array, rows: number) => Promise<Float32Array>;

interface Pending {
  input: Float32Array;
  rows: number;
  enqueuedAt: number;
  resolve: (out: Float32Array) => void;
  reject: (err: unknown) => void;
  /** The chunks of one split request share this; once one fails, the rest are not computed. */
  request?: object;
}

export class DynamicBatcher {
  private queue: Pending[] = [];
  private queued = 0;
  private outstanding = 0;
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly run: RunFn,
    private readonly inputWidth: number,
    private readonly outputWidth: number,
    private readonly options: BatcherOptions,
    private readonly observer: BatchObserver = {},
  ) {}

  /** Rows waiting for a batch. */
  get queuedRows(): number {
    return this.queued;
  }

  submit(input: Float32Array, rows: number): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new DriftgateError('MODEL_NOT_READY', `${this.options.label} is unloading`));
    const { maxQueueRows, maxBatchSize } = this.options;
    if (rows > maxQueueRows) {
      return Promise.reject(
        new DriftgateError('PAYLOAD_TOO_LARGE', `${this.options.label} queues at most ${maxQueueRows} rows (DRIFTGATE_MAX_QUEUE_SIZE); this request holds ${rows}`),
      );
    }
    const held = this.options.enabled ? this.queued : this.outstanding;
    if (held + rows > maxQueueRows) {
      return Promise.reject(
        new DriftgateError('QUEUE_FULL', `${this.options.label} is overloaded: ${held} rows are waiting (limit ${maxQueueRows})`, {
          retryAfterSeconds: 1,
        }),
      );
    }
    if (!this.options.enabled) return this.runAlone(input, rows);
    if (rows <= maxBatchSize) return this.enqueue(input, rows);
    const request = {};
    const parts: Promise<Float32Array>[] = [];
    for (let start = 0; start < rows; start += maxBatchSize) {
      const n = Math.min(maxBatchSize, rows - start);
      // A copy, not a view: a view would carry the whole matrix to a worker thread with every chunk.
      parts.push(this.enqueue(input.slice(start * this.inputWidth, (start + n) * this.inputWidth), n, request));
    }
    return Promise.all(parts).then((outs) => this.join(outs, rows));
  }

  private enqueue(input: Float32Array, rows: number, request?: object): Promise<Float32Array> {
    return new Promise<Float32Array>((resolve, reject) => {
      this.queue.push({ input, rows, enqueuedAt: performance.now(), resolve, reject, ...(request ? { request } : {}) });
      this.queued += rows;
      this.observer.depth?.(this.queued);
      this.schedule();
    });
  }

  private join(outs: Float32Array[], rows: number): Float32Array {
    const out = new Float32Array(rows * this.outputWidth);
    let offset = 0;
    for (const part of outs) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  /** Without batching: the request's own runtime calls, one after another, of at most maxBatchSize rows. */
  private async runAlone(input: Float32Array, rows: number): Promise<Float32Array> {
    this.outstanding += rows;
    this.observer.queued?.(0);
    try {
      const size = this.options.maxBatchSize;
      if (rows <= size) {
        this.observer.batch?.(rows);
        return this.checked(await this.run(input, rows), rows);
      }
      const outs: Float32Array[] = [];
      for (let start = 0; start < rows; start += size) {
        const n = Math.min(size, rows - start);
        this.observer.batch?.(n);
        outs.push(this.checked(await this.run(input.slice(start * this.inputWidth, (start + n) * this.inputWidth), n), n));
      }
      return this.join(outs, rows);
    } finally {
      this.outstanding -= rows;
    }
  }

  /** The runtime's output, unless its size does not match the rows (outputs would be mis-assigned). */
  private checked(output: Float32Array, rows: number): Float32Array {
    if (output.length !== rows * this.outputWidth) {
      throw new DriftgateError(
        'INTERNAL',
        `${this.options.label} returned ${output.length} values for ${rows} rows; expected ${this.outputWidth} per row`,
      );
    }
    return output;
  }

  private schedule(): void {
    // One runtime call per version at a time: a version computes on one thread (its worker, or the
    // event loop), so a second call could only wait behind the first; requests that arrive meanwhile
    // ride together in the next batch instead.
    if (this.running > 0 || this.queue.length === 0) return;
    const delayMs = this.options.maxQueueDelayUs / 1000;
    const waited = performance.now() - this.queue[0]!.enqueuedAt;
    if (this.queued >= this.options.maxBatchSize || waited >= delayMs) {
      this.dispatch();
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.schedule();
    }, Math.max(1, Math.ceil(delayMs - waited)));
  }

  private dispatch(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch: Pending[] = [];
    let rows = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (batch.length > 0 && rows + next.rows > this.options.maxBatchSize) break;
      batch.push(this.queue.shift()!);
      rows += next.rows;
    }
    this.queued -= rows;
    this.observer.depth?.(this.queued);
    this.running++;
    const now = performance.now();
    for (const p of batch) this.observer.queued?.((now - p.enqueuedAt) / 1000);
    this.observer.batch?.(rows);
    void this.execute(batch, rows).finally(() => {
      this.running--;
      this.schedule();
    });
  }

  private async execute(batch: Pending[], rows: number): Promise<void> {
    let input: Float32Array;
    if (batch.length === 1) input = batch[0]!.input;
    else {
      input = new Float32Array(rows * this.inputWidth);
      let offset = 0;
      for (const p of batch) {
        input.set(p.input, offset);
        offset += p.input.length;
      }
    }
    let output: Float32Array;
    try {
      output = this.checked(await this.run(input, rows), rows);
    } catch (err) {
      this.fail(batch, err);
      return;
    }
    let offset = 0;
    for (const p of batch) {
      const size = p.rows * this.outputWidth;
      p.resolve(batch.length === 1 ? output : output.slice(offset, offset + size));
      offset += size;
    }
  }

  /** Fails a batch, and drops the waiting chunks of any split request in it: that request has failed. */
  private fail(batch: Pending[], err: unknown): void {
    const failed = new Set(batch.flatMap((p) => (p.request ? [p.request] : [])));
    for (const p of batch) p.reject(err);
    if (failed.size === 0) return;
    const kept: Pending[] = [];
    for (const p of this.queue) {
      if (p.request && failed.has(p.request)) {
        this.queued -= p.rows;
        p.reject(err);
      } else kept.push(p);
    }
    this.queue = kept;
    this.observer.depth?.(this.queued);
  }

  /** Refuses new work and fails whatever still waits; running batches finish. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const err = new DriftgateError('MODEL_NOT_READY', `${this.options.label} is unloading`);
    for (const p of this.queue.splice(0)) p.reject(err);
    this.queued = 0;
  }
}
