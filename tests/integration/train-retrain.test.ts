// retrainVersion on the four example models, with real tfjs in a worker thread and real onnxruntime:
// each champion gives a candidate of its own format that takes the same requests, loads, and scores
// like the champion on the champion's holdout; a candidate trained on a new rule beats the champion on
// it; the champion's retrain block sets the recipe; and a failed or cancelled retrain writes nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { FeatureEncoder, MANIFEST_FILE, manifestSchema, readManifestAt } from '../../src/core/index.js';
import { initTf, loadLayersModelFromDir } from '../../src/core/tfjs.js';
import type { Manifest } from '../../src/core/index.js';
import {
  DataError,
  evaluateVersion,
  layersModelPredictor,
  openVersionPredictor,
  readCsv,
  readTrainingSample,
  retrainVersion,
} from '../../src/train/index.js';
import type { RetrainExample, TrainingSample, VersionEvaluation } from '../../src/train/index.js';

const ROOT = resolve(import.meta.dirname, '../..');
const EXAMPLES = ['iris-tfjs', 'iris-onnx', 'delivery-tfjs', 'delivery-onnx'] as const;

let work: string;
let repo: string;

async function champion(model: string): Promise<{ dir: string; manifest: Manifest; sample: TrainingSample }> {
  const dir = join(repo, model, '1');
  const manifest = await readManifestAt(dir);
  return { dir, manifest, sample: (await readTrainingSample(dir, manifest))! };
}

async function score(dir: string, rows: readonly RetrainExample[]): Promise<VersionEvaluation> {
  const version = await openVersionPredictor(dir);
  try {
    return await evaluateVersion(version, rows, { errorAnalysis: false });
  } finally {
    await version.dispose();
  }
}

/** A row's feature values and label, to recognise the same row in another list. */
function key(row: { features: Record<string, unknown>; label: unknown }): string {
  return JSON.stringify([...Object.keys(row.features).sort().map((k) => row.features[k]), row.label]);
}

async function irisRows(label: (row: Record<string, number>) => string): Promise<RetrainExample[]> {
  const table = await readCsv(join(ROOT, 'examples', 'iris.csv'));
  return table.rows.map((r) => {
    const features = { sepal_length: Number(r['sepal_length']), sepal_width: Number(r['sepal_width']), petal_length: Number(r['petal_length']), petal_width: Number(r['petal_width']) };
    return { features, label: label({ ...features, species: r['species'] } as unknown as Record<string, number>), ts: '2025-06-01T00:00:00Z' };
  });
}

