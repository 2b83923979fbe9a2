// Turns successive snapshots of the stack into timeline lines: the monitor's decisions, each retrain
// job's states and phases, the gate's verdict with both models' scores, and what became of the job.
// It remembers what it has said, so a poll that repeats the last one adds nothing, and it keeps the
// facts the summary needs (the job that promoted, as it was when it did, and the retrain requests).
import type { EventView, JobView, Snapshot } from './observe.js';

const FINAL = new Set(['promoted', 'rejected', 'failed', 'cancelled']);
/** A retrain request this soon after the previous one is a repeat, not news. */
const REPEAT_MS = 5_000;

export interface TimelineLine {
  /** Wall-clock ms the line is about (the event's own time when it has one). */
  at: number;
  text: string;
}

export class Timeline {
  private readonly seenEvents = new Set<string>();
  private readonly jobStates = new Map<string, { state: string; waiting?: string | undefined; gate: boolean; watch: boolean }>();
  /** Jobs that were open or ended after the demo started, in the order first seen. */
  readonly jobs = new Map<string, JobView>();
  /** The first record of a promoted job, as it was when it was seen promoted (a later watch verdict moves updatedAt). */
  readonly promoted = new Map<string, JobView>();
  /** Retrain requests seen (event times, ms), oldest first; those before the demo started included. */
  readonly retrainRequests: number[] = [];
  /** Drift detections seen after the start (event times, ms). */
  readonly detections: number[] = [];
  private first = true;
  /** The last retrain request about each version (event time, ms). */
  private readonly lastRequestOf = new Map<number | null, number>();

  constructor(private readonly startedAt: number) {}

  /** The lines a new snapshot adds. The first call only learns what happened before the demo. */
  update(s: Snapshot): TimelineLine[] {
    const lines: TimelineLine[] = [];
    for (const e of [...s.events].reverse()) {
      const key = `${e.type}|${e.version}|${e.ts}`;
      if (this.seenEvents.has(key)) continue;
      this.seenEvents.add(key);
      const at = Date.parse(e.ts);
      if (e.type === 'retrain.requested') {
        // Without a cooldown the monitor repeats its request at every check while the drift lasts, and
        // the retrainer folds the repeats into the open job: only a request after a quiet spell is news.
        const previous = this.lastRequestOf.get(e.version);
        this.retrainRequests.push(at);
        this.lastRequestOf.set(e.version, at);
        if (previous !== undefined && at - previous < REPEAT_MS) continue;
      }
      if (at < this.startedAt - 1000) continue;
      if (e.type === 'drift.detected') this.detections.push(at);
      const line = eventLine(e);
      if (line) lines.push({ at: Number.isFinite(at) ? at : Date.now(), text: line });
    }
    for (const job of [...s.jobs].reverse()) lines.push(...this.jobLines(job));
    this.first = false;
    // One poll can bring several things at once: tell them in the order they happened.
    return lines.sort((a, b) => a.at - b.at);
  }

  private jobLines(job: JobView): TimelineLine[] {
    const known = this.jobStates.get(job.id);
    const requestedAt = Date.parse(job.trigger.requestedAt);
    // Jobs that ended before the demo started are history; one still open is shown.
    if (!known && (this.first || requestedAt < this.startedAt - 1000) && FINAL.has(job.state)) {
      this.jobStates.set(job.id, { state: job.state, gate: true, watch: true });
      return [];
    }
    this.jobs.set(job.id, job);
    const now = Date.now();
    const out: TimelineLine[] = [];
    const name = `retrain job ${shortId(job.id)}`;
    const state = known ?? { state: '', gate: false, watch: false };
    if (!known) {
      const sinceMs = job.trigger.since ? Date.parse(job.trigger.since) : NaN;
      const since = Number.isFinite(sinceMs) ? `, drift since ${sinceMs >= this.startedAt ? '+' : '-'}${(Math.abs(sinceMs - this.startedAt) / 1000).toFixed(1)}s` : '';
      out.push({ at: Number.isFinite(requestedAt) ? requestedAt : now, text: `${name} queued (trigger: ${job.trigger.reason}${since}; champion v${job.champion ?? '?'})` });
    }
    if (job.waiting && job.waiting !== state.waiting && !FINAL.has(job.state)) out.push({ at: now, text: `${name} waits: ${job.waiting}` });
    state.waiting = job.waiting;
    if (job.state !== state.state) {
      if (job.state === 'training' || job.state === 'gating' || job.state === 'promoting') out.push({ at: now, text: `${name} ${job.state}${phaseNote(job, job.state)}` });
    }
    if (job.gate && !state.gate) {
      out.push({ at: now, text: gateLine(job) });
      state.gate = true;
    }
    if (job.state !== state.state && FINAL.has(job.state)) {
      const n = job.trigger.coalesced ?? 0;
      const folded = n > 0 ? `; ${n} repeated request${n === 1 ? '' : 's'} folded in` : '';
      const phases = phaseList(job, folded);
      if (job.state === 'promoted') {
        this.promoted.set(job.id, structuredClone(job));
        out.push({ at: now, text: `${name} promoted: version ${job.challenger ?? '?'} is the serving version${phases}` });
      } else {
        out.push({ at: now, text: `${name} ${job.state}${job.error ? `: ${job.error}` : ''}${phases}` });
      }
    }
    if (job.watch && !state.watch) {
      out.push({ at: now, text: `watch: version ${job.challenger ?? '?'} ${job.watch.outcome === 'kept' ? 'kept' : 'rolled back'} (live ${fmt(job.watch.live)} vs baseline ${fmt(job.watch.baseline)} on ${job.watch.rows} labels)` });
      state.watch = true;
    }
    state.state = job.state;
    this.jobStates.set(job.id, state);
    return out;
  }
}

function eventLine(e: EventView): string | undefined {
  const about = e.summary ? ` (${e.summary})` : '';
  switch (e.type) {
    case 'drift.detected':
    case 'drift.cleared':
    case 'retrain.requested':
      return `monitor: ${e.type}${about}`;
    case 'model.rolled_back':
      return `rollback: version ${e.version ?? '?'} serving again${about}`;
    default:
      // Job events (started, promoted, rejected, failed) are told from the job records.
      return undefined;
  }
}

function gateLine(job: JobView): string {
  const g = job.gate!;
  const h = g.holdout;
  const ref = g.reference ? `; on ${g.reference.champion.rows} reference rows ${fmt(g.reference.challenger.value)} vs ${fmt(g.reference.champion.value)}` : '';
  const verdict = g.promote ? 'promote' : `reject (${g.reason})`;
  return `gate: challenger ${fmt(h.challenger.value)} vs champion ${fmt(h.champion.value)} ${g.metric} on ${h.challenger.rows} held-out labels${ref} → ${verdict}`;
}

function phaseNote(job: JobView, state: string): string {
  if (state === 'training' && job.data) return ` (${job.data.train} rows to train on, ${job.data.holdout} held out, ${job.data.replay} replayed)`;
  if (state === 'gating' && job.phases.train !== undefined) return ` (trained in ${seconds(job.phases.train)})`;
  return '';
}

function phaseList(job: JobView, extra: string): string {
  const parts = (['data', 'train', 'gate', 'swap'] as const).filter((p) => job.phases[p] !== undefined).map((p) => `${p} ${seconds(job.phases[p]!)}`);
  return parts.length || extra ? ` [${parts.join(', ')}${extra}]` : '';
}

export function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toFixed(3) : String(x);
}

function shortId(id: string): string {
  return id.length > 14 ? `…${id.slice(-8)}` : id;
}
