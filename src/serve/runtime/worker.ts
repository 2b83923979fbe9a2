// Runs a model in a worker thread of its own. onnxruntime-node (1.23) and tfjs on wasm compute
// synchronously on the thread that calls them; on the gateway's event loop a long batch would stall
// every other request, health check and timer. In a worker, the event loop stays free: timeouts fire,
// other models answer, and a stuck model can be cut off by terminating its thread.
import { Worker } from 'node:worker_threads';
import type { Manifest } from '../../core/index.js';
import type { ModelRuntime, RuntimeOptions } from './types.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';

// The built package starts the compiled worker-main.js. Under tsx (tests, development) the sources
// are .ts, and Node 20 does not carry tsx's loader into worker threads, so a small bootstrap
// registers it in the worker first.
const fromSource = import.meta.url.endsWith('.ts');
const ENTRY = new URL(`./worker-main${fromSource ? '.ts' : '.js'}`, import.meta.url);

function startWorker(init: WorkerInit): Worker {
  const options = { workerData: init, stdout: false, stderr: false };
  if (!fromSource) return new Worker(ENTRY, options);
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(ENTRY.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

interface Pending {
  resolve: (out: Float32Array) => void;
  reject: (err: Error) => void;
}

export class WorkerRuntime implements ModelRuntime {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private broken: Error | undefined;

  private constructor(
    readonly format: Manifest['format'],
    private readonly worker: Worker,
  ) {
    worker.on('message', (msg: FromWorker) => {
      if (msg.type !== 'result' && msg.type !== 'error') return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.type === 'result') p.resolve(msg.output);
      else p.reject(new Error(msg.message));
    });
    const fail = (err: Error) => {
      this.broken = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', (err) => fail(new Error(`model worker crashed: ${err.message}`)));
    worker.on('exit', (code) => fail(new Error(`model worker exited (code ${code})`)));
  }

  static load(dir: string, manifest: Manifest, options: RuntimeOptions): Promise<WorkerRuntime> {
    const init: WorkerInit = { dir, manifest, options };
    const worker = startWorker(init);
    return new Promise((resolve, reject) => {
      const onMessage = (msg: FromWorker) => {
        if (msg.type === 'ready') {
          cleanup();
          resolve(new WorkerRuntime(manifest.format, worker));
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
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const msg: ToWorker = { type: 'run', id, input, rows };
      this.worker.postMessage(msg);
    });
  }

  /** Calls waiting in (or sent to) the worker. */
  get backlog(): number {
    return this.pending.size;
  }

  async dispose(): Promise<void> {
    if (!this.broken) {
      const done = new Promise<void>((resolve) => {
        const onMessage = (msg: FromWorker) => {
          if (msg.type === 'disposed') {
            this.worker.off('message', onMessage);
            resolve();
          }
        };
        this.worker.on('message', onMessage);
        this.worker.once('exit', () => resolve());
      });
      const msg: ToWorker = { type: 'dispose' };
      this.worker.postMessage(msg);
      await Promise.race([done, new Promise((r) => setTimeout(r, 2000).unref())]);
    }
    this.broken ??= new Error('the model was unloaded');
    await this.worker.terminate();
  }
}
