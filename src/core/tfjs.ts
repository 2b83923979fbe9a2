// The core's TensorFlow.js entry: backend set-up and the model.json + weights.bin file layout. Apart
// from index.ts because loading tfjs costs start-up time and memory that the monitor and the
// retrainer's consumers never need; serve's tfjs runtime and train import it from here.
export { initTf, tf } from './tf.js';
export type { TfBackendPreference } from './tf.js';
export {
  readTfjsArtifacts,
  loadLayersModelFromDir,
  loadGraphModelFromDir,
  saveLayersModelToDir,
  TFJS_MODEL_FILE,
  TFJS_WEIGHTS_FILE,
} from './tfjs-files.js';
