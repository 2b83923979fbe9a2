// The starting point of fine-tuning, and the model surgery the fine-tuning techniques need: freezing,
// replacing the output layer, putting a new head on a frozen base, and cutting a feature extractor.
// No training happens here; these functions only reshape models.
//
// Every function that returns a new model builds it from copies of the source's layers (same config,
// same weight values), never from the source's layer objects. A shared layer would tie the two models'
// weights together, keep memory alive until both are disposed and, because it has two inbound nodes,
// make the result unexportable to ONNX. Copies cost little for tabular networks and leave the source free
// to be evaluated (the baseline) or disposed.
//
// BatchNormalization caveat. tfjs's BatchNormalization ignores `trainable` during `fit`: a frozen BN layer
// still normalises with batch statistics and keeps updating its moving mean and variance. Freezing a base
// that contains BN therefore does not keep it fixed. The remedy is to run the frozen part once in
// inference mode (`featureExtractor` + `precomputeFeatures`), train only the head (`buildHead`) on those
// features, and put the two together afterwards (`stackModels`). `withNewHead` is fine for bases
// without BN; for bases with BN, the moving statistics will drift during training.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { describeError, inputWidth as manifestInputWidth, outputWidth as manifestOutputWidth, readManifestAt } from '../core/index.js';
import { TFJS_MODEL_FILE, initTf, loadLayersModelFromDir, tf } from '../core/tfjs.js';
import type { Manifest } from '../core/index.js';
import { importOnnxDense } from './onnx-import.js';
import {
  INITIALIZERS,
  OUTPUT_ACTIVATIONS,
  deriveSeed,
  denseStack,
  dropoutStreamSeed,
  hiddenLayerSpecSchema,
  kernelInitializer,
  outputLayerSpecSchema,
  streamDropoutSeeds,
} from './network.js';
import type { InitializerName, OutputActivation } from './network.js';

/** File name of an ONNX model inside a version directory (docs/architecture.md). */
export const ONNX_MODEL_FILE = 'model.onnx';

export interface BaseModel {
  /** The model, uncompiled, every layer as it was saved (trainable flags included). */
  model: tf.LayersModel;
  manifest: Manifest;
}

/**
 * Loads a served version as the base for fine-tuning: its manifest (`driftgate.json`) and its model as
 * a tfjs layers model. A `tfjs-layers` version is loaded as is. An `onnx` version is loaded from the
 * tfjs layers files beside it when its manifest names them (`artifacts.tfjs`, as `writeVersion` writes
 * an ONNX version), else imported with `importOnnxDense`, taking the manifest's `output` as the output
 * to reproduce. A `tfjs-graph` version is refused: graph models are frozen inference graphs without
 * layers, so there is nothing to fine-tune.
 *
 * @throws Error when the manifest is missing or invalid, the model cannot be loaded, or its input or
 *   output width disagrees with the manifest's features or labels.
 */
export async function loadBaseModel(versionDir: string): Promise<BaseModel> {
  const manifest = await readManifestAt(versionDir);
  await initTf();
  let model: tf.LayersModel;
  switch (manifest.format) {
    case 'tfjs-layers':
      model = await loadLayersModelFromDir(versionDir);
      break;
    case 'onnx': {
      // A version driftgate wrote as ONNX keeps the tfjs layers it was exported from (artifacts.tfjs):
      // those are the exact layers, dropout and names included, where an import rebuilds them from
      // the graph.
      if (tfjsArtifact(manifest) === TFJS_MODEL_FILE) {
        model = await loadLayersModelFromDir(versionDir);
        break;
      }
      const path = join(versionDir, ONNX_MODEL_FILE);
      const bytes = await readFile(path).catch((err: unknown) => {
        throw new Error(`cannot read the base model ${path}: ${describeError(err)}`, { cause: err });
      });
      try {
        model = importOnnxDense(bytes, { output: manifest.output, name: manifest.name.replace(/[^A-Za-z0-9_]/g, '_') });
      } catch (err) {
        throw new Error(`cannot use ${path} as a base model: ${describeError(err)}`, { cause: err });
      }
      break;
    }
    case 'tfjs-graph':
      throw new Error(
        `${versionDir} holds a tfjs graph model, which cannot be fine-tuned: graph models are frozen inference graphs ` +
          'without layers or trainable weights; start from a tfjs-layers or ONNX version, or from a fresh network',
      );
  }
  const expectIn = manifestInputWidth(manifest.features);
  const expectOut = manifestOutputWidth(manifest);
  const gotIn = model.inputs[0]?.shape[1];
  const gotOut = model.outputs[0]?.shape[1];
  if (gotIn !== expectIn || gotOut !== expectOut) {
    model.dispose();
    throw new Error(
      `the model in ${versionDir} takes ${String(gotIn)} inputs and gives ${String(gotOut)} outputs, ` +
        `but its manifest implies ${expectIn} and ${expectOut}`,
    );
  }
  return { model, manifest };
}

