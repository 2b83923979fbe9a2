// Runs a training job (trainModel + writeVersion) in a worker thread. tfjs on the wasm and cpu backends
// computes on the thread that calls it, so training in the gateway's or monitor's thread would stall
// every request and timer for minutes. In a worker the caller's event loop stays free, the job can be
// cancelled, and a job that ignores the cancel can be cut off by terminating its thread.
import type { Worker } from 'node:worker_threads';
import { DriftgateError, startModuleWorker } from '../core/index.js';
import type { Manifest } from '../core/index.js';
import type { TrainEvent, TrainOptions } from './types.js';
import type { WriteVersionOptions } from './version-writer.js';
import type { FromTrainingWorker, SerializedError, TrainingWorkerInit, TrainResultSummary } from './worker-protocol.js';

export type { TrainResultSummary } from './worker-protocol.js';

export interface RunTrainingOptions extends Pick<WriteVersionOptions, 'format' | 'stage' | 'trainingSample' | 'inherit' | 'lineage'> {
  /** Model repository the version is written into. */
  repo: string;
  /** Also write `model.onnx` beside the tfjs files. @defaultValue false */
  onnx?: boolean;
  /** Write `report.html`. @defaultValue true */
  report?: boolean;
  /** Progress: stages, epochs, trials. Called on the caller's thread. */
  onEvent?: (event: TrainEvent) => void;
  /** Aborting cancels the run; it rejects with an AbortError and writes nothing. */
  signal?: AbortSignal;
  /**
   * How long a cancelled worker may take to stop at its next batch before its thread is terminated.
   * @defaultValue 5000
   */
  cancelGraceMs?: number;
}

export type TrainingOutcome = TrainResultSummary & {
  version: number;
  dir: string;
  /** The manifest written. */
  manifest: Manifest;
  /** Why `model.onnx` was not written although asked for. */
  onnxError?: string;
};

/**
 * Trains in a worker thread and writes the result as the next version of `options.modelName`.
 *
 * Cancelling (via `signal`) while training runs raises a flag the worker reads at every batch, so it
 * stops at the next one; a worker that has not finished `cancelGraceMs` later is terminated. Either
 * way the promise rejects with an Error named `AbortError`, and the repository is untouched (a
 * version is written to a temporary directory and renamed only at the end). Once training is over and the version is being
 * written, cancelling has no effect: the write takes a moment and then the run resolves normally.
 *
 * @throws DriftgateError with the worker's error code (INVALID_INPUT for bad data or options) when the
 *   run fails; an AbortError when cancelled.
 */
export async function runTraining(options: TrainOptions, opts: RunTrainingOptions): Promise<TrainingOutcome> {
  if (opts.signal?.aborted) throw abortError();
  // onnxruntime-node's addon registers only once per process unless the main thread has loaded it:
  // a second worker that imports it would fail with "Module did not self-register". Loading it here
  // first lets every training worker (and the gateway's model workers) use it.
  if (opts.onnx || opts.format === 'onnx') await import('onnxruntime-node');
  const cancelFlag = new Int32Array(new SharedArrayBuffer(4));
  const init: TrainingWorkerInit = {
    options,
    write: {
      repo: opts.repo,
      onnx: opts.onnx ?? false,
      report: opts.report ?? true,
      ...(opts.format ? { format: opts.format } : {}),
      ...(opts.stage ? { stage: opts.stage } : {}),
      ...(opts.trainingSample !== undefined ? { trainingSample: opts.trainingSample } : {}),
      ...(opts.inherit ? { inherit: opts.inherit } : {}),
      ...(opts.lineage ? { lineage: opts.lineage } : {}),
    },
    cancelFlag,
  };
  const worker = startWorker(init);
  const grace = opts.cancelGraceMs ?? 5000;

  return new Promise<TrainingOutcome>((resolve, reject) => {
    let settled = false;
    let writing = false;
    let killTimer: NodeJS.Timeout | undefined;
    const finish = (outcome: { ok: true; value: TrainingOutcome } | { ok: false; error: Error }): void => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      void worker.terminate();
      if (outcome.ok) resolve(outcome.value);
      else reject(outcome.error);
    };
    const onAbort = (): void => {
      if (writing || settled) return;
      Atomics.store(cancelFlag, 0, 1);
      killTimer = setTimeout(() => finish({ ok: false, error: abortError() }), grace);
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    worker.on('message', (msg: FromTrainingWorker) => {
      switch (msg.type) {
        case 'event':
          try {
            opts.onEvent?.(msg.event);
          } catch {
            // a failing progress callback must not take the run down
          }
          return;
        case 'writing':
          writing = true;
          if (killTimer) clearTimeout(killTimer);
          return;
        case 'done': {
          const { summary, version, dir, manifest, onnxError } = msg;
          return finish({ ok: true, value: { ...summary, version, dir, manifest, ...(onnxError ? { onnxError } : {}) } });
        }
        case 'failed':
          return finish({ ok: false, error: rebuildError(msg.error) });
      }
    });
    worker.on('error', (err) => finish({ ok: false, error: new Error(`training worker crashed: ${err.message}`, { cause: err }) }));
    worker.on('exit', (code) => finish({ ok: false, error: opts.signal?.aborted ? abortError() : new Error(`training worker exited (code ${code}) without a result`) }));
  });
}

function startWorker(init: TrainingWorkerInit): Worker {
  return startModuleWorker(import.meta.url, 'worker-main', { workerData: init });
}

/** The worker's error on this side: same name and message, and the catalogue code when it had one. */
function rebuildError(e: SerializedError): Error {
  if (e.name === 'AbortError') return abortError();
  const err = e.code ? new DriftgateError(e.code, e.message) : new Error(e.message);
  err.name = e.name;
  return err;
}

function abortError(): Error {
  const err = new Error('training was cancelled');
  err.name = 'AbortError';
  return err;
}
