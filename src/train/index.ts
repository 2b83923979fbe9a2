// The training context's public surface: data preparation, evaluation, networks and base models,
// fine-tuning model surgery, and ONNX export/import.
export { exportLayersModelToOnnx } from './onnx-export.js';
export type { OnnxExportOptions } from './onnx-export.js';
export { importOnnxDense } from './onnx-import.js';
export type { OnnxImportOptions } from './onnx-import.js';
export {
  buildNetwork,
  describeNetwork,
  networkSpecSchema,
  hiddenLayerSpecSchema,
  outputLayerSpecSchema,
  HIDDEN_ACTIVATIONS,
  OUTPUT_ACTIVATIONS,
  INITIALIZERS,
  streamDropoutSeeds,
  deriveSeed,
} from './network.js';
export type { NetworkSpec, NetworkSpecInput, HiddenLayerSpec, OutputLayerSpec, HiddenActivation, OutputActivation, InitializerName, LayerSummary } from './network.js';
export {
  loadBaseModel,
  freezeLayers,
  unfreezeLayers,
  replaceOutput,
  withNewHead,
  featureExtractor,
  precomputeFeatures,
  buildHead,
  stackModels,
  headSpecSchema,
  ONNX_MODEL_FILE,
} from './base-model.js';
export type { BaseModel, NewOutputOptions, HeadSpecInput } from './base-model.js';
export * from './data/index.js';
export * from './eval/index.js';
