// Fresh networks from a spec (seeded, stable names) and the model surgery behind the fine-tuning
// techniques: freezing, output replacement, new heads, feature extraction, and the BatchNormalization
// caveat with its remedy.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../src/core/index.js';
import { initTf, tf } from '../../src/core/tfjs.js';
import {
  buildNetwork,
  deriveSeed,
  describeNetwork,
  networkSpecSchema,
  INITIALIZERS,
} from '../../src/train/network.js';
import type { NetworkSpecInput } from '../../src/train/network.js';
import {
  buildHead,
  featureExtractor,
  freezeLayers,
  precomputeFeatures,
  replaceOutput,
  stackModels,
  unfreezeLayers,
  withNewHead,
} from '../../src/train/base-model.js';

const SPEC: NetworkSpecInput = {
  inputWidth: 4,
  hidden: [
    { units: 8, activation: 'relu', batchNorm: true, dropout: 0.2 },
    { units: 6, activation: 'tanh' },
  ],
  output: { units: 3, activation: 'softmax' },
  initializer: 'heNormal',
  l2: 1e-4,
  seed: 42,
};

/** Weight values by variable name, copied out of the backend. */
function snapshot(model: tf.LayersModel): Map<string, Float32Array> {
  return new Map(model.weights.map((w) => [w.originalName, Float32Array.from(w.read().dataSync() as Float32Array)]));
}

function layerValues(model: tf.LayersModel, layer: string): Float32Array[] {
  return model.getLayer(layer).getWeights().map((t) => Float32Array.from(t.dataSync() as Float32Array));
}

function bitEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.every((v, i) => v === y[i]);
}

/** A seeded 3-class problem: class k's rows are centred on a different corner, shifted by `offset`. */
function toyData(rows: number, width: number, seed: number, offset = 0): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const random = seededRandom(seed);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let r = 0; r < rows; r++) {
    const k = r % 3;
    for (let c = 0; c < width; c++) xs.push(offset + (c % 3 === k ? 1.5 : -0.5) + (random() - 0.5));
    ys.push(...[0, 1, 2].map((j) => (j === k ? 1 : 0)));
  }
  return { x: tf.tensor2d(xs, [rows, width]), y: tf.tensor2d(ys, [rows, 3]) };
}

async function trainBriefly(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor, epochs = 3): Promise<void> {
  const optimizer = tf.train.adam(0.05);
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  await model.fit(x, y, { epochs, batchSize: 8, shuffle: false, verbose: 0 });
  optimizer.dispose();
}

let baseline = 0;
before(async () => {
  await initTf();
  baseline = tf.memory().numTensors;
});
after(() => {
  // Every test disposes what it creates; anything left here is a leak.
  assert.equal(tf.memory().numTensors, baseline, 'tensors leaked by the tests in this file');
});

