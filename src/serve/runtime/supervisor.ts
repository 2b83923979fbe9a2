// Keeps one version's runtime answering. When the runtime breaks (its worker thread exits or crashes)
// or hangs (the caller's time limit for a call passed while the call still waited: `timedOut`), it is
// ended and a fresh one is opened in its place: the first attempt at once, later ones after a doubling
// delay, at most `restartAttempts` in a row without a successful call in between. Meanwhile calls fail
// at once with RuntimeUnavailableError; after the last attempt the runtime stays failed until it is
// replaced from outside (the registry reloads the version).
import { describeError } from '../../core/index.js';
import { RuntimeUnavailableError } from './types.js';
import type { ModelRuntime } from './types.js';

/** Why a runtime was replaced: its thread exited or crashed, or a call ran past its time limit. */
export type RestartReason = 'exit' | 'timeout';

export type RuntimeHealth =
  | { state: 'ok' }
  | { state: 'restarting'; reason: RestartReason; error: string; attempt: number; lastAttemptError?: string }
  | { state: 'failed'; reason: RestartReason; error: string; attempts: number; lastAttemptError?: string };

export type SupervisorEvent =
  | { type: 'broken'; reason: RestartReason; error: string }
  | { type: 'restarted'; attempt: number; ms: number }
  /** `retryInMs` is undefined when this was the last attempt. */
  | { type: 'restart-failed'; attempt: number; error: string; retryInMs: number | undefined }
  /** No attempts left: the runtime stays failed. `error` says why, for status and logs. */
  | { type: 'gave-up'; error: string };

export interface SupervisorOptions {
  /** Opens a fresh runtime ready to take calls (warmed up and checked). */
  open: () => Promise<ModelRuntime>;
  /** Restart attempts in a row (without a successful call in between) before giving up; 0 never restarts. */
  restartAttempts: number;
  onEvent?: (event: SupervisorEvent) => void;
}

/** Delay before the first retry of a failed restart; it doubles up to {@link RESTART_MAX_DELAY_MS}. */
export const RESTART_FIRST_DELAY_MS = 250;
export const RESTART_MAX_DELAY_MS = 10_000;

/** Delay before restart attempt `attempt` (1-based) of a row: none for the first, then 250 ms doubling, capped. */
export function restartDelayMs(attempt: number): number {
  return attempt <= 1 ? 0 : Math.min(RESTART_MAX_DELAY_MS, RESTART_FIRST_DELAY_MS * 2 ** (attempt - 2));
}

/** One runtime in use, with the inputs of the calls it has not answered. */
interface Lease {
  runtime: ModelRuntime;
  waiting: Set<Float32Array>;
}

export class SupervisedRuntime implements ModelRuntime {
  readonly format: ModelRuntime['format'];
  private lease: Lease;
  private state: RuntimeHealth = { state: 'ok' };
  /** Restart attempts since the last successful call. */
  private streak = 0;
  private timer: NodeJS.Timeout | undefined;
  private disposed = false;

  private constructor(
    runtime: ModelRuntime,
    private readonly opts: SupervisorOptions,
  ) {
    this.format = runtime.format;
    this.lease = this.adopt(runtime);
  }

  /** Opens the first runtime; a failure here is a load failure and is thrown, not retried. */
  static async open(opts: SupervisorOptions): Promise<SupervisedRuntime> {
    return new SupervisedRuntime(await opts.open(), opts);
  }

  get health(): RuntimeHealth {
    return this.state;
  }

  /** The runtime in use now (a test handle: fault tests reach the worker through it). */
  get current(): ModelRuntime {
    return this.lease.runtime;
  }

