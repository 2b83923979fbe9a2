// The drift policy: how windows are cut and judged, and when drift or a performance drop becomes a
// decision. The configuration is a zod schema with a default for every field; the decisions are a pure
// state machine over window and performance verdicts that reads only event time, so a restarted
// monitor replaying the same events makes the same decisions.
import { z } from 'zod';
import { DEFAULT_MAX_SAMPLES } from './window.js';
import type { PerformanceMetric } from './performance.js';

export const driftTestNames = ['ks', 'psi', 'wasserstein', 'chisquare', 'jensenshannon'] as const;
export type DriftTestName = (typeof driftTestNames)[number];

const performanceMetrics = ['accuracy', 'f1', 'mae', 'rmse'] as const satisfies readonly PerformanceMetric[];

/** Largest sliding window: its rows are kept whole (the window's own bound on kept samples). */
export const SLIDING_WINDOW_MAX = DEFAULT_MAX_SAMPLES;

const windowSchema = z
  .strictObject({
    /** Predictions per drift window. @defaultValue 500 */
    size: z.number().int().positive().default(500),
    /** Predictions between the starts of two windows: equal to size gives tumbling windows, smaller gives sliding ones. @defaultValue size */
    step: z.number().int().positive().optional(),
    /** Event time after which a window also closes, if it holds at least minSamples predictions; 0 turns this off. @defaultValue 0 */
    durationMs: z.number().int().nonnegative().default(0),
    /** Fewest predictions a window closed by durationMs needs to be judged. @defaultValue 100 */
    minSamples: z.number().int().positive().default(100),
  })
  // A step past the size would skip predictions between windows without anyone asking for sampling.
  .refine((w) => w.step === undefined || w.step <= w.size, { path: ['step'], message: 'must be at most window.size' })
  // A sliding window keeps its rows to slide over them; past this bound it would have to sample.
  .refine((w) => w.step === undefined || w.step === w.size || w.size <= SLIDING_WINDOW_MAX, {
    path: ['size'],
    message: `a sliding window (step < size) holds at most ${SLIDING_WINDOW_MAX} predictions`,
  });

const referenceSchema = z.strictObject({
  /** Versions whose manifest has no training profile use their first this-many live predictions as the reference. @defaultValue 500 */
  liveSize: z.number().int().positive().default(500),
});

const thresholdsSchema = z.strictObject({
  /** A p-value test (ks, chisquare) finds drift when p < pValue. @defaultValue 0.05 */
  pValue: z.number().gt(0).max(1).default(0.05),
  /** A distance test (psi, wasserstein, jensenshannon) finds drift when score >= distance. @defaultValue 0.1 */
  distance: z.number().positive().default(0.1),
});

const driftRuleSchema = z.strictObject({
  /** Drifted windows in a row that enter the data-drift state (K). @defaultValue 2 */
  consecutiveWindows: z.number().int().positive().default(2),
  /** Clean windows in a row that end the data-drift state, so one noisy window does not flap it. @defaultValue 2 */
  clearAfterWindows: z.number().int().positive().default(2),
  /** What persistent data drift leads to: a retrain request, or only the drift.detected report. @defaultValue 'retrain' */
  action: z.enum(['retrain', 'report']).default('retrain'),
});

const performanceRuleSchema = z
  .strictObject({
    /** The metric judged. @defaultValue 'accuracy' for classification, 'rmse' for regression */
    metric: z.enum(performanceMetrics).optional(),
    /** Joined labels in the rolling performance window. @defaultValue 500 */
    window: z.number().int().positive().default(500),
    /** Relative drop against the training metric that degrades the version (0.1 = 10 % worse). @defaultValue 0.1 */
    maxDrop: z.number().positive().default(0.1),
    /** Joined labels in the window before performance is judged at all. @defaultValue 200 */
    minLabels: z.number().int().positive().default(200),
    /** The degraded state ends when the drop falls below maxDrop × recoverBelow. @defaultValue 0.5 */
    recoverBelow: z.number().min(0).max(1).default(0.5),
    /** What a performance drop leads to: a retrain request, or only the drift.detected report. @defaultValue 'retrain' */
    action: z.enum(['retrain', 'report']).default('retrain'),
  })
  // The window never holds more than `window` labels, so a larger minimum would silently disable the rule.
  .refine((p) => p.minLabels <= p.window, { path: ['minLabels'], message: 'must be at most performance.window' });

