// The retrain loop's backend, assembled where every context may be imported: training and sample
// reading come from src/train, scoring runs each version through the gateway's own runtime (so the
// gate sees the numbers the version serves), in this thread, since a gate scores a few hundred rows.
import type { Config, Manifest, ModelRepository } from '../core/index.js';
import type { LabeledRow, RetrainBackend, Score, VersionRef } from '../lifecycle/index.js';
import { openRuntime } from '../serve/index.js';
import { evaluateVersion, readTrainingSample, retrainVersion } from '../train/index.js';

export function trainingBackend(config: Config, repo: ModelRepository): RetrainBackend {
  return {
    async train(request) {
      const result = await retrainVersion({
        repo: repo.root,
        model: request.model,
        champion: request.champion,
        examples: request.rows,
        // The retrainer mixes its replay share into `rows` itself.
        replay: [],
        signal: request.signal,
        jobId: request.jobId,
        trigger: request.trigger,
      });
      return { version: result.version, dir: result.dir, manifest: result.manifest };
    },

    async score(version: VersionRef, rows: readonly LabeledRow[]): Promise<Score> {
      return scoreVersion(config, version.dir, version.manifest, rows);
    },

    async trainingSample(version: VersionRef) {
      const sample = await readTrainingSample(version.dir, version.manifest);
      return sample ?? { train: [], holdout: [] };
    },
  };
}

/** Accuracy for classifiers, MAE for regressors, on the rows that can be scored. */
export async function scoreVersion(config: Config, dir: string, manifest: Manifest, rows: readonly LabeledRow[]): Promise<Score> {
  const classification = manifest.task === 'classification';
  const runtime = await openRuntime(dir, manifest, {
    thread: 'inline',
    tfjsBackend: config.tfjsBackend,
    onnx: { intraOpThreads: 1, interOpThreads: 1, graphOptimization: config.onnxGraphOptimization },
  });
  try {
    if (rows.length === 0) return { metric: classification ? 'accuracy' : 'mae', higherIsBetter: classification, rows: 0, value: NaN };
    const evaluation = await evaluateVersion({ manifest, predict: (x, n) => runtime.run(x, n) }, rows, {
      headline: classification ? 'accuracy' : 'mae',
      errorAnalysis: false,
      unknownLabels: 'skip',
    });
    return { metric: evaluation.headline.name, higherIsBetter: evaluation.headline.higherIsBetter, rows: evaluation.rows, value: evaluation.headline.value };
  } finally {
    await runtime.dispose();
  }
}
