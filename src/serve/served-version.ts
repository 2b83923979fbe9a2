// One loaded model version: its runtime behind a circuit breaker with a timeout, a dynamic batcher
// in front, and a count of the requests using it so a replaced version can drain before it is freed.
import CircuitBreaker from 'opossum';
import { DriftgateError, FeatureEncoder, describeError, outputWidth } from '../core/index.js';
import type { Manifest } from '../core/index.js';
import { DynamicBatcher } from './batcher.js';
import type { ServeMetrics } from './metrics.js';
import { openRuntime } from './runtime/index.js';
import type { ModelRuntime, RuntimeOptions } from './runtime/index.js';

export interface VersionSettings {
  runtime: RuntimeOptions;
  batching: boolean;
  maxBatchSize: number;
  maxQueueDelayUs: number;
  maxQueueSize: number;
  inferTimeoutMs: number;
  breakerErrorPercent: number;
  breakerVolumeThreshold: number;
  breakerResetMs: number;
  warmupRuns: number;
}

const BREAKER_STATE = { closed: 0, halfOpen: 1, open: 2 } as const;

/**
 * Runs one runtime call and measures the time the call itself computed, leaving out time spent
 * waiting for the event loop behind other versions' calls (which must not time this one out). tfjs
 * computes inside `run()`; onnxruntime-node queues a setImmediate in `run()` and computes in it, so
 * an immediate queued just before `run()` fires right before that computation starts.
 */
async function measuredRun(runtime: ModelRuntime, input: Float32Array, rows: number): Promise<{ out: Float32Array; computeMs: number }> {
  let markedAt: number | undefined;
  const marker = setImmediate(() => (markedAt = performance.now()));
  const called = performance.now();
  try {
    const pending = runtime.run(input, rows);
    const syncMs = performance.now() - called;
    const out = await pending;
    return { out, computeMs: syncMs + (markedAt === undefined ? 0 : performance.now() - markedAt) };
  } finally {
    clearImmediate(marker);
  }
}

export class ServedVersion {
  readonly name: string;
  readonly version: number;
  readonly encoder: FeatureEncoder;
  readonly outputWidth: number;
  readonly loadedAt = new Date();
  private inflight = 0;
  private drained: (() => void) | undefined;
  private readonly breaker: CircuitBreaker<[Float32Array, number], Float32Array>;
  private readonly batcher: DynamicBatcher;
  private disposed = false;

  private constructor(
    readonly dir: string,
    readonly manifest: Manifest,
    private readonly runtime: ModelRuntime,
    settings: VersionSettings,
    private readonly metrics: ServeMetrics,
  ) {
    this.name = manifest.name;
    this.version = manifest.version;
    this.encoder = new FeatureEncoder(manifest);
    this.outputWidth = outputWidth(manifest);
    const labels = { model: this.name, version: String(this.version) };
    const inferTimer = metrics.inferenceDuration.labels(labels);
    this.breaker = new CircuitBreaker(
      async (input: Float32Array, rows: number) => {
        const end = inferTimer.startTimer();
        try {
          // In a worker thread the event loop stays free and opossum's timer enforces the timeout.
          if (settings.runtime.thread !== 'inline') return await runtime.run(input, rows);
          const { out, computeMs } = await measuredRun(runtime, input, rows);
          // Inline, onnxruntime-node and tfjs compute on the event-loop thread, so opossum's timer
          // cannot fire while a call runs. A call that overran is reported as timed out here instead,
          // which also counts towards opening the breaker.
          if (computeMs > settings.inferTimeoutMs) {
            throw Object.assign(new Error(`the runtime call took ${Math.round(computeMs)} ms`), { code: 'ETIMEDOUT' });
          }
          return out;
        } finally {
          end();
        }
      },
      {
        timeout: settings.inferTimeoutMs,
        errorThresholdPercentage: settings.breakerErrorPercent,
        volumeThreshold: settings.breakerVolumeThreshold,
        resetTimeout: settings.breakerResetMs,
        name: `${this.name}:${this.version}`,
      },
    );
    const stateGauge = metrics.breakerState.labels(labels);
    stateGauge.set(BREAKER_STATE.closed);
    this.breaker.on('open', () => stateGauge.set(BREAKER_STATE.open));
    this.breaker.on('halfOpen', () => stateGauge.set(BREAKER_STATE.halfOpen));
    this.breaker.on('close', () => stateGauge.set(BREAKER_STATE.closed));
    const queueTimer = metrics.queueDuration.labels(labels);
    const batchSize = metrics.batchSize.labels(labels);
    const depth = metrics.queueRows.labels(labels);
    this.batcher = new DynamicBatcher(
      (input, rows) => this.fire(input, rows),
      this.encoder.width,
      this.outputWidth,
      {
        enabled: settings.batching,
        maxBatchSize: manifest.batching?.max_batch_size ?? settings.maxBatchSize,
        maxQueueDelayUs: manifest.batching?.max_queue_delay_us ?? settings.maxQueueDelayUs,
        maxQueueRows: settings.maxQueueSize,
        label: `model "${this.name}" version ${this.version}`,
      },
      { queued: (s) => queueTimer.observe(s), batch: (rows) => batchSize.observe(rows), depth: (rows) => depth.set(rows) },
    );
  }

