// Seeded synthetic streams for the monitor's scenario tests: a model manifest whose reference profile
// comes from generated training data, and prediction/label events drawn from the same distribution or
// a shifted one. The "model" is simulated: its predicted class is the true class with a set accuracy,
// so concept and label shifts can be staged without training anything.
import { randomUUID } from 'node:crypto';
import { manifestSchema, profileColumn, seededRandom } from '../../src/core/index.js';
import type { LabelEvent, Manifest, PredictionEvent } from '../../src/core/index.js';
import type { ManifestSource } from '../../src/monitor/index.js';

export const FEATURES = ['f0', 'f1', 'f2', 'f3'] as const;
export const CLASSES = ['a', 'b'] as const;

export function normal(random: () => number): () => number {
  return () => {
    const u = 1 - random();
    const v = random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

/** The true class of an input: a when f0 + f1 > 0. */
export function trueClass(row: Record<string, number>): 'a' | 'b' {
  return row['f0']! + row['f1']! > 0 ? 'a' : 'b';
}

/**
 * A classifier's manifest over four N(0,1) features with a reference profile of `rows` training
 * rows (<= 1000 makes the default tests KS and chi-squared; more makes them Wasserstein and JS) and a
 * validation accuracy of `accuracy`.
 */
export function syntheticManifest(opts: { name: string; version?: number; rows: number; accuracy?: number; seed?: number; profile?: boolean }): Manifest {
  const random = seededRandom(opts.seed ?? 1);
  const gauss = normal(random);
  const accuracy = opts.accuracy ?? 0.9;
  const columns: Record<string, number[]> = Object.fromEntries(FEATURES.map((f) => [f, []]));
  const predicted: string[] = [];
  const labels: string[] = [];
  for (let i = 0; i < opts.rows; i++) {
    const row = Object.fromEntries(FEATURES.map((f) => [f, gauss()]));
    for (const f of FEATURES) columns[f]!.push(row[f]!);
    const truth = trueClass(row);
    labels.push(truth);
    predicted.push(random() < accuracy ? truth : truth === 'a' ? 'b' : 'a');
  }
  return manifestSchema.parse({
    name: opts.name,
    version: opts.version ?? 1,
    format: 'onnx',
    task: 'classification',
    features: FEATURES.map((name) => ({ name, type: 'numeric' })),
    input: 'input',
    output: 'probabilities',
    labels: [...CLASSES],
    metrics: { validation: { accuracy } },
    ...(opts.profile === false
      ? {}
      : {
          reference: {
            rows: opts.rows,
            features: Object.fromEntries(FEATURES.map((f) => [f, profileColumn(columns[f]!, 'numeric', { seed: 7 })])),
            prediction: profileColumn(predicted, 'categorical'),
            label: profileColumn(labels, 'categorical'),
          },
        }),
  });
}

export interface StreamOptions {
  model: string;
  version?: number;
  count: number;
  seed: number;
  /** Event time of the first event, epoch ms; events are `stepMs` apart. */
  startTs: number;
  stepMs?: number;
  /** Added to each feature's mean, in standard deviations. */
  shift?: Partial<Record<(typeof FEATURES)[number], number>>;
  /** The simulated model's accuracy against the true class. @defaultValue 0.9 */
  accuracy?: number;
  /** Chance that a label is flipped after the model predicted (concept shift). @defaultValue 0 */
  flipLabels?: number;
  /** Forces this share of labels to class "b" (label shift). @defaultValue 0 */
  labelShiftToB?: number;
  /** Labels arrive this long after their prediction. @defaultValue 1000 */
  labelDelayMs?: number;
  idPrefix?: string;
}

export interface Stream {
  predictions: PredictionEvent[];
  labels: LabelEvent[];
}

export function generateStream(o: StreamOptions): Stream {
  const random = seededRandom(o.seed);
  const gauss = normal(random);
  const step = o.stepMs ?? 100;
  const accuracy = o.accuracy ?? 0.9;
  const prefix = o.idPrefix ?? randomUUID().slice(0, 8);
  const predictions: PredictionEvent[] = [];
  const labels: LabelEvent[] = [];
  for (let i = 0; i < o.count; i++) {
    const features: Record<string, number> = {};
    for (const f of FEATURES) features[f] = gauss() + (o.shift?.[f] ?? 0);
    const truth = trueClass(features);
    const other = truth === 'a' ? 'b' : 'a';
    const predicted = random() < accuracy ? truth : other;
    let label: string = truth;
    if (o.flipLabels && random() < o.flipLabels) label = label === 'a' ? 'b' : 'a';
    if (o.labelShiftToB && random() < o.labelShiftToB) label = 'b';
    const ts = o.startTs + i * step;
    const id = `${prefix}-${i}`;
    const pA = predicted === 'a' ? 0.8 : 0.2;
    predictions.push({
      schema: 1,
      id,
      model: o.model,
      version: o.version ?? 1,
      ts: new Date(ts).toISOString(),
      features,
      output: { label: predicted, probabilities: { a: pA, b: 1 - pA } },
      latency_ms: 1,
    });
    labels.push({ schema: 1, id, model: o.model, label, ts: new Date(ts + (o.labelDelayMs ?? 1000)).toISOString() });
  }
  return { predictions, labels };
}

/** A manifest source over fixed manifests (the monitor only needs manifests, not model files). */
export function manifestSource(manifests: Manifest[]): ManifestSource {
  return {
    readManifest: async (model, version) => {
      const m = manifests.find((x) => x.name === model && x.version === version);
      if (!m) throw new Error(`no manifest for ${model}@${version}`);
      return { manifest: m };
    },
    listVersions: async (model) => manifests.filter((m) => m.name === model).map((m) => m.version).sort((a, b) => a - b),
  };
}
