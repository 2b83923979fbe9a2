// A TrainResult made by hand for tests of what consumes one (version writer, report): a small real
// tfjs network fitted for a few epochs on seeded synthetic data, with real preprocessing, metrics,
// error analysis and reference profiles from the training module's own building blocks.
import { profileColumn, seededRandom } from '../../src/core/index.js';
import { tf } from '../../src/core/tfjs.js';
import type { Feature } from '../../src/core/index.js';
import { classificationMetrics, encode, errorAnalysis, fitPreprocessing, regressionMetrics } from '../../src/train/index.js';
import type { CleaningReport, MetricsReport } from '../../src/train/index.js';
import { buildNetwork } from '../../src/train/network.js';
import type { EpochRecord, Hyperparameters, TrainResult, TrialRecord } from '../../src/train/types.js';

export interface HandmadeOptions {
  task?: 'classification' | 'regression';
  seed?: number;
  epochs?: number;
  /** Names of the two numeric features and the categorical one. */
  featureNames?: [string, string, string];
  /** A category value of the categorical feature (to test escaping of values). */
  oddCategory?: string;
  /** Split the epochs into a `head` and a `fine-tune` phase. */
  twoPhase?: boolean;
  /** Fake search trials to record. */
  trials?: number;
  parent?: TrainResult['parent'];
  /** Include a baseline (validation metrics of the untrained network). */
  baseline?: boolean;
}

type Row = Record<string, number | string>;

const LABELS = ['alpha', 'beta', 'gamma'];

export async function handmadeTrainResult(opts: HandmadeOptions = {}): Promise<TrainResult> {
  const task = opts.task ?? 'classification';
  const seed = opts.seed ?? 11;
  const epochs = opts.epochs ?? 6;
  const [a, b, c] = opts.featureNames ?? ['x1', 'x2', 'colour'];
  const colours = ['red', 'green', opts.oddCategory ?? 'blue'];
  const random = seededRandom(seed);

  const rows: Row[] = [];
  for (let i = 0; i < 240; i++) {
    const k = i % 3;
    const x1 = k * 1.5 + (random() - 0.5) * 2;
    const x2 = -k + (random() - 0.5) * 2;
    const colour = colours[random() < 0.7 ? k : Math.floor(random() * 3)]!;
    const target = task === 'classification' ? LABELS[k]! : Math.round((3 * x1 - x2 + (random() - 0.5)) * 100) / 100;
    rows.push({ [a]: x1, [b]: x2, [c]: colour, target });
  }
  // Consecutive rows cycle through the classes, so the split works on blocks of three.
  const part = (i: number): number => Math.floor(i / 3) % 6;
  const train = rows.filter((_, i) => part(i) < 4);
  const validation = rows.filter((_, i) => part(i) === 4);
  const test = rows.filter((_, i) => part(i) === 5);

  const typed = [
    { name: a, type: 'numeric' as const },
    { name: b, type: 'numeric' as const },
    { name: c, type: 'categorical' as const },
  ];
  const { features, preprocessing } = fitPreprocessing(train, typed);
  const width = features.reduce((n, f) => n + (f.type === 'numeric' ? 1 : f.categories.length), 0);
  const units = task === 'classification' ? LABELS.length : 1;
  const model = buildNetwork({
    inputWidth: width,
    hidden: [{ units: 8, activation: 'relu' }],
    output: { units, activation: task === 'classification' ? 'softmax' : 'linear' },
    seed,
  });
  const tensors = (part: Row[]): [tf.Tensor2D, tf.Tensor2D] => [
    tf.tensor2d(encode(part, features, preprocessing), [part.length, width]),
    task === 'classification'
      ? tf.tidy(
          () =>
            tf
              .oneHot(
                part.map((r) => LABELS.indexOf(String(r['target']))),
                LABELS.length,
              )
              .toFloat() as tf.Tensor2D,
        )
      : tf.tensor2d(
          part.map((r) => Number(r['target'])),
          [part.length, 1],
        ),
  ];
  const [xTrain, yTrain] = tensors(train);
  const [xVal, yVal] = tensors(validation);
  const [xTest, yTest] = tensors(test);

  const evaluate = (x: tf.Tensor2D, part: Row[]): MetricsReport => {
    const out = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
    if (task === 'classification') {
      return classificationMetrics(
        part.map((r) => LABELS.indexOf(String(r['target']))),
        out,
        LABELS,
      );
    }
    return regressionMetrics(
      part.map((r) => Number(r['target'])),
      out,
    );
  };
  const baseline = opts.baseline ? evaluate(xVal, validation) : undefined;

  const learningRate = 0.05;
  model.compile({
    optimizer: tf.train.adam(learningRate),
    loss: task === 'classification' ? 'categoricalCrossentropy' : 'meanSquaredError',
    metrics: task === 'classification' ? ['accuracy'] : ['mae'],
  });
  const fit = await model.fit(xTrain, yTrain, { epochs, batchSize: 16, validationData: [xVal, yVal], verbose: 0, shuffle: false });
  // The optimizer's slots are not needed once fitted; the caller only disposes the model.
  model.optimizer.dispose();
  const metric = task === 'classification' ? 'accuracy' : 'mae';
  const short = task === 'classification' ? 'acc' : 'mae';
  const history: EpochRecord[] = fit.epoch.map((e, i) => {
    const headEpochs = Math.ceil(epochs / 3);
    const phase = opts.twoPhase ? (i < headEpochs ? 'head' : 'fine-tune') : 'train';
    const at = (key: string): number => Number(fit.history[key]?.[i] ?? Number.NaN);
    return {
      phase,
      epoch: opts.twoPhase && i >= headEpochs ? i - headEpochs + 1 : e + 1,
      loss: at('loss'),
      valLoss: at('val_loss'),
      metrics: { [metric]: at(short), [`val_${metric}`]: at(`val_${short}`) },
    };
  });

  const validationReport = evaluate(xVal, validation);
  const testReport = evaluate(xTest, test);
  const testOut = tf.tidy(() => (model.predict(xTest) as tf.Tensor).dataSync() as Float32Array);
  const trainOut = tf.tidy(() => (model.predict(xTrain) as tf.Tensor).dataSync() as Float32Array);
  tf.dispose([xTrain, yTrain, xVal, yVal, xTest, yTest]);

  const analysis =
    task === 'classification'
      ? errorAnalysis({
          task,
          labels: LABELS,
          yTrue: test.map((r) => LABELS.indexOf(String(r['target']))),
          probabilities: testOut,
          rows: test,
          features,
          k: 5,
        })
      : errorAnalysis({ task, yTrue: test.map((r) => Number(r['target'])), predictions: testOut, rows: test, features, k: 5 });

  const trainPredictions: (string | number)[] =
    task === 'classification'
      ? Array.from({ length: train.length }, (_, r) => {
          const p = Array.from(trainOut.slice(r * 3, r * 3 + 3));
          return LABELS[p.indexOf(Math.max(...p))]!;
        })
      : Array.from(trainOut);

  const hyperparameters: Hyperparameters = {
    learningRate,
    batchSize: 16,
    epochs,
    optimizer: 'adam',
    network: { hidden: [{ units: 8, activation: 'relu' }], initializer: 'glorotUniform' },
  };

  return {
    model,
    task,
    ...(task === 'classification' ? { labels: LABELS } : {}),
    features,
    preprocessing,
    inputName: 'features',
    outputName: task === 'classification' ? 'probabilities' : 'value',
    cleaning: cleaningReport(train.length + validation.length + test.length, features, task),
    rows: { train: train.length, validation: validation.length, test: test.length, augmented: 0 },
    ...(baseline ? { baseline } : {}),
    history,
    bestEpoch: history[history.length - 1]!.epoch,
    validation: validationReport,
    test: testReport,
    errorAnalysis: analysis,
    trials: fakeTrials(opts.trials ?? 0, seed),
    hyperparameters,
    seed,
    dataFingerprint: 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    reference: {
      rows: train.length,
      features: Object.fromEntries(
        features.map((f, i) => [
          f.name,
          profileColumn(
            train.map((r) => r[f.name]!),
            f.type,
            { seed: seed + i },
          ),
        ]),
      ),
      prediction: profileColumn(trainPredictions, task === 'classification' ? 'categorical' : 'numeric'),
      label: profileColumn(
        train.map((r) => r['target']!),
        task === 'classification' ? 'categorical' : 'numeric',
      ),
    },
    ...(opts.parent ? { parent: opts.parent } : {}),
    trigger: 'manual',
    durationMs: 1234,
    backend: tf.getBackend(),
    splitRows: { train, test },
  };
}

