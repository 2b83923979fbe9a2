// The port every model format plugs into. A runtime takes a dense float32 matrix (rows x input
// width, already preprocessed) and returns the model's output matrix (rows x output width).
import type { Manifest } from '../../core/index.js';

export interface ModelRuntime {
  readonly format: Manifest['format'];
  /** Runs the model on `rows` rows packed row-major in `input`; resolves with rows x outputWidth values. */
  run(input: Float32Array, rows: number): Promise<Float32Array>;
  /** Frees native memory and tensors. The runtime is unusable afterwards. */
  dispose(): Promise<void>;
  /**
   * Runtimes that can break on their own (a worker thread that exits or crashes) call `listener`
   * once when that happens; their calls fail from then on. Not called after `dispose()` or `end()`.
   */
  onBroken?(listener: (err: Error) => void): void;
  /**
   * Stops using the runtime at once, for a runtime that no longer answers: calls waiting for it fail
   * with `reason`, and its resources are freed as soon as that is safe. Resolves when they are.
   */
  end?(reason: Error): Promise<void>;
}

/** A call failed because the runtime behind it is gone (its worker exited, or it was unloaded or replaced). */
export class RuntimeUnavailableError extends Error {
  readonly code = 'ERUNTIMEUNAVAILABLE';
  constructor(message: string) {
    super(message);
    this.name = 'RuntimeUnavailableError';
  }
}

export interface RuntimeOptions {
  /** Where the model computes: a worker thread of its own, or the calling thread. @defaultValue 'worker' */
  thread?: 'worker' | 'inline';
  onnx: {
    intraOpThreads: number;
    interOpThreads: number;
    graphOptimization: 'disabled' | 'basic' | 'extended' | 'all';
  };
  tfjsBackend: 'auto' | 'node' | 'wasm' | 'cpu';
}
