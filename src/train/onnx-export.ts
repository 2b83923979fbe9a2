// Export of a trained tfjs dense network to ONNX, so the same weights can be served by onnxruntime.
//
// Only what a tabular MLP needs is covered: a single chain of Dense, BatchNormalization (inference mode),
// Activation and dropout-style layers on a [batch, features] float32 input. Anything else is refused by
// name rather than exported approximately.
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import type { tf } from '../core/tfjs.js';

const { onnx } = onnxProto;

export interface OnnxExportOptions {
  /** Name of the ONNX graph input (the manifest's `input`). */
  inputName: string;
  /** Name of the ONNX graph output (the manifest's `output`). */
  outputName: string;
  /** ONNX operator set of the default domain, 13 to 18. @defaultValue 13 */
  opset?: number;
  /** `producer_name` recorded in the model. @defaultValue `'driftgate'` */
  producer?: string;
}

const MIN_OPSET = 13;
const MAX_OPSET = 18;
/** Name of the batch dimension, left symbolic so any batch size runs. */
const BATCH_DIM = 'batch';

/** Layers that only act while training; at inference they pass their input through unchanged. */
const TRAINING_ONLY_LAYERS = new Set(['Dropout', 'AlphaDropout', 'GaussianDropout', 'GaussianNoise']);

// tfjs's SELU constants are scale*alpha and scale; ONNX's Selu wants alpha and gamma (= scale).
const SELU_SCALE = 1.0507009873554805;
const SELU_ALPHA = 1.7580993408473768 / SELU_SCALE;

/**
 * Converts a sequential dense tfjs network into a serialized ONNX `ModelProto`.
 *
 * Dense becomes `Gemm` with the tfjs kernel stored as is (`[in, out]`, so `transB = 0`); activations
 * map to their ONNX operators; BatchNormalization becomes an inference-mode `BatchNormalization` with
 * the moving mean and variance; dropout-style layers vanish. Weights are float32 initializers in
 * little-endian `raw_data`. The input is `[batch, features]` with a symbolic batch dimension.
 *
 * @throws Error naming the layer when a layer, activation or topology cannot be exported.
 */
export function exportLayersModelToOnnx(model: tf.LayersModel, opts: OnnxExportOptions): Uint8Array {
  const opset = opts.opset ?? 13;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new Error(`ONNX export supports opset ${MIN_OPSET} to ${MAX_OPSET}, got ${opset}`);
  }
  if (!opts.inputName || !opts.outputName || opts.inputName === opts.outputName) {
    throw new Error('ONNX export needs distinct, non-empty inputName and outputName');
  }
  const graph = new GraphBuilder(opts.inputName);
  for (const layer of layerChain(model)) {
    const kind = layer.getClassName();
    if (kind === 'InputLayer' || TRAINING_ONLY_LAYERS.has(kind)) continue;
    if (kind === 'Dense') addDense(graph, layer);
    else if (kind === 'BatchNormalization') addBatchNorm(graph, layer);
    else if (kind === 'Activation') addActivation(graph, layer, configString(layer, 'activation'));
    else {
      throw new Error(
        `cannot export layer "${layer.name}" (${kind}) to ONNX: only Dense, BatchNormalization, Activation, ` +
          'Dropout and InputLayer are supported',
      );
    }
  }
  graph.finish(opts.outputName);
  // Checked after the layers so that an unsupported layer (a conv net, say) is reported by name first.
  const inputWidth = featureWidth(model, 'input');
  const outputWidth = featureWidth(model, 'output');

  const proto = onnx.ModelProto.create({
    irVersion: opset <= 14 ? 7 : 8,
    producerName: opts.producer ?? 'driftgate',
    docString: `tfjs layers model "${model.name}" exported by driftgate`,
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: model.name,
      node: graph.nodes,
      initializer: graph.initializers,
      input: [floatMatrixInfo(opts.inputName, inputWidth)],
      output: [floatMatrixInfo(opts.outputName, outputWidth)],
    },
  });
  // protobufjs may hand back a view into a pooled Buffer; copy it so callers own a plain array.
  return new Uint8Array(onnx.ModelProto.encode(proto).finish());
}

/** Collects graph nodes and initializers while the layers are walked, tracking the current tensor. */
class GraphBuilder {
  readonly nodes: Onnx.INodeProto[] = [];
  readonly initializers: Onnx.ITensorProto[] = [];
  private readonly initializerNames = new Set<string>();
  /** Name of the tensor the next layer reads. */
  current: string;

