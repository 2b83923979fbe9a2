// Fresh dense networks from a declarative spec, built so that the same spec always gives the same weights.
//
// Every random choice tfjs makes while building (kernel initializers) and while training (dropout masks)
// is driven by a seed derived from `spec.seed`, so a build is reproducible and two specs that differ
// only in, say, a dropout rate start from the same kernels. The layer names are stable (`hidden_1`,
// `bn_1`, `dropout_1`, ..., `output`) because freezing by name, reports and lineage refer to them.
import { z } from 'zod';
import { seededRandom } from '../core/index.js';
import { tf } from '../core/tfjs.js';

/**
 * Activations a hidden layer may use: the ones the ONNX exporter can write, so every network built here
 * can also be served through onnxruntime.
 */
export const HIDDEN_ACTIVATIONS = [
  'relu',
  'relu6',
  'elu',
  'selu',
  'tanh',
  'sigmoid',
  'hardSigmoid',
  'softplus',
  'softsign',
  'swish',
  'linear',
] as const;
export type HiddenActivation = (typeof HIDDEN_ACTIVATIONS)[number];

/** Output activations: class probabilities (softmax), independent probabilities (sigmoid) or values. */
export const OUTPUT_ACTIVATIONS = ['softmax', 'sigmoid', 'linear'] as const;
export type OutputActivation = (typeof OUTPUT_ACTIVATIONS)[number];

/** Kernel initializers. `randomNormal` draws from N(0, 0.05²), the Keras default. Biases start at zero. */
export const INITIALIZERS = ['glorotUniform', 'glorotNormal', 'heNormal', 'heUniform', 'lecunNormal', 'lecunUniform', 'randomNormal'] as const;
export type InitializerName = (typeof INITIALIZERS)[number];

export const hiddenLayerSpecSchema = z.object({
  units: z.number().int().min(1).max(65_536),
  /** @defaultValue `'relu'` */
  activation: z.enum(HIDDEN_ACTIVATIONS).default('relu'),
  /** Dropout rate after the layer (and after its BatchNormalization). 0 or absent: no dropout layer. */
  dropout: z.number().min(0).max(0.9).optional(),
  /** Adds a BatchNormalization layer after the Dense layer (which already applied its activation). @defaultValue false */
  batchNorm: z.boolean().default(false),
});
export type HiddenLayerSpec = z.infer<typeof hiddenLayerSpecSchema>;
export type HiddenLayerSpecInput = z.input<typeof hiddenLayerSpecSchema>;

export const outputLayerSpecSchema = z
  .object({
    units: z.number().int().min(1).max(65_536),
    activation: z.enum(OUTPUT_ACTIVATIONS),
  })
  .refine((o) => o.activation !== 'softmax' || o.units >= 2, {
    message: 'a softmax output needs at least 2 units (one unit would always output 1)',
    path: ['units'],
  });
export type OutputLayerSpec = z.infer<typeof outputLayerSpecSchema>;

export const networkSpecSchema = z.object({
  /** Width of the input vector (the manifest's encoded feature width). */
  inputWidth: z.number().int().min(1),
  /** Hidden layers, input side first. @defaultValue `[]` (a linear or logistic model) */
  hidden: z.array(hiddenLayerSpecSchema).default([]),
  output: outputLayerSpecSchema,
  /** Kernel initializer of every Dense layer. @defaultValue `'glorotUniform'` */
  initializer: z.enum(INITIALIZERS).default('glorotUniform'),
  /** L1 penalty on every Dense kernel. @defaultValue 0 */
  l1: z.number().min(0).optional(),
  /** L2 penalty on every Dense kernel. @defaultValue 0 */
  l2: z.number().min(0).optional(),
  /** Root of every seed used by the build and by dropout during training. */
  seed: z.number().int(),
});
export type NetworkSpec = z.infer<typeof networkSpecSchema>;
export type NetworkSpecInput = z.input<typeof networkSpecSchema>;

