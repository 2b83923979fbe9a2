// The event contracts that travel over the bus: predictions, labels and model lifecycle events.
// Values are JSON with `schema: 1`; every message also carries CloudEvents 1.0 binary-mode headers
// so tools that know CloudEvents (KServe's payload logger does the same) can read the streams.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { OutgoingMessage } from './bus/types.js';
import { describeError } from './errors.js';

/** The only event schema version this build reads and writes. */
export const EVENT_SCHEMA_VERSION = 1;

const isoTime = z.iso.datetime({ offset: true });
const featureValue = z.union([z.number(), z.string(), z.boolean(), z.null()]);

export const predictionOutputSchema = z.union([
  z.object({ label: z.string(), probabilities: z.record(z.string(), z.number()) }),
  z.object({ value: z.number() }),
]);

/** One served prediction: `driftgate.predictions`, key = id. */
export const predictionEventSchema = z.object({
  schema: z.literal(EVENT_SCHEMA_VERSION),
  id: z.string().min(1),
  model: z.string().min(1),
  version: z.number().int().positive(),
  ts: isoTime,
  features: z.record(z.string(), featureValue),
  output: predictionOutputSchema,
  latency_ms: z.number().nonnegative(),
});

/** The ground truth for an earlier prediction: `driftgate.labels`, key = the prediction id. */
export const labelEventSchema = z.object({
  schema: z.literal(EVENT_SCHEMA_VERSION),
  id: z.string().min(1),
  model: z.string().min(1),
  label: z.union([z.string(), z.number()]),
  ts: isoTime,
});

export const MODEL_EVENT_TYPES = [
  'drift.detected',
  'retrain.requested',
  'retrain.started',
  'retrain.completed',
  'retrain.failed',
  'model.promoted',
  'model.rejected',
  'model.rolled_back',
] as const;

/** Something that happened to a model: `driftgate.model-events`, key = model name. */
export const modelEventSchema = z.object({
  schema: z.literal(EVENT_SCHEMA_VERSION),
  type: z.enum(MODEL_EVENT_TYPES),
  model: z.string().min(1),
  version: z.number().int().positive(),
  ts: isoTime,
  details: z.record(z.string(), z.unknown()),
});

/**
 * A prediction joined with its label, as the monitor saw it: `driftgate.labeled`, key = model name, so
 * one retrainer member owns all of a model's examples. The retrain loop trains on these.
 */
export const labeledEventSchema = z.object({
  schema: z.literal(EVENT_SCHEMA_VERSION),
  /** The prediction id. */
  id: z.string().min(1),
  model: z.string().min(1),
  /** The version that made the prediction. */
  version: z.number().int().positive(),
  /** Event time of the prediction. */
  ts: isoTime,
  /** Event time of the label. */
  label_ts: isoTime,
  features: z.record(z.string(), featureValue),
  label: z.union([z.string(), z.number()]),
  output: predictionOutputSchema,
});

export type PredictionOutput = z.output<typeof predictionOutputSchema>;
export type LabeledEvent = z.output<typeof labeledEventSchema>;
export type PredictionEvent = z.output<typeof predictionEventSchema>;
export type LabelEvent = z.output<typeof labelEventSchema>;
export type ModelEvent = z.output<typeof modelEventSchema>;
export type ModelEventType = (typeof MODEL_EVENT_TYPES)[number];

export interface EventTopics {
  predictions: string;
  labels: string;
  modelEvents: string;
  /** Joined prediction + label examples for the retrain loop. */
  labeled: string;
  deadLetter: string;
}

/** The topic names under a prefix (config `DRIFTGATE_TOPIC_PREFIX`). */
export function topicNames(prefix = 'driftgate.'): EventTopics {
  return {
    predictions: `${prefix}predictions`,
    labels: `${prefix}labels`,
    modelEvents: `${prefix}model-events`,
    labeled: `${prefix}labeled`,
    deadLetter: `${prefix}dead-letter`,
  };
}

// ---- CloudEvents headers --------------------------------------------------------------------

/** `ce_source` when the caller names none; a URI reference, as CloudEvents requires. */
export const DEFAULT_EVENT_SOURCE = '/driftgate';

