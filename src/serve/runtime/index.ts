import type { Manifest } from '../../core/index.js';
import { inputWidth } from '../../core/index.js';
import { OnnxRuntime } from './onnx.js';
import { TfjsRuntime } from './tfjs.js';
import type { ModelRuntime, RuntimeOptions } from './types.js';

export type { ModelRuntime, RuntimeOptions } from './types.js';
export { OnnxRuntime } from './onnx.js';
export { TfjsRuntime } from './tfjs.js';

/** Opens the model files of one version directory with the runtime its manifest names. */
export async function openRuntime(dir: string, manifest: Manifest, options: RuntimeOptions): Promise<ModelRuntime> {
  const width = inputWidth(manifest.features);
  if (manifest.format === 'onnx') return OnnxRuntime.load(dir, manifest, width, options.onnx);
  return TfjsRuntime.load(dir, manifest, width, options.tfjsBackend);
}
