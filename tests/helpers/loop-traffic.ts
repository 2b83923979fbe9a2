// Traffic for the retrain-loop tests and benchmark: Iris rows with a little noise, labelled by their
// species (the concept the example models learnt) or by a new rule on one feature (a concept change).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom } from '../../src/core/index.js';

export const IRIS_FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'] as const;
export const IRIS_CLASSES = ['setosa', 'versicolor', 'virginica'] as const;

/** The admin token of the loop tests and benchmark. */
export const LOOP_TOKEN = 'loop-test-token';
/**
 * A drift policy that reacts within a few hundred labels: judge performance over the last 100 labels
 * (from 60 on), no cooldown, and input drift only reported (a concept change moves no input).
 */
export const LOOP_POLICY = {
  default: {
    window: { size: 150, minSamples: 50 },
    drift: { action: 'report' },
    performance: { window: 100, minLabels: 60, maxDrop: 0.1 },
    cooldownMs: 0,
  },
};

const IRIS = readFileSync(join(import.meta.dirname, '../../examples/iris.csv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => {
    const cells = line.split(',');
    return { row: IRIS_FEATURES.map((_, i) => Number(cells[i])), species: cells[4]! };
  });

/**
 * `species`: the true species. `petal-length`: a new boundary on petal length (versicolor below 4.2,
 * virginica above). `petal-width`: a boundary on petal width instead (versicolor below 1.2).
 */
export type Concept = 'species' | 'petal-length' | 'petal-width';

export interface Sample {
  row: Record<string, number>;
  label: string;
}

export function labelOf(values: readonly number[], species: string, concept: Concept): string {
  const [, , petalLength, petalWidth] = values as [number, number, number, number];
  if (concept === 'species') return species;
  if (petalLength < 2.5) return 'setosa';
  if (concept === 'petal-length') return petalLength < 4.2 ? 'versicolor' : 'virginica';
  return petalWidth < 1.2 ? 'versicolor' : 'virginica';
}

/** A seeded source of samples: `next(n, concept)` draws n rows. */
export function irisTraffic(seed: number): (n: number, concept: Concept) => Sample[] {
  const random = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return (n, concept) =>
    Array.from({ length: n }, () => {
      const base = IRIS[Math.floor(random() * IRIS.length)]!;
      const values = base.row.map((v) => Math.round((v + 0.05 * gauss()) * 100) / 100);
      return { row: Object.fromEntries(IRIS_FEATURES.map((f, i) => [f, values[i]!])), label: labelOf(values, base.species, concept) };
    });
}

/** A client of the gateway that predicts a batch and sends its labels, counting failures. */
export class LabelingClient {
  failed = 0;
  requests = 0;
  constructor(
    private url: string,
    private readonly labelHeaders: Record<string, string> = {},
  ) {}

  setUrl(url: string): void {
    this.url = url;
  }

  /** Predicts, sends the labels (or `labels(sample, i)`), returns correct predictions and the version that answered. */
  async round(model: string, samples: Sample[], labels: (s: Sample, i: number) => string = (s) => s.label): Promise<{ correct: number; version: string }> {
    this.requests++;
    const res = await fetch(`${this.url}/v1/models/${model}:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: samples.map((s) => s.row) }),
    });
    const body = (await res.json()) as { predictions?: { label: string }[]; ids?: string[]; model_version?: string };
    if (res.status !== 200 || !body.predictions || !body.ids) {
      this.failed++;
      return { correct: 0, version: '' };
    }
    const ids = body.ids;
    const sent = await fetch(`${this.url}/v2/models/${model}/labels`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...this.labelHeaders },
      body: JSON.stringify({ labels: ids.map((id, i) => ({ id, label: labels(samples[i]!, i) })) }),
    });
    if (sent.status !== 202) this.failed++;
    const correct = body.predictions.filter((p, i) => p.label === samples[i]!.label).length;
    return { correct, version: String(body.model_version) };
  }

  /** Sends `rounds` batches of `size` rows; returns the accuracy and the versions that answered. */
  async accuracy(model: string, next: (n: number, c: Concept) => Sample[], concept: Concept, rounds: number, size = 20): Promise<{ accuracy: number; versions: Set<string> }> {
    let right = 0;
    const versions = new Set<string>();
    for (let i = 0; i < rounds; i++) {
      const r = await this.round(model, next(size, concept));
      right += r.correct;
      if (r.version) versions.add(r.version);
    }
    return { accuracy: right / (rounds * size), versions };
  }

  /**
   * Sends batches of the concept until a version other than `from` answers (or `limitMs` passes);
   * returns the accuracy meanwhile and how long it took.
   */
  async untilVersionChanges(model: string, next: (n: number, c: Concept) => Sample[], concept: Concept, from: string, limitMs: number, during?: (round: number) => Promise<void>) {
    const started = Date.now();
    let right = 0;
    let total = 0;
    let version = from;
    for (let i = 0; version === from; i++) {
      if (Date.now() - started > limitMs) throw new Error(`no version other than ${from} served within ${limitMs} ms (accuracy meanwhile ${right / Math.max(1, total)})`);
      await during?.(i);
      const r = await this.round(model, next(20, concept));
      right += r.correct;
      total += 20;
      if (r.version) version = r.version;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { version, accuracy: right / total, rows: total, seconds: (Date.now() - started) / 1000 };
  }
}