  /** Opens the runtime, checks its input and output widths against the manifest, and warms it up. */
  static async open(dir: string, manifest: Manifest, settings: VersionSettings, metrics: ServeMetrics): Promise<ServedVersion> {
    const runtime = await openRuntime(dir, manifest, settings.runtime);
    const served = new ServedVersion(dir, manifest, runtime, settings, metrics);
    try {
      await served.warmUp(settings.warmupRuns, Math.min(settings.maxBatchSize, 64));
    } catch (err) {
      await served.dispose();
      throw err;
    }
    return served;
  }

  /** Runs the model on zero rows of batch 1 and of a larger batch so the first real request is not slow. */
  private async warmUp(runs: number, batch: number): Promise<void> {
    for (const rows of [1, batch]) {
      for (let i = 0; i < Math.max(1, runs); i++) {
        const out = await this.runtime.run(new Float32Array(rows * this.encoder.width), rows);
        if (out.length !== rows * this.outputWidth) {
          throw new Error(
            `the model returns ${out.length / rows} values per row; the manifest expects ${this.outputWidth}` +
              (this.manifest.task === 'classification' ? ` (one per label)` : ''),
          );
        }
      }
    }
  }

  private async fire(input: Float32Array, rows: number): Promise<Float32Array> {
    try {
      return await this.breaker.fire(input, rows);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'EOPENBREAKER') {
        throw new DriftgateError('BREAKER_OPEN', `model "${this.name}" version ${this.version} is failing; its circuit breaker is open`, {
          retryAfterSeconds: 5,
        });
      }
      if (code === 'ETIMEDOUT') {
        throw new DriftgateError('INFERENCE_TIMEOUT', `model "${this.name}" version ${this.version} did not answer within the inference timeout`);
      }
      throw new DriftgateError('INTERNAL', `inference failed in model "${this.name}" version ${this.version}: ${describeError(err)}`, {
        cause: err,
      });
    }
  }

  /** Predicts an encoded rows x width matrix through the batcher. */
  predict(input: Float32Array, rows: number): Promise<Float32Array> {
    this.metrics.predictions.labels({ model: this.name, version: String(this.version) }).inc(rows);
    return this.batcher.submit(input, rows);
  }

  get queuedRows(): number {
    return this.batcher.queuedRows;
  }

  get breakerOpen(): boolean {
    return this.breaker.opened;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Marks a request as using this version; call the returned function when it is done. */
  acquire(): () => void {
    this.inflight++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inflight--;
      if (this.inflight === 0) this.drained?.();
    };
  }

  get inFlight(): number {
    return this.inflight;
  }

  /** Waits until no request uses this version (or the timeout passes), then frees it. */
  async drainAndDispose(timeoutMs: number): Promise<{ drained: boolean }> {
    let drained = true;
    if (this.inflight > 0) {
      drained = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        this.drained = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
    }
    await this.dispose();
    return { drained };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.batcher.close();
    this.breaker.shutdown();
    const labels = { model: this.name, version: String(this.version) };
    for (const metric of [this.metrics.breakerState, this.metrics.queueRows]) metric.remove(labels);
    await this.runtime.dispose();
  }
}
