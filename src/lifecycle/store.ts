// The retrainer's durable state, in one SQLite file: the window of joined examples per model (read
// from `driftgate.labeled`), the retrain jobs with their evidence, the post-promotion watches, and an
// outbox of model events still to be published. A job's state change and the event announcing it are
// written in one transaction, so a retrainer killed at any point neither loses nor repeats an event.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import type { Example } from './examples.js';

export const JOB_STATES = ['queued', 'training', 'gating', 'promoting', 'promoted', 'rejected', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];
/** States a job does not leave. */
export const FINAL_STATES: readonly JobState[] = ['promoted', 'rejected', 'failed', 'cancelled'];
export const PHASES = ['data', 'train', 'gate', 'swap'] as const;
export type Phase = (typeof PHASES)[number];

const sliceScoreSchema = z.object({ rows: z.number(), value: z.number() });
const scorePairSchema = z.object({ champion: sliceScoreSchema, challenger: sliceScoreSchema });

export const jobSchema = z.object({
  id: z.string(),
  model: z.string(),
  state: z.enum(JOB_STATES),
  trigger: z.object({
    reason: z.string(),
    /** The version the trigger was about. */
    version: z.number().optional(),
    /** Event time the drift or degradation began, when the monitor knew it. */
    since: z.string().optional(),
    requestedAt: z.string(),
    /** Requests that arrived while this job was open and were folded into it. */
    coalesced: z.number().default(0),
    /** An operator asked too (a manual request folded into it): the job runs at once, as a manual one. */
    manual: z.boolean().optional(),
  }),
  champion: z.number().optional(),
  challenger: z.number().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Runs started; a job interrupted by a restart is retried once. */
  attempts: z.number().default(0),
  /** Milliseconds spent in each phase. */
  phases: z.partialRecord(z.enum(PHASES), z.number()).default({}),
  data: z.object({ train: z.number(), holdout: z.number(), replay: z.number(), window: z.number() }).optional(),
  gate: z
    .object({
      metric: z.string(),
      higherIsBetter: z.boolean(),
      holdout: scorePairSchema,
      reference: scorePairSchema.optional(),
      margin: z.number(),
      tolerance: z.number(),
      checkReference: z.boolean(),
      promote: z.boolean(),
      reason: z.string(),
      improvement: z.number().nullable(),
    })
    .optional(),
  /** Why a queued job waits (too few labels since the change began). */
  waiting: z.string().optional(),
  /** Why the job failed or was rejected, in a sentence. */
  error: z.string().optional(),
  /** The post-promotion watch's verdict, once it has one. */
  watch: z.object({ rows: z.number(), live: z.number(), baseline: z.number(), outcome: z.enum(['kept', 'rolled_back']) }).optional(),
});
export type RetrainJob = z.infer<typeof jobSchema>;

/** A promoted version under watch: its live metric is compared with `baseline` once `labels` arrived. */
export interface Watch {
  model: string;
  version: number;
  previous: number;
  metric: string;
  higherIsBetter: boolean;
  baseline: number;
  job: string | null;
  /** When the promotion happened, epoch ms; only predictions made at or after it are judged. */
  startedAt: number;
}

