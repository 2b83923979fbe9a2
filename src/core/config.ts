// Configuration: every option is read once at start-up from the environment (and optionally a JSON
// file named by DRIFTGATE_CONFIG whose keys are the same variable names), validated with zod, then
// frozen and passed down. A bad value stops the process with a message naming the option.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { BATCH_DEFAULTS, REDELIVERY_DEFAULTS } from './bus/types.js';
import { describeError } from './errors.js';

interface OptionSpec<S extends z.ZodType> {
  env: string;
  schema: S;
  doc: string;
}

function option<S extends z.ZodType>(env: string, schema: S, doc: string): OptionSpec<S> {
  return { env, schema, doc };
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const fraction = z.coerce.number().min(0).max(1);
const bool = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off'].includes(s)) return false;
  return v;
}, z.boolean());
const list = z.preprocess(
  (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v),
  z.array(z.string()),
);

/** Every option driftgate reads: environment name, validation with default, and one line of documentation. */
export const configOptions = {
  port: option('PORT', int(0, 65535).default(8080), 'Gateway HTTP port.'),
  grpcPort: option(
    'DRIFTGATE_GRPC_PORT',
    int(0, 65535).default(8001),
    'Port of the gateway\'s gRPC server (Open Inference Protocol `inference.GRPCInferenceService` and `grpc.health.v1.Health`), on DRIFTGATE_HOST; 0 turns it off.',
  ),
  host: option('DRIFTGATE_HOST', z.string().default('0.0.0.0'), 'Address the gateway listens on.'),
  modelRepo: option('DRIFTGATE_MODEL_REPO', z.string().min(1).default('./models'), 'Model repository directory: <repo>/<model>/<version>/.'),
  adminToken: option(
    'DRIFTGATE_ADMIN_TOKEN',
    z.string().min(1).optional(),
    'Bearer token for /admin/*. While unset, every admin call is refused (403).',
  ),
  labelToken: option(
    'DRIFTGATE_LABEL_TOKEN',
    z.string().min(1).optional(),
    'Bearer token for POST /v2/models/{m}/labels (401 without it, 403 when wrong). Unset: anyone who reaches the gateway may send labels; set it in production, since labels judge models and become training data.',
  ),
  models: option('DRIFTGATE_MODELS', list.default([]), 'Comma list of models to serve; empty serves every model in the repository.'),
  versionsLoaded: option('DRIFTGATE_VERSIONS_LOADED', int(1, 100).default(2), 'How many versions of each model are kept loaded (newest first, plus the serving one).'),
  pollIntervalMs: option('DRIFTGATE_POLL_INTERVAL_MS', int(0, 86_400_000).default(5000), 'How often the repository is scanned for new versions, in ms; 0 turns polling off.'),
  maxBodyBytes: option('DRIFTGATE_MAX_BODY_BYTES', int(1024, 1 << 30).default(16 * 1024 * 1024), 'Largest accepted request body in bytes; larger bodies get 413.'),
  batching: option('DRIFTGATE_BATCHING', bool.default(true), 'Dynamic batching: merge concurrent requests into one runtime call.'),
  maxBatchSize: option('DRIFTGATE_MAX_BATCH_SIZE', int(1, 4096).default(64), 'Rows in one runtime call, unless the manifest sets batching.max_batch_size.'),
  maxQueueDelayUs: option('DRIFTGATE_MAX_QUEUE_DELAY_US', int(0, 10_000_000).default(0), 'How long a request may wait for others to fill a batch, in µs, unless the manifest sets batching.max_queue_delay_us.'),
  maxQueueSize: option('DRIFTGATE_MAX_QUEUE_SIZE', int(1, 1_000_000).default(2048), 'Rows that may wait per model version; beyond it requests get 503 with Retry-After.'),
  maxRequestRows: option(
    'DRIFTGATE_MAX_REQUEST_ROWS',
    int(1, 1_000_000).default(2048),
    'Most rows in one V2 infer or v1 predict request; larger requests get 413 before their data is decoded. A request also gets 413 when it alone exceeds DRIFTGATE_MAX_QUEUE_SIZE.',
  ),
  inferTimeoutMs: option('DRIFTGATE_INFER_TIMEOUT_MS', int(1, 600_000).default(10_000), 'Time limit of one runtime call, in ms; past it the request gets 504.'),
  breakerErrorPercent: option('DRIFTGATE_BREAKER_ERROR_PERCENT', int(1, 100).default(50), 'Failure share (%) over the rolling window that opens a version\'s circuit breaker.'),
  breakerVolumeThreshold: option('DRIFTGATE_BREAKER_VOLUME_THRESHOLD', int(0, 1_000_000).default(5), 'Calls in the rolling window before the breaker may open.'),
  breakerResetMs: option('DRIFTGATE_BREAKER_RESET_MS', int(100, 3_600_000).default(30_000), 'How long an open breaker waits before letting a trial call through, in ms.'),
  onnxIntraOpThreads: option('DRIFTGATE_ONNX_INTRA_OP_THREADS', int(0, 256).default(1), 'onnxruntime intra-op threads per session (0 = onnxruntime decides).'),
  onnxInterOpThreads: option('DRIFTGATE_ONNX_INTER_OP_THREADS', int(0, 256).default(1), 'onnxruntime inter-op threads per session (0 = onnxruntime decides).'),
  onnxGraphOptimization: option(
    'DRIFTGATE_ONNX_GRAPH_OPTIMIZATION',
    z.enum(['disabled', 'basic', 'extended', 'all']).default('all'),
    'onnxruntime graph optimization level.',
  ),
  inferenceThread: option(
    'DRIFTGATE_INFERENCE_THREAD',
    z.enum(['worker', 'inline']).default('worker'),
    'Where models compute: "worker" (a thread per loaded version; the event loop stays free) or "inline" (on the event loop; least overhead for tiny models).',
  ),
  tfjsBackend: option('DRIFTGATE_TFJS_BACKEND', z.enum(['auto', 'node', 'wasm', 'cpu']).default('auto'), 'tfjs backend: auto uses tfjs-node when it loads, else wasm.'),
  warmupRuns: option('DRIFTGATE_WARMUP_RUNS', int(0, 1000).default(3), 'Inference calls on synthetic input before a version takes traffic.'),
  workerRestartAttempts: option(
    'DRIFTGATE_WORKER_RESTART_ATTEMPTS',
    int(0, 100).default(5),
    'Restart attempts in a row for a model worker that exited, crashed or hung past DRIFTGATE_INFER_TIMEOUT_MS (the first at once, then 250 ms doubling up to 10 s); then the version stays failed until it is loaded again or its files change. 0 never restarts.',
  ),
  drainTimeoutMs: option('DRIFTGATE_DRAIN_TIMEOUT_MS', int(0, 600_000).default(30_000), 'How long a replaced version may finish in-flight requests before it is disposed, in ms.'),
  shutdownGraceMs: option('DRIFTGATE_SHUTDOWN_GRACE_MS', int(0, 600_000).default(30_000), 'On SIGTERM/SIGINT, how long in-flight requests may finish before exit, in ms.'),
  logLevel: option('DRIFTGATE_LOG_LEVEL', z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'), 'Log level (JSON lines on stderr).'),
  kafkaBrokers: option('KAFKA_BROKERS', list.default([]), 'Comma list of Kafka brokers; empty uses the embedded in-process bus.'),
  topicPrefix: option('DRIFTGATE_TOPIC_PREFIX', z.string().default('driftgate.'), 'Prefix of the Kafka topic names.'),
  topicPartitions: option('DRIFTGATE_TOPIC_PARTITIONS', int(1, 10_000).default(3), 'Partitions of each driftgate topic created at start (monitor consumers scale up to this many).'),
  topicReplication: option('DRIFTGATE_TOPIC_REPLICATION', int(1, 100).default(1), 'Replication factor of the topics created at start.'),
  payloadSampling: option(
    'DRIFTGATE_PAYLOAD_SAMPLING',
    z.string().regex(/^\s*([A-Za-z0-9_.-]+\s*=\s*)?[0-9.]+\s*(,\s*([A-Za-z0-9_.-]+\s*=\s*)?[0-9.]+\s*)*$/, 'expected "rate" or "rate,model=rate,..." with rates from 0 to 1').default('1'),
    'Share of predictions published to the event stream: "1", or a default plus per-model rates like "0.2,iris-onnx=1". Labels are never sampled.',
  ),
  spoolDir: option('DRIFTGATE_SPOOL_DIR', z.string().min(1).default('.driftgate/spool'), 'Directory of the on-disk spool that keeps events while the bus is unreachable.'),
  spoolMaxBytes: option('DRIFTGATE_SPOOL_MAX_BYTES', int(1024, 2 ** 40).default(256 * 1024 * 1024), 'Size bound of the spool; past it the oldest events are dropped and counted.'),
  publishLingerMs: option('DRIFTGATE_PUBLISH_LINGER_MS', int(0, 60_000).default(20), 'How long the publisher waits to fill a batch of events, in ms.'),
  publishBatchSize: option('DRIFTGATE_PUBLISH_BATCH_SIZE', int(1, 100_000).default(BATCH_DEFAULTS.publishBatchSize), 'Events in one send to the bus (one send costs a broker round trip with acks=all, so larger batches carry more events per second).'),
  publishBuffer: option('DRIFTGATE_PUBLISH_BUFFER', int(1, 10_000_000).default(10_000), 'Events held in memory before they spill to the spool.'),
  kafkaClientId: option('DRIFTGATE_KAFKA_CLIENT_ID', z.string().min(1).default('driftgate'), 'Kafka client id.'),
  kafkaConnectionTimeoutMs: option('DRIFTGATE_KAFKA_CONNECTION_TIMEOUT_MS', int(100, 600_000).default(3000), 'Time to open a connection to a broker, in ms.'),
  kafkaRequestTimeoutMs: option('DRIFTGATE_KAFKA_REQUEST_TIMEOUT_MS', int(100, 600_000).default(25_000), 'Time a broker has to answer one request, in ms.'),
  kafkaRetries: option('DRIFTGATE_KAFKA_RETRIES', int(0, 100).default(5), 'Retries of a failed Kafka request before the call fails.'),
  kafkaThread: option(
    'DRIFTGATE_KAFKA_THREAD',
    bool.default(true),
    'With KAFKA_BROKERS, `driftgate serve` runs its Kafka client (the producer and the gateway\'s own consumers) in a worker thread of its own, so encoding and decoding record batches never holds up requests (false: on the gateway\'s thread).',
  ),
  embeddedRetention: option('DRIFTGATE_EMBEDDED_RETENTION', int(1, 100_000_000).default(100_000), 'Messages the embedded bus keeps per partition.'),
  consumerBatchSize: option(
    'DRIFTGATE_CONSUMER_BATCH_SIZE',
    int(1, 100_000).default(BATCH_DEFAULTS.consumerBatchSize),
    'Most events handed to a consumer in one call: the monitor applies them in one transaction and commits their offsets together (larger batches carry more events per second; a failing batch is redelivered whole).',
  ),
  consumerMaxAttempts: option('DRIFTGATE_CONSUMER_MAX_ATTEMPTS', int(1, 1000).default(REDELIVERY_DEFAULTS.maxAttempts), 'Deliveries of a failing batch before it is skipped and reported.'),
  publishSendTimeoutMs: option('DRIFTGATE_PUBLISH_SEND_TIMEOUT_MS', int(100, 600_000).default(10_000), 'Time limit of one send to the bus, in ms; past it the send counts as failed.'),
  publishBreakerResetMs: option('DRIFTGATE_PUBLISH_BREAKER_RESET_MS', int(100, 3_600_000).default(5000), 'How long the open event-bus breaker waits before a trial send, in ms.'),
  monitorPort: option('DRIFTGATE_MONITOR_PORT', int(0, 65535).default(8081), 'Port of the drift monitor\'s HTTP endpoints (/metrics, /monitor/models); `driftgate serve` opens it too when it runs the embedded monitor.'),
  monitor: option('DRIFTGATE_MONITOR', bool.default(true), '`driftgate serve` runs the drift monitor in the same process. Turn it off when monitors run separately (`driftgate monitor`).'),
  monitorThread: option(
    'DRIFTGATE_MONITOR_THREAD',
    bool.default(true),
    '`driftgate serve` runs its embedded drift monitor in a worker thread of its own, so the monitor\'s transactions never hold up requests (false: on the gateway\'s thread).',
  ),
  monitorGatherMs: option(
    'DRIFTGATE_MONITOR_GATHER_MS',
    int(0, 10_000).default(50),
    'How long the monitor lets event batches gather into one transaction, in ms (fewer, larger transactions; 0 = one per bus batch). Not used when the monitor shares the gateway\'s thread (DRIFTGATE_MONITOR_THREAD=false).',
  ),
  monitorUrl: option(
    'DRIFTGATE_MONITOR_URL',
    z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. http://driftgate-monitor:8081' }).optional(),
    'Base URL of a separately running drift monitor (e.g. http://driftgate-monitor:8081) whose live accuracy, timeline and drift the gateway\'s status page shows when DRIFTGATE_MONITOR is off. Unset: the page shows only the embedded monitor\'s.',
  ),
  monitorStore: option('DRIFTGATE_MONITOR_STORE', z.string().min(1).default('.driftgate/monitor.db'), 'SQLite file of the monitor\'s durable state: pending joins, the labeled window, window and policy state.'),
  monitorGroup: option('DRIFTGATE_MONITOR_GROUP', z.string().min(1).default('driftgate-monitor'), 'Kafka consumer group of the monitors; monitors in one group share the partitions.'),
  monitorPolicy: option(
    'DRIFTGATE_MONITOR_POLICY',
    z.string().min(1).optional(),
    'Drift policy: a JSON document, or the path of a JSON file, with "default" and per-model "models" overrides (docs/monitoring.md). Unset: the defaults.',
  ),
  joinTtlMs: option('DRIFTGATE_JOIN_TTL_MS', int(1000, 365 * 24 * 3600 * 1000).default(7 * 24 * 3600 * 1000), 'How long a prediction waits for its label (and a label for its prediction), in event-time ms; then it is dropped and counted.'),
  joinMaxPending: option('DRIFTGATE_JOIN_MAX_PENDING', int(1, 100_000_000).default(1_000_000), 'Predictions that may wait for their label, all models together; beyond it the oldest are dropped and counted.'),
  joinMaxEarlyLabels: option(
    'DRIFTGATE_JOIN_MAX_EARLY_LABELS',
    int(1, 100_000_000).default(100_000),
    'Labels that may wait for their prediction, per model; beyond it that model\'s oldest are dropped and counted, so a flood of labels for one model never pushes out another\'s.',
  ),
  monitorLagIntervalMs: option('DRIFTGATE_MONITOR_LAG_INTERVAL_MS', int(0, 3_600_000).default(10_000), 'How often the monitor reads its consumer-group lag from the bus, in ms; 0 = never.'),
  labeledWindow: option('DRIFTGATE_LABELED_WINDOW', int(10, 10_000_000).default(10_000), 'Joined examples kept per model: the data a retrain learns from.'),
  retrain: option('DRIFTGATE_RETRAIN', bool.default(true), '`driftgate serve` runs the retrain loop in the same process. Turn it off when a retrainer runs separately (`driftgate retrain`).'),
  retrainStore: option('DRIFTGATE_RETRAIN_STORE', z.string().min(1).default('.driftgate/retrain.db'), 'SQLite file of the retrainer\'s durable state: the labeled window per model, jobs, watches and its event outbox.'),
  retrainGroup: option('DRIFTGATE_RETRAIN_GROUP', z.string().min(1).default('driftgate-retrainer'), 'Kafka consumer group of the retrainers; one member owns each model.'),
  retrainPort: option('DRIFTGATE_RETRAIN_PORT', int(0, 65535).default(8082), 'Port of a standalone retrainer\'s HTTP endpoints (/metrics, /healthz, /retrain/models/{m}/jobs).'),
  retrainWindow: option('DRIFTGATE_RETRAIN_WINDOW', int(100, 10_000_000).default(5000), 'Joined examples the retrainer keeps per model (the newest).'),
  retrainHoldoutShare: option('DRIFTGATE_RETRAIN_HOLDOUT_SHARE', fraction.default(0.2), 'Share of the newest labeled examples held out for the gate, never trained on.'),
  retrainMinHoldout: option('DRIFTGATE_RETRAIN_MIN_HOLDOUT', int(10, 1_000_000).default(50), 'Fewest examples in the gate\'s holdout.'),
  retrainMinTrain: option('DRIFTGATE_RETRAIN_MIN_TRAIN', int(10, 1_000_000).default(150), 'Fewest labeled examples a retrain trains on; with fewer in the window the job fails and says so.'),
  retrainMaxTrain: option('DRIFTGATE_RETRAIN_MAX_TRAIN', int(10, 10_000_000).default(2000), 'Most labeled examples a retrain trains on (the newest before the holdout).'),
  retrainReplayShare: option('DRIFTGATE_RETRAIN_REPLAY_SHARE', fraction.default(0.25), 'Rows replayed from the champion\'s training sample, as a share of the new rows, for data-drift and manual retrains (none after a performance drop: the old labels follow the old concept).'),
  retrainWaitMs: option('DRIFTGATE_RETRAIN_WAIT_MS', int(0, 7 * 24 * 3600 * 1000).default(1_800_000), 'How long a retrain after a performance drop may wait for enough labels since the change began, in ms; then it fails.'),
  retrainTimeoutMs: option('DRIFTGATE_RETRAIN_TIMEOUT_MS', int(1000, 24 * 3600 * 1000).default(600_000), 'Longest a retrain\'s training may run, in ms; past it the job fails.'),
  gateMargin: option('DRIFTGATE_GATE_MARGIN', fraction.default(0.01), 'How much better a challenger must score than the champion on the holdout: accuracy points for classifiers, relative MAE reduction for regressors.'),
  gateTolerance: option('DRIFTGATE_GATE_TOLERANCE', fraction.default(0.02), 'How much worse a challenger may score on the champion\'s reference holdout after data drift (same units as the margin).'),
  watchLabels: option('DRIFTGATE_WATCH_LABELS', int(10, 1_000_000).default(200), 'Labels of a newly promoted version before the post-promotion watch judges it.'),
  watchTolerance: option('DRIFTGATE_WATCH_TOLERANCE', fraction.default(0.05), 'How much worse than its baseline a promoted version may score live before it is rolled back.'),
};

type Options = typeof configOptions;
export type Config = Readonly<{ [K in keyof Options]: z.output<Options[K]['schema']> }>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Reads the optional JSON config file; its keys are the environment variable names. */
function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`DRIFTGATE_CONFIG: cannot read ${path}: ${describeError(err)}`]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([`DRIFTGATE_CONFIG: ${path} is not valid JSON: ${describeError(err)}`]);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError([`DRIFTGATE_CONFIG: ${path} must hold a JSON object`]);
  }
  const known = new Set(Object.values(configOptions).map((o) => o.env));
  const unknown = Object.keys(parsed).filter((k) => !known.has(k));
  if (unknown.length > 0) throw new ConfigError(unknown.map((k) => `${k}: unknown option in ${path}`));
  return parsed as Record<string, unknown>;
}