  constructor(private readonly inputName: string) {
    this.current = inputName;
  }

  addFloatTensor(name: string, dims: readonly number[], values: ArrayLike<number>): string {
    if (!this.initializerNames.has(name)) {
      this.initializerNames.add(name);
      this.initializers.push({ name, dims: [...dims], dataType: onnx.TensorProto.DataType.FLOAT, rawData: float32LittleEndian(values) });
    }
    return name;
  }

  /** Appends a node that reads `inputs` and produces one new tensor, which becomes the current one. */
  addNode(name: string, opType: string, inputs: string[], attribute: Onnx.IAttributeProto[] = []): string {
    const output = `${name}:0`;
    this.nodes.push({ name, opType, input: inputs, output: [output], attribute });
    this.current = output;
    return output;
  }

  /** Names the final tensor after the graph output (or adds an Identity when no layer did anything). */
  finish(outputName: string): void {
    const last = this.nodes.at(-1);
    if (last === undefined || this.current === this.inputName) {
      this.addNode('output', 'Identity', [this.current]);
    }
    const producer = this.nodes.at(-1)!;
    producer.output = [outputName];
    this.current = outputName;
  }
}

function addDense(graph: GraphBuilder, layer: tf.layers.Layer): void {
  const kernel = weightBySuffix(layer, 'kernel');
  if (kernel === undefined) throw new Error(`cannot export layer "${layer.name}" (Dense): it has no kernel`);
  const bias = weightBySuffix(layer, 'bias');
  const inputs = [graph.current, graph.addFloatTensor(`${layer.name}/kernel`, kernel.shape, kernel.values)];
  if (bias !== undefined) inputs.push(graph.addFloatTensor(`${layer.name}/bias`, bias.shape, bias.values));
  graph.addNode(`${layer.name}/Gemm`, 'Gemm', inputs, [intAttr('transA', 0), intAttr('transB', 0)]);
  addActivation(graph, layer, configString(layer, 'activation'));
}

function addBatchNorm(graph: GraphBuilder, layer: tf.layers.Layer): void {
  const config = layer.getConfig();
  const axis = config['axis'];
  if (axis !== -1 && axis !== 1) {
    throw new Error(`cannot export layer "${layer.name}" (BatchNormalization): only the feature axis (-1) is supported, got ${String(axis)}`);
  }
  const mean = weightBySuffix(layer, 'moving_mean');
  const variance = weightBySuffix(layer, 'moving_variance');
  if (mean === undefined || variance === undefined) {
    throw new Error(`cannot export layer "${layer.name}" (BatchNormalization): moving statistics are missing`);
  }
  const width = mean.values.length;
  // ONNX always takes scale and bias; a layer built without them behaves as scale 1, bias 0.
  const gamma = weightBySuffix(layer, 'gamma')?.values ?? new Float32Array(width).fill(1);
  const beta = weightBySuffix(layer, 'beta')?.values ?? new Float32Array(width);
  const epsilon = typeof config['epsilon'] === 'number' ? config['epsilon'] : 1e-3;
  graph.addNode(
    `${layer.name}/BatchNormalization`,
    'BatchNormalization',
    [
      graph.current,
      graph.addFloatTensor(`${layer.name}/gamma`, [width], gamma),
      graph.addFloatTensor(`${layer.name}/beta`, [width], beta),
      graph.addFloatTensor(`${layer.name}/moving_mean`, [width], mean.values),
      graph.addFloatTensor(`${layer.name}/moving_variance`, [width], variance.values),
    ],
    [floatAttr('epsilon', epsilon)],
  );
}

