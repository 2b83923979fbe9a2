// The shared core: configuration, errors, logging, the manifest contract, events and the bus, the model
// repository. TensorFlow.js has its own entry (tfjs.ts), so a process that never runs a model does not load it.
export { loadConfig, describeConfig, configOptions, configDefaults, ConfigError } from './config.js';
export type { Config } from './config.js';
export { DRIFTGATE_VERSION } from './version.js';
export {
  DriftgateError,
  errorCatalogue,
  errorCodes,
  errorBody,
  asDriftgateError,
  codeForStatus,
  breakerRejection,
  invalidInput,
  isDriftgateError,
  describeError,
} from './errors.js';
export type { ErrorBody, ErrorCode, ErrorKind, GrpcStatusName, RetriableCode } from './errors.js';
export { describeValue, describeValues } from './describe.js';
export { createLogger, silentLogger } from './logger.js';
export { forwardingLogger, logForwarded, startModuleWorker } from './threads.js';
export type { ForwardedLog, LogLevelName } from './threads.js';
export type { Logger, LogLevel } from './logger.js';
export {
  MANIFEST_FILE,
  TASKS,
  manifestSchema,
  modelNameSchema,
  featureSchema,
  parseManifest,
  readManifestAt,
  ManifestError,
  inputWidth,
  outputWidth,
  columnProfileSchema,
  referenceProfileSchema,
  manifestMetricsSchema,
  splitMetricsSchema,
  lineageSchema,
  artifactsSchema,
  recordedScore,
  metricSections,
  splitScore,
  taskFields,
} from './manifest.js';
export type { Artifacts, Lineage, ManifestMetrics, MetricSplit, ScoreName, SplitMetrics, Task, Manifest, ManifestInput, ManifestProblem, Feature, Scaler, Preprocessing, ColumnProfile, ReferenceProfile } from './manifest.js';
export { FeatureEncoder } from './encoding.js';
export type { RawValue } from './encoding.js';
export { profileColumn, seededRandom, quantileOfSorted } from './profile.js';
export type { ProfileOptions } from './profile.js';
export {
  EVENT_SCHEMA_VERSION,
  MODEL_EVENT_TYPES,
  predictionEventSchema,
  labelEventSchema,
  modelEventSchema,
  labeledEventSchema,
  topicNames,
  cloudEventHeaders,
  decodeEvent,
  fastPredictionEvent,
  fastLabelEvent,
  toPredictionMessages,
  toLabelMessages,
  toModelEventMessage,
  toLabeledMessage,
  CE_TYPE_PREDICTION,
  CE_TYPE_LABEL,
  modelEventCeType,
} from './events.js';
export type { PredictionEvent, PredictionOutput, LabelEvent, LabeledEvent, ModelEvent, ModelEventType, EventTopics, PredictionRecordLike, LabelRecordLike, DecodeResult } from './events.js';
export { EmbeddedBus, KafkaBus, KafkaThreadBus, DiskSpool, EventPublisher, PortBus, createEventBus, eventTopicSpecs, hostBusOnPort, BATCH_DEFAULTS } from './bus/index.js';
export type { EventBus, BusMessage, OutgoingMessage, PartitionLag, SubscribeOptions, Subscription, TopicSpec, BusConfig, BusHost, PublisherOptions } from './bus/index.js';
export { consumeEvents, subscribeInBackground, DEAD_LETTER_HEADERS } from './event-consumer.js';
export type { EventHandlers, EventBatch, EventChecks, ConsumeOptions, DeadLetterClass } from './event-consumer.js';
export {
  ModelRepository,
  POINTER_FILE,
  TEMP_PREFIX,
  VERSION_PATTERN,
  checkModelName,
  checkVersion,
  isPromotable,
  writeDurably,
  syncDir,
} from './model-repository.js';
export type { ServingPointer, PointerChange, PointerUpdate, ModelRepositoryOptions } from './model-repository.js';
export { drainOutbox } from './outbox.js';
export type { OutboxEntry as OutboxMessage, OutboxStore } from './outbox.js';
export { statusApp, listenStatus } from './status-server.js';
export { httpClientError, jsonErrorHandler } from './http-errors.js';
export type { StatusServer } from './status-server.js';