export const CE_TYPE_PREDICTION = 'io.driftgate.prediction';
export const CE_TYPE_LABEL = 'io.driftgate.label';
export const CE_TYPE_LABELED = 'io.driftgate.labeled';

export function modelEventCeType(type: ModelEventType): string {
  return `io.driftgate.model-event.${type}`;
}

export interface CloudEventAttributes {
  id: string;
  type: string;
  source: string;
  /** RFC 3339 time of the occurrence. @defaultValue now */
  time?: string;
}

/** CloudEvents 1.0 Kafka binary-mode headers: attributes as `ce_*` headers, the event as the value. */
export function cloudEventHeaders(attrs: CloudEventAttributes): Record<string, string> {
  return {
    ce_specversion: '1.0',
    ce_id: attrs.id,
    ce_type: attrs.type,
    ce_source: attrs.source,
    ce_time: attrs.time ?? new Date().toISOString(),
    'content-type': 'application/json',
  };
}

// ---- decoding -------------------------------------------------------------------------------

export type DecodeResult<T> = { ok: true; event: T } | { ok: false; reason: string };

/**
 * Parses and validates one message value. Never throws: a consumer must be able to skip and
 * dead-letter anything, so every problem (not JSON, another schema version, a field that does not
 * fit) comes back as a reason.
 */
export function decodeEvent<T>(schema: z.ZodType<T>, value: Buffer | string, fast?: (parsed: Record<string, unknown>) => T | undefined): DecodeResult<T> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `value is not JSON: ${describeError(err)}` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { ok: false, reason: 'value is not a JSON object' };
  }
  const version = (parsed as { schema?: unknown }).schema;
  if (version === undefined) return { ok: false, reason: 'value has no "schema" version field' };
  if (version !== EVENT_SCHEMA_VERSION) {
    return { ok: false, reason: `unsupported schema version ${JSON.stringify(version)} (this build reads ${EVENT_SCHEMA_VERSION})` };
  }
  const quick = fast?.(parsed as Record<string, unknown>);
  if (quick !== undefined) return { ok: true, event: quick };
  const result = schema.safeParse(parsed);
  if (result.success) return { ok: true, event: result.data };
  const problems = result.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(value)'}: ${issue.message}`);
  return { ok: false, reason: `schema mismatch: ${problems.join('; ')}` };
}

// ---- fast paths ------------------------------------------------------------------------------
// The monitor decodes every prediction and label; zod's general validation was a tenth of its CPU.
// These checks accept only what the schemas accept (a stricter subset: RFC 3339 times as the
// gateway writes them) and copy the known fields, as zod would. Anything else returns undefined and
// goes through zod, which also finds the reason to dead-letter it.

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isTime = (v: unknown): v is string => typeof v === 'string' && RFC3339.test(v) && !Number.isNaN(Date.parse(v));

export function fastPredictionEvent(p: Record<string, unknown>): PredictionEvent | undefined {
  const { id, model, version, ts, features, output, latency_ms: latency } = p;
  if (!isId(id) || !isId(model) || !isTime(ts)) return undefined;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) return undefined;
  if (typeof latency !== 'number' || !(latency >= 0)) return undefined;
  if (features === null || typeof features !== 'object' || Array.isArray(features)) return undefined;
  for (const v of Object.values(features)) {
    if (v !== null && typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean') return undefined;
  }
  if (output === null || typeof output !== 'object' || Array.isArray(output)) return undefined;
  const o = output as Record<string, unknown>;
  let out: PredictionOutput;
  if (typeof o['label'] === 'string') {
    const probabilities = o['probabilities'];
    if (probabilities === null || typeof probabilities !== 'object' || Array.isArray(probabilities)) return undefined;
    for (const v of Object.values(probabilities)) if (typeof v !== 'number') return undefined;
    out = { label: o['label'], probabilities: probabilities as Record<string, number> };
  } else if (typeof o['value'] === 'number' && !('label' in o)) {
    out = { value: o['value'] };
  } else return undefined;
  return { schema: EVENT_SCHEMA_VERSION, id, model, version, ts, features: features as PredictionEvent['features'], output: out, latency_ms: latency };
}

