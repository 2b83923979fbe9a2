// The ONNX importer against three references: scikit-learn itself (an MLP exported by skl2onnx, with its
// predict_proba committed beside it), our own exporter (tfjs -> ONNX -> tfjs must give the same outputs),
// and hand-built graphs whose outputs are computed here in double precision. Then loadBaseModel on
// version directories of each format.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { MANIFEST_FILE, seededRandom } from '../../src/core/index.js';
import { initTf, saveLayersModelToDir, tf } from '../../src/core/tfjs.js';
import type { ManifestInput } from '../../src/core/index.js';
import { exportLayersModelToOnnx } from '../../src/train/index.js';
import { importOnnxDense } from '../../src/train/onnx-import.js';
import { buildNetwork, describeNetwork } from '../../src/train/network.js';
import type { NetworkSpecInput } from '../../src/train/network.js';
import { loadBaseModel } from '../../src/train/base-model.js';

const { onnx } = onnxProto;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = join(ROOT, 'tests', 'fixtures');
const SKLEARN_ONNX = join(FIXTURES, 'onnx', 'sklearn-mlp-iris.onnx');
const SKLEARN_JSON = join(FIXTURES, 'onnx', 'sklearn-mlp-iris.json');

interface SklearnFixture {
  rows: number[][];
  probabilities: number[][];
  labels: number[];
  classes: string[];
}

function predict(model: tf.LayersModel, rows: Float32Array, width: number): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor2d(rows, [rows.length / width, width])) as tf.Tensor).dataSync() as Float32Array);
}

/** |a - b| / max(1, |a|): absolute below 1, relative above. */
function maxScaledDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(a[i]!)));
  return worst;
}

function randomRows(rows: number, width: number, seed: number, spread = 6): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: rows * width }, () => (random() - 0.5) * spread);
}

let baseline = 0;
before(async () => {
  await initTf();
  baseline = tf.memory().numTensors;
});
after(() => {
  assert.equal(tf.memory().numTensors, baseline, 'tensors leaked by the tests in this file');
});

void describe('importOnnxDense: scikit-learn MLP exported by skl2onnx', () => {
  let bytes: Uint8Array;
  let fixture: SklearnFixture;
  before(async () => {
    bytes = await readFile(SKLEARN_ONNX);
    fixture = JSON.parse(await readFile(SKLEARN_JSON, 'utf8')) as SklearnFixture;
  });

  void test('int64 fields of this file decode as Long objects (the path the importer must handle)', () => {
    const dims = onnx.ModelProto.decode(bytes).graph?.initializer?.[0]?.dims;
    assert.equal(typeof dims?.[0], 'object');
  });

  void test('reproduces predict_proba to 1e-5, ignoring the label branch', () => {
    const model = importOnnxDense(bytes);
    try {
      assert.equal(model.name, 'sklearn_mlp_iris');
      assert.deepEqual(
        describeNetwork(model).map(({ name, units, activation }) => ({ name, units, activation })),
        [
          { name: 'hidden_1', units: 10, activation: 'relu' },
          { name: 'hidden_2', units: 8, activation: 'relu' },
          { name: 'output', units: 3, activation: 'softmax' },
        ],
      );
      const got = predict(model, Float32Array.from(fixture.rows.flat()), 4);
      const want = fixture.probabilities.flat();
      const diff = maxScaledDiff(want, got);
      assert.ok(diff <= 1e-5, `max difference to scikit-learn ${diff}`);
      fixture.labels.forEach((label, r) => {
        const row = Array.from(got.subarray(r * 3, r * 3 + 3));
        assert.equal(row.indexOf(Math.max(...row)), label);
      });
    } finally {
      model.dispose();
    }
  });

  void test('agrees with onnxruntime on the same file', async () => {
    const model = importOnnxDense(bytes, { output: 'probabilities' });
    const session = await ort.InferenceSession.create(bytes);
    try {
      const rows = randomRows(25, 4, 3, 10).map((v) => Math.abs(v));
      const result = await session.run({ input: new ort.Tensor('float32', rows, [25, 4]) });
      const diff = maxScaledDiff(result['probabilities']!.data as Float32Array, predict(model, rows, 4));
      assert.ok(diff <= 1e-5, `max difference to onnxruntime ${diff}`);
    } finally {
      await session.release();
      model.dispose();
    }
  });

  void test('an output that is not a float path is refused by name', () => {
    assert.throws(() => importOnnxDense(bytes, { output: 'label' }), /ArgMax|ArrayFeatureExtractor|Reshape|Cast/);
    assert.throws(() => importOnnxDense(bytes, { output: 'nope' }), /no output "nope"/);
  });
});

