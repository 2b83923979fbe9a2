// Messages between `runTraining` (the caller's thread) and the training worker (`worker-main.ts`).
// Everything here crosses a thread boundary by structured clone: plain data only, no models or
// tensors.
import type { ErrorCode, Manifest } from '../core/index.js';
import type { LayerSummary } from './network.js';
import type { TrainEvent, TrainOptions, TrainResult } from './types.js';
import type { WriteVersionOptions } from './version-writer.js';

/** Where and how the worker writes the version once training succeeds. */
export interface WorkerWrite extends Pick<WriteVersionOptions, 'format' | 'stage' | 'trainingSample' | 'inherit' | 'lineage'> {
  repo: string;
  onnx: boolean;
  report: boolean;
}

export interface TrainingWorkerInit {
  options: TrainOptions;
  write: WorkerWrite;
  /**
   * One Int32 in shared memory: 0 while the run may go on, 1 once the caller cancelled. Shared memory
   * rather than a message, because tfjs keeps the worker's event loop busy for seconds at a time and a
   * message would wait that long; the flag is read synchronously at every batch.
   */
  cancelFlag: Int32Array;
}

/**
 * What comes back from a run: the whole result except the model, which stays in the worker and is
 * freed there (its layers are described in `network`), and the split rows, which only the writer needs.
 */
export type TrainResultSummary = Omit<TrainResult, 'model' | 'splitRows'> & { network: LayerSummary[] };

export interface SerializedError {
  name: string;
  message: string;
  code?: ErrorCode;
}

export type FromTrainingWorker =
  | { type: 'event'; event: TrainEvent }
  /** Training is over and the version is being written; cancelling no longer stops it. */
  | { type: 'writing' }
  | { type: 'done'; summary: TrainResultSummary; version: number; dir: string; manifest: Manifest; onnxError?: string }
  | { type: 'failed'; error: SerializedError };
