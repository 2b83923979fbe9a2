// Import of a dense ONNX network into a tfjs Sequential model, so an ONNX version can be the starting
// point of fine-tuning. It is the inverse of onnx-export.ts, and it also reads what common third-party
// converters (skl2onnx for scikit-learn MLPs, for instance) write for a multi-layer perceptron.
//
// What is accepted. The importer traces one path backwards, from the chosen graph output to the graph
// input; nodes off that path (skl2onnx's ArgMax / ArrayFeatureExtractor / Cast label branch, say) are
// ignored. Every node on the path must take exactly one non-constant input (constants being initializers
// and Constant nodes), except the Sigmoid + Mul pair of a swish. The path may hold:
//   Gemm (transA = 0; alpha, beta and transB folded into the weights), MatMul with a constant right-hand
//   side, Add of a constant (the bias) right after either; the activations Relu, Sigmoid, Tanh,
//   Softmax / LogSoftmax over the last axis, Elu (alpha 1), Selu (standard constants), Softplus, Softsign,
//   HardSigmoid (alpha 0.2, beta 0.5), LeakyRelu, Clip to [0, 6] or [0, inf), x * Sigmoid(x);
//   BatchNormalization in inference mode; and the pass-through ops Identity, Dropout, Flatten (axis 1)
//   and Cast to float.
// An activation right after a Dense is folded into it; elsewhere it becomes its own layer. The graph
// input must be float32 of shape [batch, features]. Anything else is refused with the op and node named.
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { tf } from '../core/index.js';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

export interface OnnxImportOptions {
  /**
   * Graph output whose values the tfjs model reproduces (the manifest's `output`).
   * @defaultValue the graph's only float output; an error when there are several
   */
  output?: string;
  /** Name of the tfjs model. @defaultValue the ONNX graph's name, reduced to letters, digits and `_` */
  name?: string;
}

// tfjs-layers runs logSoftmax but leaves it out of its activation type.
type DenseActivation = NonNullable<Parameters<typeof tf.layers.dense>[0]['activation']>;
type Activation = DenseActivation | 'logSoftmax';

/** One layer to create, read off the ONNX graph. `source` names the ONNX node(s), for messages. */
type LayerPlan =
  | { kind: 'dense'; kernel: Float32Array; rows: number; units: number; bias?: Float32Array; activation: Activation; source: string }
  | { kind: 'batchNorm'; gamma: Float32Array; beta: Float32Array; mean: Float32Array; variance: Float32Array; epsilon: number; momentum?: number; source: string }
  | { kind: 'activation'; activation: Activation; source: string }
  | { kind: 'leakyRelu'; alpha: number; source: string };

/** A step of the traced path: one node, or the two nodes of x * Sigmoid(x). */
type PathStep = { kind: 'node'; node: Onnx.INodeProto } | { kind: 'swish'; sigmoid: Onnx.INodeProto; mul: Onnx.INodeProto };

// tfjs's SELU constants; ONNX stores float32 roundings of the same numbers.
const SELU_GAMMA = 1.0507009873554805;
const SELU_ALPHA = 1.6732632423543772;

/**
 * Builds a tfjs Sequential model that computes what the ONNX model computes from its float input to the
 * chosen output, with the ONNX initializers as weights: Gemm or MatMul(+Add) become Dense layers (a tfjs
 * kernel is [in, out], so a `transB = 1` weight is transposed), BatchNormalization becomes a tfjs
 * BatchNormalization layer holding scale, bias, mean and variance. See the file header for the accepted
 * graphs. The model is not compiled. Call `initTf()` first so the weights land on the chosen backend.
 *
 * @throws Error naming the op and node for anything outside the accepted subset, or describing the
 *   problem for a malformed model.
 */
export function importOnnxDense(bytes: Uint8Array, opts: OnnxImportOptions = {}): tf.Sequential {
  let model: Onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new Error(`cannot import ONNX model: the bytes are not an ONNX ModelProto (${(err as Error).message})`, { cause: err });
  }
  const graph = model.graph;
  if (!graph || (graph.node ?? []).length === 0) throw new Error('cannot import ONNX model: it has no graph nodes');

  const constants = collectConstants(graph);
  const outputName = pickOutput(graph, opts.output);
  const { inputName, steps } = tracePath(graph, outputName, constants);
  const declaredWidth = inputWidthOf(graph, inputName);
  const plans = planLayers(steps, constants, defaultOpset(model));
  const width = declaredWidth ?? firstWidth(plans);
  checkWidths(plans, width);
  return materialize(plans, width, opts.name ?? modelName(graph.name));
}