/** Gives every BatchNormalization layer statistics far from the 1/0/0/1 defaults. */
function perturbBatchNorm(model: tf.LayersModel, seed: number): void {
  let s = seed;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const width = layer.getWeights()[0]!.shape[0]!;
    tf.tidy(() =>
      layer.setWeights([
        tf.randomUniform([width], 0.5, 2, 'float32', s++),
        tf.randomNormal([width], 0, 0.5, 'float32', s++),
        tf.randomNormal([width], 0, 1, 'float32', s++),
        tf.randomUniform([width], 0.2, 3, 'float32', s++),
      ]),
    );
  }
}

const ROUND_TRIP: { name: string; spec: NetworkSpecInput; opset: number }[] = [
  {
    name: 'relu + BN + dropout -> softmax',
    opset: 13,
    spec: { inputWidth: 6, hidden: [{ units: 12, batchNorm: true, dropout: 0.3 }, { units: 7 }], output: { units: 4, activation: 'softmax' }, seed: 1 },
  },
  {
    name: 'tanh, swish -> sigmoid',
    opset: 15,
    spec: { inputWidth: 5, hidden: [{ units: 9, activation: 'tanh' }, { units: 6, activation: 'swish' }], output: { units: 3, activation: 'sigmoid' }, initializer: 'glorotNormal', seed: 2 },
  },
  {
    name: 'selu, elu + BN -> linear',
    opset: 18,
    spec: { inputWidth: 4, hidden: [{ units: 8, activation: 'selu' }, { units: 8, activation: 'elu', batchNorm: true }], output: { units: 2, activation: 'linear' }, initializer: 'lecunNormal', seed: 3 },
  },
  {
    name: 'hardSigmoid, relu6, softsign, softplus -> softmax',
    opset: 14,
    spec: {
      inputWidth: 7,
      hidden: [
        { units: 6, activation: 'hardSigmoid' },
        { units: 6, activation: 'relu6', batchNorm: true },
        { units: 5, activation: 'softsign' },
        { units: 5, activation: 'softplus' },
      ],
      output: { units: 3, activation: 'softmax' },
      initializer: 'heUniform',
      seed: 4,
    },
  },
];