/** The tfjs layers file an ONNX version keeps beside its served model, when its manifest names one. */
function tfjsArtifact(manifest: Manifest): string | undefined {
  const artifacts = (manifest as Record<string, unknown>)['artifacts'] as Record<string, unknown> | undefined;
  return typeof artifacts?.['tfjs'] === 'string' ? artifacts['tfjs'] : undefined;
}

// ---------------------------------------------------------------------------------------------------
// Freezing

/**
 * Marks layers as not trainable and returns the names it froze, in model order.
 *
 * `firstK` counts layers that hold weights (Dense, BatchNormalization), from the input side;
 * `names` picks layers by name. Both may be given. tfjs only honours a `trainable` change after the
 * next `compile()`: recompile (with a fresh optimizer) before training. See the BatchNormalization
 * caveat in this file's header.
 *
 * @throws RangeError when `firstK` is negative, fractional or larger than the number of weighted layers;
 *   Error when a name is not a layer of the model.
 */
export function freezeLayers(model: tf.LayersModel, opts: { firstK?: number | undefined; names?: readonly string[] | undefined }): string[] {
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const weighted = layers.filter((l) => l.weights.length > 0);
  const chosen = new Set<tf.layers.Layer>();
  if (opts.firstK !== undefined) {
    const k = opts.firstK;
    if (!Number.isInteger(k) || k < 0 || k > weighted.length) {
      throw new RangeError(`freezeLayers: firstK must be an integer from 0 to ${weighted.length} (the model's layers with weights), got ${k}`);
    }
    for (const layer of weighted.slice(0, k)) chosen.add(layer);
  }
  for (const name of opts.names ?? []) {
    const layer = layers.find((l) => l.name === name);
    if (layer === undefined) {
      throw new Error(`freezeLayers: model "${model.name}" has no layer "${name}" (layers: ${layers.map((l) => l.name).join(', ')})`);
    }
    chosen.add(layer);
  }
  const frozen = layers.filter((l) => chosen.has(l));
  for (const layer of frozen) layer.trainable = false;
  return frozen.map((l) => l.name);
}

/** Makes every layer (or the named ones) trainable again, for the second phase of fine-tuning. Recompile afterwards. */
export function unfreezeLayers(model: tf.LayersModel, names?: readonly string[]): string[] {
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const picked = names === undefined ? layers : names.map((name) => {
    const layer = layers.find((l) => l.name === name);
    if (layer === undefined) throw new Error(`unfreezeLayers: model "${model.name}" has no layer "${name}"`);
    return layer;
  });
  for (const layer of picked) layer.trainable = true;
  return picked.map((l) => l.name);
}

// ---------------------------------------------------------------------------------------------------
// New outputs and heads

export interface NewOutputOptions {
  units: number;
  activation: OutputActivation;
  /** Seed of the new layer's kernel initializer. */
  seed: number;
  /** @defaultValue `'glorotUniform'` */
  initializer?: InitializerName;
}

const newOutputSchema = z.object({
  units: z.number().int().min(1),
  activation: z.enum(OUTPUT_ACTIVATIONS),
  seed: z.number().int(),
  initializer: z.enum(INITIALIZERS).default('glorotUniform'),
});

/**
 * Layer replacement: a new model with copies of every layer below the source's last Dense layer (same
 * weights, same trainable flags) and a freshly initialised Dense `output` layer in its place, e.g. for a
 * different number of classes. Layers after the last Dense (a separate activation) are dropped with it.
 */
export function replaceOutput(model: tf.LayersModel, opts: NewOutputOptions): tf.Sequential {
  const o = newOutputSchema.parse(opts);
  const trunk = trunkLayers(model);
  const result = copyIntoSequential(`${model.name}_new_output`, trunk, modelInputWidth(model));
  try {
    const names = new Set(result.layers.map((l) => l.name));
    result.add(
      tf.layers.dense({
        ...(result.layers.length === 0 ? { batchInputShape: [null, modelInputWidth(model)] } : {}),
        name: uniqueName('output', names),
        units: o.units,
        activation: o.activation,
        kernelInitializer: kernelInitializer(o.initializer, deriveSeed(o.seed, 0)),
        biasInitializer: 'zeros',
      }),
    );
  } catch (err) {
    disposeQuietly(result);
    throw err;
  }
  return result;
}

