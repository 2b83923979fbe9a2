// From the traced ONNX path to layer plans: one small planner per operator, looked up in a table, so
// supporting another operator is one entry and one function rather than another case in a long switch.
import type { onnx as Onnx } from 'onnx-proto';
import type { PathStep } from './onnx-import-graph.js';
import type { Activation, DensePlan, LayerPlan } from './onnx-import-plan.js';
import { FLOAT, attribute, floatAttr, floatTensor, intAttr, nodeName } from './onnx-import-protobuf.js';
import type { FloatTensor } from './onnx-import-protobuf.js';

// tfjs's SELU constants; ONNX stores float32 roundings of the same numbers.
const SELU_GAMMA = 1.0507009873554805;
const SELU_ALPHA = 1.6732632423543772;

/** What a planner sees of one node on the path, and what it may do to the plans made so far. */
interface NodeContext {
  node: Onnx.INodeProto;
  /** The node's name, for messages and layer sources. */
  name: string;
  /** The opset of the default domain, which decides some attribute defaults. */
  opset: number;
  plans: LayerPlan[];
  isConstant: (tensor: string) => boolean;
  /** The values of input `index`, which must be a constant; `role` names it in the error otherwise. */
  constant: (index: number, role: string) => FloatTensor;
  /** Refuses the node unless its first input is the layer input (the weights come after it). */
  requireDataFirst: () => void;
  /** Folds an activation into the Dense right before it, or plans it as a layer of its own. */
  activation: (activation: Activation) => void;
  refuse: (why: string) => never;
}

type NodePlanner = (node: NodeContext) => void;

/** Turns the path into layer plans, folding biases and activations into the Dense layers they follow. */
export function planLayers(steps: readonly PathStep[], constants: ReadonlyMap<string, Onnx.ITensorProto>, opset: number): LayerPlan[] {
  const plans: LayerPlan[] = [];
  for (const step of steps) {
    if (step.kind === 'swish') {
      addActivation(plans, 'swish', `${nodeName(step.sigmoid)} + ${nodeName(step.mul)}`);
      continue;
    }
    const context = nodeContext(step.node, plans, constants, opset);
    const planner = NODE_PLANNERS.get(step.node.opType ?? '') ?? refuseUnsupported;
    planner(context);
  }
  if (plans.length === 0) throw new Error('cannot import ONNX model: the path from input to output holds no layer');
  return plans;
}

function nodeContext(node: Onnx.INodeProto, plans: LayerPlan[], constants: ReadonlyMap<string, Onnx.ITensorProto>, opset: number): NodeContext {
  const name = nodeName(node);
  const refuse = (why: string): never => {
    throw new Error(`cannot import ONNX node "${name}" (${node.opType}): ${why}`);
  };
  return {
    node,
    name,
    opset,
    plans,
    isConstant: (tensor) => constants.has(tensor),
    constant: (index, role) => {
      const input = node.input?.[index];
      const tensor = input ? constants.get(input) : undefined;
      if (!input || tensor === undefined) refuse(`its ${role} (input ${index}) must be a constant`);
      return floatTensor(tensor!, `${role} "${input}" of node "${name}"`);
    },
    requireDataFirst: () => {
      const first = node.input?.[0];
      if (!first || constants.has(first)) refuse('the layer input must be its first input');
    },
    activation: (activation) => addActivation(plans, activation, name),
    refuse,
  };
}

function addActivation(plans: LayerPlan[], activation: Activation, source: string): void {
  const last = plans.at(-1);
  if (last?.kind === 'dense' && last.activation === 'linear') {
    last.activation = activation;
    last.source += ` + ${source}`;
  } else {
    plans.push({ kind: 'activation', activation, source });
  }
}

// ---------------------------------------------------------------------------------------------------
// The planners

