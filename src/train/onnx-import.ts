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
//
// The steps, each in a file of its own: onnx-import-graph.ts reads the graph and traces the path,
// onnx-import-ops.ts turns its nodes into layer plans (one planner per operator), onnx-import-plan.ts
// checks the plans' widths, and onnx-import-layers.ts builds the tfjs model from them.
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { describeError } from '../core/index.js';
import type { tf } from '../core/tfjs.js';
import { collectConstants, defaultOpset, inputWidthOf, modelName, pickOutput, tracePath } from './onnx-import-graph.js';
import { materialize } from './onnx-import-layers.js';
import { planLayers } from './onnx-import-ops.js';
import { checkWidths, firstWidth } from './onnx-import-plan.js';

const { onnx } = onnxProto;

export interface OnnxImportOptions {
  /**
   * Graph output whose values the tfjs model reproduces (the manifest's `output`).
   * @defaultValue the graph's only float output; an error when there are several
   */
  output?: string;
  /** Name of the tfjs model. @defaultValue the ONNX graph's name, reduced to letters, digits and `_` */
  name?: string;
}

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
    throw new Error(`cannot import ONNX model: the bytes are not an ONNX ModelProto (${describeError(err)})`, { cause: err });
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