// ---------------------------------------------------------------------------------------------------
// Reading the graph

/** Initializers and Constant-node outputs by name: the tensors whose values are known at import time. */
function collectConstants(graph: Onnx.IGraphProto): Map<string, Onnx.ITensorProto> {
  const constants = new Map<string, Onnx.ITensorProto>();
  for (const init of graph.initializer ?? []) if (init.name) constants.set(init.name, init);
  for (const node of graph.node ?? []) {
    if (node.opType !== 'Constant' || !node.output?.[0]) continue;
    const value = attribute(node, 'value')?.t;
    const single = attribute(node, 'value_float');
    const list = attribute(node, 'value_floats');
    if (value) constants.set(node.output[0], value);
    else if (single) constants.set(node.output[0], { dims: [], dataType: FLOAT, floatData: [single.f ?? 0] });
    else if (list) constants.set(node.output[0], { dims: [list.floats?.length ?? 0], dataType: FLOAT, floatData: list.floats ?? [] });
    else throw new Error(`cannot import ONNX node "${nodeName(node)}" (Constant): only tensor and float constants are supported`);
  }
  return constants;
}

function pickOutput(graph: Onnx.IGraphProto, wanted: string | undefined): string {
  const outputs = graph.output ?? [];
  if (wanted !== undefined) {
    if (!outputs.some((o) => o.name === wanted)) {
      throw new Error(`cannot import ONNX model: it has no output "${wanted}" (outputs: ${outputs.map((o) => o.name).join(', ')})`);
    }
    return wanted;
  }
  const floats = outputs.filter((o) => o.type?.tensorType?.elemType === FLOAT);
  if (floats.length !== 1 || !floats[0]?.name) {
    throw new Error(
      `cannot import ONNX model: expected exactly one float output, found ${floats.length} ` +
        `(${outputs.map((o) => o.name).join(', ')}); name the one to import with the "output" option`,
    );
  }
  return floats[0].name;
}

/** Follows the chosen output back to a graph input through nodes with one non-constant input each. */
function tracePath(
  graph: Onnx.IGraphProto,
  outputName: string,
  constants: ReadonlyMap<string, Onnx.ITensorProto>,
): { inputName: string; steps: PathStep[] } {
  const producers = new Map<string, Onnx.INodeProto>();
  for (const node of graph.node ?? []) for (const out of node.output ?? []) if (out) producers.set(out, node);
  const graphInputs = new Set((graph.input ?? []).map((i) => i.name ?? '').filter((n) => n && !constants.has(n)));
  const dynamicInputs = (node: Onnx.INodeProto): string[] => (node.input ?? []).filter((n) => n !== '' && !constants.has(n));

  const steps: PathStep[] = [];
  let current = outputName;
  while (!graphInputs.has(current)) {
    if (steps.length > (graph.node ?? []).length) throw new Error('cannot import ONNX model: its graph has a cycle');
    const node = producers.get(current);
    if (node === undefined) {
      throw new Error(`cannot import ONNX model: tensor "${current}" is neither a graph input nor the output of a node`);
    }
    if (node.output?.[0] !== current) {
      throw new Error(`cannot import ONNX node "${nodeName(node)}" (${node.opType}): only its first output can feed the next layer`);
    }
    if (node.domain && node.domain !== 'ai.onnx') {
      throw new Error(`cannot import ONNX node "${nodeName(node)}" (${node.opType}): operators of domain "${node.domain}" are not supported`);
    }
    const dynamic = dynamicInputs(node);
    if (node.opType === 'Mul' && dynamic.length === 2) {
      const [a, b] = dynamic as [string, string];
      const gateOf = (gate: string, x: string): Onnx.INodeProto | undefined => {
        const sigmoid = producers.get(gate);
        return sigmoid?.opType === 'Sigmoid' && sigmoid.input?.[0] === x ? sigmoid : undefined;
      };
      const sigmoid = gateOf(b, a) ?? gateOf(a, b);
      if (sigmoid !== undefined) {
        steps.push({ kind: 'swish', sigmoid, mul: node });
        current = sigmoid.input![0]!;
        continue;
      }
    }
    if (dynamic.length !== 1) {
      throw new Error(
        `cannot import ONNX node "${nodeName(node)}" (${node.opType}): it takes ${dynamic.length} non-constant inputs; ` +
          'only a chain of layers is supported',
      );
    }
    steps.push({ kind: 'node', node });
    current = dynamic[0]!;
  }
  if (steps.length === 0) throw new Error(`cannot import ONNX model: output "${outputName}" is the graph input itself`);
  return { inputName: current, steps: steps.reverse() };
}

