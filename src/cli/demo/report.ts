// What the demo prints and concludes: timeline lines under one progress line (redrawn in place on a
// terminal, a plain line every few seconds elsewhere), whether the model recovered, the
// time-to-recover split (the same columns as bench/loop.ts) and the closing summary table.
import type { JobView } from './observe.js';

/** Accuracy after the drift must come back to this share of the accuracy before it. */
export const RECOVERY_RATIO = 0.95;

export interface Period {
  rows: number;
  correct: number;
  versions: Set<string>;
}

export const emptyPeriod = (): Period => ({ rows: 0, correct: 0, versions: new Set() });

export function accuracyOf(p: Period): number | undefined {
  return p.rows === 0 ? undefined : p.correct / p.rows;
}

export interface RunFacts {
  before: Period;
  during: Period;
  after: Period;
  initialVersion: string;
  /** The version of the last answer. */
  finalVersion: string;
  drifted: boolean;
  /** The after-drift measurement ran (a new version answered, or the loop ended without one). */
  measuredAfter: boolean;
}

export interface Verdict {
  recovered: boolean;
  /** One sentence. */
  why: string;
}

/**
 * Recovered: accuracy after ≥ 95% of accuracy before, with a new version serving, or, when the drift
 * never cost accuracy (covariate shift with true labels), with whatever version the loop left serving.
 */
export function judge(f: RunFacts): Verdict {
  const before = accuracyOf(f.before);
  const during = accuracyOf(f.during);
  const after = accuracyOf(f.after);
  if (!f.drifted || before === undefined) return { recovered: false, why: 'stopped before the drift was injected' };
  if (!f.measuredAfter || after === undefined) {
    return { recovered: false, why: `no new version answered and the loop did not finish (version ${f.finalVersion || f.initialVersion} still serving)` };
  }
  const target = RECOVERY_RATIO * before;
  const newVersion = f.finalVersion !== '' && f.finalVersion !== f.initialVersion;
  const neverDropped = during !== undefined && during >= target;
  const level = `accuracy after ${after.toFixed(3)} ${after >= target ? '≥' : '<'} 95% of ${before.toFixed(3)} (${target.toFixed(3)})`;
  if (after < target) return { recovered: false, why: `${level}, version ${f.finalVersion} serving` };
  if (newVersion) return { recovered: true, why: `${level}, version ${f.finalVersion} serving (was ${f.initialVersion})` };
  if (neverDropped) return { recovered: true, why: `accuracy never dropped (during ${during.toFixed(3)}); ${level}, version ${f.finalVersion} still serving` };
  return { recovered: false, why: `${level} but version ${f.initialVersion} still serves` };
}

/** Seconds of each part of onset → served, as bench/loop.ts splits it; undefined where unknown. */
export interface Split {
  detect?: number;
  wait?: number;
  data?: number;
  train?: number;
  gate?: number;
  swap?: number;
  gateway?: number;
  total?: number;
}

export const SPLIT_COLUMNS = ['detect', 'wait', 'data', 'train', 'gate', 'swap', 'gateway', 'total'] as const;

/**
 * - detect: onset (first request of the drifted traffic) → the job's trigger.requestedAt
 * - wait: the job's open time outside its phases (waiting for labels, scheduling)
 * - data, train, gate, swap: the job's phases as the retrainer recorded them
 * - gateway: the promotion (the record's updatedAt) → the first answer from the new version
 * - total: onset → the first answer from the new version
 * Without the job's own times (counters only), wait and gateway stay unknown.
 */
export function recoverySplit(onset: number, served: number | undefined, job: JobView | undefined): Split {
  const split: Split = {};
  if (served !== undefined) split.total = (served - onset) / 1000;
  if (!job) return split;
  const p = job.phases;
  for (const k of ['data', 'train', 'gate', 'swap'] as const) if (p[k] !== undefined) split[k] = p[k]! / 1000;
  const requested = Date.parse(job.trigger.requestedAt);
  if (Number.isFinite(requested)) split.detect = (requested - onset) / 1000;
  const promoted = job.updatedAt ? Date.parse(job.updatedAt) : NaN;
  if (Number.isFinite(promoted) && Number.isFinite(requested)) {
    const phases = (p.data ?? 0) + (p.train ?? 0) + (p.gate ?? 0) + (p.swap ?? 0);
    split.wait = (promoted - requested - phases) / 1000;
    if (served !== undefined) split.gateway = (served - promoted) / 1000;
  }
  return split;
}