/** One model's drift policy. Every field has a default, so `{}` is a complete policy. */
export const driftPolicySchema = z.strictObject({
  window: windowSchema.prefault({}),
  reference: referenceSchema.prefault({}),
  /** Per-feature test, overriding the default test of the feature's kind. @defaultValue {} */
  tests: z.record(z.string(), z.enum(driftTestNames)).default({}),
  thresholds: thresholdsSchema.prefault({}),
  /** Share of drifted features at or above which a window shows dataset drift. @defaultValue 0.5 */
  datasetDriftShare: z.number().gt(0).max(1).default(0.5),
  /** Divide the p-value threshold by the number of features tested. @defaultValue false */
  bonferroni: z.boolean().default(false),
  drift: driftRuleSchema.prefault({}),
  performance: performanceRuleSchema.prefault({}),
  /** Event time after a retrain.requested during which no other is emitted (drift.detected still is). @defaultValue 3_600_000 */
  cooldownMs: z.number().int().nonnegative().default(3_600_000),
});

export type DriftPolicy = z.output<typeof driftPolicySchema>;
/** A per-model override: any part of a policy, deep-merged over the default one. */
export type DriftPolicyOverride = z.input<typeof driftPolicySchema>;

/**
 * The monitor's whole policy document: a default policy and per-model overrides. Each override is
 * validated merged over the default, so errors are reported at `models.<name>.<field>`.
 */
export const monitorPolicySchema = z
  .strictObject({
    /** The policy of every model without an override. @defaultValue all defaults */
    default: driftPolicySchema.prefault({}),
    /** Per-model overrides by model name. @defaultValue {} */
    models: z.record(z.string(), z.custom<DriftPolicyOverride>(isPlainObject, 'expected an object')).default({}),
  })
  .superRefine((config, ctx) => {
    for (const [model, override] of Object.entries(config.models)) {
      const merged = driftPolicySchema.safeParse(deepMerge(config.default, override));
      if (merged.success) continue;
      for (const { path, message } of flattenIssues(merged.error.issues)) ctx.addIssue({ code: 'custom', path: ['models', model, ...path], message });
    }
  });

export type MonitorPolicy = z.output<typeof monitorPolicySchema>;

/**
 * The policy of one model: its override deep-merged over the default (objects merge key by key,
 * including `tests`; anything else is replaced). Throws when the merged policy is invalid, which
 * cannot happen for a document that came through {@link parsePolicyDocument}.
 */
export function policyFor(config: MonitorPolicy, model: string): DriftPolicy {
  if (!Object.hasOwn(config.models, model)) return config.default;
  return driftPolicySchema.parse(deepMerge(config.default, config.models[model]));
}

