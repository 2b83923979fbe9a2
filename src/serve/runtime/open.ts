import type { Manifest } from '../../core/index.js';
import { inputWidth } from '../../core/index.js';
import { OnnxRuntime } from './onnx.js';
import { TfjsRuntime } from './tfjs.js';
import type { ModelRuntime, RuntimeOptions } from './types.js';

/** Opens a version's model files with the runtime its manifest names, on the calling thread. */
export function openInThread(dir: string, manifest: Manifest, options: RuntimeOptions): Promise<ModelRuntime> {
  const width = inputWidth(manifest.features);
  if (manifest.format === 'onnx') return OnnxRuntime.load(dir, manifest, width, options.onnx);
  return TfjsRuntime.load(dir, manifest, width, options.tfjsBackend);
}
