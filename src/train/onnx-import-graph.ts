// Reading an ONNX graph for the importer: the tensors known at import time, the output to reproduce,
// the path of nodes from the graph input to that output, and the input's width.
import type { onnx as Onnx } from 'onnx-proto';
import { FLOAT, attribute, nodeName, toNumber } from './onnx-import-protobuf.js';

/** A step of the traced path: one node, or the two nodes of x * Sigmoid(x). */
export type PathStep = { kind: 'node'; node: Onnx.INodeProto } | { kind: 'swish'; sigmoid: Onnx.INodeProto; mul: Onnx.INodeProto };

/** Initializers and Constant-node outputs by name: the tensors whose values are known at import time. */
export function collectConstants(graph: Onnx.IGraphProto): Map<string, Onnx.ITensorProto> {
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

export function pickOutput(graph: Onnx.IGraphProto, wanted: string | undefined): string {
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
export function tracePath(
  graph: Onnx.IGraphProto,
  outputName: string,
  constants: ReadonlyMap<string, Onnx.ITensorProto>,
): { inputName: string; steps: PathStep[] } {
  const producers = new Map<string, Onnx.INodeProto>();
  for (const node of graph.node ?? []) for (const out of node.output ?? []) if (out) producers.set(out, node);
  const graphInputs = new Set((graph.input ?? []).map((i) => i.name ?? '').filter((n) => n && !constants.has(n)));

  const steps: PathStep[] = [];
  let current = outputName;
  while (!graphInputs.has(current)) {
    if (steps.length > (graph.node ?? []).length) throw new Error('cannot import ONNX model: its graph has a cycle');
    const node = producerOf(current, producers);
    const dynamic = (node.input ?? []).filter((n) => n !== '' && !constants.has(n));
    const sigmoid = swishGate(node, dynamic, producers);
    if (sigmoid !== undefined) {
      steps.push({ kind: 'swish', sigmoid, mul: node });
      current = sigmoid.input![0]!;
      continue;
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

/** The node whose first output is `tensor`, checked to be one the importer can follow. */
function producerOf(tensor: string, producers: ReadonlyMap<string, Onnx.INodeProto>): Onnx.INodeProto {
  const node = producers.get(tensor);
  if (node === undefined) {
    throw new Error(`cannot import ONNX model: tensor "${tensor}" is neither a graph input nor the output of a node`);
  }
  if (node.output?.[0] !== tensor) {
    throw new Error(`cannot import ONNX node "${nodeName(node)}" (${node.opType}): only its first output can feed the next layer`);
  }
  if (node.domain && node.domain !== 'ai.onnx') {
    throw new Error(`cannot import ONNX node "${nodeName(node)}" (${node.opType}): operators of domain "${node.domain}" are not supported`);
  }
  return node;
}

/**
 * The Sigmoid of x when `node` is x * Sigmoid(x), in either operand order: the one place a node on the
 * path may take two non-constant inputs, because converters write swish that way.
 */
function swishGate(node: Onnx.INodeProto, dynamic: readonly string[], producers: ReadonlyMap<string, Onnx.INodeProto>): Onnx.INodeProto | undefined {
  if (node.opType !== 'Mul' || dynamic.length !== 2) return undefined;
  const [a, b] = dynamic as [string, string];
  const gateOf = (gate: string, x: string): Onnx.INodeProto | undefined => {
    const sigmoid = producers.get(gate);
    return sigmoid?.opType === 'Sigmoid' && sigmoid.input?.[0] === x ? sigmoid : undefined;
  };
  return gateOf(b, a) ?? gateOf(a, b);
}

/** The feature width of a float [batch, features] graph input, or undefined when left symbolic. */
export function inputWidthOf(graph: Onnx.IGraphProto, inputName: string): number | undefined {
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

export function defaultOpset(model: Onnx.IModelProto): number {
  const entry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return entry?.version === undefined || entry.version === null ? 1 : toNumber(entry.version);
}

export function modelName(graphName: string | null | undefined): string {
  const cleaned = (graphName ?? '').replace(/[^A-Za-z0-9_]/g, '_').replace(/^_+/, '');
  return cleaned === '' ? 'onnx_import' : cleaned;
}
