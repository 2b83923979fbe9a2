// The gateway's side of the event pipeline: predictions (sampled per model, like TF Serving's
// sampling_rate) and ground-truth labels become bus messages handed to the EventPublisher, which
// buffers, batches, spools and retries on its own. Nothing here waits for the bus.
import { toLabelMessages, toPredictionMessages } from '../core/index.js';
import type { EventPublisher, EventTopics, LabelRecordLike } from '../core/index.js';
import type { PredictionRecord, PredictionSink } from './prediction-log.js';

export interface LabelSink {
  record(labels: LabelRecordLike[]): void;
}

/** Per-model payload-logging rates in [0, 1]; models not listed use `default`. */
export interface SamplingRates {
  default: number;
  models: Record<string, number>;
}

/** Parses "0.5,iris=0.1,delivery=1": a bare number is the default rate, name=rate overrides it. */
export function parseSampling(spec: string): SamplingRates {
  const rates: SamplingRates = { default: 1, models: {} };
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, value] = part.includes('=') ? part.split('=', 2) : [undefined, part];
    const rate = Number(value);
    if (!Number.isFinite(rate) || rate < 0 || rate > 1) throw new Error(`sampling rate ${JSON.stringify(part)} must be a number from 0 to 1`);
    if (name === undefined) rates.default = rate;
    else rates.models[name.trim()] = rate;
  }
  return rates;
}

export function publishingSinks(
  publisher: EventPublisher,
  topics: EventTopics,
  sampling: SamplingRates,
  random: () => number = Math.random,
): { predictions: PredictionSink; labels: LabelSink } {
  const rateOf = (model: string) => sampling.models[model] ?? sampling.default;
  return {
    predictions: {
      wants: (model) => rateOf(model) > 0,
      record: (records: PredictionRecord[]) => {
        const rate = records.length > 0 ? rateOf(records[0]!.model) : 0;
        const kept = rate >= 1 ? records : records.filter(() => random() < rate);
        if (kept.length > 0) publisher.enqueue(topics.predictions, toPredictionMessages(kept));
      },
    },
    labels: {
      record: (labels) => publisher.enqueue(topics.labels, toLabelMessages(labels)),
    },
  };
}

export const discardLabels: LabelSink = { record: () => undefined };