/** The feature width of a float [batch, features] graph input, or undefined when left symbolic. */
function inputWidthOf(graph: Onnx.IGraphProto, inputName: string): number | undefined {
  const tensorType = graph.input?.find((i) => i.name === inputName)?.type?.tensorType;
  if (tensorType?.elemType !== FLOAT) {
    throw new Error(`cannot import ONNX model: input "${inputName}" must be float32, got element type ${tensorType?.elemType ?? 'unknown'}`);
  }
  const dims = tensorType.shape?.dim;
  if (dims === undefined || dims === null) return undefined;
  if (dims.length !== 2) throw new Error(`cannot import ONNX model: input "${inputName}" must have shape [batch, features], got rank ${dims.length}`);
  const width = dims[1]?.dimValue;
  const n = width === undefined || width === null ? 0 : toNumber(width);
  return n > 0 ? n : undefined;
}

function defaultOpset(model: Onnx.IModelProto): number {
  const entry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return entry?.version === undefined || entry.version === null ? 1 : toNumber(entry.version);
}

// ---------------------------------------------------------------------------------------------------
// From nodes to layer plans

function planLayers(steps: readonly PathStep[], constants: ReadonlyMap<string, Onnx.ITensorProto>, opset: number): LayerPlan[] {
  const plans: LayerPlan[] = [];
  const constant = (node: Onnx.INodeProto, index: number, role: string): { dims: number[]; values: Float32Array } => {
    const name = node.input?.[index];
    const tensor = name ? constants.get(name) : undefined;
    if (!name || tensor === undefined) {
      throw new Error(`cannot import ONNX node "${nodeName(node)}" (${node.opType}): its ${role} (input ${index}) must be a constant`);
    }
    return floatTensor(tensor, `${role} "${name}" of node "${nodeName(node)}"`);
  };
  const requireDataFirst = (node: Onnx.INodeProto): void => {
    const first = node.input?.[0];
    if (!first || constants.has(first)) {
      throw new Error(`cannot import ONNX node "${nodeName(node)}" (${node.opType}): the layer input must be its first input`);
    }
  };
  const addActivation = (activation: Activation, source: string): void => {
    const last = plans.at(-1);
    if (last?.kind === 'dense' && last.activation === 'linear') {
      last.activation = activation;
      last.source += ` + ${source}`;
    } else {
      plans.push({ kind: 'activation', activation, source });
    }
  };

  for (const step of steps) {
    if (step.kind === 'swish') {
      addActivation('swish', `${nodeName(step.sigmoid)} + ${nodeName(step.mul)}`);
      continue;
    }
    const node = step.node;
    const name = nodeName(node);
    const refuse = (why: string): never => {
      throw new Error(`cannot import ONNX node "${name}" (${node.opType}): ${why}`);
    };
    switch (node.opType) {
      case 'Identity':
      case 'Dropout':
        break;
      case 'Cast':
        if (intAttr(node, 'to', 0) !== FLOAT) refuse('only a cast to float is supported');
        break;
      case 'Flatten':
        // The data is [batch, features], so flattening from axis 1 changes nothing.
        if (intAttr(node, 'axis', 1) !== 1) refuse('only axis 1 is supported');
        break;
      case 'Gemm': {
        requireDataFirst(node);
        if (intAttr(node, 'transA', 0) !== 0) refuse('transA = 1 is not supported');
        const alpha = floatAttr(node, 'alpha', 1);
        const beta = floatAttr(node, 'beta', 1);
        const weight = constant(node, 1, 'weight');
        const transposed = intAttr(node, 'transB', 0) === 1;
        const dense = denseFromWeight(weight, transposed, alpha, name, refuse);
        if (node.input?.[2]) dense.bias = scaled(broadcastBias(constant(node, 2, 'bias'), dense.units, refuse), beta);
        plans.push(dense);
        break;
      }
      case 'MatMul': {
        requireDataFirst(node);
        plans.push(denseFromWeight(constant(node, 1, 'weight'), false, 1, name, refuse));
        break;
      }
      case 'Add': {
        const last = plans.at(-1);
        if (last?.kind !== 'dense' || last.activation !== 'linear') refuse('an Add is only supported as the bias of a MatMul or Gemm');
        const dense = last as Extract<LayerPlan, { kind: 'dense' }>;
        const index = constants.has(node.input?.[0] ?? '') ? 0 : 1;
        const bias = broadcastBias(constant(node, index, 'bias'), dense.units, refuse);
        dense.bias = dense.bias === undefined ? bias : dense.bias.map((v, i) => v + bias[i]!);
        dense.source += ` + ${name}`;
        break;
      }
      case 'Relu':
        addActivation('relu', name);
        break;
      case 'Sigmoid':
        addActivation('sigmoid', name);
        break;
      case 'Tanh':
        addActivation('tanh', name);
        break;
      case 'Softplus':
        addActivation('softplus', name);
        break;
      case 'Softsign':
        addActivation('softsign', name);
        break;
      case 'Softmax':
      case 'LogSoftmax': {
        // Before opset 13 the default axis is 1, which for [batch, features] is also the last axis.
        const axis = intAttr(node, 'axis', opset >= 13 ? -1 : 1);
        if (axis !== -1 && axis !== 1) refuse(`only the feature axis (-1 or 1) is supported, got ${axis}`);
        addActivation(node.opType === 'Softmax' ? 'softmax' : 'logSoftmax', name);
        break;
      }
      case 'Elu': {
        // tfjs's elu activation and its ELU layer both only implement alpha = 1.
        const alpha = floatAttr(node, 'alpha', 1);
        if (!near(alpha, 1)) refuse(`only alpha 1 is supported (tfjs has no other ELU), got ${alpha}`);
        addActivation('elu', name);
        break;
      }
      case 'Selu': {
        const alpha = floatAttr(node, 'alpha', SELU_ALPHA);
        const gamma = floatAttr(node, 'gamma', SELU_GAMMA);
        if (!near(alpha, SELU_ALPHA) || !near(gamma, SELU_GAMMA)) refuse(`only the standard constants are supported, got alpha ${alpha}, gamma ${gamma}`);
        addActivation('selu', name);
        break;
      }
      case 'HardSigmoid': {
        const alpha = floatAttr(node, 'alpha', 0.2);
        const beta = floatAttr(node, 'beta', 0.5);
        if (!near(alpha, 0.2) || !near(beta, 0.5)) refuse(`only alpha 0.2 and beta 0.5 (tfjs hardSigmoid) are supported, got ${alpha}, ${beta}`);
        addActivation('hardSigmoid', name);
        break;
      }
      case 'LeakyRelu':
        plans.push({ kind: 'leakyRelu', alpha: floatAttr(node, 'alpha', 0.01), source: name });
        break;
      case 'Clip': {
        const bound = (attr: string, index: number): number | undefined => {
          if (attribute(node, attr)) return floatAttr(node, attr, 0);
          return node.input?.[index] ? scalar(constant(node, index, attr), refuse) : undefined;
        };
        const min = bound('min', 1);
        const max = bound('max', 2);
        if (min === 0 && max === 6) addActivation('relu6', name);
        else if (min === 0 && (max === undefined || max === Infinity)) addActivation('relu', name);
        else refuse(`only Clip(0, 6) (relu6) and Clip(0, inf) (relu) are supported, got [${min ?? '-inf'}, ${max ?? 'inf'}]`);
        break;
      }
      case 'BatchNormalization': {
        requireDataFirst(node);
        if (intAttr(node, 'training_mode', 0) !== 0) refuse('training mode is not supported');
        const momentum = attribute(node, 'momentum') ? floatAttr(node, 'momentum', 0.9) : undefined;
        plans.push({
          kind: 'batchNorm',
          gamma: constant(node, 1, 'scale').values,
          beta: constant(node, 2, 'bias').values,
          mean: constant(node, 3, 'mean').values,
          variance: constant(node, 4, 'variance').values,
          epsilon: floatAttr(node, 'epsilon', 1e-5),
          ...(momentum === undefined ? {} : { momentum }),
          source: name,
        });
        break;
      }
      default:
        refuse(
          'operator not supported; the importer accepts Gemm, MatMul + Add, BatchNormalization, Relu, Sigmoid, Tanh, ' +
            'Softmax, LogSoftmax, Elu, Selu, Softplus, Softsign, HardSigmoid, LeakyRelu, Clip, Identity, Dropout, Flatten and Cast',
        );
    }
  }
  if (plans.length === 0) throw new Error('cannot import ONNX model: the path from input to output holds no layer');
  return plans;
}