function cleaningReport(rows: number, features: Feature[], task: 'classification' | 'regression'): CleaningReport {
  const columns: CleaningReport['columns'] = {};
  for (const f of features) {
    columns[f.name] =
      f.type === 'numeric'
        ? { type: 'numeric', coerced: rows, invalid: 1, missing: 2, strategy: 'median', filled: 2, fillValue: 0.25, clipped: 0 }
        : { type: 'categorical', coerced: 0, invalid: 0, missing: 1, strategy: 'mode', filled: 1, fillValue: f.categories[0]!, clipped: 0 };
  }
  return {
    rowsIn: rows + 3,
    rowsOut: rows,
    dropped: { missingTarget: 1, invalidTarget: 0, duplicate: 2, missingValue: 0 },
    target: { name: 'target', coerced: 0, ...(task === 'classification' ? { classes: { alpha: rows / 3, beta: rows / 3, gamma: rows / 3 } } : {}) },
    columns,
  };
}

function fakeTrials(count: number, seed: number): TrialRecord[] {
  const random = seededRandom(seed + 99);
  return Array.from({ length: count }, (_, id) => {
    const learningRate = 10 ** (-4 + 3 * random());
    const rungs = [{ epochs: 3, score: 0.5 + 0.4 * random() }];
    if (id % 3 === 0) rungs.push({ epochs: 9, score: Math.min(1, rungs[0]!.score + 0.05) });
    return {
      id,
      hyperparameters: { learningRate, batchSize: 32, epochs: 9, optimizer: 'adam', network: { hidden: [{ units: 16 }] }, dropout: 0.1 },
      rungs,
      finalScore: rungs[rungs.length - 1]!.score,
      stoppedAtRung: rungs.length - 1,
      durationMs: 200 + 100 * random(),
    };
  });
}
