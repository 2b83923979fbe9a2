// Semantic checks of events against the model's manifest. The schema check (consumeEvents) already
// made sure the shapes are right; these decide whether the event can be judged at all. Each returns a
// reason, which becomes the dead-letter header, or undefined when the event is fine.
import type { LabelEvent, Manifest, PredictionEvent } from '../core/index.js';
import type { ModelCatalog } from './catalog.js';
import type { PairState } from './store.js';

export function checkPrediction(catalog: ModelCatalog, event: PredictionEvent): string | undefined {
  const manifest = catalog.get(event.model, event.version);
  if (!manifest) {
    return catalog.has(event.model)
      ? `unknown version ${event.version} of model "${event.model}"`
      : `unknown model "${event.model}"`;
  }
  for (const feature of manifest.features) {
    const value = event.features[feature.name];
    if (value === undefined) return `feature "${feature.name}" is missing`;
    // null is how a caller says "missing value"; the drift window counts it as missing
    if (value === null) continue;
    if (feature.type === 'numeric' && (typeof value !== 'number' || !Number.isFinite(value))) {
      return `feature "${feature.name}" must be a number, got ${JSON.stringify(value)}`;
    }
    if (feature.type === 'categorical' && typeof value !== 'string') {
      return `feature "${feature.name}" must be a string category, got ${JSON.stringify(value)}`;
    }
  }
  const output = event.output;
  if (manifest.task === 'classification') {
    if (!('label' in output)) return 'output of a classification model must have "label" and "probabilities"';
    if (!manifest.labels?.includes(output.label)) return `predicted label ${JSON.stringify(output.label)} is not one of the model's classes`;
  } else if (!('value' in output)) {
    return 'output of a regression model must have "value"';
  }
  return undefined;
}

export function checkLabel(catalog: ModelCatalog, event: LabelEvent): string | undefined {
  const manifest = catalog.latest(event.model);
  if (!manifest) return `unknown model "${event.model}"`;
  return labelProblem(manifest, event.label);
}

/**
 * Why a label cannot join the prediction it names, or undefined. Pairs are keyed by (model, id): a
 * label joins only a prediction of the model it names, and is judged against the version that made
 * that prediction (checkLabel used the newest). `pairs` are what the store holds under the label's id,
 * one per model; `inBatch` maps the models of predictions with that id in the label's own batch to
 * their versions (they are applied before the batch's labels). A second label for a pair is no
 * problem here: the store keeps the first and counts it.
 */
export function joinProblem(catalog: ModelCatalog, event: LabelEvent, pairs: readonly PairState[], inBatch: ReadonlyMap<string, number> | undefined): string | undefined {
  const pair = pairs.find((p) => p.model === event.model);
  if (pair?.hasLabel) return undefined;
  const version = inBatch?.get(event.model) ?? (pair?.hasPrediction ? pair.prediction.version : undefined);
  if (version !== undefined) {
    const manifest = catalog.get(event.model, version);
    const problem = manifest && labelProblem(manifest, event.label);
    return problem && `the prediction was made by version ${version}: ${problem}`;
  }
  const other = pairs.find((p) => p.hasPrediction)?.model ?? inBatch?.keys().next().value;
  if (other === undefined) return undefined;
  return `no prediction ${JSON.stringify(event.id)} of model "${event.model}": that id is a prediction of model "${other}" (a label must be sent to the model that made the prediction)`;
}

/** Why a label cannot belong to this model, or undefined. */
export function labelProblem(manifest: Manifest, label: string | number): string | undefined {
  if (manifest.task === 'classification') {
    const name = String(label);
    if (!manifest.labels?.includes(name)) {
      return `label ${JSON.stringify(label)} is not one of the classes of "${manifest.name}" (${(manifest.labels ?? []).join(', ')})`;
    }
    return undefined;
  }
  const value = typeof label === 'number' ? label : Number(label);
  if (typeof label === 'string' && label.trim() === '') return 'label of a regression model must be a number, got ""';
  if (!Number.isFinite(value)) return `label of a regression model must be a number, got ${JSON.stringify(label)}`;
  return undefined;
}

/** The value the prediction event carries as the model's answer: class name or number. */
export function predictedValue(event: Pick<PredictionEvent, 'output'>): string | number {
  const output = event.output;
  return 'label' in output ? output.label : output.value;
}

/** A label as the performance window compares it: class names as strings, regression as numbers. */
export function normaliseLabel(manifest: Pick<Manifest, 'task'>, label: string | number): string | number {
  return manifest.task === 'classification' ? String(label) : typeof label === 'number' ? label : Number(label);
}
