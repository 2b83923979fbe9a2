// What the monitor keeps per served version: the drift reference, the current data and label windows,
// the rolling performance and the policy state. All of it snapshots to JSON, so the store can keep it
// beside the events it was built from and a restarted monitor continues exactly where it stopped.
import { z } from 'zod';
import type { Manifest } from '../core/index.js';
import { columnDriftSchema, driftReportSchema, testApplies } from './drift.js';
import type { ColumnDrift, DriftReport, DriftTestName } from './drift.js';
import { VersionHistory, historySnapshotSchema } from './history.js';
import { DriftWindow } from './window.js';
import type { WindowSpec } from './window.js';
import { RollingPerformance, defaultMetric } from './performance.js';
import { initialPolicyState, policyStateSchema, resetForNewVersion } from './policy.js';
import type { DriftPolicy, PolicyState } from './policy.js';
import { referenceFromProfile, referenceFromValues } from './reference.js';
import type { ColumnReference } from './reference.js';

export const PREDICTION_COLUMN = '__prediction__';
export const LABEL_COLUMN = '__label__';

export interface Column {
  name: string;
  kind: 'numeric' | 'categorical';
}

/**
 * A version's snapshot as the store keeps it, to read it back. The windows and the performance are
 * checked by their own restore (which throws on a malformed one); the rest is checked here.
 */
export const versionSnapshotSchema = z.object({
  window: z.unknown(),
  labelWindow: z.unknown(),
  performance: z.unknown(),
  policy: policyStateSchema,
  /** Live values collected while a version without a manifest profile builds its reference. */
  liveReference: z.record(z.string(), z.array(z.union([z.number(), z.string()]))).optional(),
  joined: z.number().int().nonnegative(),
  /** The last reports, for the status endpoint. */
  lastWindow: driftReportSchema.optional(),
  lastLabelDrift: columnDriftSchema.optional(),
  /** Recent performance verdicts and drift windows, for the status page. */
  history: historySnapshotSchema.optional(),
});

export type VersionSnapshot = z.output<typeof versionSnapshotSchema>;

export class VersionState {
  readonly columns: Column[];
  readonly featureNames: string[];
  references: Record<string, ColumnReference> | undefined;
  window: DriftWindow;
  labelWindow: DriftWindow;
  performance: RollingPerformance;
  policyState: PolicyState;
  liveReference: Record<string, (number | string)[]> | undefined;
  /** Joined labels seen by this version (drives when performance is judged). */
  joined = 0;
  lastWindow: DriftReport | undefined;
  lastLabelDrift: ColumnDrift | undefined;
  /** Bounded record of the version's performance verdicts and drift windows over time. */
  history: VersionHistory;
  /** The policy's per-feature test overrides that fit this version's columns. */
  readonly overrides: Record<string, DriftTestName> = {};
  /** Overrides that name no column of this version, or a test that cannot judge its kind. */
  readonly overrideProblems: string[] = [];