export const headSpecSchema = z.object({
  /** Hidden layers of the head, named `head_1`, `head_bn_1`, `head_dropout_1`, ... @defaultValue `[]` */
  hidden: z.array(hiddenLayerSpecSchema).default([]),
  /** The head's output layer, named `output`. */
  output: outputLayerSpecSchema,
  seed: z.number().int(),
  /** @defaultValue `'glorotUniform'` */
  initializer: z.enum(INITIALIZERS).default('glorotUniform'),
  /** L1 penalty on the head's kernels. @defaultValue 0 */
  l1: z.number().min(0).optional(),
  /** L2 penalty on the head's kernels. @defaultValue 0 */
  l2: z.number().min(0).optional(),
});
export type HeadSpecInput = z.input<typeof headSpecSchema>;

/**
 * Transfer learning: copies of the base's layers below its output (all frozen) followed by a new head.
 * Compile before training. If the base holds BatchNormalization layers their moving statistics still
 * change during `fit` (see the file header); use `featureExtractor` + `precomputeFeatures` + `buildHead`
 * to keep them fixed.
 */
export function withNewHead(base: tf.LayersModel, head: HeadSpecInput): tf.Sequential {
  const spec = headSpecSchema.parse(head);
  const trunk = trunkLayers(base);
  if (trunk.length === 0) throw new Error(`withNewHead: model "${base.name}" has no layers below its output to reuse`);
  const result = copyIntoSequential(`${base.name}_transfer`, trunk, modelInputWidth(base), { trainable: false });
  try {
    const names = new Set(result.layers.map((l) => l.name));
    for (const layer of denseStack({ ...spec, inputWidth: outputWidthOf(result) }, { prefix: 'head' })) {
      if (names.has(layer.name)) throw new Error(`withNewHead: the base already has a layer named "${layer.name}"`);
      result.add(layer);
    }
  } catch (err) {
    disposeQuietly(result);
    throw err;
  }
  return result;
}

/** A new head alone, taking `inputWidth` features: the trainable part of the precompute recipe. */
export function buildHead(inputWidth: number, head: HeadSpecInput): tf.Sequential {
  const spec = headSpecSchema.parse(head);
  const model = tf.sequential({ name: 'head' });
  for (const layer of denseStack({ ...spec, inputWidth }, { prefix: 'head' })) model.add(layer);
  return model;
}

/**
 * A frozen copy of the model's layers from the input up to and including `upToLayer`.
 * @param upToLayer - name of the last layer to keep. @defaultValue the layer just below the last Dense
 *   layer (everything but the output)
 */
export function featureExtractor(model: tf.LayersModel, upToLayer?: string): tf.Sequential {
  const layers = chainLayers(model);
  let kept: tf.layers.Layer[];
  if (upToLayer === undefined) {
    kept = trunkLayers(model);
    if (kept.length === 0) throw new Error(`featureExtractor: model "${model.name}" has no layers below its output`);
  } else {
    const index = layers.findIndex((l) => l.name === upToLayer);
    if (index < 0) throw new Error(`featureExtractor: model "${model.name}" has no layer "${upToLayer}" (layers: ${layers.map((l) => l.name).join(', ')})`);
    kept = layers.slice(0, index + 1);
  }
  return copyIntoSequential(`${model.name}_features`, kept, modelInputWidth(model), { trainable: false });
}

/**
 * Runs the frozen extractor once in inference mode (BatchNormalization uses its moving statistics and
 * leaves them alone, dropout is off) and returns its outputs, on which a head can then be trained
 * without touching the extractor. The caller disposes the returned tensor.
 * @param batchSize - rows per predict call. @defaultValue 256
 */
export function precomputeFeatures(extractor: tf.LayersModel, x: tf.Tensor, batchSize = 256): tf.Tensor {
  return tf.tidy(() => extractor.predict(x, { batchSize }) as tf.Tensor);
}

/**
 * One Sequential model computing the given models one after another (extractor then head, say), built
 * from copies of their layers with their weights and trainable flags. Layer names must be unique across
 * the models.
 */
