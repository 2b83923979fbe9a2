// What the gateway hands on about every prediction, for the event stream and the drift monitor.
// The gateway only calls `record`; where records go (Kafka, the embedded bus, nowhere) is the
// sink's business, and a sink must never block or fail a response.
import type { RawValue } from '../core/index.js';

export type PredictionOutput = { label: string; probabilities: Record<string, number> } | { value: number };

export interface PredictionRecord {
  id: string;
  model: string;
  version: number;
  ts: string;
  features: Record<string, RawValue>;
  output: PredictionOutput;
  latency_ms: number;
}

export interface PredictionSink {
  /** Whether records for this model are wanted at all (lets the gateway skip building them). */
  wants(model: string): boolean;
  record(records: PredictionRecord[]): void;
}

export const discardPredictions: PredictionSink = { wants: () => false, record: () => undefined };