export interface OutboxEntry {
  seq: number;
  topic: string;
  key: string;
  value: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS examples (
  model TEXT NOT NULL,
  id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  version INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  label_ts INTEGER NOT NULL,
  features TEXT NOT NULL,
  label TEXT NOT NULL,
  output TEXT NOT NULL,
  PRIMARY KEY (model, id)
);
CREATE INDEX IF NOT EXISTS examples_order ON examples(model, seq);
CREATE INDEX IF NOT EXISTS examples_version ON examples(model, version, seq);
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  state TEXT NOT NULL,
  created INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_model ON jobs(model, created);
CREATE TABLE IF NOT EXISTS watches (
  model TEXT PRIMARY KEY,
  body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  topic TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL
);
`;
const STORE_LAYOUT = 1;
/** Jobs kept per model; older finished ones are deleted. */
const JOB_HISTORY = 200;

export interface RetrainStoreOptions {
  /** SQLite file; ':memory:' for tests. */
  path: string;
  /** Joined examples kept per model (the newest). @defaultValue 5000 */
  window?: number;
}

export class RetrainStore {
  private readonly db: Database.Database;
  private readonly window: number;
  private seq = 0;

  constructor(opts: RetrainStoreOptions) {
    this.window = opts.window ?? 5000;
    if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
    this.db = new Database(opts.path);
    const layout = this.db.pragma('user_version', { simple: true }) as number;
    const empty = (this.db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }).n === 0;
    if (!empty && layout !== STORE_LAYOUT) {
      this.db.close();
      throw new Error(`retrain store ${opts.path} has layout ${layout}, this build reads layout ${STORE_LAYOUT}; move the file away to start afresh`);
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
    this.db.pragma(`user_version = ${STORE_LAYOUT}`);
    this.seq = (this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM examples').get() as { s: number }).s;
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** Adds joined examples (a redelivered one is ignored) and trims each model's window to its bound. */
  addExamples(examples: readonly Example[]): number {
    const insert = this.db.prepare(
      'INSERT OR IGNORE INTO examples (model, id, seq, version, ts, label_ts, features, label, output) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    let added = 0;
    const models = new Set<string>();
    for (const e of examples) {
      const r = insert.run(e.model, e.id, ++this.seq, e.version, e.ts, e.labelTs, JSON.stringify(e.features), JSON.stringify(e.label), JSON.stringify(e.output));
      added += r.changes;
      models.add(e.model);
    }
    const trim = this.db.prepare(
      'DELETE FROM examples WHERE model = ? AND seq <= (SELECT seq FROM examples WHERE model = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)',
    );
    for (const m of models) trim.run(m, m, this.window);
    return added;
  }

  /** The model's window, oldest first. */
  examples(model: string): Example[] {
    const rows = this.db
      .prepare('SELECT id, model, version, ts, label_ts, features, label, output FROM examples WHERE model = ? ORDER BY seq')
      .all(model) as { id: string; model: string; version: number; ts: number; label_ts: number; features: string; label: string; output: string }[];
    return rows.map(toExample);
  }

  /** The newest `limit` examples a version predicted (at or after `sinceTs`, event time), oldest first. */
  examplesOfVersion(model: string, version: number, limit: number, sinceTs = 0): Example[] {
    const rows = this.db
      .prepare(
        'SELECT id, model, version, ts, label_ts, features, label, output FROM examples WHERE model = ? AND version = ? AND ts >= ? ORDER BY seq DESC LIMIT ?',
      )
      .all(model, version, sinceTs, limit) as { id: string; model: string; version: number; ts: number; label_ts: number; features: string; label: string; output: string }[];
    return rows.map(toExample).reverse();
  }

  countExamples(model: string, version?: number): number {
    const row =
      version === undefined
        ? this.db.prepare('SELECT COUNT(*) AS n FROM examples WHERE model = ?').get(model)
        : this.db.prepare('SELECT COUNT(*) AS n FROM examples WHERE model = ? AND version = ?').get(model, version);
    return (row as { n: number }).n;
  }

  putJob(job: RetrainJob): void {
    this.db
      .prepare('INSERT INTO jobs (id, model, state, created, body) VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET state = excluded.state, body = excluded.body')
      .run(job.id, job.model, job.state, Date.parse(job.createdAt), JSON.stringify(job));
    this.db
      .prepare(
        `DELETE FROM jobs WHERE model = ? AND state IN ('promoted','rejected','failed','cancelled') AND id NOT IN (SELECT id FROM jobs WHERE model = ? ORDER BY created DESC, rowid DESC LIMIT ?)`,
      )
      .run(job.model, job.model, JOB_HISTORY);
  }

  job(id: string): RetrainJob | undefined {
    const row = this.db.prepare('SELECT body FROM jobs WHERE id = ?').get(id) as { body: string } | undefined;
    return row ? jobSchema.parse(JSON.parse(row.body)) : undefined;
  }

  /** A model's jobs, newest first. */
  jobs(model: string, limit = 50): RetrainJob[] {
    const rows = this.db.prepare('SELECT body FROM jobs WHERE model = ? ORDER BY created DESC, rowid DESC LIMIT ?').all(model, limit) as { body: string }[];
    return rows.map((r) => jobSchema.parse(JSON.parse(r.body)));
  }

  /** Jobs not in a final state, oldest first: what a restart picks up. */
  openJobs(): RetrainJob[] {
    const rows = this.db
      .prepare(`SELECT body FROM jobs WHERE state NOT IN ('promoted','rejected','failed','cancelled') ORDER BY created, rowid`)
      .all() as { body: string }[];
    return rows.map((r) => jobSchema.parse(JSON.parse(r.body)));
  }

  putWatch(watch: Watch): void {
    this.db.prepare('INSERT INTO watches (model, body) VALUES (?, ?) ON CONFLICT(model) DO UPDATE SET body = excluded.body').run(watch.model, JSON.stringify(watch));
  }

  watch(model: string): Watch | undefined {
    const row = this.db.prepare('SELECT body FROM watches WHERE model = ?').get(model) as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as Watch) : undefined;
  }

  endWatch(model: string): void {
    this.db.prepare('DELETE FROM watches WHERE model = ?').run(model);
  }

  addOutbox(topic: string, key: string, value: string): void {
    this.db.prepare('INSERT INTO outbox (topic, key, value) VALUES (?, ?, ?)').run(topic, key, value);
  }

  outbox(limit = 100): OutboxEntry[] {
    return this.db.prepare('SELECT seq, topic, key, value FROM outbox ORDER BY seq LIMIT ?').all(limit) as OutboxEntry[];
  }

  removeOutbox(upToSeq: number): void {
    this.db.prepare('DELETE FROM outbox WHERE seq <= ?').run(upToSeq);
  }

  close(): void {
    this.db.close();
  }
}

function toExample(r: { id: string; model: string; version: number; ts: number; label_ts: number; features: string; label: string; output: string }): Example {
  return {
    id: r.id,
    model: r.model,
    version: r.version,
    ts: r.ts,
    labelTs: r.label_ts,
    features: JSON.parse(r.features) as Example['features'],
    label: JSON.parse(r.label) as string | number,
    output: JSON.parse(r.output) as Example['output'],
  };
}
