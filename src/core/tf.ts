// The one place the rest of driftgate gets TensorFlow.js from, and the one place that picks its backend.
//
// Every module imports `tf` from here, so tfjs-core is a single instance and the backend chosen by
// `initTf` is the backend every model runs on. The native backend (@tensorflow/tfjs-node) is an optional
// dependency that often cannot be installed; without it the WebAssembly backend is the fast path, and the
// pure-JS cpu backend is the last resort.
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describeError } from './errors.js';

export { tf };

/** Which backend to ask for. `auto` tries node, then wasm, then cpu. */
export type TfBackendPreference = 'auto' | 'node' | 'wasm' | 'cpu';

/** Backend names as tfjs registers them, per explicit preference. */
const BACKEND_NAME: Record<Exclude<TfBackendPreference, 'auto'>, string> = {
  node: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};

// The package name sits in a variable so TypeScript does not demand type declarations for an optional
// dependency that is usually absent.
const TFJS_NODE_PACKAGE = '@tensorflow/tfjs-node';

let activeBackend: string | undefined;
// Calls are chained so two concurrent callers never race two setBackend calls against each other.
let queue: Promise<unknown> = Promise.resolve();

/**
 * Chooses and initialises the tfjs backend, once.
 *
 * Later calls return the active backend without touching it when they ask for `auto` or for the backend
 * that is already active; an explicit request for a different backend switches to it (and throws if
 * that backend cannot start). With `auto`, a backend that fails to load is skipped, so `auto` always
 * ends on at least `cpu`.
 *
 * @param preferred - backend to use. @defaultValue `'auto'`
 * @returns the active backend's name: `tensorflow` (tfjs-node), `wasm` or `cpu`.
 */
export async function initTf(preferred: TfBackendPreference = 'auto'): Promise<string> {
  const run = queue.then(
    () => selectBackend(preferred),
    () => selectBackend(preferred),
  );
  queue = run.catch(() => undefined);
  return run;
}

async function selectBackend(preferred: TfBackendPreference): Promise<string> {
  if (activeBackend !== undefined && (preferred === 'auto' || BACKEND_NAME[preferred] === activeBackend)) {
    return activeBackend;
  }
  quietTfjs();
  if (preferred !== 'auto') {
    activeBackend = await startBackend(preferred);
    return activeBackend;
  }
  for (const candidate of ['node', 'wasm'] as const) {
    try {
      activeBackend = await startBackend(candidate);
      return activeBackend;
    } catch (err) {
      // tfjs-node being absent is the normal case and stays quiet; one that is installed but unusable is
      // worth a warning, since the operator meant to have the native backend.
      if (err instanceof UnusableTfjsNode) process.emitWarning(err.message, 'DriftgateWarning');
    }
  }
  activeBackend = await startBackend('cpu');
  return activeBackend;
}

async function startBackend(kind: Exclude<TfBackendPreference, 'auto'>): Promise<string> {
  if (kind === 'node') await registerNodeBackend();
  if (kind === 'wasm') await registerWasmBackend();
  const name = BACKEND_NAME[kind];
  const restoreProcessHandlers = kind === 'wasm' ? snapshotProcessHandlers() : () => {};
  try {
    const ok = await tf.setBackend(name);
    if (!ok) throw new Error(`tfjs backend "${name}" failed to initialise`);
    await tf.ready();
  } finally {
    restoreProcessHandlers();
  }
  return tf.getBackend();
}

/**
 * The Emscripten glue of the wasm backend installs process-wide `uncaughtException` and
 * `unhandledRejection` listeners that rethrow, which pre-empts the application's own handlers (and makes
 * Node print a whole minified line of glue code with every crash). Nothing in tfjs needs them, so the
 * listeners that appear while the backend starts are taken off again.
 */
function snapshotProcessHandlers(): () => void {
  const exceptionListeners = new Set(process.listeners('uncaughtException'));
  const rejectionListeners = new Set(process.listeners('unhandledRejection'));
  return () => {
    for (const listener of process.listeners('uncaughtException')) {
      if (!exceptionListeners.has(listener)) process.removeListener('uncaughtException', listener);
    }
    for (const listener of process.listeners('unhandledRejection')) {
      if (!rejectionListeners.has(listener)) process.removeListener('unhandledRejection', listener);
    }
  };
}

async function registerNodeBackend(): Promise<void> {
  // TensorFlow's C library logs CPU feature notices to stderr on load unless told otherwise.
  process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '2';
  let tfnode: { version?: Record<string, string> };
  try {
    tfnode = (await import(TFJS_NODE_PACKAGE)) as typeof tfnode;
  } catch (err) {
    throw new Error(`${TFJS_NODE_PACKAGE} is not available: ${describeError(err)}`, { cause: err });
  }
  // tfjs-node registers its backend in the tfjs-core it resolves itself. When npm nested a second copy
  // (a version mismatch), that registration is invisible here and using it would mix two engines.
  if (tf.findBackendFactory(BACKEND_NAME.node) === null) {
    const theirs = tfnode.version?.['tfjs-core'] ?? 'unknown';
    throw new UnusableTfjsNode(
      `${TFJS_NODE_PACKAGE} loaded, but against tfjs-core ${theirs} while driftgate uses ${tf.version_core}; ` +
        'install matching versions to use the native backend',
    );
  }
}

/** tfjs-node loaded but cannot serve this tfjs instance (a different tfjs-core underneath). */
class UnusableTfjsNode extends Error {}

let wasmPathsSet = false;

async function registerWasmBackend(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (wasmPathsSet) return;
  // The Node build finds its .wasm files next to its own script, which breaks once the code is bundled
  // or relocated; pointing it at the installed package directory works in every layout.
  const require = createRequire(import.meta.url);
  const binary = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
  wasm.setWasmPaths(dirname(binary) + sep);
  wasmPathsSet = true;
}

/**
 * tfjs prints a "you are running in Node.js, install tfjs-node" banner the first time the cpu backend
 * holds data, and a platform-overwrite warning when tfjs-node loads. A gateway's log is not the place for
 * either; production mode turns tfjs's own console warnings off (it changes nothing else in 4.x).
 */
function quietTfjs(): void {
  tf.env().set('PROD', true);
}
