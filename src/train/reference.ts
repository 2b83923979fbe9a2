// The reference profile a new version carries for drift tests: how the training split looked (each
// feature), what the model predicted on it, and its labels.
import { profileColumn } from '../core/index.js';
import type { ColumnProfile, Feature, ReferenceProfile } from '../core/index.js';
import { deriveSeed } from './network.js';
import type { Task } from './types.js';

export interface ReferenceInput {
  task: Task;
  /**
   * Training rows as cleaned, before imputation and clipping: the values clients actually send, so live
   * traffic is compared like for like. Missing values (null) are left out of the profiles.
   */
  rows: readonly Readonly<Record<string, number | string | null>>[];
  features: readonly Feature[];
  /** Class names (classification). */
  labels?: readonly string[];
  /** True class index (classification) or value (regression) of each row. */
  targets: ArrayLike<number>;
  /** Model output on the rows: probabilities, rows × labels, or one value per row. */
  outputs: ArrayLike<number>;
  /** Seed of the profiles' random samples. */
  seed: number;
  /** Most values kept in each numeric sample. @defaultValue 1000 */
  sampleSize?: number;
}

/**
 * Builds the profile. Numeric features: summary statistics, 101 quantiles and a seeded sample;
 * categorical features: counts per category, every manifest category listed (0 when unseen).
 * Classification: the predicted class (arg max) and the label as counts over every class.
 * Regression: the predicted and true values as numeric profiles.
 */
export function buildReferenceProfile(input: ReferenceInput): ReferenceProfile {
  const n = input.rows.length;
  if (input.targets.length !== n) throw new RangeError(`buildReferenceProfile: ${n} rows but ${input.targets.length} targets`);
  const sampleSize = input.sampleSize ?? 1000;
  const features: Record<string, ColumnProfile> = {};
  input.features.forEach((feature, i) => {
    const values: (number | string)[] = [];
    for (const row of input.rows) {
      const v = row[feature.name];
      if (v !== null && v !== undefined) values.push(v);
    }
    const profile = profileColumn(values, feature.type, { sampleSize, seed: deriveSeed(input.seed, i) });
    features[feature.name] = feature.type === 'categorical' ? withEveryCategory(profile, feature.categories) : profile;
  });

  if (input.task === 'regression') {
    if (input.outputs.length !== n) throw new RangeError(`buildReferenceProfile: ${n} rows but ${input.outputs.length} predictions`);
    return {
      rows: n,
      features,
      prediction: profileColumn(Array.from(input.outputs), 'numeric', { sampleSize, seed: deriveSeed(input.seed, 1_000_001) }),
      label: profileColumn(Array.from(input.targets), 'numeric', { sampleSize, seed: deriveSeed(input.seed, 1_000_002) }),
    };
  }

  const labels = input.labels ?? [];
  const classes = labels.length;
  if (classes < 2) throw new RangeError('buildReferenceProfile: classification needs at least two labels');
  if (input.outputs.length !== n * classes) {
    throw new RangeError(`buildReferenceProfile: ${input.outputs.length} outputs for ${n} rows × ${classes} classes`);
  }
  const predicted: string[] = [];
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (input.outputs[r * classes + c]! > input.outputs[r * classes + best]!) best = c;
    predicted.push(labels[best]!);
  }
  const actual = Array.from(input.targets, (k) => labels[k] ?? String(k));
  return {
    rows: n,
    features,
    prediction: withEveryCategory(profileColumn(predicted, 'categorical'), labels),
    label: withEveryCategory(profileColumn(actual, 'categorical'), labels),
  };
}

/** A categorical profile whose counts list every given category, in the given order, then any others. */
function withEveryCategory(profile: ColumnProfile, categories: readonly string[]): ColumnProfile {
  if (profile.type !== 'categorical') return profile;
  const entries: [string, number][] = categories.map((c) => [c, Object.hasOwn(profile.counts, c) ? profile.counts[c]! : 0]);
  const listed = new Set(categories);
  for (const [key, count] of Object.entries(profile.counts)) if (!listed.has(key)) entries.push([key, count]);
  return { ...profile, counts: Object.fromEntries(entries) };
}
