// Predictors for `evaluateVersion` that do not need the gateway: a tfjs layers model held in memory (a
// challenger that is not written yet), or a version directory opened directly with tfjs or
// onnxruntime. They compute on the calling thread; the gateway's runtimes (src/serve) add worker
// threads, batching and timeouts on top, which scoring a held-out slice does not need.
import { join } from 'node:path';
import { inputWidth, readManifestAt } from '../core/index.js';
import { initTf, loadGraphModelFromDir, loadLayersModelFromDir, tf } from '../core/tfjs.js';
import type { Manifest } from '../core/index.js';
import { ONNX_MODEL_FILE } from './base-model.js';
import type { Predict, VersionPredictor } from './evaluate-version.js';

/**
 * A predictor running a tfjs layers model in inference mode. The model stays the caller's: dispose it
 * when done. Every tensor the predictor makes is freed before it resolves.
 * @param batchSize - rows per `predict` call inside tfjs. @defaultValue 256
 */
export function layersModelPredictor(model: tf.LayersModel, batchSize = 256): Predict {
  return async (matrix, rows) => {
    const width = matrix.length / rows;
    if (!Number.isInteger(width)) throw new RangeError(`layersModelPredictor: ${matrix.length} values do not make ${rows} rows`);
    return tf.tidy(() => {
      const out = model.predict(tf.tensor2d(matrix, [rows, width], 'float32'), { batchSize });
      return Float32Array.from((Array.isArray(out) ? out[0]! : out).dataSync());
    });
  };
}

/** A version opened for scoring; `dispose` frees its model or session. */
export interface OpenedVersion extends VersionPredictor {
  dir: string;
  /** What was opened: the served format, or the ONNX copy or tfjs files beside it. */
  format: Manifest['format'];
  dispose(): Promise<void>;
}

export interface OpenVersionOptions {
  /** The manifest, when the caller has read it already. @defaultValue read from `dir` */
  manifest?: Manifest;
  /**
   * Which files to run: the `served` format, or the `onnx` file or `tfjs` layers files that a version
   * may hold beside it (`artifacts.onnx`, `artifacts.tfjs`). @defaultValue `served`
   */
  use?: 'served' | 'onnx' | 'tfjs';
}

/**
 * Opens the model of a version directory for `evaluateVersion`: tfjs layers or graph files through the
 * core loader, ONNX through onnxruntime-node (loaded on demand).
 *
 * @throws Error when the manifest is missing or invalid, or the model files cannot be loaded.
 */
export async function openVersionPredictor(dir: string, opts: OpenVersionOptions = {}): Promise<OpenedVersion> {
  const manifest = opts.manifest ?? (await readManifestAt(dir));
  const use = opts.use ?? 'served';
  const format: Manifest['format'] = use === 'onnx' ? 'onnx' : use === 'tfjs' ? 'tfjs-layers' : manifest.format;
  const width = inputWidth(manifest.features);
  if (format === 'onnx') {
    // onnxruntime-node's addon must be loaded by the main thread before any worker loads it (see
    // runTraining); importing it here on demand keeps it out of processes that never score ONNX.
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(join(dir, ONNX_MODEL_FILE));
    const predict: Predict = async (matrix, rows) => {
      const result = await session.run({ [manifest.input]: new ort.Tensor('float32', matrix, [rows, width]) }, [manifest.output]);
      const data = result[manifest.output]?.data;
      if (data instanceof Float32Array) return data;
      if (data instanceof Float64Array) return Float32Array.from(data);
      throw new Error(`${join(dir, ONNX_MODEL_FILE)} gave no float output "${manifest.output}"`);
    };
    const dispose = async (): Promise<void> => {
      await session.release();
    };
    return { dir, format, manifest, predict, dispose };
  }
  await initTf();
  if (format === 'tfjs-graph') {
    const model = await loadGraphModelFromDir(dir);
    const output = model.outputNodes.includes(manifest.output) ? manifest.output : undefined;
    const predict: Predict = async (matrix, rows) =>
      tf.tidy(() => {
        const out = model.execute(tf.tensor2d(matrix, [rows, width], 'float32'), output);
        return Float32Array.from((Array.isArray(out) ? out[0]! : out).dataSync());
      });
    return { dir, format, manifest, predict, dispose: async () => model.dispose() };
  }
  const model = await loadLayersModelFromDir(dir);
  const dispose = async (): Promise<void> => {
    model.dispose();
  };
  return { dir, format, manifest, predict: layersModelPredictor(model), dispose };
}
