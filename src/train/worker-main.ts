// Entry point of a training worker thread: trains, writes the version, and sends back a summary. The
// model lives and dies here; only plain data crosses to the caller.
import { parentPort, workerData } from 'node:worker_threads';
import { isDriftgateError } from '../core/index.js';
import { describeNetwork } from './network.js';
import { trainModel } from './trainer.js';
import type { TrainResult } from './types.js';
import { writeVersion } from './version-writer.js';
import type { FromTrainingWorker, SerializedError, TrainingWorkerInit, TrainResultSummary } from './worker-protocol.js';

const port = parentPort!;
const init = workerData as TrainingWorkerInit;
const send = (msg: FromTrainingWorker): void => port.postMessage(msg);
const controller = new AbortController();
linkToCancelFlag(controller, init.cancelFlag);

/**
 * Makes `controller.signal.aborted` consult the shared cancel flag each time it is read. The trainer
 * reads it at every batch, so a cancel gets through within a batch even though tfjs rarely lets this
 * thread's event loop run (which is what a message or an 'abort' event would need).
 */
function linkToCancelFlag(controller: AbortController, flag: Int32Array): void {
  const signal = controller.signal;
  const nativeAborted = Object.getOwnPropertyDescriptor(AbortSignal.prototype, 'aborted')!.get!;
  Object.defineProperty(signal, 'aborted', {
    get: () => {
      if (!nativeAborted.call(signal) && Atomics.load(flag, 0) === 1) controller.abort(new Error('cancelled by the caller'));
      return nativeAborted.call(signal) as boolean;
    },
  });
}

async function run(): Promise<void> {
  const result = await trainModel(init.options, { signal: controller.signal, onEvent: (event) => send({ type: 'event', event }) });
  try {
    if (controller.signal.aborted) throw abortError();
    send({ type: 'writing' });
    const { repo, ...write } = init.write;
    const written = await writeVersion(repo, result, { ...write, model: init.options.modelName, training: init.options });
    send({
      type: 'done',
      summary: summarize(result),
      version: written.version,
      dir: written.dir,
      manifest: written.manifest,
      ...(written.onnxError ? { onnxError: written.onnxError } : {}),
    });
  } finally {
    result.model.dispose();
  }
}

function summarize(result: TrainResult): TrainResultSummary {
  const { model, splitRows: _rows, ...rest } = result;
  return { ...rest, network: describeNetwork(model) };
}

function serialize(err: unknown): SerializedError {
  if (controller.signal.aborted) return { name: 'AbortError', message: 'training was cancelled' };
  if (err instanceof Error) {
    return { name: err.name, message: err.message, ...(isDriftgateError(err) ? { code: err.code } : {}) };
  }
  return { name: 'Error', message: String(err) };
}

function abortError(): Error {
  const err = new Error('training was cancelled');
  err.name = 'AbortError';
  return err;
}

run().then(
  () => port.close(),
  (err: unknown) => {
    send({ type: 'failed', error: serialize(err) });
    port.close();
  },
);
