// The part of a prediction both HTTP APIs share: run the encoded rows through the version's batcher,
// turn the output matrix into per-row predictions, give each row an id, and log the predictions.
import { randomUUID } from 'node:crypto';
import { invalidInput } from '../core/index.js';
import type { RawValue } from '../core/index.js';
import type { PredictionOutput, PredictionSink } from './prediction-log.js';
import type { ServedVersion } from './served-version.js';

export interface PredictResult {
  outputs: Float32Array;
  predictions: PredictionOutput[];
  ids: string[];
}

/** One id per row: the caller's ids, else the request id (suffixed per row for batches), else fresh ones. */
export function predictionIds(rows: number, given: readonly string[] | undefined, requestId: string | undefined): string[] {
  if (given) {
    if (given.length !== rows) throw invalidInput(`${given.length} prediction ids given for ${rows} rows`);
    if (new Set(given).size !== given.length) throw invalidInput('prediction ids must be unique within a request');
    return [...given];
  }
  const base = requestId ?? randomUUID();
  return rows === 1 ? [base] : Array.from({ length: rows }, (_, i) => `${base}-${i}`);
}

export function toPredictions(served: ServedVersion, outputs: Float32Array, rows: number): PredictionOutput[] {
  const m = served.manifest;
  const width = served.outputWidth;
  const out: PredictionOutput[] = new Array(rows);
  if (m.task === 'regression') {
    for (let r = 0; r < rows; r++) out[r] = { value: outputs[r]! };
    return out;
  }
  const labels = m.labels;
  for (let r = 0; r < rows; r++) {
    const probabilities: Record<string, number> = {};
    let best = 0;
    for (let c = 0; c < width; c++) {
      const p = outputs[r * width + c]!;
      probabilities[labels[c]!] = p;
      if (p > outputs[r * width + best]!) best = c;
    }
    out[r] = { label: labels[best]!, probabilities };
  }
  return out;
}

export async function predictRows(
  served: ServedVersion,
  matrix: Float32Array,
  rows: number,
  ids: string[],
  sink: PredictionSink,
  featureRows: () => Record<string, RawValue>[],
  startedAt: number,
): Promise<PredictResult> {
  const outputs = await served.predict(matrix, rows);
  const predictions = toPredictions(served, outputs, rows);
  if (sink.wants(served.name)) {
    const features = featureRows();
    const ts = new Date().toISOString();
    const latency = Math.round((performance.now() - startedAt) * 1000) / 1000;
    sink.record(
      predictions.map((output, i) => ({
        id: ids[i]!,
        model: served.name,
        version: served.version,
        ts,
        features: features[i]!,
        output,
        latency_ms: latency,
      })),
    );
  }
  return { outputs, predictions, ids };
}
