// The champion/challenger gate: pure decisions on scores the caller measured. A challenger is promoted
// only when it beats the serving version on the newest labeled slice (never trained on) by the
// configured margin, and, when the retrain was triggered by data drift rather than a changed concept,
// when it is not worse than a tolerance on the champion's own held-out training rows: input drift
// alone does not excuse forgetting what the old data taught.

/** How a version is scored on one slice: the headline metric and how many rows it saw. */
export interface SliceScore {
  rows: number;
  value: number;
}

export interface GateScores {
  metric: string;
  higherIsBetter: boolean;
  holdout: { champion: SliceScore; challenger: SliceScore };
  /** The champion's reference holdout (rows of its training sample it was not fit on), when there is one. */
  reference?: { champion: SliceScore; challenger: SliceScore };
}

export interface GateRules {
  /**
   * How much better the challenger must be on the holdout: absolute points for metrics in [0, 1] where
   * higher is better (accuracy), a relative reduction for errors (MAE): 0.05 = 5% lower.
   */
  margin: number;
  /** How much worse the challenger may be on the reference holdout, in the same units as `margin`. */
  tolerance: number;
  /** Whether the reference holdout counts: only for data drift (a new concept makes old labels wrong). */
  checkReference: boolean;
  /** Fewest holdout rows a decision may rest on. */
  minHoldoutRows: number;
}

export interface GateDecision {
  promote: boolean;
  /** One sentence a person reads in the job record and the `model.rejected` event. */
  reason: string;
  /** By how much the challenger beat the champion on the holdout (positive = better), in margin units. */
  improvement: number;
  /** By how much the challenger fell behind on the reference holdout (positive = worse); undefined when not checked. */
  regression?: number;
}

/** Positive when `challenger` is better than `champion`, in the units of the margin. */
export function improvementOf(champion: number, challenger: number, higherIsBetter: boolean): number {
  if (higherIsBetter) return challenger - champion;
  // Errors: relative reduction; a perfect champion (0 error) can only be matched.
  if (champion === 0) return challenger === 0 ? 0 : -Infinity;
  return (champion - challenger) / champion;
}

export function decideGate(scores: GateScores, rules: GateRules): GateDecision {
  const { holdout, metric, higherIsBetter } = scores;
  const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : String(v));
  if (holdout.challenger.rows < rules.minHoldoutRows) {
    return { promote: false, improvement: 0, reason: `only ${holdout.challenger.rows} holdout rows could be scored; the gate needs ${rules.minHoldoutRows}` };
  }
  if (!Number.isFinite(holdout.challenger.value)) {
    return { promote: false, improvement: -Infinity, reason: `the challenger's holdout ${metric} is ${holdout.challenger.value}` };
  }
  const improvement = improvementOf(holdout.champion.value, holdout.challenger.value, higherIsBetter);
  const unit = higherIsBetter ? '' : ' (relative)';
  if (!(improvement >= rules.margin)) {
    return {
      promote: false,
      improvement,
      reason: `challenger ${metric} ${fmt(holdout.challenger.value)} vs champion ${fmt(holdout.champion.value)} on the newest ${holdout.challenger.rows} labels: improvement ${fmt(improvement)}${unit} is below the margin ${rules.margin}`,
    };
  }
  let regression: number | undefined;
  if (rules.checkReference && scores.reference && scores.reference.challenger.rows > 0) {
    regression = -improvementOf(scores.reference.champion.value, scores.reference.challenger.value, higherIsBetter);
    if (regression > rules.tolerance) {
      return {
        promote: false,
        improvement,
        regression,
        reason: `challenger beats the champion on the newest labels (${fmt(improvement)}${unit}) but is worse on the reference holdout by ${fmt(regression)}, more than the tolerance ${rules.tolerance}`,
      };
    }
  }
  return {
    promote: true,
    improvement,
    ...(regression !== undefined ? { regression } : {}),
    reason: `challenger ${metric} ${fmt(holdout.challenger.value)} vs champion ${fmt(holdout.champion.value)} on the newest ${holdout.challenger.rows} labels (improvement ${fmt(improvement)}${unit}, margin ${rules.margin})${regression !== undefined ? `; reference holdout within tolerance (${fmt(regression)} <= ${rules.tolerance})` : ''}`,
  };
}