void describe('retrainVersion', () => {
  before(async () => {
    await initTf();
    work = await mkdtemp(join(tmpdir(), 'dg-retrain-'));
    repo = join(work, 'models');
    for (const model of EXAMPLES) await cp(join(ROOT, 'models', model), join(repo, model), { recursive: true });
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  for (const model of EXAMPLES) {
    test(`${model}: a candidate of the same format and contract that loads and scores like the champion`, async (t) => {
      const champ = await champion(model);
      const classification = champ.manifest.task === 'classification';
      // Recent examples like the champion's data, none of them in its holdout: the Iris flowers outside
      // the holdout, or 600 deliveries from its training rows.
      const held = new Set(champ.sample.holdout.map(key));
      const recent = classification ? (await irisRows((r) => String(r['species']))).filter((e) => !held.has(key(e))) : champ.sample.train.slice(0, 600);
      assert.ok(recent.length >= 100);
      const started = performance.now();
      const out = await retrainVersion({
        repo,
        model,
        champion: { dir: champ.dir, manifest: champ.manifest },
        examples: recent,
        jobId: `${model}-job-1`,
        trigger: 'retrain:data_drift',
        report: false,
      });
      t.diagnostic(`${model}: retrain took ${Math.round(performance.now() - started)} ms (${out.training.history.length} epochs, ${out.rows.recent} + ${out.rows.replay} rows)`);

      assert.equal(out.version, 2);
      assert.equal(out.dir, join(repo, model, '2'));
      const onDisk = await readManifestAt(out.dir);
      assert.deepEqual(onDisk, out.manifest);
      const m = out.manifest;
      assert.equal(m.stage, 'candidate');
      assert.equal(m.format, champ.manifest.format);
      assert.deepEqual(m.features, champ.manifest.features, 'same features, order and categories');
      assert.deepEqual(m.labels, champ.manifest.labels, 'same labels in the same order');
      assert.deepEqual(m.preprocessing, champ.manifest.preprocessing, 'same scalers');
      assert.equal(m.input, champ.manifest.input);
      assert.equal(m.output, champ.manifest.output);
      assert.deepEqual(m.batching, champ.manifest.batching);
      const lineage = m.lineage as Record<string, unknown>;
      assert.equal(lineage['parent'], 1);
      assert.equal(lineage['trigger'], 'retrain:data_drift');
      assert.equal(lineage['job'], `${model}-job-1`);
      assert.equal(lineage['target'], 'label');
      assert.deepEqual(lineage['examples'], { recent: recent.length, replay: Math.round(recent.length * 0.3) });
      assert.deepEqual(out.rows, { recent: recent.length, replay: Math.round(recent.length * 0.3) });
      assert.ok(out.training.history.length >= 1 && out.training.history.length <= 50);
      assert.ok((await readTrainingSample(out.dir, m))!.train.length > 0, 'the candidate carries its own training sample');

      const files = (await readdir(out.dir)).sort();
      const holdout = champ.sample.holdout;
      if (m.format === 'onnx') {
        assert.deepEqual(files, ['driftgate.json', 'model.json', 'model.onnx', 'training-sample.jsonl', 'weights.bin']);
        // onnxruntime runs the served file; the tfjs files beside it compute the same.
        const session = await ort.InferenceSession.create(join(out.dir, 'model.onnx'));
        try {
          assert.deepEqual(session.inputNames, [m.input]);
          const encoder = new FeatureEncoder(m);
          const x = encoder.encodeRows(holdout.map((r) => r.features), 'rows');
          const result = await session.run({ [m.input]: new ort.Tensor('float32', x, [holdout.length, encoder.width]) });
          const fromOnnx = result[m.output]!.data as Float32Array;
          const tfjs = await openVersionPredictor(out.dir, { use: 'tfjs' });
          try {
            const fromTfjs = await tfjs.predict(x, holdout.length);
            for (let i = 0; i < fromTfjs.length; i++) assert.ok(Math.abs(fromOnnx[i]! - fromTfjs[i]!) / Math.max(1, Math.abs(fromTfjs[i]!)) < 1e-4);
          } finally {
            await tfjs.dispose();
          }
        } finally {
          await session.release();
        }
      } else {
        assert.deepEqual(files, ['driftgate.json', 'model.json', 'training-sample.jsonl', 'weights.bin']);
        const loaded = await loadLayersModelFromDir(out.dir);
        try {
          const viaLoader = await evaluateVersion({ manifest: m, predict: layersModelPredictor(loaded) }, holdout, { errorAnalysis: false });
          assert.equal(viaLoader.rows, holdout.length);
        } finally {
          loaded.dispose();
        }
      }

      const [mine, theirs] = [await score(out.dir, holdout), await score(champ.dir, holdout)];
      t.diagnostic(`${model}: holdout ${mine.headline.name} candidate ${mine.headline.value.toFixed(4)}, champion ${theirs.headline.value.toFixed(4)}`);
      if (classification) {
        assert.ok(mine.headline.value >= 0.85, `candidate accuracy ${mine.headline.value}`);
      } else {
        assert.ok(mine.headline.value <= theirs.headline.value * 1.2, `candidate rmse ${mine.headline.value} vs champion ${theirs.headline.value}`);
      }
    });
  }

  test('trained on a new rule, the candidate beats the champion on held-out rows of that rule', async (t) => {
    const champ = await champion('iris-tfjs');
    // The new concept: wide sepals are "setosa", narrow ones "virginica", whatever the species.
    const rows = await irisRows((r) => (r['sepal_width']! > 3.0 ? 'setosa' : 'virginica'));
    const recent = rows.filter((_, i) => i % 3 !== 0);
    const heldOut = rows.filter((_, i) => i % 3 === 0);
    const out = await retrainVersion({ repo, model: 'iris-tfjs', champion: champ, examples: recent, jobId: 'new-rule', trigger: 'retrain:performance', report: false });
    const [mine, theirs] = [await score(out.dir, heldOut), await score(champ.dir, heldOut)];
    t.diagnostic(`new rule: candidate accuracy ${mine.headline.value.toFixed(3)}, champion ${theirs.headline.value.toFixed(3)} on ${heldOut.length} held-out rows`);
    assert.ok(mine.headline.value >= 0.75, `candidate accuracy ${mine.headline.value}`);
    assert.ok(mine.headline.value >= theirs.headline.value + 0.2, `candidate ${mine.headline.value} vs champion ${theirs.headline.value}`);
  });

  test("the champion's retrain block sets the recipe, and the candidate inherits it", async () => {
    const source = await champion('iris-tfjs');
    const dir = join(repo, 'iris-recipe', '1');
    await cp(source.dir, dir, { recursive: true });
    const block = { epochs: 3, earlyStopping: false, replayShare: 0, hyperparameters: { learningRate: 0.005 } };
    const manifest = manifestSchema.parse({ ...source.manifest, name: 'iris-recipe', retrain: block });
    await writeFile(join(dir, MANIFEST_FILE), JSON.stringify(manifest));
    const out = await retrainVersion({ repo, model: 'iris-recipe', champion: { dir, manifest }, examples: await irisRows((r) => String(r['species'])), report: false });
    assert.equal(out.training.history.length, 3);
    assert.equal(out.training.hyperparameters.learningRate, 0.005);
    assert.equal(out.rows.replay, 0);
    assert.equal(out.recipe.epochs, 3);
    assert.deepEqual((out.manifest as Record<string, unknown>)['retrain'], block);
    assert.equal((out.manifest.lineage as Record<string, unknown>)['trigger'], 'retrain');
  });

  test('a retrain that fails or is cancelled rejects and writes nothing', async () => {
    const champ = await champion('iris-onnx');
    const entries = async (): Promise<string[]> => (await readdir(join(repo, 'iris-onnx'))).sort();
    const before = await entries();
    const good = await irisRows((r) => String(r['species']));

    // A class the champion does not know: the worker's data preparation refuses it.
    const unknownClass = good.map((e, i) => (i % 10 === 0 ? { ...e, label: 'daisy' } : e));
    await assert.rejects(
      retrainVersion({ repo, model: 'iris-onnx', champion: champ, examples: unknownClass, report: false }),
      (err: unknown) => (err as { code?: string }).code === 'INVALID_INPUT' && /daisy/.test((err as Error).message),
    );
    // Refused before any training: a bad recipe, another model's champion, a graph model, no examples.
    const refusals: [Parameters<typeof retrainVersion>[0], RegExp][] = [
      [{ repo, model: 'iris-onnx', champion: champ, examples: good, recipe: { epochs: -1 } }, /recipe overrides are not valid: epochs/],
      [{ repo, model: 'iris-tfjs', champion: champ, examples: good }, /a version of "iris-onnx", not of "iris-tfjs"/],
      [{ repo, model: 'iris-onnx', champion: { dir: champ.dir, manifest: { ...champ.manifest, format: 'tfjs-graph' } }, examples: good }, /graph model, which cannot be fine-tuned/],
      [{ repo, model: 'iris-onnx', champion: champ, examples: [] }, /no recent examples/],
    ];
    for (const [opts, message] of refusals) {
      await assert.rejects(retrainVersion(opts), (err: unknown) => err instanceof DataError && message.test(err.message));
    }
    // Cancelled at the first epoch.
    const controller = new AbortController();
    await assert.rejects(
      retrainVersion({
        repo,
        model: 'iris-onnx',
        champion: champ,
        examples: good,
        signal: controller.signal,
        recipe: { epochs: 500, earlyStopping: false },
        onEvent: (e) => {
          if (e.type === 'epoch') controller.abort();
        },
      }),
      (err: unknown) => (err as Error).name === 'AbortError',
    );
    assert.deepEqual(await entries(), before, 'no version and no temporary directory left');
  });
});
