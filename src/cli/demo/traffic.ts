// The demo's traffic: Iris flowers with a little measurement noise, labelled by their species (the
// concept the example models learnt) until the drift is injected, then changed in one of three ways.
// The rows come from the model's own training sample in the repository (or examples/iris.csv), so the
// command needs no dataset package at run time.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom } from '../../core/index.js';

export const IRIS_FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'] as const;
export const IRIS_CLASSES = ['setosa', 'versicolor', 'virginica'] as const;

/**
 * - `concept`: the inputs stay, the labels follow a new boundary on petal length (setosa below 2.5,
 *   versicolor below 4.2, virginica above): the model's accuracy drops, the monitor sees it.
 * - `covariate`: the flower population changes (rows drawn in proportion to petal length squared:
 *   setosa almost vanishes, virginica dominates) and the labels stay the true species, so what a
 *   given flower is does not change: the monitor sees data drift, accuracy barely moves.
 * - `both`: the covariate shift and the concept change together.
 */
export const DRIFT_KINDS = ['concept', 'covariate', 'both'] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];

export interface IrisRow {
  values: [number, number, number, number];
  species: string;
}

export interface Sample {
  row: Record<string, number>;
  label: string;
}

export function describeDrift(kind: DriftKind): string {
  switch (kind) {
    case 'concept':
      return 'concept: labels now follow petal length (versicolor below 4.2 cm, virginica above)';
    case 'covariate':
      return 'covariate: the population shifts to long petals (drawn ∝ petal length²), labels stay the true species';
    case 'both':
      return 'both: the population shifts to long petals and the labels follow petal length';
  }
}

/** The label of a flower under the species concept (`drifted` false) or the petal-length one. */
export function labelOf(row: IrisRow, conceptChanged: boolean): string {
  if (!conceptChanged) return row.species;
  const petalLength = row.values[2];
  if (petalLength < 2.5) return 'setosa';
  return petalLength < 4.2 ? 'versicolor' : 'virginica';
}

/**
 * The Iris rows: from the oldest version's `training-sample.jsonl` of the model (a retrained version's
 * sample already holds drifted labels), else from `examples/iris.csv` beside the repository.
 * Throws with a sentence when neither holds Iris rows.
 */
export function loadIrisRows(repo: string, model: string): { rows: IrisRow[]; source: string } {
  const dir = join(repo, model);
  const versions = existsSync(dir)
    ? readdirSync(dir)
        .filter((v) => /^\d+$/.test(v))
        .map(Number)
        .sort((a, b) => a - b)
    : [];
  for (const v of versions) {
    const file = join(dir, String(v), 'training-sample.jsonl');
    if (!existsSync(file)) continue;
    const rows = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => fromSample(JSON.parse(l) as { features?: Record<string, unknown>; label?: unknown }, file));
    return { rows, source: file };
  }
  const csv = join(repo, '..', 'examples', 'iris.csv');
  if (existsSync(csv)) {
    const rows = readFileSync(csv, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => {
        const cells = line.split(',');
        return { values: IRIS_FEATURES.map((_, i) => Number(cells[i])) as IrisRow['values'], species: String(cells[4]).trim() };
      });
    return { rows, source: csv };
  }
  throw new Error(`no Iris rows for ${model}: neither ${dir}/<version>/training-sample.jsonl nor ${csv} exists (the demo drives the Iris example models; --repo names the repository)`);
}

function fromSample(sample: { features?: Record<string, unknown>; label?: unknown }, file: string): IrisRow {
  const values = IRIS_FEATURES.map((f) => sample.features?.[f]);
  const species = String(sample.label);
  if (values.some((v) => typeof v !== 'number') || !(IRIS_CLASSES as readonly string[]).includes(species)) {
    throw new Error(`${file} does not hold Iris rows (features ${IRIS_FEATURES.join(', ')}, labels ${IRIS_CLASSES.join(', ')}): the demo drives the Iris example models`);
  }
  return { values: values as IrisRow['values'], species };
}

/** A seeded source of samples: `next(n, drift)` draws n rows, clean (`drift` undefined) or drifted. */
export function irisTraffic(rows: readonly IrisRow[], seed: number): (n: number, drift: DriftKind | undefined) => Sample[] {
  const random = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  // Cumulative weights of the shifted population.
  let total = 0;
  const shifted = rows.map((r) => (total += r.values[2] ** 2));
  const pick = (population: 'clean' | 'shifted'): IrisRow => {
    if (population === 'clean') return rows[Math.floor(random() * rows.length)]!;
    const x = random() * total;
    let lo = 0;
    let hi = shifted.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (shifted[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return rows[lo]!;
  };
  return (n, drift) =>
    Array.from({ length: n }, () => {
      const base = pick(drift === 'covariate' || drift === 'both' ? 'shifted' : 'clean');
      const noisy: IrisRow = { species: base.species, values: base.values.map((v) => Math.round((v + 0.05 * gauss()) * 100) / 100) as IrisRow['values'] };
      return {
        row: Object.fromEntries(IRIS_FEATURES.map((f, i) => [f, noisy.values[i]!])),
        label: labelOf(noisy, drift === 'concept' || drift === 'both'),
      };
    });
}