export function stackModels(models: readonly tf.LayersModel[], name = 'stacked'): tf.Sequential {
  const first = models[0];
  if (first === undefined) throw new Error('stackModels: no models given');
  const layers: tf.layers.Layer[] = [];
  let width = modelInputWidth(first);
  for (const model of models) {
    if (modelInputWidth(model) !== width) {
      throw new Error(`stackModels: model "${model.name}" takes ${modelInputWidth(model)} inputs but receives ${width}`);
    }
    layers.push(...chainLayers(model));
    width = outputWidthOf(model);
  }
  const seen = new Set<string>();
  for (const layer of layers) {
    if (seen.has(layer.name)) throw new Error(`stackModels: layer name "${layer.name}" occurs in more than one model`);
    seen.add(layer.name);
  }
  return copyIntoSequential(name, layers, modelInputWidth(first));
}

// ---------------------------------------------------------------------------------------------------
// Copying layers

/**
 * The model's layers (without the input layer) after checking they form a single chain: each fed by the
 * one before it (the first by the input), each used once. Layers shared with another model are refused.
 */
function chainLayers(model: tf.LayersModel): tf.layers.Layer[] {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error(`model "${model.name}" must have exactly one input and one output`);
  }
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  let previous: tf.layers.Layer | undefined;
  for (const layer of layers) {
    const feeds = layer.inboundNodes.length === 1 ? layer.inboundNodes[0]!.inboundLayers : [];
    const source = feeds.length === 1 ? feeds[0] : undefined;
    const chained = source !== undefined && (previous === undefined ? source.getClassName() === 'InputLayer' : source === previous);
    if (!chained) throw new Error(`model "${model.name}" is not a single chain of unshared layers (at layer "${layer.name}")`);
    previous = layer;
  }
  return layers;
}

/** Layers below the last Dense layer. */
function trunkLayers(model: tf.LayersModel): tf.layers.Layer[] {
  const layers = chainLayers(model);
  const last = layers.findLastIndex((l) => l.getClassName() === 'Dense');
  if (last < 0) throw new Error(`model "${model.name}" has no Dense layer to replace`);
  return layers.slice(0, last);
}

function modelInputWidth(model: tf.LayersModel): number {
  const shape = model.inputs[0]?.shape;
  const width = shape?.[1];
  if (shape?.length !== 2 || typeof width !== 'number') {
    throw new Error(`model "${model.name}" must take [batch, features] input, got [${shape?.join(', ') ?? ''}]`);
  }
  return width;
}

function outputWidthOf(model: tf.LayersModel): number {
  const shape = model.outputs[0]?.shape;
  const width = shape?.[1];
  if (shape?.length !== 2 || typeof width !== 'number') {
    throw new Error(`model "${model.name}" must give [batch, features] output, got [${shape?.join(', ') ?? ''}]`);
  }
  return width;
}

/**
 * A Sequential of fresh layers made from the given layers' configs, holding their current weight values.
 * `trainable` overrides the copied flags when given.
 */
function copyIntoSequential(name: string, layers: readonly tf.layers.Layer[], inputWidth: number, opts: { trainable?: boolean } = {}): tf.Sequential {
  const model = tf.sequential({ name });
  try {
    for (const layer of layers) {
      const copy = copyLayer(layer, model.layers.length === 0 ? inputWidth : undefined);
      model.add(copy);
      copy.setWeights(layer.getWeights());
      if (opts.trainable !== undefined) copy.trainable = opts.trainable;
    }
  } catch (err) {
    disposeQuietly(model);
    throw err;
  }
  return model;
}

/** A fresh layer built from another's config (weights not copied); keeps a dropout layer's seeded mask stream. */
export function copyLayer(layer: tf.layers.Layer, inputWidth: number | undefined): tf.layers.Layer {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[layer.getClassName()];
  if (entry === undefined) throw new Error(`cannot copy layer "${layer.name}": tfjs does not know the class ${layer.getClassName()}`);
  const [cls, fromConfig] = entry;
  const config: tf.serialization.ConfigDict = { ...layer.getConfig() };
  delete config['batchInputShape'];
  delete config['inputShape'];
  if (inputWidth !== undefined) config['batchInputShape'] = [null, inputWidth];
  const copy = fromConfig(cls, config) as tf.layers.Layer;
  const streamSeed = dropoutStreamSeed(layer);
  if (streamSeed !== undefined) streamDropoutSeeds(copy, streamSeed);
  return copy;
}

function uniqueName(base: string, taken: ReadonlySet<string>): string {
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  return name;
}

/** Disposes a half-built model; a model whose layers were never applied cannot be disposed and holds nothing. */
function disposeQuietly(model: tf.LayersModel): void {
  try {
    model.dispose();
  } catch {
    // Nothing was allocated.
  }
}
