// One loaded model version: its runtime behind a circuit breaker with a timeout, a dynamic batcher
// in front, and a count of the requests using it so a replaced version can drain before it is freed.
// The runtime is supervised: a worker that exits, crashes or hangs is replaced by a fresh one
// (runtime/supervisor.ts); meanwhile the version answers 503 at once and reports itself broken.
import CircuitBreaker from 'opossum';
import { DriftgateError, FeatureEncoder, breakerRejection, describeError, inputWidth, outputWidth } from '../core/index.js';
import type { Manifest } from '../core/index.js';
import { DynamicBatcher } from './batcher.js';
import type { ServeMetrics } from './metrics.js';
import { VersionStats } from './version-stats.js';
import { RuntimeUnavailableError, SupervisedRuntime, openRuntime } from './runtime/index.js';
import type { ModelRuntime, RuntimeHealth, RuntimeOptions, SupervisorEvent } from './runtime/index.js';

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
  /** Restart attempts in a row for a broken or hung worker before the version is left failed. */
  workerRestartAttempts: number;
}

/** Hears what happens to a version's worker (the registry logs it and records give-ups). */
export type WorkerEventListener = (served: ServedVersion, event: SupervisorEvent) => void;

const BREAKER_STATE = { closed: 0, halfOpen: 1, open: 2 } as const;

/**
 * The newest ServedVersion of a model version owns its per-version gauges. A broken version can be
 * replaced by a fresh load of the same version; the one replaced must then leave the gauges alone.
 */
const gaugeOwners = new WeakMap<ServeMetrics, Map<string, ServedVersion>>();

/**
 * Runs the model on zero rows of batch 1 and of a larger batch so the first real request is not slow,
 * and checks the output width against the manifest.
 */
async function warmUp(runtime: ModelRuntime, manifest: Manifest, runs: number, batch: number): Promise<void> {
  const width = inputWidth(manifest.features);
  const outWidth = outputWidth(manifest);
  for (const rows of [1, batch]) {
    for (let i = 0; i < Math.max(1, runs); i++) {
      const out = await runtime.run(new Float32Array(rows * width), rows);
      if (out.length !== rows * outWidth) {
        throw new Error(
          `the model returns ${out.length / rows} values per row; the manifest expects ${outWidth}` +
            (manifest.task === 'classification' ? ` (one per label)` : ''),
        );
      }
    }
  }
}