const NODE_PLANNERS: ReadonlyMap<string, NodePlanner> = new Map<string, NodePlanner>([
  ['Identity', passThrough],
  ['Dropout', passThrough],
  ['Cast', planCast],
  ['Flatten', planFlatten],
  ['Gemm', planGemm],
  ['MatMul', planMatMul],
  ['Add', planBiasAdd],
  ['Relu', activation('relu')],
  ['Sigmoid', activation('sigmoid')],
  ['Tanh', activation('tanh')],
  ['Softplus', activation('softplus')],
  ['Softsign', activation('softsign')],
  ['Softmax', overFeatureAxis('softmax')],
  ['LogSoftmax', overFeatureAxis('logSoftmax')],
  ['Elu', planElu],
  ['Selu', planSelu],
  ['HardSigmoid', planHardSigmoid],
  ['LeakyRelu', planLeakyRelu],
  ['Clip', planClip],
  ['BatchNormalization', planBatchNorm],
]);

function refuseUnsupported(n: NodeContext): never {
  return n.refuse(
    'operator not supported; the importer accepts Gemm, MatMul + Add, BatchNormalization, Relu, Sigmoid, Tanh, ' +
      'Softmax, LogSoftmax, Elu, Selu, Softplus, Softsign, HardSigmoid, LeakyRelu, Clip, Identity, Dropout, Flatten and Cast',
  );
}

/** Identity, and Dropout (which does nothing at inference). */
function passThrough(): void {}

function planCast(n: NodeContext): void {
  if (intAttr(n.node, 'to', 0) !== FLOAT) n.refuse('only a cast to float is supported');
}

function planFlatten(n: NodeContext): void {
  // The data is [batch, features], so flattening from axis 1 changes nothing.
  if (intAttr(n.node, 'axis', 1) !== 1) n.refuse('only axis 1 is supported');
}

function planGemm(n: NodeContext): void {
  n.requireDataFirst();
  if (intAttr(n.node, 'transA', 0) !== 0) n.refuse('transA = 1 is not supported');
  const alpha = floatAttr(n.node, 'alpha', 1);
  const beta = floatAttr(n.node, 'beta', 1);
  const weight = n.constant(1, 'weight');
  const transposed = intAttr(n.node, 'transB', 0) === 1;
  const dense = denseFromWeight(weight, transposed, alpha, n.name, n.refuse);
  if (n.node.input?.[2]) dense.bias = scaled(broadcastBias(n.constant(2, 'bias'), dense.units, n.refuse), beta);
  n.plans.push(dense);
}

function planMatMul(n: NodeContext): void {
  n.requireDataFirst();
  n.plans.push(denseFromWeight(n.constant(1, 'weight'), false, 1, n.name, n.refuse));
}

function planBiasAdd(n: NodeContext): void {
  const dense = n.plans.at(-1);
  if (dense?.kind !== 'dense' || dense.activation !== 'linear') return n.refuse('an Add is only supported as the bias of a MatMul or Gemm');
  const index = n.isConstant(n.node.input?.[0] ?? '') ? 0 : 1;
  const bias = broadcastBias(n.constant(index, 'bias'), dense.units, n.refuse);
  dense.bias = dense.bias === undefined ? bias : dense.bias.map((v, i) => v + bias[i]!);
  dense.source += ` + ${n.name}`;
}

function activation(kind: Activation): NodePlanner {
  return (n) => n.activation(kind);
}

function overFeatureAxis(kind: 'softmax' | 'logSoftmax'): NodePlanner {
  return (n) => {
    // Before opset 13 the default axis is 1, which for [batch, features] is also the last axis.
    const axis = intAttr(n.node, 'axis', n.opset >= 13 ? -1 : 1);
    if (axis !== -1 && axis !== 1) n.refuse(`only the feature axis (-1 or 1) is supported, got ${axis}`);
    n.activation(kind);
  };
}

function planElu(n: NodeContext): void {
  // tfjs's elu activation and its ELU layer both only implement alpha = 1.
  const alpha = floatAttr(n.node, 'alpha', 1);
  if (!near(alpha, 1)) n.refuse(`only alpha 1 is supported (tfjs has no other ELU), got ${alpha}`);
  n.activation('elu');
}

function planSelu(n: NodeContext): void {
  const alpha = floatAttr(n.node, 'alpha', SELU_ALPHA);
  const gamma = floatAttr(n.node, 'gamma', SELU_GAMMA);
  if (!near(alpha, SELU_ALPHA) || !near(gamma, SELU_GAMMA)) n.refuse(`only the standard constants are supported, got alpha ${alpha}, gamma ${gamma}`);
  n.activation('selu');
}

