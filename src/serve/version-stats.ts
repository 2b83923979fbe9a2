// Per-version request statistics in the shape of Triton's statistics extension
// (GET /v2/models[/{m}[/versions/{v}]]/stats), kept as a few plain counters a served version bumps as
// requests pass, so clients such as tritonclient's get_inference_statistics find what they expect.
// The Prometheus metrics stay the place for histograms; these are totals since the version loaded.

/** A count and the total time spent, in nanoseconds (Triton's StatisticDuration). */
export interface DurationStat {
  count: number;
  ns: number;
}

export interface BatchStat {
  batch_size: number;
  compute_input: DurationStat;
  compute_infer: DurationStat;
  compute_output: DurationStat;
}

/** One model version's statistics as the extension reports them. */
export interface ModelStat {
  name: string;
  version: string;
  /** Milliseconds since the epoch of the last request that reached the version; 0 when none has. */
  last_inference: number;
  /** Rows predicted. */
  inference_count: number;
  /** Runtime calls (batches). */
  execution_count: number;
  inference_stats: {
    success: DurationStat;
    fail: DurationStat;
    queue: DurationStat;
    compute_input: DurationStat;
    compute_infer: DurationStat;
    compute_output: DurationStat;
    cache_hit: DurationStat;
    cache_miss: DurationStat;
  };
  batch_stats: BatchStat[];
}

const msToNs = (ms: number): number => Math.round(ms * 1e6);
const none = (): DurationStat => ({ count: 0, ns: 0 });

export class VersionStats {
  private lastInference = 0;
  private rows = 0;
  private readonly success = none();
  private readonly fail = none();
  private readonly queue = none();
  private readonly compute = none();
  private readonly batches = new Map<number, DurationStat>();

  /** A request that got its outputs after `ms` (queue and compute). */
  succeeded(rows: number, ms: number): void {
    this.rows += rows;
    this.success.count++;
    this.success.ns += msToNs(ms);
    this.lastInference = Date.now();
  }

  /** A request the version refused or failed (queue full, breaker open, timeout, runtime error). */
  failed(ms: number): void {
    this.fail.count++;
    this.fail.ns += msToNs(ms);
    this.lastInference = Date.now();
  }

  /** A request that waited `ms` in the batch queue. */
  queued(ms: number): void {
    this.queue.count++;
    this.queue.ns += msToNs(ms);
  }

  /** One runtime call of `rows` rows that took `ms`. */
  executed(rows: number, ms: number): void {
    this.compute.count++;
    this.compute.ns += msToNs(ms);
    const batch = this.batches.get(rows) ?? none();
    batch.count++;
    batch.ns += msToNs(ms);
    this.batches.set(rows, batch);
  }

  /**
   * The statistics in the extension's shape. Encoding inputs and decoding outputs happen inside the
   * runtime call here, so compute_infer holds them and compute_input/compute_output stay zero; there
   * is no response cache.
   */
  report(name: string, version: number): ModelStat {
    return {
      name,
      version: String(version),
      last_inference: this.lastInference,
      inference_count: this.rows,
      execution_count: this.compute.count,
      inference_stats: {
        success: { ...this.success },
        fail: { ...this.fail },
        queue: { ...this.queue },
        compute_input: none(),
        compute_infer: { ...this.compute },
        compute_output: none(),
        cache_hit: none(),
        cache_miss: none(),
      },
      batch_stats: [...this.batches]
        .sort(([a], [b]) => a - b)
        .map(([size, stat]) => ({ batch_size: size, compute_input: none(), compute_infer: { ...stat }, compute_output: none() })),
    };
  }
}
