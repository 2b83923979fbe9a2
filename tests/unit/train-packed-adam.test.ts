// The packed Adam: the same weights as tf.train.adam, bit for bit, from fewer kernels; its own tensors
// freed on dispose; a changed set of weights refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../src/core/index.js';
import { initTf, tf } from '../../src/core/tfjs.js';
import { makeOptimizer } from '../../src/train/fit.js';
import { buildNetwork } from '../../src/train/network.js';
import type { NetworkSpecInput } from '../../src/train/network.js';
import { PackedAdamOptimizer } from '../../src/train/packed-adam.js';

// Batch normalization, dropout and an L2 penalty, so every kind of weight and loss term takes part.
const SPEC: NetworkSpecInput = {
  inputWidth: 5,
  hidden: [
    { units: 8, batchNorm: true, dropout: 0.2 },
    { units: 6, activation: 'tanh' },
  ],
  output: { units: 3, activation: 'softmax' },
  l2: 1e-3,
  seed: 5,
};

function data(rows: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const random = seededRandom(3);
  const x = tf.tensor2d(Float32Array.from({ length: rows * 5 }, () => random() * 4 - 2), [rows, 5]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from({ length: rows }, () => Math.floor(random() * 3)), 'int32'), 3).toFloat() as tf.Tensor2D);
  return { x, y };
}

async function trainedWeights(optimizer: tf.Optimizer): Promise<Float32Array[]> {
  const { x, y } = data(100);
  const model = buildNetwork(SPEC);
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  // 100 rows at batch 16: a short last batch every epoch.
  await model.fit(x, y, { epochs: 4, batchSize: 16, shuffle: false, verbose: 0 });
  const weights = model.getWeights().map((w) => Float32Array.from(w.dataSync() as Float32Array));
  optimizer.dispose();
  model.dispose();
  tf.dispose([x, y]);
  return weights;
}

let baseline = 0;
before(async () => {
  await initTf();
  baseline = tf.memory().numTensors;
});
after(() => {
  assert.equal(tf.memory().numTensors, baseline, 'tensors leaked');
});

test('trains to the same weights as tf.train.adam, bit for bit', async () => {
  const theirs = await trainedWeights(tf.train.adam(0.01));
  const ours = await trainedWeights(new PackedAdamOptimizer(0.01));
  assert.equal(ours.length, theirs.length);
  ours.forEach((w, i) => {
    const a = new Uint32Array(w.buffer);
    const b = new Uint32Array(theirs[i]!.buffer);
    assert.ok(
      a.every((v, j) => v === b[j]),
      `weight ${i} differs`,
    );
  });
});

test('frees its moments and constants on dispose', async () => {
  const before = tf.memory().numTensors;
  await trainedWeights(new PackedAdamOptimizer(0.01));
  assert.equal(tf.memory().numTensors, before);
});

test('refuses a different set of weights after the first step', () => {
  const optimizer = new PackedAdamOptimizer(0.01);
  const a = tf.tidy(() => tf.variable(tf.ones([2, 2])));
  const b = tf.tidy(() => tf.variable(tf.ones([3])));
  const gradient = tf.ones([3]);
  try {
    optimizer.minimize(() => tf.sum(tf.square(a)), false, [a]);
    assert.throws(() => optimizer.applyGradients([{ name: b.name, tensor: gradient }]), /set up for the weights/);
  } finally {
    optimizer.dispose();
    tf.dispose([a, b, gradient]);
  }
});

test("makeOptimizer('adam') gives the packed Adam", () => {
  const optimizer = makeOptimizer('adam', 0.01);
  try {
    // Not instanceof: tfjs's Optimizer answers it for anything with the optimizer methods.
    assert.equal(optimizer.constructor, PackedAdamOptimizer);
  } finally {
    optimizer.dispose();
  }
});