void describe('importOnnxDense: round trip through exportLayersModelToOnnx', () => {
  for (const { name, spec, opset } of ROUND_TRIP) {
    void test(`${name} (opset ${opset}) reproduces the outputs to 1e-6`, () => {
      const original = buildNetwork(spec);
      perturbBatchNorm(original, spec.seed * 10);
      const bytes = exportLayersModelToOnnx(original, { inputName: 'features', outputName: 'scores', opset });
      const imported = importOnnxDense(bytes);
      try {
        const rows = randomRows(33, spec.inputWidth, spec.seed);
        const diff = maxScaledDiff(predict(original, rows, spec.inputWidth), predict(imported, rows, spec.inputWidth));
        assert.ok(diff <= 1e-6, `max difference ${diff}`);
        // Same layers minus dropout, same names, BN epsilon carried over.
        const expected = describeNetwork(original).filter((r) => r.className !== 'Dropout');
        assert.deepEqual(describeNetwork(imported), expected);
        for (const layer of original.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
          assert.ok(Math.abs((imported.getLayer(layer.name).getConfig()['epsilon'] as number) - (layer.getConfig()['epsilon'] as number)) < 1e-9);
        }
      } finally {
        original.dispose();
        imported.dispose();
      }
    });
  }

  void test('separate Activation layers and logSoftmax survive the trip', () => {
    type Act = Parameters<typeof tf.layers.activation>[0]['activation'];
    const original = tf.sequential({
      layers: [
        tf.layers.dense({ units: 6, inputShape: [3], kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }), biasInitializer: tf.initializers.randomNormal({ seed: 2 }) }),
        tf.layers.batchNormalization({ epsilon: 0.01 }),
        tf.layers.activation({ activation: 'relu' }),
        tf.layers.dense({ units: 4, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
        tf.layers.activation({ activation: 'logSoftmax' as Act }),
      ],
    });
    perturbBatchNorm(original, 77);
    const imported = importOnnxDense(exportLayersModelToOnnx(original, { inputName: 'x', outputName: 'y' }));
    try {
      assert.deepEqual(
        describeNetwork(imported).map((r) => [r.name, r.className, r.activation]),
        [
          ['hidden_1', 'Dense', 'linear'],
          ['bn_1', 'BatchNormalization', undefined],
          ['activation_1', 'Activation', 'relu'],
          ['output', 'Dense', 'logSoftmax'],
        ],
      );
      const rows = randomRows(20, 3, 9);
      assert.ok(maxScaledDiff(predict(original, rows, 3), predict(imported, rows, 3)) <= 1e-6);
    } finally {
      original.dispose();
      imported.dispose();
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// Hand-built graphs

function floatTensor(name: string, dims: number[], values: number[], raw: boolean): Onnx.ITensorProto {
  if (!raw) return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, floatData: values };
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: bytes };
}

function node(opType: string, input: string[], output: string[], attribute: Onnx.IAttributeProto[] = [], name = `${opType}_${output[0]}`): Onnx.INodeProto {
  return { name, opType, input, output, attribute };
}

const int = (name: string, i: number): Onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INT, i });
const float = (name: string, f: number): Onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f });

function valueInfo(name: string, width: number | undefined, elemType: number = onnx.TensorProto.DataType.FLOAT): Onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: [{ dimParam: 'batch' }, width === undefined ? { dimParam: 'features' } : { dimValue: width }] } } },
  };
}

function handModel(parts: {
  nodes: Onnx.INodeProto[];
  initializers: Onnx.ITensorProto[];
  inputWidth: number | undefined;
  outputs: Onnx.IValueInfoProto[];
  opset?: number;
}): Uint8Array {
  const proto = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'driftgate-tests',
    opsetImport: [{ domain: '', version: parts.opset ?? 13 }],
    graph: { name: 'hand-built', node: parts.nodes, initializer: parts.initializers, input: [valueInfo('x', parts.inputWidth)], output: parts.outputs },
  });
  return onnx.ModelProto.encode(proto).finish();
}

/** Row-major helpers in double precision, the reference for hand-built graphs. */
function matmul(a: number[][], b: number[][]): number[][] {
  return a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
}
const transpose = (m: number[][]): number[][] => m[0]!.map((_, j) => m.map((row) => row[j]!));
const grid = (rows: number, cols: number, seed: number): number[][] => {
  const random = seededRandom(seed);
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => Math.fround((random() - 0.5) * 2)));
};

