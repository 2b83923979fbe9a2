// Entry point of a model's worker thread: opens the model with the in-thread runtime and answers
// run requests one at a time, in order.
import { parentPort, workerData } from 'node:worker_threads';
import { describeError } from '../../core/index.js';
import { tf } from '../../core/tfjs.js';
import { openInThread } from './open.js';
import type { ModelRuntime } from './types.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';

const port = parentPort!;
const send = (msg: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);
const init = workerData as WorkerInit;
const cancelled = new Int32Array(init.cancel);

let runtime: ModelRuntime | undefined;
let queue: Promise<void> = Promise.resolve();

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'crash') throw new Error(msg.message);
  queue = queue.then(async () => {
    if (msg.type === 'dispose') {
      await runtime?.dispose();
      runtime = undefined;
      send({ type: 'disposed' });
      return;
    }
    if (Atomics.load(cancelled, 0) === 1) return send({ type: 'error', id: msg.id, message: 'the call was cancelled: the gateway gave up on this thread' });
    if (!runtime) return send({ type: 'error', id: msg.id, message: 'the model is not open' });
    try {
      const output = await runtime.run(msg.input, msg.rows);
      // Copy into a buffer of our own so the transfer never detaches memory the runtime still uses.
      const owned = output.byteOffset === 0 && output.byteLength === output.buffer.byteLength ? output.slice() : Float32Array.from(output);
      send({ type: 'result', id: msg.id, output: owned }, [owned.buffer as ArrayBuffer]);
    } catch (err) {
      send({ type: 'error', id: msg.id, message: describeError(err) });
    }
  });
});

openInThread(init.dir, init.manifest, init.options).then(
  (opened) => {
    runtime = opened;
    // onnxruntime-node and tfjs-node compute in native code; tfjs on wasm or cpu runs as JavaScript.
    send({ type: 'ready', native: opened.format === 'onnx' || tf.getBackend() === 'tensorflow' });
  },
  (err: unknown) => send({ type: 'failed', message: describeError(err) }),
);
