// ONNX models through onnxruntime-node. In onnxruntime-node 1.23 `session.run` only defers to
// setImmediate and then computes synchronously on the calling thread (microsoft/onnxruntime#19611),
// which is why the gateway runs models in worker threads by default (worker.ts).
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Manifest } from '../../core/index.js';
import type { ModelRuntime, RuntimeOptions } from './types.js';

export class OnnxRuntime implements ModelRuntime {
  readonly format = 'onnx' as const;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly inputName: string,
    private readonly outputName: string,
    private readonly width: number,
  ) {}

  static async load(dir: string, manifest: Manifest, width: number, options: RuntimeOptions['onnx']): Promise<OnnxRuntime> {
    const session = await ort.InferenceSession.create(join(dir, 'model.onnx'), {
      intraOpNumThreads: options.intraOpThreads,
      interOpNumThreads: options.interOpThreads,
      graphOptimizationLevel: options.graphOptimization,
      executionMode: 'sequential',
    });
    const check = (names: readonly string[], wanted: string, what: string) => {
      if (!names.includes(wanted)) {
        throw new Error(`model.onnx has no ${what} named "${wanted}" (it has ${names.join(', ') || 'none'})`);
      }
    };
    try {
      check(session.inputNames, manifest.input, 'input');
      check(session.outputNames, manifest.output, 'output');
    } catch (err) {
      await session.release();
      throw err;
    }
    return new OnnxRuntime(session, manifest.input, manifest.output, width);
  }

  async run(input: Float32Array, rows: number): Promise<Float32Array> {
    const tensor = new ort.Tensor('float32', input, [rows, this.width]);
    const result = await this.session.run({ [this.inputName]: tensor }, [this.outputName]);
    const out = result[this.outputName];
    if (!out) throw new Error(`model produced no output "${this.outputName}"`);
    const data = out.data;
    if (data instanceof Float32Array) return data;
    if (data instanceof Float64Array) return Float32Array.from(data);
    throw new Error(`output "${this.outputName}" has type ${out.type}; expected float32`);
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