void describe('importOnnxDense: hand-built graphs', () => {
  void test('Gemm with transB = 1, alpha and beta; MatMul + Add of a Constant; LeakyRelu, Elu, Softmax(axis 1)', () => {
    const wOutIn = grid(4, 3, 1); // Gemm weight stored [out, in]
    const c = grid(1, 4, 2)[0]!;
    const w2 = grid(4, 2, 3); // MatMul weight [in, out]
    const b2 = grid(1, 2, 4)[0]!;
    const bytes = handModel({
      opset: 11, // Softmax's default axis is 1 here; it is given explicitly anyway
      inputWidth: 3,
      initializers: [floatTensor('W', [4, 3], wOutIn.flat(), true), floatTensor('C', [4], c, false), floatTensor('W2', [4, 2], w2.flat(), false)],
      nodes: [
        node('Gemm', ['x', 'W', 'C'], ['g'], [int('transB', 1), float('alpha', 0.5), float('beta', 2)], 'dense_a'),
        node('LeakyRelu', ['g'], ['l'], [float('alpha', 0.1)]),
        node('Constant', [], ['B2'], [{ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: floatTensor('', [1, 2], b2, true) }]),
        node('MatMul', ['l', 'W2'], ['m']),
        node('Add', ['B2', 'm'], ['a']),
        node('Elu', ['a'], ['e']),
        node('Softmax', ['e'], ['y'], [int('axis', 1)]),
      ],
      outputs: [valueInfo('y', 2)],
    });
    const model = importOnnxDense(bytes);
    try {
      assert.deepEqual(
        describeNetwork(model).map((r) => [r.name, r.className, r.activation]),
        [
          ['hidden_1', 'Dense', 'linear'],
          ['activation_1', 'LeakyReLU', undefined],
          ['output', 'Dense', 'elu'],
          ['activation_2', 'Activation', 'softmax'],
        ],
      );
      // The tfjs kernel is the transposed, alpha-scaled Gemm weight.
      const kernel = model.getLayer('hidden_1').getWeights()[0]!;
      assert.deepEqual(kernel.shape, [3, 4]);
      assert.ok(maxScaledDiff(transpose(wOutIn).flat().map((v) => v * 0.5), kernel.dataSync()) < 1e-7);

      const x = grid(6, 3, 5);
      const g = matmul(x, transpose(wOutIn)).map((row) => row.map((v, j) => 0.5 * v + 2 * c[j]!));
      const l = g.map((row) => row.map((v) => (v >= 0 ? v : 0.1 * v)));
      const a = matmul(l, w2).map((row) => row.map((v, j) => v + b2[j]!));
      const e = a.map((row) => row.map((v) => (v >= 0 ? v : Math.exp(v) - 1)));
      const want = e.flatMap((row) => {
        const z = row.map((v) => Math.exp(v));
        const sum = z.reduce((s, v) => s + v, 0);
        return z.map((v) => v / sum);
      });
      const diff = maxScaledDiff(want, predict(model, Float32Array.from(x.flat()), 3));
      assert.ok(diff <= 1e-6, `max difference ${diff}`);
    } finally {
      model.dispose();
    }
  });

  void test('pass-through ops, an off-path branch, swish as x * Sigmoid(x), Clip as relu6, inference BatchNormalization', () => {
    const w = grid(3, 3, 6);
    const bytes = handModel({
      inputWidth: undefined, // symbolic width: taken from the first weight
      initializers: [
        floatTensor('W', [3, 3], w.flat(), true),
        floatTensor('scale', [3], [1.5, 0.5, 2], true),
        floatTensor('bias', [3], [0.1, -0.2, 0.3], true),
        floatTensor('mean', [3], [0.5, -1, 0.25], true),
        floatTensor('var', [3], [2, 0.5, 1], true),
        floatTensor('lo', [], [0], true),
        floatTensor('hi', [], [6], true),
      ],
      nodes: [
        node('Cast', ['x'], ['c'], [int('to', onnx.TensorProto.DataType.FLOAT)]),
        node('Flatten', ['c'], ['f'], [int('axis', 1)]),
        node('Gemm', ['f', 'W'], ['g']),
        node('Sigmoid', ['g'], ['s']),
        node('Mul', ['g', 's'], ['sw']),
        node('BatchNormalization', ['sw', 'scale', 'bias', 'mean', 'var'], ['bn'], [float('epsilon', 0.01), float('momentum', 0.8)]),
        node('Dropout', ['bn'], ['d', 'mask']),
        node('Clip', ['d', 'lo', 'hi'], ['clip']),
        node('Identity', ['clip'], ['y']),
        node('ArgMax', ['y'], ['label'], [int('axis', 1)]),
      ],
      outputs: [valueInfo('y', 3), { name: 'label', type: { tensorType: { elemType: onnx.TensorProto.DataType.INT64 } } }],
    });
    const model = importOnnxDense(bytes, { name: 'pass through' });
    try {
      assert.deepEqual(
        describeNetwork(model).map((r) => [r.name, r.className, r.activation]),
        [
          ['output', 'Dense', 'swish'],
          ['bn_1', 'BatchNormalization', undefined],
          ['activation_1', 'Activation', 'relu6'],
        ],
      );
      assert.equal(model.getLayer('bn_1').getConfig()['momentum'], Math.fround(0.8));
      const x = grid(5, 3, 7).map((row) => row.map((v) => v * 4));
      const scale = [1.5, 0.5, 2], bias = [0.1, -0.2, 0.3], mean = [0.5, -1, 0.25], variance = [2, 0.5, 1];
      const want = matmul(x, w).flatMap((row) =>
        row.map((v, j) => {
          const swish = v / (1 + Math.exp(-v));
          const normed = ((swish - mean[j]!) / Math.sqrt(variance[j]! + 0.01)) * scale[j]! + bias[j]!;
          return Math.min(6, Math.max(0, normed));
        }),
      );
      const diff = maxScaledDiff(want, predict(model, Float32Array.from(x.flat()), 3));
      assert.ok(diff <= 1e-6, `max difference ${diff}`);
    } finally {
      model.dispose();
    }
  });

  const refusals: { name: string; nodes: Onnx.INodeProto[]; initializers?: Onnx.ITensorProto[]; outputs?: Onnx.IValueInfoProto[]; error: RegExp }[] = [
    {
      name: 'an unsupported operator, by op and node',
      nodes: [node('Conv', ['x', 'W'], ['y'], [], 'conv_1')],
      initializers: [floatTensor('W', [2, 2], [1, 2, 3, 4], true)],
      error: /node "conv_1" \(Conv\): operator not supported/,
    },
    {
      name: 'a node joining two paths',
      nodes: [node('Relu', ['x'], ['r']), node('Concat', ['x', 'r'], ['y'], [int('axis', 1)], 'join')],
      error: /node "join" \(Concat\): it takes 2 non-constant inputs/,
    },
    {
      name: 'Gemm with transA = 1',
      nodes: [node('Gemm', ['x', 'W'], ['y'], [int('transA', 1)], 'g')],
      initializers: [floatTensor('W', [2, 2], [1, 2, 3, 4], true)],
      error: /node "g" \(Gemm\): transA = 1/,
    },
    {
      name: 'an Add that is not a bias',
      nodes: [node('Relu', ['x'], ['r']), node('Add', ['r', 'B'], ['y'], [], 'shift')],
      initializers: [floatTensor('B', [2], [1, 2], true)],
      error: /node "shift" \(Add\): an Add is only supported as the bias/,
    },
    {
      name: 'Softmax over the batch axis',
      nodes: [node('Softmax', ['x'], ['y'], [int('axis', 0)], 'sm')],
      error: /node "sm" \(Softmax\): only the feature axis/,
    },
    {
      name: 'Elu with alpha other than 1 (tfjs cannot express it)',
      nodes: [node('Elu', ['x'], ['y'], [float('alpha', 0.5)], 'elu')],
      error: /node "elu" \(Elu\): only alpha 1/,
    },
    {
      name: 'BatchNormalization in training mode',
      nodes: [node('BatchNormalization', ['x', 'S', 'S', 'S', 'S'], ['y'], [int('training_mode', 1)], 'bn')],
      initializers: [floatTensor('S', [2], [1, 1], true)],
      error: /node "bn" \(BatchNormalization\): training mode/,
    },
    {
      name: 'a weight whose width does not match the input',
      nodes: [node('MatMul', ['x', 'W'], ['y'], [], 'mm')],
      initializers: [floatTensor('W', [3, 2], [1, 2, 3, 4, 5, 6], true)],
      error: /node "mm": its weight takes 3 inputs but receives 2/,
    },
    {
      name: 'two float outputs without a choice',
      nodes: [node('Relu', ['x'], ['y']), node('Sigmoid', ['x'], ['z'])],
      outputs: [valueInfo('y', 2), valueInfo('z', 2)],
      error: /expected exactly one float output, found 2/,
    },
    {
      name: 'a graph with no layer on the path',
      nodes: [node('Identity', ['x'], ['y'])],
      error: /holds no layer/,
    },
  ];
  for (const r of refusals) {
    void test(`refuses ${r.name}`, () => {
      const bytes = handModel({ inputWidth: 2, nodes: r.nodes, initializers: r.initializers ?? [], outputs: r.outputs ?? [valueInfo('y', 2)] });
      assert.throws(() => importOnnxDense(bytes), r.error);
    });
  }

  void test('refuses bytes that are not ONNX', () => {
    assert.throws(() => importOnnxDense(new Uint8Array([0xff, 0xff, 0xff, 0x01, 0x02])), /not an ONNX ModelProto|no graph nodes/);
  });
});

