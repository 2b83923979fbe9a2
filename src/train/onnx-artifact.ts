// The optional ONNX copy of a trained version. The export is only written when onnxruntime, fed the
// same rows, gives the same outputs as tfjs: an ONNX file that silently computes something else would
// be worse than none.
import { describeError, seededRandom } from '../core/index.js';
import { tf } from '../core/tfjs.js';
import { exportLayersModelToOnnx } from './onnx-export.js';

/** Largest |tfjs - onnxruntime| / max(1, |tfjs|) accepted on the check rows. */
const PARITY_TOLERANCE = 1e-4;
const CHECK_ROWS = 64;

export type OnnxArtifact = { ok: true; bytes: Uint8Array; maxDifference: number } | { ok: false; reason: string };

/**
 * Exports the model to ONNX and checks it against tfjs on seeded random rows. The rows are drawn from
 * N(0, 1.5²), the range a standardized input lives in; parity there is what the exporter promises.
 * Never throws: an unsupported layer or a parity failure comes back as `{ ok: false, reason }`.
 */
export async function exportCheckedOnnx(model: tf.LayersModel, names: { inputName: string; outputName: string }): Promise<OnnxArtifact> {
  let bytes: Uint8Array;
  try {
    bytes = exportLayersModelToOnnx(model, names);
  } catch (err) {
    return { ok: false, reason: describeError(err) };
  }
  try {
    const width = model.inputs[0]?.shape[1];
    if (typeof width !== 'number') return { ok: false, reason: 'the model has no fixed input width' };
    const input = gaussianRows(CHECK_ROWS, width, 7);
    const want = tf.tidy(() => (model.predict(tf.tensor2d(input, [CHECK_ROWS, width])) as tf.Tensor).dataSync() as Float32Array);
    // Loaded on demand: most runs do not export, and onnxruntime's native addon is best not loaded
    // into a worker thread that does not need it (see runTraining in worker.ts).
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(bytes);
    try {
      const out = await session.run({ [names.inputName]: new ort.Tensor('float32', input, [CHECK_ROWS, width]) });
      const got = out[names.outputName]?.data as Float32Array | undefined;
      if (!got || got.length !== want.length) return { ok: false, reason: 'the exported model gives outputs of another shape' };
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i]! - got[i]!) / Math.max(1, Math.abs(want[i]!)));
      if (!(worst <= PARITY_TOLERANCE)) {
        return { ok: false, reason: `the exported model differs from tfjs by up to ${worst.toExponential(2)} (tolerance ${PARITY_TOLERANCE})` };
      }
      return { ok: true, bytes, maxDifference: worst };
    } finally {
      await session.release();
    }
  } catch (err) {
    return { ok: false, reason: `onnxruntime could not run the export: ${describeError(err)}` };
  }
}

function gaussianRows(rows: number, width: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const out = new Float32Array(rows * width);
  for (let i = 0; i < out.length; i++) {
    const u = 1 - random();
    out[i] = 1.5 * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  }
  return out;
}
