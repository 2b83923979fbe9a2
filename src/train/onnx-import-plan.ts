// The importer's middle form: the layers to create, read off the ONNX graph but not yet tfjs objects,
// so shapes can be checked across the whole chain before any weight is allocated.
import type { tf } from '../core/tfjs.js';

// tfjs-layers runs logSoftmax but leaves it out of its activation type.
export type DenseActivation = NonNullable<Parameters<typeof tf.layers.dense>[0]['activation']>;
export type Activation = DenseActivation | 'logSoftmax';

/** One layer to create, read off the ONNX graph. `source` names the ONNX node(s), for messages. */
export type LayerPlan =
  | { kind: 'dense'; kernel: Float32Array; rows: number; units: number; bias?: Float32Array; activation: Activation; source: string }
  | { kind: 'batchNorm'; gamma: Float32Array; beta: Float32Array; mean: Float32Array; variance: Float32Array; epsilon: number; momentum?: number; source: string }
  | { kind: 'activation'; activation: Activation; source: string }
  | { kind: 'leakyRelu'; alpha: number; source: string };

export type DensePlan = Extract<LayerPlan, { kind: 'dense' }>;

export function firstWidth(plans: readonly LayerPlan[]): number {
  for (const plan of plans) {
    if (plan.kind === 'dense') return plan.rows;
    if (plan.kind === 'batchNorm') return plan.mean.length;
  }
  throw new Error('cannot import ONNX model: the input width is neither declared nor implied by a weight');
}

/** Checks every layer's weights against the width of the tensor flowing into it. */
export function checkWidths(plans: readonly LayerPlan[], inputWidth: number): void {
  let width = inputWidth;
  for (const plan of plans) {
    if (plan.kind === 'dense') {
      if (plan.rows !== width) {
        throw new Error(`cannot import ONNX node "${plan.source}": its weight takes ${plan.rows} inputs but receives ${width}`);
      }
      if (plan.bias !== undefined && plan.bias.length !== plan.units) {
        throw new Error(`cannot import ONNX node "${plan.source}": bias width ${plan.bias.length} differs from ${plan.units} units`);
      }
      width = plan.units;
    } else if (plan.kind === 'batchNorm') {
      for (const [what, values] of Object.entries({ scale: plan.gamma, bias: plan.beta, mean: plan.mean, variance: plan.variance })) {
        if (values.length !== width) {
          throw new Error(`cannot import ONNX node "${plan.source}" (BatchNormalization): ${what} has ${values.length} values for ${width} features`);
        }
      }
    }
  }
}
