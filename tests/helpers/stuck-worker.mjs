// A model worker for tests that speaks driftgate's worker protocol (src/serve/runtime/worker-protocol.ts)
// but computes nothing: it answers all-zero input (the gateway's warm-up) with zeros, and spins in a
// JavaScript busy loop forever on any other input, as a runaway model would. Started with
// `WorkerRuntime.load(dir, manifest, options, new URL('./stuck-worker.mjs', import.meta.url))`.
import { parentPort, workerData } from 'node:worker_threads';

const outputs = workerData.manifest.labels?.length ?? 1;

parentPort.on('message', (msg) => {
  if (msg.type === 'crash') throw new Error(msg.message);
  if (msg.type === 'dispose') return parentPort.postMessage({ type: 'disposed' });
  if (msg.input.some((x) => x !== 0)) for (;;);
  parentPort.postMessage({ type: 'result', id: msg.id, output: new Float32Array(msg.rows * outputs) });
});
parentPort.postMessage({ type: 'ready', native: false });