// ---------------------------------------------------------------------------------------------------
// loadBaseModel

function irisManifest(format: 'onnx' | 'tfjs-layers', input: string, output: string, features = 4): ManifestInput {
  return {
    name: 'iris',
    version: 1,
    format,
    task: 'classification',
    features: Array.from({ length: features }, (_, i) => ({ name: `f${i}`, type: 'numeric' as const })),
    input,
    output,
    labels: ['setosa', 'versicolor', 'virginica'],
  };
}

void describe('loadBaseModel', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'driftgate-base-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function version(name: string, manifest: unknown): Promise<string> {
    const path = join(dir, name);
    await mkdir(path, { recursive: true });
    await writeFile(join(path, MANIFEST_FILE), JSON.stringify(manifest));
    return path;
  }

  void test('a tfjs-layers version loads with its manifest and predicts like the saved model', async () => {
    const original = buildNetwork({ inputWidth: 4, hidden: [{ units: 5, batchNorm: true }], output: { units: 3, activation: 'softmax' }, seed: 8 });
    perturbBatchNorm(original, 5);
    const path = await version('tfjs', irisManifest('tfjs-layers', 'x', 'y'));
    await saveLayersModelToDir(original, path);
    const { model, manifest } = await loadBaseModel(path);
    try {
      assert.equal(manifest.format, 'tfjs-layers');
      assert.deepEqual(manifest.labels, ['setosa', 'versicolor', 'virginica']);
      const rows = randomRows(9, 4, 2);
      assert.ok(maxScaledDiff(predict(original, rows, 4), predict(model, rows, 4)) <= 1e-7);
    } finally {
      original.dispose();
      model.dispose();
    }
  });

  void test('an ONNX version is imported, following the manifest output', async () => {
    const path = await version('onnx', irisManifest('onnx', 'input', 'probabilities'));
    await copyFile(SKLEARN_ONNX, join(path, 'model.onnx'));
    const fixture = JSON.parse(await readFile(SKLEARN_JSON, 'utf8')) as SklearnFixture;
    const { model } = await loadBaseModel(path);
    try {
      assert.ok(maxScaledDiff(fixture.probabilities.flat(), predict(model, Float32Array.from(fixture.rows.flat()), 4)) <= 1e-5);
    } finally {
      model.dispose();
    }
  });

  void test('refuses graph models, bad manifests, width mismatches and unusable ONNX', async () => {
    await assert.rejects(loadBaseModel(join(FIXTURES, 'graph-model')), /graph model, which cannot be fine-tuned/);
    await assert.rejects(loadBaseModel(join(dir, 'absent')), /driftgate\.json not found/);
    await assert.rejects(loadBaseModel(await version('invalid', { name: 'iris', version: 0 })), /not a valid manifest/);

    const wide = await version('wide', irisManifest('onnx', 'input', 'probabilities', 5));
    await copyFile(SKLEARN_ONNX, join(wide, 'model.onnx'));
    await assert.rejects(loadBaseModel(wide), /takes 4 inputs and gives 3 outputs, but its manifest implies 5 and 3/);

    const misnamed = await version('misnamed', irisManifest('onnx', 'input', 'scores'));
    await copyFile(SKLEARN_ONNX, join(misnamed, 'model.onnx'));
    await assert.rejects(loadBaseModel(misnamed), /cannot use .*model\.onnx as a base model: .*no output "scores"/);

    await assert.rejects(loadBaseModel(await version('no-onnx', irisManifest('onnx', 'input', 'probabilities'))), /cannot read the base model/);
  });
});
