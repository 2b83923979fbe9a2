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
export { trainModel, inferTask, DEFAULT_SEED, DEFAULT_SPLIT, DEFAULT_HIDDEN, DEFAULT_HYPERPARAMETERS } from './trainer.js';
export { BestWeightsTracker, observeEpoch, resolveEarlyStopping, monitorMode, INITIAL_PATIENCE } from './early-stopping.js';
export type { EarlyStoppingConfig, PatienceState, MonitorMode } from './early-stopping.js';
export { sampleConfigurations, successiveHalving, rungEpochs, survivors, rungsNeeded, defaultMinEpochs, DEFAULT_SEARCH_SPACE } from './search.js';
export type { SearchSpace, SampleOptions, TrialRunner, HalvingOptions, SearchOutcome } from './search.js';
export { buildReferenceProfile } from './reference.js';
export type { ReferenceInput } from './reference.js';
export { OPTIMIZERS, BASE_STRATEGIES, DEFAULT_BASE_STRATEGY, choiceList } from './types.js';
export type {
  DataSource,
  BaseOptions,
  OptimizerName,
  BaseStrategy,
  Hyperparameters,
  EarlyStoppingOptions,
  SearchOptions,
  TrainOptions,
  EpochRecord,
  TrialRecord,
  TrainEvent,
  TrainHooks,
  TrainResult,
} from './types.js';
export { writeVersion, REPORT_FILE } from './version-writer.js';
export type { WriteVersionOptions, WrittenVersion } from './version-writer.js';
export { buildVersionManifest, describeRecipe } from './version-manifest.js';
export type { VersionArtifacts, VersionManifestInput, InheritedFields } from './version-manifest.js';
export { renderReport } from './report.js';
export type { ReportInput, ReportContext } from './report.js';
export { lineageChain, parentOf, headlineMetric } from './lineage.js';
export type { LineageEntry, ParentRef } from './lineage.js';
export { runTraining } from './worker.js';
export type { RunTrainingOptions, TrainingOutcome, TrainResultSummary } from './worker.js';
export { exportCheckedOnnx } from './onnx-artifact.js';
export type { OnnxArtifact } from './onnx-artifact.js';
export { evaluateVersion, describeSkipped } from './evaluate-version.js';
export type {
  Predict,
  VersionPredictor,
  EvaluationExample,
  EvaluateVersionOptions,
  VersionEvaluation,
  SkippedRows,
  Headline,
  HeadlineMetricName,
} from './evaluate-version.js';
export { layersModelPredictor, openVersionPredictor } from './version-predictor.js';
export type { OpenedVersion, OpenVersionOptions } from './version-predictor.js';
export { drawTrainingSample, readTrainingSample, TRAINING_SAMPLE_FILE, DEFAULT_SAMPLE_ROWS, DEFAULT_HOLDOUT_ROWS } from './training-sample.js';
export type { TrainingSample, TrainingSampleOptions, SampleExample, SampleValue, DrawnSample } from './training-sample.js';
export { retrainVersion } from './retrain.js';
export type { RetrainVersionOptions, RetrainedVersion, RetrainExample } from './retrain.js';
export { retrainRecipeSchema, resolveRetrainRecipe, DEFAULT_RETRAIN_EPOCHS, DEFAULT_RETRAIN_PATIENCE, DEFAULT_RETRAIN_START_FROM_EPOCH, DEFAULT_REPLAY_SHARE } from './retrain-recipe.js';
export type { RetrainRecipe, RetrainRecipeInput } from './retrain-recipe.js';