/** Opens a fresh runtime of a version and warms it up; the runtime is freed again when that fails. */
async function openWarm(dir: string, manifest: Manifest, settings: VersionSettings): Promise<ModelRuntime> {
  const runtime = await openRuntime(dir, manifest, settings.runtime);
  try {
    await warmUp(runtime, manifest, settings.warmupRuns, Math.min(settings.maxBatchSize, 64));
  } catch (err) {
    await runtime.dispose();
    throw err;
  }
  return runtime;
}

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
  /** Totals since the version loaded, for the statistics endpoint (GET /v2/models/{m}/stats). */
  readonly stats = new VersionStats();
  private inflight = 0;
  private drained: (() => void) | undefined;
  private readonly breaker: CircuitBreaker<[Float32Array, number], Float32Array>;
  private readonly batcher: DynamicBatcher;
  private disposed = false;

  private constructor(
    readonly dir: string,
    readonly manifest: Manifest,
    /** The supervised runtime; `runtime.current` reaches the worker in use (fault tests). */
    readonly runtime: SupervisedRuntime,
    settings: VersionSettings,
    private readonly metrics: ServeMetrics,
  ) {
    this.name = manifest.name;
    this.version = manifest.version;
    this.encoder = new FeatureEncoder(manifest);
    this.outputWidth = outputWidth(manifest);
    const labels = { model: this.name, version: String(this.version) };
    let owners = gaugeOwners.get(metrics);
    if (!owners) gaugeOwners.set(metrics, (owners = new Map()));
    owners.set(this.gaugeKey, this);
    metrics.workerUp.labels(labels).set(1);
    const inferTimer = metrics.inferenceDuration.labels(labels);
    this.breaker = new CircuitBreaker(
      async (input: Float32Array, rows: number) => {
        const end = inferTimer.startTimer();
        const started = performance.now();
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
          this.stats.executed(rows, performance.now() - started);
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
    if (settings.runtime.thread !== 'inline') {
      // A call past the timeout means a hung worker: opossum says so before it answers the 504, so
      // the next request already finds the worker being replaced. (Inline, the call blocked the
      // event loop until it returned; there is nothing left to cut off.)
      // opossum 9 emits (error, latency, args); its type declarations only name the error.
      const onTimeout = (_err: Error, _latency?: number, args?: [Float32Array, number]) => {
        const error = Object.assign(new Error(`a call ran past the inference timeout (${settings.inferTimeoutMs} ms); the worker was ended`), { code: 'ETIMEDOUT' });
        this.runtime.timedOut(args?.[0], error);
      };
      this.breaker.on('timeout', onTimeout as (err: Error) => void);
    }
    const stateGauge = metrics.breakerState.labels(labels);
    stateGauge.set(BREAKER_STATE.closed);
    const setState = (value: number) => this.ownsGauges && stateGauge.set(value);
    this.breaker.on('open', () => setState(BREAKER_STATE.open));
    this.breaker.on('halfOpen', () => setState(BREAKER_STATE.halfOpen));
    this.breaker.on('close', () => setState(BREAKER_STATE.closed));
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
      {
        queued: (s) => {
          queueTimer.observe(s);
          this.stats.queued(s * 1000);
        },
        batch: (rows) => batchSize.observe(rows),
        depth: (rows) => depth.set(rows),
      },
    );
  }

  /**
   * Opens the runtime, checks its output width against the manifest, and warms it up. In worker mode
   * a worker whose call runs past the inference timeout is hung and gets replaced; inline, a call
   * cannot be interrupted (it computes on the event loop), so only its overrun is reported.
   */
  static async open(dir: string, manifest: Manifest, settings: VersionSettings, metrics: ServeMetrics, onWorkerEvent?: WorkerEventListener): Promise<ServedVersion> {
    // The runtime is opened first, so its events find the version through this holder.
    const self: { served?: ServedVersion } = {};
    const runtime = await SupervisedRuntime.open({
      open: () => openWarm(dir, manifest, settings),
      restartAttempts: settings.workerRestartAttempts,
      onEvent: (event) => {
        if (!self.served) return;
        self.served.workerEvent(event);
        onWorkerEvent?.(self.served, event);
      },
    });
    self.served = new ServedVersion(dir, manifest, runtime, settings, metrics);
    return self.served;
  }

  private get gaugeKey(): string {
    return `${this.name}\n${this.version}`;
  }

  private get ownsGauges(): boolean {
    return gaugeOwners.get(this.metrics)?.get(this.gaugeKey) === this;
  }

  private workerEvent(event: SupervisorEvent): void {
    if (this.disposed || !this.ownsGauges) return;
    const labels = { model: this.name, version: String(this.version) };
    if (event.type === 'broken') {
      this.metrics.workerRestarts.labels({ ...labels, reason: event.reason }).inc();
      this.metrics.workerUp.labels(labels).set(0);
    } else if (event.type === 'restarted') {
      this.metrics.workerUp.labels(labels).set(1);
    }
  }

  /** Whether the runtime answers now (false while its worker is being replaced, or after giving up). */
  get canServe(): boolean {
    return !this.disposed && this.runtime.health.state === 'ok';
  }

  get health(): RuntimeHealth {
    return this.runtime.health;
  }

  /** Why the version cannot answer now; undefined while it can. */
  get healthError(): string | undefined {
    return this.runtime.describeHealth();
  }

  private unavailable(why: string): DriftgateError {
    return new DriftgateError('MODEL_NOT_READY', `model "${this.name}" version ${this.version} cannot answer now: ${why}`, { retryAfterSeconds: 1 });
  }

  private async fire(input: Float32Array, rows: number): Promise<Float32Array> {
    // A broken runtime is not the model failing: answer at once, without a breaker call.
    const broken = this.runtime.describeHealth();
    if (broken) throw this.unavailable(broken);
    try {
      return await this.breaker.fire(input, rows);
    } catch (err) {
      if (err instanceof RuntimeUnavailableError) throw this.unavailable(err.message);
      const rejection = breakerRejection(err);
      if (rejection === 'open') {
        throw new DriftgateError('BREAKER_OPEN', `model "${this.name}" version ${this.version} is failing; its circuit breaker is open`, {
          retryAfterSeconds: 5,
        });
      }
      if (rejection === 'timeout') {
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
    const started = performance.now();
    const outputs = this.batcher.submit(input, rows);
    outputs.then(
      () => this.stats.succeeded(rows, performance.now() - started),
      () => this.stats.failed(performance.now() - started),
    );
    return outputs;
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
    if (this.ownsGauges) {
      gaugeOwners.get(this.metrics)?.delete(this.gaugeKey);
      const labels = { model: this.name, version: String(this.version) };
      for (const metric of [this.metrics.breakerState, this.metrics.queueRows, this.metrics.workerUp]) metric.remove(labels);
    }
    await this.runtime.dispose();
  }
}
