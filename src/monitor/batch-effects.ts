// What applying one bus batch produces besides its store writes.
import type { VersionState } from './model-state.js';
import type { Decision } from './policy.js';

export interface VersionDecision {
  state: VersionState;
  decision: Decision;
}

/**
 * The versions one batch touched, the policy's decisions, and counter updates. The counter updates
 * wait until the batch's transaction has committed, so a batch that rolls back and comes again is
 * not counted twice.
 */
export class BatchEffects {
  readonly touched = new Set<VersionState>();
  readonly decisions: VersionDecision[] = [];
  private readonly counts: (() => void)[] = [];

  /** Runs `count` once the transaction has committed. */
  afterCommit(count: () => void): void {
    this.counts.push(count);
  }

  /** Applies the counter updates; called once, after the commit. */
  committed(): void {
    for (const count of this.counts) count();
    this.counts.length = 0;
  }
}