  constructor(
    readonly manifest: Manifest,
    readonly policy: DriftPolicy,
    snapshot?: VersionSnapshot,
    previousPolicy?: PolicyState,
  ) {
    this.featureNames = manifest.features.map((f) => f.name);
    const predictionKind = manifest.task === 'classification' ? 'categorical' : 'numeric';
    this.columns = [...manifest.features.map((f) => ({ name: f.name, kind: f.type })), { name: PREDICTION_COLUMN, kind: predictionKind }];
    const labelColumns: Column[] = [{ name: LABEL_COLUMN, kind: predictionKind }];
    for (const [column, test] of Object.entries(policy.tests)) {
      const kind = this.columns.find((c) => c.name === column)?.kind;
      if (!kind) this.overrideProblems.push(`tests.${column}: "${manifest.name}" version ${manifest.version} has no column "${column}"`);
      else if (!testApplies(test, kind)) this.overrideProblems.push(`tests.${column}: ${test} cannot judge the ${kind} column "${column}"`);
      else this.overrides[column] = test;
    }
    const spec = windowSpec(policy);
    const performanceOptions = { task: manifest.task, labels: manifest.labels ?? [], size: policy.performance.window };
    this.references = manifestReferences(manifest);
    if (snapshot) {
      this.window = DriftWindow.restore(snapshot.window, spec, this.columns);
      this.labelWindow = DriftWindow.restore(snapshot.labelWindow, spec, labelColumns);
      this.performance = RollingPerformance.restore(snapshot.performance, performanceOptions);
      this.policyState = snapshot.policy;
      this.liveReference = snapshot.liveReference;
      this.joined = snapshot.joined;
      this.lastWindow = snapshot.lastWindow;
      this.lastLabelDrift = snapshot.lastLabelDrift;
      this.history = VersionHistory.restore(snapshot.history, manifest.task);
      if (!this.references && this.liveReference) this.completeLiveReference();
    } else {
      this.window = new DriftWindow(spec, this.columns);
      this.labelWindow = new DriftWindow(spec, labelColumns);
      this.performance = new RollingPerformance(performanceOptions);
      this.history = new VersionHistory(manifest.task);
      this.policyState = previousPolicy ? resetForNewVersion(previousPolicy) : initialPolicyState();
      this.liveReference = this.references ? undefined : Object.fromEntries(this.columns.map((c) => [c.name, []]));
    }
  }

  get metric() {
    return this.policy.performance.metric ?? defaultMetric(this.manifest.task);
  }

  /**
   * While the version has no reference, its first `reference.liveSize` predictions become one.
   * Returns true when the row was taken for the reference (and so is not part of a window).
   */
  collectReference(row: Record<string, number | string | null | undefined>): boolean {
    if (!this.liveReference) return false;
    for (const c of this.columns) {
      const v = row[c.name];
      if (v !== null && v !== undefined) this.liveReference[c.name]!.push(v);
    }
    const collected = Math.max(...Object.values(this.liveReference).map((values) => values.length));
    if (collected >= this.policy.reference.liveSize) this.completeLiveReference();
    return true;
  }

  private completeLiveReference(): void {
    const live = this.liveReference;
    if (!live) return;
    const collected = Math.max(...Object.values(live).map((values) => values.length));
    if (collected < this.policy.reference.liveSize) return;
    const references: Record<string, ColumnReference> = {};
    for (const c of this.columns) {
      const ref = referenceFromValues(live[c.name] ?? [], c.kind);
      if (ref) references[c.name] = ref;
    }
    this.references = references;
    this.liveReference = undefined;
  }

  /** The reference for label drift: the training labels, when the manifest has them. */
  get labelReference(): ColumnReference | undefined {
    const profile = this.manifest.reference?.label;
    return profile ? referenceFromProfile(profile) : undefined;
  }

  snapshot(): VersionSnapshot {
    const out: VersionSnapshot = {
      window: this.window.snapshot(),
      labelWindow: this.labelWindow.snapshot(),
      performance: this.performance.snapshot(),
      policy: this.policyState,
      joined: this.joined,
      history: this.history.snapshot(),
    };
    if (this.liveReference) out.liveReference = this.liveReference;
    if (this.lastWindow) out.lastWindow = this.lastWindow;
    if (this.lastLabelDrift) out.lastLabelDrift = this.lastLabelDrift;
    return out;
  }
}

export function windowSpec(policy: DriftPolicy): WindowSpec {
  return {
    size: policy.window.size,
    step: policy.window.step ?? policy.window.size,
    durationMs: policy.window.durationMs,
    minSamples: policy.window.minSamples,
  };
}

/** References from the manifest's training profile; undefined when it has none. */
function manifestReferences(manifest: Manifest): Record<string, ColumnReference> | undefined {
  const profile = manifest.reference;
  if (!profile || Object.keys(profile.features).length === 0) return undefined;
  const out: Record<string, ColumnReference> = {};
  for (const [name, column] of Object.entries(profile.features)) {
    const ref = referenceFromProfile(column);
    if (ref) out[name] = ref;
  }
  if (profile.prediction) {
    const ref = referenceFromProfile(profile.prediction);
    if (ref) out[PREDICTION_COLUMN] = ref;
  }
  return out;
}
