import type { Manifest } from '../../core/index.js';
import { openInThread } from './open.js';
import type { ModelRuntime, RuntimeOptions } from './types.js';
import { WorkerRuntime } from './worker.js';

export type { ModelRuntime, RuntimeOptions } from './types.js';
export { RuntimeUnavailableError } from './types.js';
export { OnnxRuntime } from './onnx.js';
export { TfjsRuntime } from './tfjs.js';
export { WorkerRuntime } from './worker.js';
export { SupervisedRuntime, restartDelayMs } from './supervisor.js';
export type { RestartReason, RuntimeHealth, SupervisorEvent, SupervisorOptions } from './supervisor.js';
export { openInThread } from './open.js';

/**
 * Opens the model files of one version: in a worker thread of its own (`options.thread: 'worker'`,
 * the default) or on the calling thread (`'inline'`).
 */
export function openRuntime(dir: string, manifest: Manifest, options: RuntimeOptions): Promise<ModelRuntime> {
  return options.thread === 'inline' ? openInThread(dir, manifest, options) : WorkerRuntime.load(dir, manifest, options);
}
