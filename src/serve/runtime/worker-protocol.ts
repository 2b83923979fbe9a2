// Messages between the gateway thread and a model's worker thread.
import type { Manifest } from '../../core/index.js';
import type { RuntimeOptions } from './types.js';

export interface WorkerInit {
  dir: string;
  manifest: Manifest;
  options: RuntimeOptions;
}

export type ToWorker = { type: 'run'; id: number; input: Float32Array; rows: number } | { type: 'dispose' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; output: Float32Array }
  | { type: 'error'; id: number; message: string }
  | { type: 'disposed' };
