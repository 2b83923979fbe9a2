// The port every model format plugs into. A runtime takes a dense float32 matrix (rows x input
// width, already preprocessed) and returns the model's output matrix (rows x output width).
import type { Manifest } from '../../core/index.js';

export interface ModelRuntime {
  readonly format: Manifest['format'];
  /** Runs the model on `rows` rows packed row-major in `input`; resolves with rows x outputWidth values. */
  run(input: Float32Array, rows: number): Promise<Float32Array>;
  /** Frees native memory and tensors. The runtime is unusable afterwards. */
  dispose(): Promise<void>;
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