function planHardSigmoid(n: NodeContext): void {
  const alpha = floatAttr(n.node, 'alpha', 0.2);
  const beta = floatAttr(n.node, 'beta', 0.5);
  if (!near(alpha, 0.2) || !near(beta, 0.5)) n.refuse(`only alpha 0.2 and beta 0.5 (tfjs hardSigmoid) are supported, got ${alpha}, ${beta}`);
  n.activation('hardSigmoid');
}

function planLeakyRelu(n: NodeContext): void {
  // Its own layer even after a Dense: tfjs's activation names have no leaky ReLU with a chosen alpha.
  n.plans.push({ kind: 'leakyRelu', alpha: floatAttr(n.node, 'alpha', 0.01), source: n.name });
}

function planClip(n: NodeContext): void {
  // Bounds are attributes before opset 11 and optional constant inputs since.
  const bound = (attr: string, index: number): number | undefined => {
    if (attribute(n.node, attr)) return floatAttr(n.node, attr, 0);
    return n.node.input?.[index] ? scalar(n.constant(index, attr), n.refuse) : undefined;
  };
  const min = bound('min', 1);
  const max = bound('max', 2);
  if (min === 0 && max === 6) n.activation('relu6');
  else if (min === 0 && (max === undefined || max === Infinity)) n.activation('relu');
  else n.refuse(`only Clip(0, 6) (relu6) and Clip(0, inf) (relu) are supported, got [${min ?? '-inf'}, ${max ?? 'inf'}]`);
}

function planBatchNorm(n: NodeContext): void {
  n.requireDataFirst();
  if (intAttr(n.node, 'training_mode', 0) !== 0) n.refuse('training mode is not supported');
  const momentum = attribute(n.node, 'momentum') ? floatAttr(n.node, 'momentum', 0.9) : undefined;
  n.plans.push({
    kind: 'batchNorm',
    gamma: n.constant(1, 'scale').values,
    beta: n.constant(2, 'bias').values,
    mean: n.constant(3, 'mean').values,
    variance: n.constant(4, 'variance').values,
    epsilon: floatAttr(n.node, 'epsilon', 1e-5),
    ...(momentum === undefined ? {} : { momentum }),
    source: n.name,
  });
}

// ---------------------------------------------------------------------------------------------------
// Weights

function denseFromWeight(weight: FloatTensor, transposed: boolean, alpha: number, source: string, refuse: (why: string) => never): DensePlan {
  if (weight.dims.length !== 2) refuse(`the weight must be a matrix, got shape [${weight.dims.join(', ')}]`);
  const [d0, d1] = weight.dims as [number, number];
  const rows = transposed ? d1 : d0;
  const units = transposed ? d0 : d1;
  const kernel = new Float32Array(rows * units);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < units; c++) {
      // Stored [out, in] when transposed: element (r, c) of the [in, out] kernel sits at (c, r).
      const v = transposed ? weight.values[c * rows + r]! : weight.values[r * units + c]!;
      kernel[r * units + c] = alpha * v;
    }
  }
  return { kind: 'dense', kernel, rows, units, activation: 'linear', source };
}

/** A bias of shape [units], [1, units] or a single value, as [units]. */
function broadcastBias(bias: FloatTensor, units: number, refuse: (why: string) => never): Float32Array {
  if (bias.values.length === 1) return new Float32Array(units).fill(bias.values[0]!);
  const leadingOnes = bias.dims.slice(0, -1).every((d) => d === 1);
  if (bias.values.length !== units || bias.dims.at(-1) !== units || !leadingOnes) {
    refuse(`the bias of shape [${bias.dims.join(', ')}] does not broadcast to [${units}]`);
  }
  return Float32Array.from(bias.values);
}

function scaled(values: Float32Array, factor: number): Float32Array {
  return factor === 1 ? values : values.map((v) => v * factor);
}

function scalar(tensor: FloatTensor, refuse: (why: string) => never): number {
  if (tensor.values.length !== 1) refuse('a Clip bound must be a single value');
  return tensor.values[0]!;
}

/** Equal to float32 precision, which is how ONNX stores attribute floats. */
function near(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
}
