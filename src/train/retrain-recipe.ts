// The retrain recipe: how the retrain loop fine-tunes a model's serving version. A manifest may carry
// one as its optional `retrain` block; a candidate inherits its champion's block, so a model keeps its
// recipe across retrains. Fields left out take the defaults below, which are tuned for a retrain that
// runs while the model keeps serving: a short warm start from the champion, stopped early on the
// validation loss, no search, and some of the champion's own training rows replayed so the new version
// does not forget what the old data taught.
import { z } from 'zod';
import { DataError } from './data/index.js';
import { OPTIMIZERS } from './types.js';

/** Epochs of a retrain without a recipe. */
export const DEFAULT_RETRAIN_EPOCHS = 50;
/** Early-stopping patience of a retrain without a recipe. */
export const DEFAULT_RETRAIN_PATIENCE = 5;
/**
 * Epochs of a retrain not watched by early stopping. A retrain's validation split is small (a few
 * dozen rows at the loop's minimum), and the champion's weights can score well on it by luck before
 * the model has learned the new boundary: with 160 rows, 3 of 30 warm starts stopped by epoch 13 at
 * 83-93% accuracy on fresh data; skipping the first 10 epochs, the worst of 50 reached 95.8%.
 */
export const DEFAULT_RETRAIN_START_FROM_EPOCH = 10;
/** Replay rows per recent row of a retrain without a recipe. */
export const DEFAULT_REPLAY_SHARE = 0.3;

const hyperparametersSchema = z
  .object({
    /** @defaultValue 0.01 (the trainer's default) */
    learningRate: z.number().positive().max(10).optional(),
    /** @defaultValue 32 */
    batchSize: z.number().int().min(1).max(65536).optional(),
    /** @defaultValue adam */
    optimizer: z.enum(OPTIMIZERS).optional(),
    l1: z.number().min(0).optional(),
    l2: z.number().min(0).optional(),
    /** Only for layers a strategy adds; fine-tuning keeps the champion's own dropout layers. */
    dropout: z.number().min(0).max(0.9).optional(),
  })
  .strict();

export const retrainRecipeSchema = z
  .object({
    hyperparameters: hyperparametersSchema.default({}),
    /** Most epochs (of the second phase with `twoPhase`); early stopping usually ends sooner. @defaultValue 50 */
    epochs: z.number().int().min(1).max(10_000).default(DEFAULT_RETRAIN_EPOCHS),
    /** Early stopping with the best weights restored, or `false` to run every epoch. @defaultValue val_loss, patience 5, from epoch 11 */
    earlyStopping: z
      .union([
        z.literal(false),
        z
          .object({
            monitor: z.enum(['val_loss', 'val_accuracy', 'val_mae', 'loss', 'accuracy', 'mae']).default('val_loss'),
            patience: z.number().int().min(0).max(1000).default(DEFAULT_RETRAIN_PATIENCE),
            minDelta: z.number().min(0).default(0),
            /** Epochs at the start of each phase neither watched nor kept as the best. @defaultValue 10 */
            startFromEpoch: z.number().int().min(0).max(10_000).default(DEFAULT_RETRAIN_START_FROM_EPOCH),
          })
          .strict(),
      ])
      .default({ monitor: 'val_loss', patience: DEFAULT_RETRAIN_PATIENCE, minDelta: 0, startFromEpoch: DEFAULT_RETRAIN_START_FROM_EPOCH }),
    /** A hyperparameter search before the final run (learning rate, batch size, L2, dropout). @defaultValue none */
    search: z
      .object({
        trials: z.number().int().min(1).max(1000),
        timeBudgetMs: z.number().int().positive().optional(),
        eta: z.number().int().min(2).optional(),
        minEpochs: z.number().int().min(1).optional(),
      })
      .strict()
      .optional(),
    /**
     * Replay rows (from the champion's training sample, or the rows the caller gives) per recent
     * example: 0.3 adds 30 old rows to 100 new ones. @defaultValue 0.3
     */
    replayShare: z.number().min(0).max(10).default(DEFAULT_REPLAY_SHARE),
    /** Layers of the champion kept fixed: the first K with weights, or by name. @defaultValue none */
    freeze: z
      .object({ firstK: z.number().int().min(0).optional(), names: z.array(z.string().min(1)).optional() })
      .strict()
      .optional(),
    /** Train the unfrozen part (or the output layer) first, then everything at a lower learning rate. @defaultValue one phase */
    twoPhase: z.object({ headEpochs: z.number().int().min(1), lowLearningRate: z.number().positive() }).strict().optional(),
    /** Train, validation and test fractions of the examples. @defaultValue 0.7, 0.15, 0.15 */
    split: z.object({ train: z.number().positive(), validation: z.number().positive(), test: z.number().positive() }).strict().optional(),
    /** Seed of the split, shuffles and replay draw. @defaultValue derived from the job id */
    seed: z.number().int().optional(),
    /** Size of the candidate's own training sample. @defaultValue 2000 train rows, 500 holdout rows */
    trainingSample: z
      .object({ rows: z.number().int().min(0).optional(), holdout: z.number().int().min(0).optional() })
      .strict()
      .optional(),
  })
  .strict();

export type RetrainRecipe = z.infer<typeof retrainRecipeSchema>;
export type RetrainRecipeInput = z.input<typeof retrainRecipeSchema>;

/**
 * The recipe of a retrain: the champion's `retrain` block with `overrides` on top (hyperparameters
 * merged field by field), validated, defaults filled in.
 *
 * @throws DataError naming the field when the block or the overrides are not a valid recipe.
 */
export function resolveRetrainRecipe(block: unknown, overrides: RetrainRecipeInput = {}, where = 'the champion'): RetrainRecipe {
  if (block !== undefined && (block === null || typeof block !== 'object' || Array.isArray(block))) {
    throw new DataError(`the retrain block of ${where} must be an object, got ${JSON.stringify(block)}`);
  }
  const own = (block ?? {}) as Record<string, unknown>;
  const checkedOwn = retrainRecipeSchema.safeParse(own);
  if (!checkedOwn.success) throw new DataError(`the retrain block of ${where} is not a valid recipe: ${issues(checkedOwn.error)}`);
  const ownHyper = (own['hyperparameters'] ?? {}) as Record<string, unknown>;
  const merged = { ...own, ...overrides, hyperparameters: { ...ownHyper, ...overrides.hyperparameters } };
  const checked = retrainRecipeSchema.safeParse(merged);
  if (!checked.success) throw new DataError(`the retrain recipe overrides are not valid: ${issues(checked.error)}`);
  return checked.data;
}

function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(recipe)'}: ${i.message}`).join('; ');
}