function denseFromWeight(
  weight: { dims: number[]; values: Float32Array },
  transposed: boolean,
  alpha: number,
  source: string,
  refuse: (why: string) => never,
): Extract<LayerPlan, { kind: 'dense' }> {
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
function broadcastBias(bias: { dims: number[]; values: Float32Array }, units: number, refuse: (why: string) => never): Float32Array {
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

function scalar(tensor: { values: Float32Array }, refuse: (why: string) => never): number {
  if (tensor.values.length !== 1) refuse('a Clip bound must be a single value');
  return tensor.values[0]!;
}

function firstWidth(plans: readonly LayerPlan[]): number {
  for (const plan of plans) {
    if (plan.kind === 'dense') return plan.rows;
    if (plan.kind === 'batchNorm') return plan.mean.length;
  }
  throw new Error('cannot import ONNX model: the input width is neither declared nor implied by a weight');
}

/** Checks every layer's weights against the width of the tensor flowing into it. */
function checkWidths(plans: readonly LayerPlan[], inputWidth: number): void {
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

// ---------------------------------------------------------------------------------------------------
// Building the tfjs model

function materialize(plans: readonly LayerPlan[], inputWidth: number, name: string): tf.Sequential {
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

// ---------------------------------------------------------------------------------------------------
// Protobuf helpers

function attribute(node: Onnx.INodeProto, name: string): Onnx.IAttributeProto | undefined {
  return node.attribute?.find((a) => a.name === name);
}

function intAttr(node: Onnx.INodeProto, name: string, fallback: number): number {
  const attr = attribute(node, name);
  if (attr === undefined) return fallback;
  if (attr.type === onnx.AttributeProto.AttributeType.FLOAT) return attr.f ?? fallback;
  return attr.i === undefined || attr.i === null ? fallback : toNumber(attr.i);
}

function floatAttr(node: Onnx.INodeProto, name: string, fallback: number): number {
  const attr = attribute(node, name);
  if (attr === undefined) return fallback;
  if (attr.type === onnx.AttributeProto.AttributeType.INT) return attr.i === undefined || attr.i === null ? fallback : toNumber(attr.i);
  return attr.f ?? fallback;
}

/** protobufjs decodes int64 fields as Long objects when the `long` package is present, numbers otherwise. */
function toNumber(value: number | { toNumber(): number }): number {
  return typeof value === 'number' ? value : value.toNumber();
}

/** The values of a float32 tensor, from little-endian `raw_data` or from `float_data`. */
function floatTensor(tensor: Onnx.ITensorProto, what: string): { dims: number[]; values: Float32Array } {
  if (tensor.dataType !== FLOAT) throw new Error(`cannot import ONNX model: ${what} must be float32, got data type ${tensor.dataType ?? 'unset'}`);
  if (tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new Error(`cannot import ONNX model: ${what} is stored in an external file, which is not supported`);
  }
  const dims = (tensor.dims ?? []).map(toNumber);
  const count = dims.reduce((n, d) => n * d, 1);
  const raw = tensor.rawData;
  let values: Float32Array;
  if (raw && raw.byteLength > 0) {
    if (raw.byteLength !== count * 4) throw new Error(`cannot import ONNX model: ${what} has ${raw.byteLength} bytes of data for ${count} floats`);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    values = new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = view.getFloat32(i * 4, true);
  } else {
    values = Float32Array.from(tensor.floatData ?? []);
    if (values.length !== count) throw new Error(`cannot import ONNX model: ${what} has ${values.length} values for ${count} elements`);
  }
  return { dims, values };
}

function nodeName(node: Onnx.INodeProto): string {
  return node.name || `${node.opType ?? 'node'}->${node.output?.[0] ?? '?'}`;
}

function modelName(graphName: string | null | undefined): string {
  const cleaned = (graphName ?? '').replace(/[^A-Za-z0-9_]/g, '_').replace(/^_+/, '');
  return cleaned === '' ? 'onnx_import' : cleaned;
}

/** Equal to float32 precision, which is how ONNX stores attribute floats. */
function near(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
}