export function fastLabelEvent(p: Record<string, unknown>): LabelEvent | undefined {
  const { id, model, label, ts } = p;
  if (!isId(id) || !isId(model) || !isTime(ts)) return undefined;
  if (typeof label !== 'string' && typeof label !== 'number') return undefined;
  return { schema: EVENT_SCHEMA_VERSION, id, model, label, ts };
}

// ---- encoding -------------------------------------------------------------------------------

/**
 * A prediction as the gateway records it (the same fields as serve's PredictionRecord; core does
 * not import serve, so the shape is repeated here and TypeScript matches it structurally).
 */
export interface PredictionRecordLike {
  id: string;
  model: string;
  version: number;
  ts: string;
  features: Record<string, number | string | boolean | null | undefined>;
  output: PredictionOutput;
  latency_ms: number;
}

export interface LabelRecordLike {
  id: string;
  model: string;
  label: string | number;
  ts: string;
}

/**
 * Bus messages for predictions: key = prediction id (so its label lands on the same partition
 * number), value = the schema-1 event. Not validated again: the gateway built the records from
 * validated requests, and this runs on the serving path. Features that are undefined are left out.
 */
export function toPredictionMessages(records: readonly PredictionRecordLike[], source = DEFAULT_EVENT_SOURCE): OutgoingMessage[] {
  return records.map((r) => {
    // Fields listed one by one so extra properties of the caller's objects never leak out.
    const event: PredictionEvent = {
      schema: EVENT_SCHEMA_VERSION,
      id: r.id,
      model: r.model,
      version: r.version,
      ts: r.ts,
      features: r.features as PredictionEvent['features'],
      output: r.output,
      latency_ms: r.latency_ms,
    };
    return {
      key: r.id,
      value: JSON.stringify(event),
      headers: cloudEventHeaders({ id: r.id, type: CE_TYPE_PREDICTION, source, time: r.ts }),
    };
  });
}

/** Bus messages for labels: key = the prediction id the label belongs to. */
export function toLabelMessages(labels: readonly LabelRecordLike[], source = DEFAULT_EVENT_SOURCE): OutgoingMessage[] {
  return labels.map((l) => {
    const event: LabelEvent = { schema: EVENT_SCHEMA_VERSION, id: l.id, model: l.model, label: l.label, ts: l.ts };
    return {
      key: l.id,
      value: JSON.stringify(event),
      // A prediction and its label share `id`; CloudEvents ids must differ per event from one source.
      headers: cloudEventHeaders({ id: randomUUID(), type: CE_TYPE_LABEL, source, time: l.ts }),
    };
  });
}

/** A bus message for a model event: key = model, so one model's events stay in order. */
export function toModelEventMessage(event: Omit<ModelEvent, 'schema'>, source = DEFAULT_EVENT_SOURCE): OutgoingMessage {
  const full: ModelEvent = {
    schema: EVENT_SCHEMA_VERSION,
    type: event.type,
    model: event.model,
    version: event.version,
    ts: event.ts,
    details: event.details,
  };
  return {
    key: event.model,
    value: JSON.stringify(full),
    headers: cloudEventHeaders({ id: randomUUID(), type: modelEventCeType(event.type), source, time: event.ts }),
  };
}

/** A bus message for a joined example: key = model, so a model's examples reach one retrainer member. */
export function toLabeledMessage(example: Omit<LabeledEvent, 'schema'>, source = DEFAULT_EVENT_SOURCE): OutgoingMessage {
  const event: LabeledEvent = {
    schema: EVENT_SCHEMA_VERSION,
    id: example.id,
    model: example.model,
    version: example.version,
    ts: example.ts,
    label_ts: example.label_ts,
    features: example.features,
    label: example.label,
    output: example.output,
  };
  return {
    key: example.model,
    value: JSON.stringify(event),
    headers: cloudEventHeaders({ id: randomUUID(), type: CE_TYPE_LABELED, source, time: example.label_ts }),
  };
}