/**
 * Builds the configuration from environment variables over the config file over defaults.
 * `overrides` (keyed by option name, e.g. `{ port: 0 }`) win over both; tests use them.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const file = env.DRIFTGATE_CONFIG ? readConfigFile(env.DRIFTGATE_CONFIG) : {};
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(configOptions) as [keyof Options, OptionSpec<z.ZodType>][]) {
    if (key in overrides) {
      out[key] = overrides[key];
      continue;
    }
    const raw = env[spec.env] !== undefined && env[spec.env] !== '' ? env[spec.env] : file[spec.env];
    const result = spec.schema.safeParse(raw);
    if (result.success) out[key] = result.data;
    else problems.push(`${spec.env}=${JSON.stringify(raw)}: ${result.error.issues.map((i) => i.message).join('; ')}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as Config;
}

/**
 * Every option at its default, ignoring the environment: the one source of the defaults that
 * components constructed without a Config (tests, benchmarks) fall back to.
 */
export const configDefaults: Config = loadConfig({});

/** Rows for the configuration table in the README and docs: name, default, meaning. */
export function describeConfig(): { env: string; default: string; doc: string }[] {
  return Object.values(configOptions).map((spec) => {
    const parsed = (spec.schema as z.ZodType).safeParse(undefined);
    const value = parsed.success ? parsed.data : undefined;
    const shown = value === undefined ? '(unset)' : Array.isArray(value) ? value.join(',') || '(empty)' : String(value);
    return { env: spec.env, default: shown, doc: spec.doc };
  });
}
