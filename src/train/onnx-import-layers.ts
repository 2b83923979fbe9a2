// Building the tfjs Sequential model from checked layer plans: one layer per plan, named the way
// buildNetwork names its layers, with the ONNX weights set in place of the initial ones.
import { tf } from '../core/tfjs.js';
import type { DenseActivation, LayerPlan } from './onnx-import-plan.js';

export function materialize(plans: readonly LayerPlan[], inputWidth: number, name: string): tf.Sequential {
  const model = tf.sequential({ name });
  const names = new LayerNamer(plans.filter((p) => p.kind === 'dense').length);
  try {
    for (const plan of plans) {
      const first = model.layers.length === 0 ? { batchInputShape: [null, inputWidth] } : {};
      const layer = createLayer(plan, names, first);
      model.add(layer);
      tf.tidy(() => layer.setWeights(weightTensors(plan)));
    }
  } catch (err) {
    if (model.layers.length > 0) model.dispose();
    throw err;
  }
  return model;
}

function createLayer(plan: LayerPlan, names: LayerNamer, first: { batchInputShape?: (number | null)[] }): tf.layers.Layer {
  switch (plan.kind) {
    case 'dense':
      return tf.layers.dense({
        ...first,
        name: names.dense(),
        units: plan.units,
        activation: plan.activation as DenseActivation,
        useBias: plan.bias !== undefined,
        // The weights are set right after; constant initializers spare tfjs the random draws.
        kernelInitializer: 'zeros',
        biasInitializer: 'zeros',
      });
    case 'batchNorm':
      return tf.layers.batchNormalization({
        ...first,
        name: names.next('bn'),
        axis: -1,
        epsilon: plan.epsilon,
        ...(plan.momentum === undefined ? {} : { momentum: plan.momentum }),
      });
    case 'activation':
      return tf.layers.activation({ ...first, name: names.next('activation'), activation: plan.activation as DenseActivation });
    case 'leakyRelu':
      return tf.layers.leakyReLU({ ...first, name: names.next('activation'), alpha: plan.alpha });
  }
}

function weightTensors(plan: LayerPlan): tf.Tensor[] {
  switch (plan.kind) {
    case 'dense':
      return [tf.tensor2d(plan.kernel, [plan.rows, plan.units]), ...(plan.bias === undefined ? [] : [tf.tensor1d(plan.bias)])];
    case 'batchNorm':
      return [tf.tensor1d(plan.gamma), tf.tensor1d(plan.beta), tf.tensor1d(plan.mean), tf.tensor1d(plan.variance)];
    default:
      return [];
  }
}

/**
 * Layer names in the style of `buildNetwork`: Dense layers `hidden_1`, `hidden_2`, ... and the last one
 * `output`; other layers named after the Dense layer they follow (`bn_1`, `activation_1`, with `_b`,
 * `_c`, ... when one Dense is followed by several).
 */
class LayerNamer {
  private denseCount = 0;
  private readonly used = new Set<string>();

  constructor(private readonly totalDense: number) {}

  dense(): string {
    this.denseCount++;
    return this.claim(this.denseCount === this.totalDense ? 'output' : `hidden_${this.denseCount}`);
  }

  next(kind: string): string {
    return this.claim(`${kind}_${this.denseCount}`);
  }

  private claim(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${String.fromCharCode(97 + i)}`;
    this.used.add(name);
    return name;
  }
}