void describe('NetworkSpec', () => {
  void test('fills defaults', () => {
    const spec = networkSpecSchema.parse({ inputWidth: 3, hidden: [{ units: 4 }], output: { units: 2, activation: 'softmax' }, seed: 1 });
    assert.equal(spec.initializer, 'glorotUniform');
    assert.deepEqual(spec.hidden, [{ units: 4, activation: 'relu', batchNorm: false }]);
  });

  void test('refuses bad specs', () => {
    const ok = { inputWidth: 3, output: { units: 2, activation: 'softmax' }, seed: 1 };
    assert.equal(networkSpecSchema.safeParse(ok).success, true);
    for (const bad of [
      { ...ok, output: { units: 1, activation: 'softmax' } },
      { ...ok, hidden: [{ units: 4, dropout: 0.95 }] },
      { ...ok, hidden: [{ units: 4, activation: 'gelu' }] },
      { ...ok, hidden: [{ units: 0 }] },
      { ...ok, initializer: 'orthogonal' },
      { ...ok, l2: -1 },
      { ...ok, seed: 1.5 },
    ]) {
      assert.equal(networkSpecSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
});

void describe('buildNetwork', () => {
  void test('stable layer names and describeNetwork rows', () => {
    const model = buildNetwork(SPEC);
    try {
      assert.deepEqual(
        describeNetwork(model),
        [
          { name: 'hidden_1', className: 'Dense', units: 8, activation: 'relu', trainable: true, params: 4 * 8 + 8 },
          { name: 'bn_1', className: 'BatchNormalization', trainable: true, params: 4 * 8 },
          { name: 'dropout_1', className: 'Dropout', trainable: true, params: 0 },
          { name: 'hidden_2', className: 'Dense', units: 6, activation: 'tanh', trainable: true, params: 8 * 6 + 6 },
          { name: 'output', className: 'Dense', units: 3, activation: 'softmax', trainable: true, params: 6 * 3 + 3 },
        ],
      );
      assert.deepEqual(model.inputs[0]!.shape, [null, 4]);
      assert.deepEqual(model.outputs[0]!.shape, [null, 3]);
    } finally {
      model.dispose();
    }
  });

  void test('the same seed gives bit-identical weights, another seed different ones', () => {
    const a = buildNetwork(SPEC);
    const b = buildNetwork(SPEC);
    const c = buildNetwork({ ...SPEC, seed: 43 });
    try {
      const [wa, wb, wc] = [snapshot(a), snapshot(b), snapshot(c)];
      for (const [name, values] of wa) assert.ok(bitEqual(values, wb.get(name)!), `${name} differs between equal seeds`);
      assert.ok(!bitEqual(wa.get('hidden_1/kernel')!, wc.get('hidden_1/kernel')!));
    } finally {
      for (const m of [a, b, c]) m.dispose();
    }
  });

  void test('kernels do not depend on the layers around them (dropout or batchNorm added)', () => {
    const plain = buildNetwork({ ...SPEC, hidden: SPEC.hidden!.map((h) => ({ units: h.units, activation: h.activation })) });
    const decorated = buildNetwork(SPEC);
    try {
      for (const layer of ['hidden_1', 'hidden_2', 'output']) {
        assert.ok(bitEqual(layerValues(plain, layer)[0]!, layerValues(decorated, layer)[0]!), layer);
      }
    } finally {
      plain.dispose();
      decorated.dispose();
    }
  });

  void test('every initializer builds reproducibly, biases start at zero', () => {
    for (const initializer of INITIALIZERS) {
      const a = buildNetwork({ ...SPEC, initializer });
      const b = buildNetwork({ ...SPEC, initializer });
      try {
        const [kernelA, biasA] = layerValues(a, 'hidden_1') as [Float32Array, Float32Array];
        assert.ok(bitEqual(kernelA, layerValues(b, 'hidden_1')[0]!), initializer);
        assert.ok(kernelA.some((v) => v !== 0), `${initializer} gave an all-zero kernel`);
        assert.ok(biasA.every((v) => v === 0));
      } finally {
        a.dispose();
        b.dispose();
      }
    }
    // He initializers scale with fan-in, random normal does not: a crude check that names map correctly.
    const std = (initializer: (typeof INITIALIZERS)[number]): number => {
      const m = buildNetwork({ inputWidth: 400, output: { units: 50, activation: 'linear' }, initializer, seed: 5 });
      const k = layerValues(m, 'output')[0]!;
      m.dispose();
      const mean = k.reduce((s, v) => s + v, 0) / k.length;
      return Math.sqrt(k.reduce((s, v) => s + (v - mean) ** 2, 0) / k.length);
    };
    assert.ok(Math.abs(std('randomNormal') - 0.05) < 0.005);
    assert.ok(std('heNormal') > std('lecunNormal'));
  });

  void test('l1/l2 become kernel regularizers on every Dense layer', () => {
    const model = buildNetwork({ ...SPEC, l1: 1e-3, l2: 2e-3 });
    const plain = buildNetwork({ ...SPEC, l2: undefined });
    try {
      for (const name of ['hidden_1', 'hidden_2', 'output']) {
        const reg = model.getLayer(name).getConfig()['kernelRegularizer'] as { config: { l1: number; l2: number } };
        assert.ok(Math.abs(reg.config.l1 - 1e-3) < 1e-9 && Math.abs(reg.config.l2 - 2e-3) < 1e-9, name);
        assert.equal(plain.getLayer(name).getConfig()['kernelRegularizer'], null);
      }
    } finally {
      model.dispose();
      plain.dispose();
    }
  });

  void test('dropout draws a fresh mask per call, the same sequence for the same seed', () => {
    const spec: NetworkSpecInput = { inputWidth: 64, hidden: [{ units: 64, activation: 'linear', dropout: 0.5 }], output: { units: 2, activation: 'linear' }, seed: 7 };
    const masks = (model: tf.LayersModel): string[] =>
      tf.tidy(() => {
        const dropout = model.getLayer('dropout_1');
        const ones = tf.ones([1, 64]);
        return [0, 1, 2].map(() => Array.from((dropout.apply(ones, { training: true }) as tf.Tensor).dataSync(), (v) => (v === 0 ? 0 : 1)).join(''));
      });
    const a = buildNetwork(spec);
    const b = buildNetwork(spec);
    try {
      const first = masks(a);
      assert.equal(new Set(first).size, 3, 'a seeded tfjs Dropout must not repeat its mask');
      assert.deepEqual(masks(b), first);
      // The saved config leaves the seed out, so a reloaded model does not get a frozen mask.
      assert.equal(a.getLayer('dropout_1').getConfig()['seed'], undefined);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  void test('deriveSeed separates streams', () => {
    const seeds = new Set([0, 1, 2, 8, 9, 16].map((s) => deriveSeed(42, s)));
    assert.equal(seeds.size, 6);
    assert.equal(deriveSeed(42, 3), deriveSeed(42, 3));
  });
});

void describe('freezeLayers', () => {
  const spec: NetworkSpecInput = { inputWidth: 6, hidden: [{ units: 8 }, { units: 8 }, { units: 5 }], output: { units: 3, activation: 'softmax' }, seed: 3 };

  void test('first k weighted layers or by name; errors for unknown names and k out of range', () => {
    const model = buildNetwork({ ...spec, hidden: [{ units: 8, batchNorm: true, dropout: 0.1 }, { units: 5 }] });
    try {
      // hidden_1, bn_1 are the first two layers with weights; dropout_1 has none.
      assert.deepEqual(freezeLayers(model, { firstK: 2 }), ['hidden_1', 'bn_1']);
      assert.deepEqual(freezeLayers(model, { names: ['output', 'hidden_2'] }), ['hidden_2', 'output']);
      assert.deepEqual(describeNetwork(model).map((r) => r.trainable), [false, false, true, false, false]);
      assert.deepEqual(unfreezeLayers(model), ['hidden_1', 'bn_1', 'dropout_1', 'hidden_2', 'output']);
      assert.ok(model.layers.every((l) => l.trainable));
      assert.deepEqual(freezeLayers(model, { firstK: 0 }), []);
      assert.throws(() => freezeLayers(model, { firstK: 5 }), /firstK must be an integer from 0 to 4/);
      assert.throws(() => freezeLayers(model, { firstK: -1 }), RangeError);
      assert.throws(() => freezeLayers(model, { names: ['hidden_9'] }), /no layer "hidden_9"/);
    } finally {
      model.dispose();
    }
  });

  void test('frozen weights stay bit-identical through fit after recompiling; the others move', async () => {
    const model = buildNetwork(spec);
    const { x, y } = toyData(48, 6, 11);
    try {
      assert.deepEqual(freezeLayers(model, { firstK: 2 }), ['hidden_1', 'hidden_2']);
      const before = snapshot(model);
      await trainBriefly(model, x, y);
      const afterFit = snapshot(model);
      for (const [name, values] of before) {
        const frozen = name.startsWith('hidden_1/') || name.startsWith('hidden_2/');
        assert.equal(bitEqual(values, afterFit.get(name)!), frozen, `${name} ${frozen ? 'changed while frozen' : 'did not train'}`);
      }
    } finally {
      model.dispose();
      tf.dispose([x, y]);
    }
  });

  void test('tfjs quirk: an unfreeze after compile() takes effect only at the next compile()', async () => {
    const model = buildNetwork(spec);
    const { x, y } = toyData(48, 6, 12);
    const optimizer = tf.train.adam(0.05);
    try {
      freezeLayers(model, { names: ['hidden_1'] });
      model.compile({ optimizer, loss: 'categoricalCrossentropy' });
      unfreezeLayers(model);
      const before = layerValues(model, 'hidden_1')[0]!;
      await model.fit(x, y, { epochs: 2, batchSize: 8, shuffle: false, verbose: 0 });
      assert.ok(bitEqual(before, layerValues(model, 'hidden_1')[0]!), 'without recompiling, the unfrozen layer does not train');
      await trainBriefly(model, x, y, 2);
      assert.ok(!bitEqual(before, layerValues(model, 'hidden_1')[0]!), 'after compile() it trains');
    } finally {
      optimizer.dispose();
      model.dispose();
      tf.dispose([x, y]);
    }
  });
});

void describe('replaceOutput', () => {
  void test('new unit count, earlier weights kept, source untouched and independent', async () => {
    const source = buildNetwork(SPEC);
    const sourceWeights = snapshot(source);
    const replaced = replaceOutput(source, { units: 5, activation: 'softmax', seed: 9 });
    const again = replaceOutput(source, { units: 5, activation: 'softmax', seed: 9 });
    try {
      assert.deepEqual(replaced.outputs[0]!.shape, [null, 5]);
      assert.deepEqual(
        describeNetwork(replaced).map((r) => r.name),
        ['hidden_1', 'bn_1', 'dropout_1', 'hidden_2', 'output'],
      );
      const copied = snapshot(replaced);
      for (const [name, values] of sourceWeights) {
        if (name.startsWith('output/')) continue;
        assert.ok(bitEqual(values, copied.get(name)!), `${name} was not carried over`);
      }
      assert.deepEqual(replaced.getLayer('output').getWeights()[0]!.shape, [6, 5]);
      assert.ok(bitEqual(layerValues(replaced, 'output')[0]!, layerValues(again, 'output')[0]!), 'new output is seeded');
      assert.ok(layerValues(replaced, 'output')[1]!.every((v) => v === 0));

      // Training the new model leaves the source as it was: they share no variables.
      const { x, y: threeClasses } = toyData(30, 4, 5);
      threeClasses.dispose();
      const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from({ length: 30 }, (_, i) => i % 5), 'int32'), 5));
      await trainBriefly(replaced, x, y, 2);
      const sourceAfter = snapshot(source);
      for (const [name, values] of sourceWeights) assert.ok(bitEqual(values, sourceAfter.get(name)!), `${name} of the source changed`);
      assert.ok(!bitEqual(sourceWeights.get('hidden_1/kernel')!, snapshot(replaced).get('hidden_1/kernel')!));
      tf.dispose([x, y]);
    } finally {
      replaced.dispose();
      again.dispose();
      // The source is still usable after the derived models are gone.
      tf.dispose(tf.tidy(() => source.predict(tf.zeros([1, 4]))));
      source.dispose();
    }
  });

  void test('a model with only an output layer, and one without any Dense', () => {
    const linear = buildNetwork({ inputWidth: 3, output: { units: 2, activation: 'softmax' }, seed: 1 });
    const noDense = tf.sequential({ layers: [tf.layers.activation({ activation: 'relu', inputShape: [3] })] });
    const replaced = replaceOutput(linear, { units: 4, activation: 'sigmoid', seed: 2, initializer: 'lecunUniform' });
    try {
      assert.deepEqual(describeNetwork(replaced), [{ name: 'output', className: 'Dense', units: 4, activation: 'sigmoid', trainable: true, params: 16 }]);
      assert.throws(() => replaceOutput(noDense, { units: 2, activation: 'softmax', seed: 1 }), /no Dense layer/);
    } finally {
      linear.dispose();
      replaced.dispose();
      tf.dispose(tf.tidy(() => noDense.predict(tf.zeros([1, 3]))));
      noDense.dispose();
    }
  });
});

void describe('withNewHead', () => {
  void test('frozen base copied, new head named head_*, base weights unchanged by fit', async () => {
    const base = buildNetwork({ inputWidth: 6, hidden: [{ units: 10 }, { units: 7, activation: 'elu' }], output: { units: 2, activation: 'softmax' }, seed: 21 });
    const transfer = withNewHead(base, { hidden: [{ units: 5, activation: 'tanh', dropout: 0.1 }], output: { units: 3, activation: 'softmax' }, seed: 4 });
    const { x, y } = toyData(60, 6, 8);
    try {
      assert.deepEqual(
        describeNetwork(transfer).map((r) => [r.name, r.trainable]),
        [
          ['hidden_1', false],
          ['hidden_2', false],
          ['head_1', true],
          ['head_dropout_1', true],
          ['output', true],
        ],
      );
      const before = snapshot(transfer);
      await trainBriefly(transfer, x, y);
      const afterFit = snapshot(transfer);
      for (const [name, values] of before) {
        const inBase = name.startsWith('hidden_');
        assert.equal(bitEqual(values, afterFit.get(name)!), inBase, `${name} ${inBase ? 'changed' : 'did not train'}`);
      }
      const baseNow = snapshot(base);
      assert.ok(bitEqual(baseNow.get('hidden_1/kernel')!, afterFit.get('hidden_1/kernel')!));
      const outputOnly = buildNetwork({ inputWidth: 2, output: { units: 2, activation: 'softmax' }, seed: 1 });
      assert.throws(() => withNewHead(outputOnly, { output: { units: 2, activation: 'softmax' }, seed: 1 }), /no layers below its output/);
      outputOnly.dispose();
    } finally {
      base.dispose();
      transfer.dispose();
      tf.dispose([x, y]);
    }
  });

  void test('BatchNormalization caveat: a frozen BN still updates its moving mean under fit; precomputing features keeps it', async () => {
    const base = buildNetwork({ inputWidth: 5, hidden: [{ units: 8, activation: 'relu', batchNorm: true }], output: { units: 2, activation: 'softmax' }, seed: 31 });
    // Data far from what the base saw (its moving mean starts at 0), so batch statistics differ clearly.
    const { x, y } = toyData(60, 5, 9, 3);
    const baseMean = (): Float32Array => Float32Array.from(base.getLayer('bn_1').getWeights()[2]!.dataSync() as Float32Array);
    const original = baseMean();

    // Naive transfer: the whole base is frozen, yet BN's moving mean moves.
    const naive = withNewHead(base, { output: { units: 3, activation: 'softmax' }, seed: 2 });
    const movingMean = (): Float32Array => layerValues(naive, 'bn_1')[2]!;
    const gammaBefore = layerValues(naive, 'bn_1')[0]!;
    assert.equal(naive.getLayer('bn_1').trainable, false);
    assert.ok(bitEqual(movingMean(), original));
    await trainBriefly(naive, x, y, 2);
    assert.ok(!bitEqual(movingMean(), original), 'tfjs is expected to update a frozen BN layer\'s moving mean');
    assert.ok(bitEqual(layerValues(naive, 'bn_1')[0]!, gammaBefore), 'gamma is a trainable weight and stays frozen');
    naive.dispose();

    // Remedy: run the frozen part once in inference mode and train only the head on its outputs.
    const extractor = featureExtractor(base);
    assert.deepEqual(describeNetwork(extractor).map((r) => [r.name, r.trainable]), [['hidden_1', false], ['bn_1', false]]);
    const features = precomputeFeatures(extractor, x);
    const head = buildHead(8, { hidden: [{ units: 4 }], output: { units: 3, activation: 'softmax' }, seed: 2 });
    await trainBriefly(head, features, y, 2);
    assert.ok(bitEqual(layerValues(extractor, 'bn_1')[2]!, original), 'extractor BN moving mean must not change');
    assert.ok(bitEqual(baseMean(), original));

    // Put together for serving, the stack computes head(extractor(x)).
    const served = stackModels([extractor, head], 'served');
    try {
      assert.deepEqual(describeNetwork(served).map((r) => r.name), ['hidden_1', 'bn_1', 'head_1', 'output']);
      const [direct, stacked] = tf.tidy(() => [
        (head.predict(features) as tf.Tensor).dataSync(),
        (served.predict(x) as tf.Tensor).dataSync(),
      ]);
      direct!.forEach((v, i) => assert.ok(Math.abs(v - stacked![i]!) < 1e-6));
      assert.throws(() => stackModels([extractor, extractor]), /occurs in more than one model|takes 5 inputs/);
    } finally {
      served.dispose();
      tf.dispose([features, x, y]);
      extractor.dispose();
      head.dispose();
      base.dispose();
    }
  });

  void test('featureExtractor up to a named layer', () => {
    const model = buildNetwork(SPEC);
    const upTo = featureExtractor(model, 'bn_1');
    try {
      assert.deepEqual(upTo.outputs[0]!.shape, [null, 8]);
      assert.deepEqual(describeNetwork(upTo).map((r) => r.name), ['hidden_1', 'bn_1']);
      assert.throws(() => featureExtractor(model, 'nope'), /no layer "nope"/);
    } finally {
      upTo.dispose();
      model.dispose();
    }
  });
});

void describe('tensor bookkeeping', () => {
  void test('building, copying and disposing leaves no tensors behind', () => {
    const start = tf.memory().numTensors;
    const model = buildNetwork(SPEC);
    const derived = [
      replaceOutput(model, { units: 2, activation: 'softmax', seed: 1 }),
      withNewHead(model, { output: { units: 2, activation: 'softmax' }, seed: 1 }),
      featureExtractor(model),
      buildHead(6, { output: { units: 2, activation: 'sigmoid' }, seed: 1 }),
    ];
    const stacked = stackModels([derived[2]!, derived[3]!]);
    assert.ok(tf.memory().numTensors > start);
    for (const m of [...derived, stacked, model]) m.dispose();
    assert.equal(tf.memory().numTensors, start);
  });
});
