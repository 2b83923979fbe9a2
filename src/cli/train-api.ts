// The training module's entry points the CLI uses that src/train/index.ts does not export yet. Once
// the index exports them (runTraining, REPORT_FILE and the types of src/train/types.ts), this file
// becomes plain re-exports from '../train/index.js', or goes away.
/* eslint-disable no-restricted-imports */
export { runTraining } from '../train/worker.js';
export type { TrainingOutcome } from '../train/worker.js';
export { REPORT_FILE } from '../train/version-writer.js';
export type { BaseOptions, Hyperparameters, SearchOptions, TrainEvent, TrainOptions } from '../train/types.js';