/**
 * Builds the network a spec describes, as a `tf.Sequential`:
 * for each hidden layer i (from 1) `hidden_i` (Dense with its activation), then `bn_i` when `batchNorm`,
 * then `dropout_i` when `dropout > 0`; finally `output` (Dense with the output activation).
 *
 * The model is not compiled. Call `initTf()` before building so the weights land on the chosen backend.
 *
 * @throws ZodError when the spec is invalid.
 */
export function buildNetwork(spec: NetworkSpecInput): tf.Sequential {
  const parsed = networkSpecSchema.parse(spec);
  const model = tf.sequential({ name: `network_${parsed.seed >>> 0}` });
  for (const layer of denseStack(parsed, { prefix: '' })) model.add(layer);
  return model;
}

/** What `denseStack` needs: a network spec without the fields that only matter to `buildNetwork`. */
export interface DenseStackSpec {
  inputWidth: number;
  hidden: readonly HiddenLayerSpec[];
  output: OutputLayerSpec;
  initializer: InitializerName;
  l1?: number | undefined;
  l2?: number | undefined;
  seed: number;
}

/**
 * The layers of a dense stack, not yet in a model. `prefix` keeps the names apart when the stack is a
 * head placed on top of another network: with prefix `head` the layers are `head_1`, `head_bn_1`,
 * `head_dropout_1`, ..., and the last one is still `output`. The first layer carries the input shape.
 */
export function denseStack(spec: DenseStackSpec, opts: { prefix: string }): tf.layers.Layer[] {
  const names = layerNames(opts.prefix);
  const regularizer = kernelRegularizer(spec.l1, spec.l2);
  const layers: tf.layers.Layer[] = [];
  const inputShape = (): { batchInputShape?: [null, number] } =>
    layers.length === 0 ? { batchInputShape: [null, spec.inputWidth] } : {};

  spec.hidden.forEach((hidden, index) => {
    const i = index + 1;
    layers.push(
      tf.layers.dense({
        ...inputShape(),
        name: names.dense(i),
        units: hidden.units,
        activation: hidden.activation,
        kernelInitializer: kernelInitializer(spec.initializer, deriveSeed(spec.seed, streamOf(i, 'kernel'))),
        biasInitializer: 'zeros',
        ...(regularizer === undefined ? {} : { kernelRegularizer: regularizer }),
      }),
    );
    if (hidden.batchNorm) layers.push(tf.layers.batchNormalization({ name: names.batchNorm(i), axis: -1 }));
    if (hidden.dropout !== undefined && hidden.dropout > 0) {
      const dropout = tf.layers.dropout({ name: names.dropout(i), rate: hidden.dropout });
      streamDropoutSeeds(dropout, deriveSeed(spec.seed, streamOf(i, 'dropout')));
      layers.push(dropout);
    }
  });

  const outputIndex = spec.hidden.length + 1;
  layers.push(
    tf.layers.dense({
      ...inputShape(),
      name: 'output',
      units: spec.output.units,
      activation: spec.output.activation,
      kernelInitializer: kernelInitializer(spec.initializer, deriveSeed(spec.seed, streamOf(outputIndex, 'kernel'))),
      biasInitializer: 'zeros',
      ...(regularizer === undefined ? {} : { kernelRegularizer: regularizer }),
    }),
  );
  return layers;
}

function layerNames(prefix: string): { dense(i: number): string; batchNorm(i: number): string; dropout(i: number): string } {
  const lead = prefix === '' ? '' : `${prefix}_`;
  return {
    dense: (i) => (prefix === '' ? `hidden_${i}` : `${prefix}_${i}`),
    batchNorm: (i) => `${lead}bn_${i}`,
    dropout: (i) => `${lead}dropout_${i}`,
  };
}

/** Each layer position owns a few seed streams; a layer's seeds do not depend on the layers around it. */
function streamOf(layerIndex: number, role: 'kernel' | 'dropout'): number {
  return layerIndex * 8 + (role === 'kernel' ? 0 : 1);
}

/**
 * A 31-bit seed for one purpose (`stream`) under a root seed. Distinct streams give unrelated seeds, so
 * adding a dropout layer does not shift the kernels of the layers after it.
 */
export function deriveSeed(seed: number, stream: number): number {
  const mixed = (Math.trunc(seed) ^ Math.imul(stream + 1, 0x9e3779b1)) >>> 0;
  return Math.floor(seededRandom(mixed)() * 0x7fffffff);
}

