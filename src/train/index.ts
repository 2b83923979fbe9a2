// The training context's public surface.
export { exportLayersModelToOnnx } from './onnx-export.js';
export type { OnnxExportOptions } from './onnx-export.js';
