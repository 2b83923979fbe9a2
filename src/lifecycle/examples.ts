// What a retrain learns from and is judged on, chosen from the retrainer's window of joined examples:
// pure functions over examples sorted by event time, so the split is the same on every replay.
import type { PredictionOutput } from '../core/index.js';

/** A prediction joined with its ground truth, as the retrainer keeps it. */
export interface Example {
  id: string;
  model: string;
  /** Version that made the prediction. */
  version: number;
  /** Event time of the prediction, epoch ms. */
  ts: number;
  /** Event time of the label, epoch ms. */
  labelTs: number;
  features: Record<string, number | string | boolean | null>;
  label: string | number;
  output: PredictionOutput;
}

export interface SelectionRules {
  /** Share of the newest examples held out for the gate, never trained on. */
  holdoutShare: number;
  /** Fewest examples in the holdout. */
  minHoldout: number;
  /** Fewest examples to train on; a trigger's `since` is widened back in time to reach it. */
  minTrain: number;
  /** Most examples to train on (the newest ones). */
  maxTrain: number;
}

export interface Selection {
  train: Example[];
  holdout: Example[];
  /** Why no retrain can run on this window, when it cannot. */
  shortfall?: string;
}

/**
 * Splits the window by time: the newest `holdoutShare` (at least `minHoldout`) is the holdout, and the
 * training rows are the older ones, from `since` on (the drift's onset, when the trigger knows it)
 * but at least the newest `minTrain` and at most the newest `maxTrain`.
 *
 * With `strict`, rows before `since` are never used, for training or holdout: after a concept change
 * their labels follow the old concept, and a model trained on them would learn it again. A strict
 * selection with too few rows since the onset reports a shortfall, and the caller waits for labels.
 */
export function selectExamples(window: readonly Example[], rules: SelectionRules, since?: number, strict = false): Selection {
  let sorted = [...window].sort((a, b) => a.ts - b.ts || a.labelTs - b.labelTs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (strict && since !== undefined) {
    const total = sorted.length;
    sorted = sorted.filter((e) => e.ts >= since);
    const need = Math.max(rules.minHoldout, Math.ceil(sorted.length * rules.holdoutShare)) + rules.minTrain;
    if (sorted.length < need) {
      return {
        train: [],
        holdout: [],
        shortfall: `${sorted.length} labeled examples since the change began (of ${total} in the window); a retrain needs ${need}`,
      };
    }
  }
  const holdoutSize = Math.max(rules.minHoldout, Math.ceil(sorted.length * rules.holdoutShare));
  const need = holdoutSize + rules.minTrain;
  if (sorted.length < need) {
    return {
      train: [],
      holdout: [],
      shortfall: `${sorted.length} labeled examples in the window; a retrain needs ${need} (${rules.minTrain} to train on and ${holdoutSize} held out)`,
    };
  }
  const holdout = sorted.slice(sorted.length - holdoutSize);
  const older = sorted.slice(0, sorted.length - holdoutSize);
  let start = since === undefined ? 0 : older.findIndex((e) => e.ts >= since);
  if (start < 0) start = older.length;
  start = Math.min(start, older.length - rules.minTrain);
  start = Math.max(start, older.length - rules.maxTrain);
  return { train: older.slice(start), holdout };
}

/**
 * Draws `count` rows from `rows` without replacement with a seeded generator, so the replay share of
 * a job is the same when the job is retried.
 */
export function sampleRows<T>(rows: readonly T[], count: number, seed: number): T[] {
  if (count >= rows.length) return [...rows];
  const copy = [...rows];
  let state = seed >>> 0 || 1;
  const next = () => {
    // xorshift32: enough for choosing rows
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(next() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, count);
}

/** A string's 32-bit hash, to seed the replay sample from the job id. */
export function hashSeed(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/**
 * Estimates when a concept change began from the served predictions' correctness (for a regressor:
 * whether the error was within the window's median): the split of the
 * time-ordered window that best separates an earlier, more accurate stretch from a later, less accurate
 * one (the CUSUM statistic |mean before - mean after| * sqrt(k (n - k) / n)). Undefined when no split
 * lowers accuracy by at least `minDrop`, or the window is shorter than `2 * minSegment`.
 */
export function estimateOnset(window: readonly Example[], minSegment = 20, minDrop = 0.1): number | undefined {
  const sorted = [...window].sort((a, b) => a.ts - b.ts);
  const n = sorted.length;
  if (n < 2 * minSegment) return undefined;
  const hit = correctnessOf(sorted);
  if (hit === undefined) return undefined;
  const prefix = [0];
  for (const h of hit) prefix.push(prefix[prefix.length - 1]! + (h as number));
  let best: { k: number; score: number } | undefined;
  for (let k = minSegment; k <= n - minSegment; k++) {
    const before = prefix[k]! / k;
    const after = (prefix[n]! - prefix[k]!) / (n - k);
    if (before - after < minDrop) continue;
    const score = (before - after) * Math.sqrt((k * (n - k)) / n);
    if (!best || score > best.score) best = { k, score };
  }
  return best ? sorted[best.k]!.ts : undefined;
}

/**
 * 1 when a served prediction was right, 0 when wrong. A regressor is never exactly right, so there a
 * prediction counts as right when its error is at most the window's median error: before a concept
 * change most predictions are, after it few are. Undefined when an example has no usable output.
 */
function correctnessOf(examples: readonly Example[]): number[] | undefined {
  if (examples.every((e) => 'label' in e.output)) return examples.map((e) => ('label' in e.output && e.output.label === String(e.label) ? 1 : 0));
  const errors: number[] = [];
  for (const e of examples) {
    if (!('value' in e.output) || typeof e.label !== 'number') return undefined;
    errors.push(Math.abs(e.output.value - e.label));
  }
  const median = [...errors].sort((a, b) => a - b)[Math.floor(errors.length / 2)]!;
  return errors.map((err) => (err <= median ? 1 : 0));
}

/** Live quality of served predictions: accuracy for classifiers, MAE for regressors. */
export interface LiveScore {
  metric: 'accuracy' | 'mae';
  higherIsBetter: boolean;
  rows: number;
  value: number;
}

/** Scores the predictions the gateway made against their labels, as the post-promotion watch does. */
export function liveScore(examples: readonly Example[]): LiveScore | undefined {
  const first = examples[0];
  if (!first) return undefined;
  if ('label' in first.output) {
    let correct = 0;
    for (const e of examples) if ('label' in e.output && e.output.label === String(e.label)) correct++;
    return { metric: 'accuracy', higherIsBetter: true, rows: examples.length, value: correct / examples.length };
  }
  let sum = 0;
  let rows = 0;
  for (const e of examples) {
    if (!('value' in e.output) || typeof e.label !== 'number') continue;
    sum += Math.abs(e.output.value - e.label);
    rows++;
  }
  return rows === 0 ? undefined : { metric: 'mae', higherIsBetter: false, rows, value: sum / rows };
}