/** A seeded tfjs kernel initializer by name. */
export function kernelInitializer(name: InitializerName, seed: number): ReturnType<typeof tf.initializers.glorotUniform> {
  switch (name) {
    case 'glorotUniform':
      return tf.initializers.glorotUniform({ seed });
    case 'glorotNormal':
      return tf.initializers.glorotNormal({ seed });
    case 'heNormal':
      return tf.initializers.heNormal({ seed });
    case 'heUniform':
      return tf.initializers.heUniform({ seed });
    case 'lecunNormal':
      return tf.initializers.leCunNormal({ seed });
    case 'lecunUniform':
      return tf.initializers.leCunUniform({ seed });
    case 'randomNormal':
      return tf.initializers.randomNormal({ mean: 0, stddev: 0.05, seed });
  }
}

function kernelRegularizer(l1: number | undefined, l2: number | undefined): ReturnType<typeof tf.regularizers.l1l2> | undefined {
  const a = l1 ?? 0;
  const b = l2 ?? 0;
  return a > 0 || b > 0 ? tf.regularizers.l1l2({ l1: a, l2: b }) : undefined;
}

type LayerCall = tf.layers.Layer['call'];

/** Root seeds of the dropout layers that draw a fresh mask per call, so copies can keep doing so. */
const dropoutStreams = new WeakMap<tf.layers.Layer, number>();

/**
 * Makes a Dropout layer draw a different, reproducible mask on every call.
 *
 * tfjs's Dropout passes its `seed` unchanged to every call, so a seeded Dropout drops the *same* units
 * for every batch of a given shape, which is not dropout any more. Here the layer's seed is advanced
 * from a seeded stream before each call instead. The layer's saved config leaves the seed out, so a
 * model reloaded from disk gets ordinary unseeded dropout rather than a frozen mask; call this again
 * on the reloaded layers to make training reproducible.
 */
export function streamDropoutSeeds(layer: tf.layers.Layer, seed: number): void {
  if (layer.getClassName() !== 'Dropout') {
    throw new Error(`streamDropoutSeeds: layer "${layer.name}" is a ${layer.getClassName()}, not a Dropout`);
  }
  const random = seededRandom(seed);
  // tfjs keeps a Dropout layer's seed in a field its typings do not declare; there is no typed way to set it.
  const target = layer as unknown as { seed?: number };
  const baseCall: LayerCall = layer.call.bind(layer);
  const baseConfig = layer.getConfig.bind(layer);
  layer.call = (inputs, kwargs) => {
    target.seed = Math.floor(random() * 0x7fffffff);
    return baseCall(inputs, kwargs);
  };
  layer.getConfig = () => {
    const config = baseConfig();
    delete config['seed'];
    return config;
  };
  dropoutStreams.set(layer, seed);
}

/** The root seed `streamDropoutSeeds` gave this layer, if any. */
export function dropoutStreamSeed(layer: tf.layers.Layer): number | undefined {
  return dropoutStreams.get(layer);
}

/** One row of `describeNetwork`. */
export interface LayerSummary {
  name: string;
  /** tfjs class name: `Dense`, `BatchNormalization`, `Dropout`, `Activation`, ... */
  className: string;
  /** Output units of a Dense layer. */
  units?: number;
  /** Activation of a Dense or Activation layer. */
  activation?: string;
  trainable: boolean;
  /** Number of weights (trainable or not) the layer holds. */
  params: number;
}

/** The layers of a model as plain rows, for reports and logs (input layers are left out). */
export function describeNetwork(model: tf.LayersModel): LayerSummary[] {
  return model.layers
    .filter((layer) => layer.getClassName() !== 'InputLayer')
    .map((layer) => {
      const config = layer.getConfig();
      const row: LayerSummary = {
        name: layer.name,
        className: layer.getClassName(),
        trainable: layer.trainable,
        params: layer.countParams(),
      };
      if (typeof config['units'] === 'number') row.units = config['units'];
      if (typeof config['activation'] === 'string') row.activation = config['activation'];
      return row;
    });
}
