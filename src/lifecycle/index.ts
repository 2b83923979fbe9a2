// The lifecycle context: the retrain loop. It consumes model events and joined examples, fine-tunes
// the serving version through src/train, gates the challenger, promotes it through the repository
// owner in src/core, and watches it afterwards. Serve and monitor never import it: they talk through events.
export { Retrainer } from './retrainer.js';
export type { RetrainBackend, RetrainSettings, RetrainerOptions, LabeledRow, Score, VersionRef } from './retrainer.js';
export { startRetrainer, retrainerApp, retrainSettings } from './service.js';
export type { RetrainerDeps, RunningRetrainer } from './service.js';
export { RetrainStore, JOB_STATES, PHASES, jobSchema } from './store.js';
export type { RetrainJob, JobState, Phase, Watch } from './store.js';
export { decideGate, improvementOf } from './gate.js';
export type { GateDecision, GateRules, GateScores, SliceScore } from './gate.js';
export { selectExamples, sampleRows, liveScore, hashSeed, estimateOnset } from './examples.js';
export type { Example, Selection, SelectionRules, LiveScore } from './examples.js';
export { createRetrainMetrics } from './metrics.js';
export type { RetrainMetrics } from './metrics.js';
export { PromotionWatch, watchShortfall } from './watch.js';