  /** Why calls fail now, for error messages and status; undefined while healthy. */
  describeHealth(): string | undefined {
    const h = this.state;
    if (h.state === 'ok') return undefined;
    const what = h.reason === 'exit' ? `its worker broke (${h.error})` : `its worker hung (${h.error})`;
    const last = h.lastAttemptError ? `; last attempt: ${h.lastAttemptError}` : '';
    if (h.state === 'restarting') return `${what}; restarting it (attempt ${h.attempt} of ${this.opts.restartAttempts}${last})`;
    return `${what} and it was not restarted${h.attempts > 0 ? ` after ${h.attempts} attempt${h.attempts > 1 ? 's' : ''}${last}` : ''}`;
  }

  private adopt(runtime: ModelRuntime): Lease {
    const lease: Lease = { runtime, waiting: new Set() };
    runtime.onBroken?.((err) => this.replace(lease, 'exit', err));
    return lease;
  }

  run(input: Float32Array, rows: number): Promise<Float32Array> {
    if (this.state.state !== 'ok') return Promise.reject(new RuntimeUnavailableError(this.describeHealth() ?? 'the runtime is unavailable'));
    const lease = this.lease;
    let call: Promise<Float32Array>;
    try {
      call = lease.runtime.run(input, rows);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(describeError(err)));
    }
    lease.waiting.add(input);
    return call.then(
      (out) => {
        lease.waiting.delete(input);
        if (lease === this.lease) this.streak = 0;
        return out;
      },
      (err: unknown) => {
        lease.waiting.delete(input);
        throw err;
      },
    );
  }

  /**
   * The caller's time limit for the call on `input` (unknown: any call) passed. If that call still waits on the runtime
   * in use, the runtime is hung: it is ended (its waiting calls fail with `error`) and replaced. Only
   * for runtimes whose calls can be cut off (a worker thread); inline calls block the caller anyway.
   */
  timedOut(input: Float32Array | undefined, error: Error): void {
    const { waiting } = this.lease;
    if (input === undefined ? waiting.size > 0 : waiting.has(input)) this.replace(this.lease, 'timeout', error);
  }

  private replace(lease: Lease, reason: RestartReason, error: Error): void {
    if (this.disposed || lease !== this.lease || this.state.state !== 'ok') return;
    this.state = { state: 'restarting', reason, error: error.message, attempt: 0 };
    this.opts.onEvent?.({ type: 'broken', reason, error: error.message });
    // Calls waiting on the old runtime fail with `error` (after a hang, as timeouts).
    void (lease.runtime.end ? lease.runtime.end(error) : lease.runtime.dispose()).catch(() => undefined);
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    const h = this.state;
    if (this.disposed || h.state !== 'restarting') return;
    if (this.streak >= this.opts.restartAttempts) {
      this.state = { state: 'failed', reason: h.reason, error: h.error, attempts: h.attempt, ...(h.lastAttemptError ? { lastAttemptError: h.lastAttemptError } : {}) };
      this.opts.onEvent?.({ type: 'gave-up', error: this.describeHealth() ?? h.error });
      return;
    }
    this.streak++;
    h.attempt = this.streak;
    const attempt = this.streak;
    this.timer = setTimeout(() => void this.restart(attempt), restartDelayMs(attempt));
  }

  private async restart(attempt: number): Promise<void> {
    this.timer = undefined;
    const started = performance.now();
    let fresh: ModelRuntime;
    try {
      fresh = await this.opts.open();
    } catch (err) {
      const h = this.state;
      if (this.disposed || h.state !== 'restarting') return;
      h.lastAttemptError = describeError(err);
      const last = this.streak >= this.opts.restartAttempts;
      this.opts.onEvent?.({ type: 'restart-failed', attempt, error: h.lastAttemptError, retryInMs: last ? undefined : restartDelayMs(attempt + 1) });
      this.scheduleRestart();
      return;
    }
    if (this.disposed) {
      await fresh.dispose().catch(() => undefined);
      return;
    }
    this.lease = this.adopt(fresh);
    this.state = { state: 'ok' };
    this.opts.onEvent?.({ type: 'restarted', attempt, ms: Math.round(performance.now() - started) });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.timer);
    await this.lease.runtime.dispose();
  }
}
