// TensorFlow.js layers and graph models, read from the standard file layout (no tfjs-node needed).
// tfjs computes on the calling thread with the wasm or cpu backend, and on libtensorflow's threads
// with tfjs-node.
import { initTf, tf, loadGraphModelFromDir, loadLayersModelFromDir } from '../../core/tfjs.js';
import type { Manifest } from '../../core/index.js';
import type { ModelRuntime, RuntimeOptions } from './types.js';

type Predictor = (x: tf.Tensor2D) => tf.Tensor;

export class TfjsRuntime implements ModelRuntime {
  private constructor(
    readonly format: 'tfjs-layers' | 'tfjs-graph',
    private readonly predict: Predictor,
    private readonly release: () => void,
    private readonly width: number,
  ) {}

  static async load(dir: string, manifest: Manifest, width: number, backend: RuntimeOptions['tfjsBackend']): Promise<TfjsRuntime> {
    await initTf(backend);
    if (manifest.format === 'tfjs-graph') {
      const model = await loadGraphModelFromDir(dir);
      const predict: Predictor = (x) => {
        const out = model.execute(x, manifest.output && model.outputNodes.includes(manifest.output) ? manifest.output : undefined);
        return Array.isArray(out) ? out[0]! : (out as tf.Tensor);
      };
      return new TfjsRuntime('tfjs-graph', predict, () => model.dispose(), width);
    }
    const model = await loadLayersModelFromDir(dir);
    const predict: Predictor = (x) => {
      const out = model.predict(x);
      return Array.isArray(out) ? out[0]! : out;
    };
    return new TfjsRuntime('tfjs-layers', predict, () => model.dispose(), width);
  }

  async run(input: Float32Array, rows: number): Promise<Float32Array> {
    const out = tf.tidy(() => this.predict(tf.tensor2d(input, [rows, this.width], 'float32')));
    try {
      const data = await out.data();
      return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
    } finally {
      out.dispose();
    }
  }

  async dispose(): Promise<void> {
    this.release();
  }
}
