// Writes a TensorFlow.js *graph* model (format `graph-model`, a GraphDef in JSON plus a weight shard) from a
// trained dense layers model, so the tfjs-graph code path has a real fixture without the Python
// converter. The graph is the plain TensorFlow spelling of the network: Placeholder -> (MatMul -> BiasAdd
// -> activation) per Dense layer -> Identity, with every kernel and bias a Const node whose value lives in
// the weight shard under the node's name, as tensorflowjs_converter lays them out.
//
//   npx tsx scripts/make-graph-model.ts [source-version-dir] [output-dir]
//   defaults: models/iris-tfjs/1 -> tests/fixtures/graph-model (name iris-graph, version 1)
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MANIFEST_FILE, manifestSchema, readManifestAt } from '../src/core/index.js';
import { initTf, loadLayersModelFromDir } from '../src/core/tfjs.js';
import type { tf } from '../src/core/tfjs.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = process.argv[2] ?? join(ROOT, 'models', 'iris-tfjs', '1');
const OUTPUT = process.argv[3] ?? join(ROOT, 'tests', 'fixtures', 'graph-model');
const MODEL_NAME = 'iris-graph';
const SHARD_FILE = 'group1-shard1of1.bin';

/** TensorFlow op for each tfjs activation the graph can express; linear needs none. */
const ACTIVATION_OPS: Record<string, string | null> = {
  linear: null,
  relu: 'Relu',
  relu6: 'Relu6',
  elu: 'Elu',
  selu: 'Selu',
  sigmoid: 'Sigmoid',
  tanh: 'Tanh',
  softmax: 'Softmax',
};

interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, unknown>;
}

const FLOAT = { type: 'DT_FLOAT' };

function shapeOf(dims: readonly number[]): { dim: { size: string }[] } {
  // GraphDef JSON writes int64 values as strings; -1 is an unknown (batch) dimension.
  return { dim: dims.map((d) => ({ size: String(d) })) };
}

interface GraphModelFiles {
  modelJson: Record<string, unknown>;
  weights: Uint8Array;
}

function toGraphModel(model: tf.LayersModel, inputName: string, outputName: string): GraphModelFiles {
  const inputWidth = model.inputs[0]?.shape[1];
  const outputWidth = model.outputs[0]?.shape[1];
  if (typeof inputWidth !== 'number' || typeof outputWidth !== 'number') {
    throw new Error('the source model must map [batch, features] to [batch, outputs]');
  }
  const nodes: GraphNode[] = [{ name: inputName, op: 'Placeholder', attr: { dtype: FLOAT, shape: { shape: shapeOf([-1, inputWidth]) } } }];
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const values: number[] = [];
  let current = inputName;

  const addConst = (name: string, tensor: tf.Tensor): string => {
    nodes.push({ name, op: 'Const', attr: { value: { tensor: { dtype: 'DT_FLOAT', tensorShape: shapeOf(tensor.shape) } }, dtype: FLOAT } });
    weightSpecs.push({ name, shape: tensor.shape, dtype: 'float32' });
    values.push(...tensor.dataSync());
    return name;
  };

  for (const layer of model.layers) {
    const kind = layer.getClassName();
    if (kind === 'InputLayer' || kind === 'Dropout') continue;
    if (kind !== 'Dense') throw new Error(`layer "${layer.name}" (${kind}) has no graph translation here`);
    const config = layer.getConfig();
    const [kernel, bias] = layer.getWeights();
    if (kernel === undefined) throw new Error(`layer "${layer.name}" has no kernel`);
    const kernelNode = addConst(`${layer.name}/kernel`, kernel);
    nodes.push({
      name: `${layer.name}/MatMul`,
      op: 'MatMul',
      input: [current, kernelNode],
      attr: { T: FLOAT, transpose_a: { b: false }, transpose_b: { b: false } },
    });
    current = `${layer.name}/MatMul`;
    if (bias !== undefined && config['useBias'] !== false) {
      const biasNode = addConst(`${layer.name}/bias`, bias);
      // data_format "NHWC", base64-encoded as GraphDef JSON stores bytes.
      nodes.push({
        name: `${layer.name}/BiasAdd`,
        op: 'BiasAdd',
        input: [current, biasNode],
        attr: { T: FLOAT, data_format: { s: Buffer.from('NHWC').toString('base64') } },
      });
      current = `${layer.name}/BiasAdd`;
    }
    const activation = String(config['activation'] ?? 'linear');
    const op = ACTIVATION_OPS[activation];
    if (op === undefined) throw new Error(`layer "${layer.name}": activation "${activation}" has no graph translation here`);
    if (op !== null) {
      nodes.push({ name: `${layer.name}/${op}`, op, input: [current], attr: { T: FLOAT } });
      current = `${layer.name}/${op}`;
    }
  }
  nodes.push({ name: outputName, op: 'Identity', input: [current], attr: { T: FLOAT } });

  const weights = new Uint8Array(values.length * 4);
  const view = new DataView(weights.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));

  const tensorInfo = (name: string, width: number): Record<string, unknown> => ({
    name: `${name}:0`,
    dtype: 'DT_FLOAT',
    tensorShape: shapeOf([-1, width]),
  });
  return {
    modelJson: {
      format: 'graph-model',
      generatedBy: 'driftgate scripts/make-graph-model.ts',
      convertedBy: 'driftgate scripts/make-graph-model.ts',
      signature: {
        inputs: { [inputName]: tensorInfo(inputName, inputWidth) },
        outputs: { [outputName]: tensorInfo(outputName, outputWidth) },
      },
      modelTopology: { node: nodes, library: {}, versions: { producer: 1 } },
      weightsManifest: [{ paths: [SHARD_FILE], weights: weightSpecs }],
    },
    weights,
  };
}

async function main(): Promise<void> {
  await initTf();
  const manifest = await readManifestAt(SOURCE);
  const model = await loadLayersModelFromDir(SOURCE);
  const { modelJson, weights } = toGraphModel(model, manifest.input, manifest.output);
  model.dispose();

  const graphManifest = manifestSchema.parse({
    ...manifest,
    name: MODEL_NAME,
    version: 1,
    format: 'tfjs-graph',
    description: `${manifest.description ?? manifest.name} Converted to a tfjs graph model by scripts/make-graph-model.ts.`,
  });

  await mkdir(OUTPUT, { recursive: true });
  await writeFile(join(OUTPUT, SHARD_FILE), weights);
  await writeFile(join(OUTPUT, 'model.json'), `${JSON.stringify(modelJson)}\n`);
  await writeFile(join(OUTPUT, MANIFEST_FILE), `${JSON.stringify(graphManifest, null, 2)}\n`);
  console.log(`graph model of ${SOURCE} written to ${OUTPUT}`);
}

await main();