function addActivation(graph: GraphBuilder, layer: tf.layers.Layer, activation: string | undefined): void {
  const at = (op: string): string => `${layer.name}/${op}`;
  switch (activation ?? 'linear') {
    case 'linear':
      return;
    case 'relu':
      graph.addNode(at('Relu'), 'Relu', [graph.current]);
      return;
    case 'relu6':
      graph.addNode(at('Clip'), 'Clip', [
        graph.current,
        graph.addFloatTensor('const/zero', [], [0]),
        graph.addFloatTensor('const/six', [], [6]),
      ]);
      return;
    case 'sigmoid':
      graph.addNode(at('Sigmoid'), 'Sigmoid', [graph.current]);
      return;
    case 'hardSigmoid':
      graph.addNode(at('HardSigmoid'), 'HardSigmoid', [graph.current], [floatAttr('alpha', 0.2), floatAttr('beta', 0.5)]);
      return;
    case 'tanh':
      graph.addNode(at('Tanh'), 'Tanh', [graph.current]);
      return;
    case 'softmax':
      graph.addNode(at('Softmax'), 'Softmax', [graph.current], [intAttr('axis', -1)]);
      return;
    case 'logSoftmax':
      graph.addNode(at('LogSoftmax'), 'LogSoftmax', [graph.current], [intAttr('axis', -1)]);
      return;
    case 'elu':
      graph.addNode(at('Elu'), 'Elu', [graph.current], [floatAttr('alpha', 1)]);
      return;
    case 'selu':
      graph.addNode(at('Selu'), 'Selu', [graph.current], [floatAttr('alpha', SELU_ALPHA), floatAttr('gamma', SELU_SCALE)]);
      return;
    case 'softplus':
      graph.addNode(at('Softplus'), 'Softplus', [graph.current]);
      return;
    case 'softsign':
      graph.addNode(at('Softsign'), 'Softsign', [graph.current]);
      return;
    case 'swish': {
      const x = graph.current;
      const gate = graph.addNode(at('Sigmoid'), 'Sigmoid', [x]);
      graph.addNode(at('Mul'), 'Mul', [x, gate]);
      return;
    }
    default:
      throw new Error(`cannot export layer "${layer.name}" (${layer.getClassName()}) to ONNX: activation "${activation}" is not supported`);
  }
}

/**
 * The model's layers in order, after checking they form one chain (each layer fed by the previous one,
 * used once). Branches, shared layers and nested models are refused.
 */
function layerChain(model: tf.LayersModel): tf.layers.Layer[] {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error(`cannot export model "${model.name}" to ONNX: it must have exactly one input and one output`);
  }
  const layers = model.layers;
  let previous: tf.layers.Layer | undefined;
  for (const layer of layers) {
    if (layer.getClassName() === 'InputLayer') {
      if (previous !== undefined) throw new Error(`cannot export model "${model.name}" to ONNX: input layer "${layer.name}" is not first`);
      previous = layer;
      continue;
    }
    const feeds = layer.inboundNodes.length === 1 ? layer.inboundNodes[0]!.inboundLayers : [];
    const source = feeds.length === 1 ? feeds[0] : undefined;
    const chained = source !== undefined && (previous === undefined ? source.getClassName() === 'InputLayer' : source === previous);
    if (!chained) {
      throw new Error(
        `cannot export layer "${layer.name}" (${layer.getClassName()}) to ONNX: the model is not a single chain of layers`,
      );
    }
    previous = layer;
  }
  return layers;
}

/** Width of the model's [batch, width] input or output, checking the rank and dtype. */
function featureWidth(model: tf.LayersModel, which: 'input' | 'output'): number {
  const tensor = which === 'input' ? model.inputs[0] : model.outputs[0];
  const shape = tensor?.shape;
  const width = shape?.[1];
  if (tensor === undefined || shape?.length !== 2 || typeof width !== 'number') {
    throw new Error(`cannot export model "${model.name}" to ONNX: its ${which} must have shape [batch, features], got [${shape?.join(', ') ?? ''}]`);
  }
  if (tensor.dtype !== 'float32') {
    throw new Error(`cannot export model "${model.name}" to ONNX: its ${which} must be float32, got ${tensor.dtype}`);
  }
  return width;
}

/** A layer weight found by the last segment of its name (e.g. `dense_1/kernel` -> `kernel`). */
function weightBySuffix(layer: tf.layers.Layer, suffix: string): { shape: number[]; values: Float32Array } | undefined {
  const variable = layer.weights.find((w) => w.originalName.split('/').at(-1) === suffix);
  if (variable === undefined) return undefined;
  // read() returns the variable's own tensor, so it must not be disposed here.
  const tensor = variable.read();
  if (tensor.dtype !== 'float32') {
    throw new Error(`cannot export layer "${layer.name}" to ONNX: weight ${variable.originalName} is ${tensor.dtype}, not float32`);
  }
  return { shape: tensor.shape, values: tensor.dataSync() as Float32Array };
}

function configString(layer: tf.layers.Layer, key: string): string | undefined {
  const value = layer.getConfig()[key];
  return typeof value === 'string' ? value : undefined;
}

function floatMatrixInfo(name: string, width: number): Onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: [{ dimParam: BATCH_DIM }, { dimValue: width }] },
      },
    },
  };
}

function intAttr(name: string, value: number): Onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
}

function floatAttr(name: string, value: number): Onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value };
}

function float32LittleEndian(values: ArrayLike<number>): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return bytes;
}