/** Parses and validates a JSON policy document; the error names every bad field by its path. */
export function parsePolicyDocument(jsonText: string): MonitorPolicy {
  let raw: unknown;
  try {
    raw = JSON.parse(jsonText);
  } catch (err) {
    throw new Error(`not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = monitorPolicySchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new Error(flattenIssues(parsed.error.issues).map((i) => `${i.path.length > 0 ? i.path.join('.') : '(document)'}: ${i.message}`).join('; '));
}

/** One issue per bad field; zod reports unknown keys as one issue at their parent. */
function flattenIssues(issues: readonly z.core.$ZodIssue[]): { path: string[]; message: string }[] {
  return issues.flatMap((issue) => {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ path: [...path, key], message: 'Unknown option' }));
    return [{ path, message: issue.message }];
  });
}

function deepMerge(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined || key === '__proto__') continue;
    out[key] = deepMerge(out[key], value);
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---- decisions ----

/** What the policy remembers between verdicts; plain JSON. */
export interface PolicyState {
  data: {
    /** In the data-drift state (entered after K drifted windows, left after clearAfterWindows clean ones). */
    drifting: boolean;
    driftedInRow: number;
    cleanInRow: number;
    /** Event time the data-drift state was entered. */
    since: number | null;
  };
  performance: {
    degraded: boolean;
    since: number | null;
  };
  /** Event time of the last retrain.requested; kept across versions, so the cooldown spans them. */
  lastRetrainTime: number | null;
}

/** {@link PolicyState} as the version snapshot stores it, to read it back. */
export const policyStateSchema: z.ZodType<PolicyState> = z.object({
  data: z.object({
    drifting: z.boolean(),
    driftedInRow: z.number().int().nonnegative(),
    cleanInRow: z.number().int().nonnegative(),
    since: z.number().nullable(),
  }),
  performance: z.object({ degraded: z.boolean(), since: z.number().nullable() }),
  lastRetrainTime: z.number().nullable(),
});

export function initialPolicyState(): PolicyState {
  return {
    data: { drifting: false, driftedInRow: 0, cleanInRow: 0, since: null },
    performance: { degraded: false, since: null },
    lastRetrainTime: null,
  };
}

/** The outcome of one closed drift window. */
export interface WindowVerdict {
  windowIndex: number;
  /** Event time the window closed, epoch ms. */
  endTime: number;
  datasetDrift: boolean;
  share: number;
  drifted: { feature: string; test: string; score: number; pValue?: number }[];
  samples: number;
}

/** The rolling performance at one moment. */
export interface PerformanceVerdict {
  /** Event time, epoch ms. */
  time: number;
  metric: PerformanceMetric;
  live: number;
  /** The training-time metric; undefined when the manifest has none (then nothing is decided). */
  expected: number | undefined;
  /** {@link performanceDrop} of live against expected. */
  drop: number | undefined;
  /** Joined labels in the performance window. */
  labels: number;
}

/** drift.cleared is logged and counted only; the others are also published on the bus. */
export type Decision =
  | { type: 'drift.detected'; kind: 'data' | 'performance'; time: number; evidence: Record<string, unknown> }
  | { type: 'retrain.requested'; reason: 'data_drift' | 'performance'; time: number; evidence: Record<string, unknown> }
  | { type: 'drift.cleared'; kind: 'data' | 'performance'; time: number; evidence: Record<string, unknown> };

export interface PolicyStep {
  state: PolicyState;
  decisions: Decision[];
}

/**
 * Judges one closed window. A drifted window extends the run of drifted windows and ends the run of
 * clean ones; a clean window does the reverse. The data-drift state is entered when the drifted run
 * reaches `drift.consecutiveWindows` (one drift.detected, not repeated while the state lasts) and left
 * when the clean run reaches `drift.clearAfterWindows` (drift.cleared).
 *
 * Retraining: while in the state, a drifted window requests a retrain when `drift.action` is
 * 'retrain' and the cooldown has passed. That is the request on entering the state, and, if the
 * state outlasts the cooldown (the retrain failed or its version has not been served yet), one
 * repeat per cooldown at the first drifted window after it. A clean window inside the state asks
 * for nothing: the drift may be ending.
 */
export function onWindow(policy: DriftPolicy, state: PolicyState, verdict: WindowVerdict): PolicyStep {
  const time = verdict.endTime;
  const drifted = verdict.datasetDrift;
  let data: PolicyState['data'] = {
    ...state.data,
    driftedInRow: drifted ? state.data.driftedInRow + 1 : 0,
    cleanInRow: drifted ? 0 : state.data.cleanInRow + 1,
  };
  const decisions: Decision[] = [];
  const evidence = (): Record<string, unknown> => ({
    windowIndex: verdict.windowIndex,
    windowEnd: time,
    share: verdict.share,
    samples: verdict.samples,
    consecutiveWindows: data.driftedInRow,
    features: verdict.drifted.map((f) => ({ ...f })),
  });

  if (!data.drifting && data.driftedInRow >= policy.drift.consecutiveWindows) {
    data = { ...data, drifting: true, since: time };
    decisions.push({ type: 'drift.detected', kind: 'data', time, evidence: evidence() });
  } else if (data.drifting && data.cleanInRow >= policy.drift.clearAfterWindows) {
    decisions.push({
      type: 'drift.cleared',
      kind: 'data',
      time,
      evidence: { windowIndex: verdict.windowIndex, windowEnd: time, cleanWindows: data.cleanInRow, driftingSince: data.since },
    });
    data = { ...data, drifting: false, since: null };
  }

  let lastRetrainTime = state.lastRetrainTime;
  if (data.drifting && drifted && policy.drift.action === 'retrain' && mayRetrain(policy, lastRetrainTime, time)) {
    decisions.push({ type: 'retrain.requested', reason: 'data_drift', time, evidence: { ...evidence(), driftingSince: data.since } });
    lastRetrainTime = time;
  }
  return { state: { ...state, data, lastRetrainTime }, decisions };
}

/**
 * Judges the rolling performance. Nothing is decided with fewer than `performance.minLabels` labels
 * or without a training-time metric to compare with. A drop above `maxDrop` enters the degraded
 * state (drift.detected, kind performance); it ends (drift.cleared) only when the drop falls below
 * `maxDrop × recoverBelow`, so a metric hovering at the threshold does not flap. Retraining follows
 * the same rule as {@link onWindow}: while degraded and the current drop is above `maxDrop`, a retrain
 * is requested when `performance.action` is 'retrain' and the cooldown (shared with data drift) has passed.
 */
export function onPerformance(policy: DriftPolicy, state: PolicyState, verdict: PerformanceVerdict): PolicyStep {
  const { drop, time } = verdict;
  const rule = policy.performance;
  if (verdict.labels < rule.minLabels || drop === undefined || !Number.isFinite(drop)) return { state, decisions: [] };
  const worse = drop > rule.maxDrop;
  const evidence = (): Record<string, unknown> => ({
    metric: verdict.metric,
    live: verdict.live,
    expected: verdict.expected,
    drop,
    maxDrop: rule.maxDrop,
    labels: verdict.labels,
  });
  const decisions: Decision[] = [];
  let performance = state.performance;

  if (!performance.degraded && worse) {
    performance = { degraded: true, since: time };
    decisions.push({ type: 'drift.detected', kind: 'performance', time, evidence: evidence() });
  } else if (performance.degraded && drop < rule.maxDrop * rule.recoverBelow) {
    decisions.push({
      type: 'drift.cleared',
      kind: 'performance',
      time,
      evidence: { ...evidence(), recoveredBelow: rule.maxDrop * rule.recoverBelow, degradedSince: performance.since },
    });
    performance = { degraded: false, since: null };
  }

  let lastRetrainTime = state.lastRetrainTime;
  if (performance.degraded && worse && rule.action === 'retrain' && mayRetrain(policy, lastRetrainTime, time)) {
    decisions.push({ type: 'retrain.requested', reason: 'performance', time, evidence: { ...evidence(), degradedSince: performance.since } });
    lastRetrainTime = time;
  }
  return { state: { ...state, performance, lastRetrainTime }, decisions };
}

/**
 * The model started serving a new version: its windows and performance start afresh, so the drift
 * and degraded states and their counters do too. The cooldown is kept, so the new version (often the
 * retrain's own result) is not retrained again right away.
 */
export function resetForNewVersion(state: PolicyState): PolicyState {
  return { ...initialPolicyState(), lastRetrainTime: state.lastRetrainTime };
}

function mayRetrain(policy: DriftPolicy, lastRetrainTime: number | null, time: number): boolean {
  // An event earlier than the last request (out of order) counts as inside the cooldown.
  return lastRetrainTime === null || time - lastRetrainTime >= policy.cooldownMs;
}
