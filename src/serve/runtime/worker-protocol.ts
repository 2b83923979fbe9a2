// Messages between the gateway thread and a model's worker thread.
import type { Manifest } from '../../core/index.js';
import type { RuntimeOptions } from './types.js';

export interface WorkerInit {
  dir: string;
  manifest: Manifest;
  options: RuntimeOptions;
  /**
   * One Int32 shared with the gateway thread; set to 1 when the gateway gave up on this thread. Calls
   * queued behind a hung one are then answered with an error instead of computed. It is read between
   * calls, when the thread may be blocked in native code and deaf to messages.
   */
  cancel: SharedArrayBuffer;
}

export type ToWorker =
  | { type: 'run'; id: number; input: Float32Array; rows: number }
  | { type: 'dispose' }
  /** Throws an uncaught error in the thread, as a crash would (fault tests and drills). */
  | { type: 'crash'; message: string };

export type FromWorker =
  /** `native`: the model computes in a native addon, where terminating the thread is unsafe (worker.ts). */
  | { type: 'ready'; native: boolean }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; output: Float32Array }
  | { type: 'error'; id: number; message: string }
  | { type: 'disposed' };