export interface SummaryInput extends RunFacts {
  verdict: Verdict;
  split: Split | undefined;
  /** Why the split is missing or approximate, when it is. */
  splitNote?: string | undefined;
  requests: number;
  failedRequests: number;
  labelsSent: number;
  failedLabels: number;
  elapsedS: number;
}

export function summaryLines(s: SummaryInput): string[] {
  const acc = (p: Period) => (accuracyOf(p) === undefined ? '-' : accuracyOf(p)!.toFixed(3));
  const versions = (p: Period) => (p.versions.size === 0 ? '-' : [...p.versions].sort().join(','));
  const rows: [string, string, string, string][] = [
    ['', 'accuracy', 'rows', 'versions'],
    ['before the drift', acc(s.before), String(s.before.rows), versions(s.before)],
    ['during', acc(s.during), String(s.during.rows), versions(s.during)],
    ['after', acc(s.after), String(s.after.rows), versions(s.after)],
  ];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows.map((r) => `  ${r[0].padEnd(widths[0]!)}  ${r[1].padStart(widths[1]!)}  ${r[2].padStart(widths[2]!)}  ${r[3]}`);
  const out = [
    '',
    'summary',
    ...table,
    `  recovered: ${s.verdict.recovered ? 'yes' : 'no'} (${s.verdict.why})`,
    `  ${s.requests} requests (${s.failedRequests} failed), ${s.labelsSent} labels sent (${s.failedLabels} failed), ${s.elapsedS.toFixed(1)} s`,
  ];
  if (s.split) {
    const cell = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(2));
    const head = SPLIT_COLUMNS.map((c) => c.padStart(7)).join(' ');
    const values = SPLIT_COLUMNS.map((c) => cell(s.split![c]).padStart(7)).join(' ');
    out.push('', 'time to recover, s (onset → first answer from the new version; as bench/loop.ts)', `  ${head}`, `  ${values}`);
  }
  if (s.splitNote) out.push(`  ${s.splitNote}`);
  return out;
}

export interface Sink {
  write(text: string): unknown;
}

/** Timeline lines stamped `+12.3s` from the start, under one progress line. */
export class DemoOutput {
  private progressShown = false;
  private lastPlain = 0;
  private lastAt = 0;

  constructor(
    private readonly out: Sink,
    private readonly tty: boolean,
    private readonly startedAt: number,
    /** Plain-line mode prints the progress at most this often. */
    private readonly plainEveryMs = 5_000,
    /** The terminal's width now (0 = unknown). */
    private readonly columns: () => number = () => 0,
  ) {}

  line(text: string, at = Date.now()): void {
    this.clear();
    // Some facts arrive a poll after later ones (a job's record comes with its first event): stamps
    // never go back, so the timeline reads in order.
    this.lastAt = Math.max(this.lastAt, at);
    const t = Math.max(0, (this.lastAt - this.startedAt) / 1000);
    this.out.write(`+${t.toFixed(1).padStart(5)}s ${text}\n`);
  }

  /** Free text (headers, the summary), not stamped. */
  text(text: string): void {
    this.clear();
    this.out.write(`${text}\n`);
  }

  progress(text: string, force = false): void {
    if (this.tty) {
      // A line wider than the terminal wraps, and \r then redraws only its last part.
      const width = this.columns();
      this.out.write(`\r\x1b[2K${width > 1 && text.length >= width ? `${text.slice(0, width - 2)}…` : text}`);
      this.progressShown = true;
      return;
    }
    const now = Date.now();
    if (!force && now - this.lastPlain < this.plainEveryMs) return;
    this.lastPlain = now;
    this.line(text, now);
  }

  /** Ends the progress line so the next output starts on a fresh one. */
  clear(): void {
    if (this.progressShown) this.out.write('\r\x1b[2K');
    this.progressShown = false;
  }
}
