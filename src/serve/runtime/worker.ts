// Runs a model in a worker thread of its own. onnxruntime-node (1.23) and tfjs on wasm compute
// synchronously on the thread that calls them; on the gateway's event loop a long batch would stall
// every other request, health check and timer. In a worker, the event loop stays free: timeouts fire,
// other models answer, and a stuck model can be cut off (supervisor.ts replaces it).
//
// Ending a thread has one trap. worker.terminate() cannot interrupt native code: while onnxruntime-node
// (or tfjs-node) computes, the termination waits until the call returns, and the addon's N-API call
// into the terminating thread then throws a C++ exception that aborts the whole process. So a thread
// busy in native code is never terminated: it is told to skip whatever is queued behind the running
// call and to free the model, and it is terminated once it answers (when the call returns). A thread
// running JavaScript or WebAssembly (tfjs on wasm or cpu) is terminated at once.
import { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../core/index.js';
import type { Manifest } from '../../core/index.js';
import { RuntimeUnavailableError } from './types.js';
import type { ModelRuntime, RuntimeOptions } from './types.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';


/** How long dispose() lets calls already queued finish before it cancels them. */
const DISPOSE_WAIT_MS = 2000;

function startWorker(init: WorkerInit, entry?: URL): Worker {
  const options = { workerData: init, stdout: false, stderr: false };
  if (entry) return new Worker(entry, options);
  return startModuleWorker(import.meta.url, 'worker-main', options);
}

interface Pending {
  resolve: (out: Float32Array) => void;
  reject: (err: Error) => void;
}

export class WorkerRuntime implements ModelRuntime {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Run messages the thread has not answered, including those whose callers were already failed. */
  private unanswered = 0;
  /** Set once the runtime takes no more calls: unloaded, ended, or its thread is gone. */
  private unusable: Error | undefined;
  private readonly brokenListeners: ((err: Error) => void)[] = [];
  private disposeSent = false;
  private stopping: Promise<void> | undefined;
  private exitCode: number | undefined;
  /** Resolves with the thread's exit code once it has stopped. */
  readonly exited: Promise<number>;

  private constructor(
    readonly format: Manifest['format'],
    private readonly worker: Worker,
    /** The model computes in native code, where terminating the thread would abort the process. */
    private readonly native: boolean,
    private readonly cancel: Int32Array,
  ) {
    this.exited = new Promise((resolve) =>
      worker.once('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      }),
    );
    worker.on('message', (msg: FromWorker) => {
      if (msg.type !== 'result' && msg.type !== 'error') return;
      this.unanswered--;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.type === 'result') p.resolve(msg.output);
      else p.reject(new Error(msg.message));
    });
    worker.on('error', (err) => this.fail(new RuntimeUnavailableError(`model worker crashed: ${err.message}`), true));
    worker.on('exit', (code) => this.fail(new RuntimeUnavailableError(`model worker exited (code ${code})`), true));
  }

  /**
   * Starts a thread and opens the model in it. `entry` replaces the thread's script (tests use one
   * that speaks the same protocol, see worker-protocol.ts).
   */
  static load(dir: string, manifest: Manifest, options: RuntimeOptions, entry?: URL): Promise<WorkerRuntime> {
    const cancel = new SharedArrayBuffer(4);
    const init: WorkerInit = { dir, manifest, options, cancel };
    const worker = startWorker(init, entry);
    return new Promise((resolve, reject) => {
      const onMessage = (msg: FromWorker) => {
        if (msg.type === 'ready') {
          cleanup();
          resolve(new WorkerRuntime(manifest.format, worker, msg.native, new Int32Array(cancel)));
        } else if (msg.type === 'failed') {
          cleanup();
          void worker.terminate();
          reject(new Error(msg.message));
        }
      };
      const onError = (err: Error) => {
        cleanup();
        reject(new Error(`model worker failed to start: ${err.message}`));
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new Error(`model worker exited while loading (code ${code})`));
      };
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  }

  run(input: Float32Array, rows: number): Promise<Float32Array> {
    if (this.unusable) return Promise.reject(this.unusable);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.unanswered++;
      const msg: ToWorker = { type: 'run', id, input, rows };
      this.worker.postMessage(msg);
    });
  }

  /** Calls waiting in (or sent to) the worker. */
  get backlog(): number {
    return this.pending.size;
  }

  /** The worker thread's id, to tell a replaced thread from its successor. */
  get threadId(): number {
    return this.worker.threadId;
  }

  onBroken(listener: (err: Error) => void): void {
    this.brokenListeners.push(listener);
  }

  /**
   * Makes the thread throw an uncaught error at its next free moment (never inside a native call),
   * as a crash would: the thread exits and `onBroken` listeners hear of it. For fault tests and drills.
   */
  crash(message = 'crash requested'): void {
    const msg: ToWorker = { type: 'crash', message };
    this.worker.postMessage(msg);
  }

  private fail(err: Error, unexpected: boolean): void {
    const first = this.unusable === undefined;
    this.unusable ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    if (first && unexpected) for (const listener of this.brokenListeners) listener(err);
  }

  end(reason: Error): Promise<void> {
    this.fail(reason, false);
    Atomics.store(this.cancel, 0, 1);
    return this.stopThread();
  }

  private sendDispose(): void {
    if (this.disposeSent || this.exitCode !== undefined) return;
    this.disposeSent = true;
    const msg: ToWorker = { type: 'dispose' };
    this.worker.postMessage(msg);
  }

  /** Terminates the thread as soon as that is safe (see the top of this file); resolves once it stopped. */
  private stopThread(): Promise<void> {
    this.stopping ??= (() => {
      if (this.exitCode !== undefined) return Promise.resolve();
      if (this.native && this.unanswered > 0) {
        // A call is (or may be) inside native code. Let it return; the thread then skips the cancelled
        // calls behind it, frees the model and answers `disposed`. (Exiting the process meanwhile
        // would not help: Node waits for the call at exit too, and then aborts.)
        this.worker.on('message', (msg: FromWorker) => {
          if (msg.type === 'disposed') void this.worker.terminate();
        });
        this.sendDispose();
        return this.exited.then(() => undefined);
      }
      return this.worker.terminate().then(() => undefined);
    })();
    return this.stopping;
  }

  async dispose(): Promise<void> {
    if (!this.unusable) {
      // Refuse new calls, let the queued ones finish, then let the thread free the model.
      this.unusable = new RuntimeUnavailableError('the model was unloaded');
      const done = new Promise<void>((resolve) => {
        const onMessage = (msg: FromWorker) => {
          if (msg.type === 'disposed') {
            this.worker.off('message', onMessage);
            resolve();
          }
        };
        this.worker.on('message', onMessage);
        void this.exited.then(() => resolve());
      });
      this.sendDispose();
      await Promise.race([done, new Promise((r) => setTimeout(r, DISPOSE_WAIT_MS).unref())]);
    }
    this.fail(this.unusable, false);
    Atomics.store(this.cancel, 0, 1);
    // Waits for a call still inside native code to return (see the top of this file).
    await this.stopThread();
  }
}
