// The monitor's durable state, in one SQLite file: predictions waiting for their label, labels that
// arrived first, the labeled window per model (what retraining learns from), state snapshots of the
// windows and the policy, and an outbox of decisions still to be published. Every batch of events is
// applied in one transaction, and the bus commits the batch's offsets only after that transaction, so
// a monitor killed at any point restarts from a consistent state and replays at most the batch it was
// in; the primary key (prediction id, model) makes that replay a no-op (nothing is counted twice).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import { z } from 'zod';
import { describeError, silentLogger } from '../core/index.js';
import type { Logger } from '../core/index.js';

/** A prediction as the store keeps it. `features` and `output` are the event's JSON. */
export interface StoredPrediction {
  id: string;
  model: string;
  version: number;
  /** Event time of the prediction, epoch ms. */
  ts: number;
  features: string;
  output: string;
}

export interface StoredLabel {
  id: string;
  model: string;
  /** The label as JSON (a class name string or a number). */
  label: string;
  ts: number;
}

/** A prediction joined with its label. */
export interface JoinedExample {
  id: string;
  model: string;
  version: number;
  ts: number;
  labeledTs: number;
  features: Record<string, number | string | boolean | null>;
  output: unknown;
  label: string | number;
}

export interface OutboxEntry {
  seq: number;
  topic: string;
  key: string;
  value: string;
}

export interface DecisionRecord {
  seq: number;
  model: string;
  version: number;
  type: string;
  time: number;
  details: Record<string, unknown>;
}

export type ExpiryReason = 'ttl' | 'capacity';
export type ExpiryKind = 'prediction' | 'label';
export interface Expired {
  model: string;
  kind: ExpiryKind;
  reason: ExpiryReason;
  count: number;
}

export interface MonitorStoreOptions {
  /** File of the SQLite database; ':memory:' keeps it in memory (tests). */
  path: string;
  /** Joined examples kept per model, newest first. @defaultValue 10000 */
  labeledWindow?: number;
  /** Where a stored row that no longer parses is reported (it is skipped). @defaultValue silent */
  logger?: Logger;
}

/** The JSON columns of a joined row, as addPrediction and addLabel store them. */
const joinedColumns = z.object({
  features: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])),
  output: z.unknown(),
  label: z.union([z.string(), z.number()]),
});
const decisionDetails = z.record(z.string(), z.unknown());

/**
 * One row per (prediction id, model): ids are the caller's and may repeat across models, and a label
 * names its model, so the pair is the key. A prediction and its label may come in either order, so a
 * row starts as whichever half arrives first: a waiting prediction (label NULL) or a waiting label
 * (features NULL). `joined_seq` numbers the rows that have both halves, in the order they were joined.
 * The key starts with the id, so it also finds every model's row of one id.
 */
const PREDICTIONS_TABLE = (name: string) => `
CREATE TABLE IF NOT EXISTS ${name} (
  id TEXT NOT NULL,
  model TEXT NOT NULL,
  version INTEGER,
  ts INTEGER,
  features TEXT,
  output TEXT,
  label TEXT,
  labeled_ts INTEGER,
  joined_seq INTEGER,
  PRIMARY KEY (id, model)
);`;

const SCHEMA = `
${PREDICTIONS_TABLE('predictions')}
CREATE INDEX IF NOT EXISTS predictions_waiting ON predictions(ts) WHERE label IS NULL;
CREATE INDEX IF NOT EXISTS early_labels ON predictions(model, labeled_ts, id) WHERE features IS NULL;
CREATE INDEX IF NOT EXISTS predictions_joined ON predictions(model, joined_seq) WHERE joined_seq IS NOT NULL;
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  topic TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS decisions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  model TEXT NOT NULL,
  version INTEGER NOT NULL,
  type TEXT NOT NULL,
  time INTEGER NOT NULL,
  details TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_model ON decisions(model, seq);
`;

/**
 * Layout version of the file, in SQLite's user_version. Layout 1 keyed rows by id alone and is
 * migrated in place when opened; a file of any other layout is refused.
 */
const STORE_LAYOUT = 2;

/** Layout 1 to 2: the key becomes (id, model). Rows keep their values; layout 1 had one row per id. */
const MIGRATE_FROM_1 = `
${PREDICTIONS_TABLE('predictions_v2')}
INSERT INTO predictions_v2 (id, model, version, ts, features, output, label, labeled_ts, joined_seq)
  SELECT id, model, version, ts, features, output, label, labeled_ts, joined_seq FROM predictions;
DROP TABLE predictions;
ALTER TABLE predictions_v2 RENAME TO predictions;
`;

/** How many decisions per model the history keeps. */
const DECISION_HISTORY = 1000;

/** A prediction waiting for its label. */
export type WaitingPrediction = { model: string; version: number; ts: number; output: string };

/** What the store holds for one (model, id): what a label's checks need to know. */
export type PairState =
  | { model: string; hasPrediction: true; hasLabel: boolean; prediction: WaitingPrediction }
  /** Only an early label. */
  | { model: string; hasPrediction: false; hasLabel: true };

export type AddPredictionResult =
  | { status: 'duplicate' }
  /** Waits for its label. `rejectedLabel`: the early label that was waiting could not be judged against this version and was dropped. */
  | { status: 'pending'; rejectedLabel?: { label: string; labeledTs: number; reason: string } }
  | { status: 'joined'; label: string; labeledTs: number };

export type AddLabelResult =
  /** This (model, id) already has a label; it is kept, and `sameValue` tells a repeat from a conflicting label. */
  | { status: 'duplicate'; sameValue: boolean }
  | { status: 'early' }
  /** The waiting prediction cannot be judged with this label; nothing was written. */
  | { status: 'rejected'; reason: string }
  | { status: 'joined'; prediction: Omit<StoredPrediction, 'features'> };

/** What `expire` drops: entries older than the TTL, and the oldest beyond each bound. */
export interface ExpiryBounds {
  /** How long either half of a pair waits for the other, in event-time ms. */
  ttlMs: number;
  /** Predictions waiting for their label, all models together. */
  maxPendingPredictions: number;
  /** Labels waiting for their prediction, per model. */
  maxEarlyLabels: number;
}

export class MonitorStore {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly labeledWindow: number;
  private readonly logger: Logger;
  private joinedSeq = 0;
  private waitingPredictions = 0;
  /** Early labels per model; a label names a known model (the consumer's checks), so the map stays small. */
  private readonly early = new Map<string, number>();
  private readonly joinedSinceTrim = new Map<string, number>();
  private readonly stmt: {
    insertPrediction: Statement<[string, string, number, number, string, string]>;
    findEarlyLabel: Statement<[string, string], { label: string; labeled_ts: number }>;
    completeEarlyLabel: Statement<[number, number, string, string, number, string, string]>;
    dropEarlyLabel: Statement<[number, number, string, string, string, string]>;
    findWaiting: Statement<[string, string], WaitingPrediction>;
    featuresOf: Statement<[string, string], { features: string | null }>;
    findLabel: Statement<[string, string], { label: string | null }>;
    pairsOfId: Statement<[string], { model: string; version: number | null; ts: number | null; output: string | null; has_label: number }>;
    joinLabel: Statement<[string, number, number, string, string]>;
    insertEarlyLabel: Statement<[string, string, string, number]>;
    deleteRow: Statement<[string, string]>;
    getState: Statement<[string], { value: string }>;
    putState: Statement<[string, string]>;
    addOutbox: Statement<[string, string, string]>;
    readOutbox: Statement<[number], OutboxEntry>;
    removeOutbox: Statement<[number]>;
    addDecision: Statement<[string, number, string, number, string]>;
  };

  constructor(opts: MonitorStoreOptions) {
    this.path = opts.path;
    this.labeledWindow = opts.labeledWindow ?? 10_000;
    this.logger = opts.logger ?? silentLogger;
    if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
    this.db = new Database(opts.path);
    const layout = this.db.pragma('user_version', { simple: true }) as number;
    const empty = (this.db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }).n === 0;
    if (!empty && layout !== STORE_LAYOUT && layout !== 1) {
      this.db.close();
      throw new Error(`monitor store ${opts.path} has layout ${layout}, this build reads layouts 1 and ${STORE_LAYOUT}; move the file away to start afresh`);
    }
    // WAL lets a reader (the status endpoint, a retrain) run beside the writer; FULL makes a
    // committed transaction survive a power cut, since the bus commits offsets right after it.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    // Rows are looked up by id in random order: a page cache that holds the working set (64 MiB)
    // keeps those lookups off the file system.
    this.db.pragma('cache_size = -65536');
    // One transaction: a crash during the migration leaves the layout-1 file as it was.
    this.db.transaction(() => {
      if (!empty && layout === 1) this.db.exec(MIGRATE_FROM_1);
      this.db.exec(SCHEMA);
      this.db.pragma(`user_version = ${STORE_LAYOUT}`);
    })();
    const db = this.db;
    this.stmt = {
      // The common cases cost one statement per event: a new prediction, and a label whose prediction
      // waits (a SELECT then an UPDATE, cheaper than UPDATE ... RETURNING: 6 against 12 µs measured).
      // Labels that come first and redeliveries take one or two more.
      insertPrediction: db.prepare('INSERT OR IGNORE INTO predictions (id, model, version, ts, features, output) VALUES (?, ?, ?, ?, ?, ?)'),
      findEarlyLabel: db.prepare('SELECT label, labeled_ts FROM predictions WHERE id = ? AND model = ? AND features IS NULL'),
      completeEarlyLabel: db.prepare('UPDATE predictions SET version = ?, ts = ?, features = ?, output = ?, joined_seq = ? WHERE id = ? AND model = ?'),
      dropEarlyLabel: db.prepare('UPDATE predictions SET version = ?, ts = ?, features = ?, output = ?, label = NULL, labeled_ts = NULL WHERE id = ? AND model = ?'),
      featuresOf: db.prepare('SELECT features FROM predictions WHERE id = ? AND model = ?'),
      findWaiting: db.prepare('SELECT model, version, ts, output FROM predictions WHERE id = ? AND model = ? AND label IS NULL AND features IS NOT NULL'),
      findLabel: db.prepare('SELECT label FROM predictions WHERE id = ? AND model = ?'),
      pairsOfId: db.prepare('SELECT model, version, ts, output, label IS NOT NULL AS has_label FROM predictions WHERE id = ?'),
      joinLabel: db.prepare('UPDATE predictions SET label = ?, labeled_ts = ?, joined_seq = ? WHERE id = ? AND model = ? AND label IS NULL AND features IS NOT NULL'),
      insertEarlyLabel: db.prepare('INSERT OR IGNORE INTO predictions (id, model, label, labeled_ts) VALUES (?, ?, ?, ?)'),
      deleteRow: db.prepare('DELETE FROM predictions WHERE id = ? AND model = ?'),
      getState: db.prepare('SELECT value FROM state WHERE key = ?'),
      putState: db.prepare('INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      addOutbox: db.prepare('INSERT INTO outbox (topic, key, value) VALUES (?, ?, ?)'),
      // Read and emptied after every batch that joined a label: prepared once, not per call.
      readOutbox: db.prepare('SELECT seq, topic, key, value FROM outbox ORDER BY seq LIMIT ?'),
      removeOutbox: db.prepare('DELETE FROM outbox WHERE seq <= ?'),
      addDecision: db.prepare('INSERT INTO decisions (model, version, type, time, details) VALUES (?, ?, ?, ?, ?)'),
    };
    this.recount();
  }

  /** Re-reads the counters kept in memory (at open, and after a rolled-back transaction). */
  private recount(): void {
    this.joinedSeq = (this.db.prepare('SELECT MAX(joined_seq) AS seq FROM predictions').get() as { seq: number | null }).seq ?? 0;
    this.waitingPredictions = (this.db.prepare('SELECT COUNT(*) AS n FROM predictions WHERE label IS NULL').get() as { n: number }).n;
    this.early.clear();
    const rows = this.db.prepare('SELECT model, COUNT(*) AS n FROM predictions WHERE features IS NULL GROUP BY model').all() as { model: string; n: number }[];
    for (const r of rows) this.early.set(r.model, r.n);
  }

  /** Runs `fn` in one transaction: everything it wrote lands together or not at all. */
  transaction<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn)();
    } catch (err) {
      if (this.db.open) this.recount();
      throw err;
    }
  }

  /**
   * Records a prediction. Returns 'duplicate' when its (id, model) is known (a redelivery), 'pending'
   * when it now waits for its label, or the label that had arrived before it ('joined'). `judge`
   * decides whether that early label can be judged against this prediction (a reason when not); a
   * label it refuses is dropped and the prediction waits for another.
   */
  addPrediction(p: StoredPrediction, judge?: (label: string) => string | undefined): AddPredictionResult {
    if (this.stmt.insertPrediction.run(p.id, p.model, p.version, p.ts, p.features, p.output).changes === 1) {
      this.waitingPredictions += 1;
      return { status: 'pending' };
    }
    const early = (this.early.get(p.model) ?? 0) > 0 ? this.stmt.findEarlyLabel.get(p.id, p.model) : undefined;
    if (!early) return { status: 'duplicate' };
    this.changeEarly(p.model, -1);
    const reason = judge?.(early.label);
    if (reason !== undefined) {
      this.stmt.dropEarlyLabel.run(p.version, p.ts, p.features, p.output, p.id, p.model);
      this.waitingPredictions += 1;
      return { status: 'pending', rejectedLabel: { label: early.label, labeledTs: early.labeled_ts, reason } };
    }
    this.stmt.completeEarlyLabel.run(p.version, p.ts, p.features, p.output, this.joinedSeq + 1, p.id, p.model);
    this.joined(p.model);
    return { status: 'joined', label: early.label, labeledTs: early.labeled_ts };
  }

  /**
   * Records a label of `l.model` for prediction `l.id`. 'joined' hands back the prediction it
   * completes (without its features, which the join does not need) unless `judge` refuses the pair
   * ('rejected', nothing written); 'early' means that model's prediction has not arrived (yet);
   * 'duplicate' means the pair already has a label, which is kept: the first label wins.
   * `waiting`, when given, is what `pairsOf` saw of the pair before the batch: its waiting prediction,
   * or null for none. It saves looking the pair up again; should another label of the batch have
   * taken the pair since, this one is a duplicate.
   */
  addLabel(l: StoredLabel, judge?: (prediction: WaitingPrediction) => string | undefined, waiting?: WaitingPrediction | null): AddLabelResult {
    const row = waiting !== undefined ? waiting : this.waitingPredictions > 0 ? this.stmt.findWaiting.get(l.id, l.model) : undefined;
    if (row) {
      const reason = judge?.(row);
      if (reason !== undefined) return { status: 'rejected', reason };
      if (this.stmt.joinLabel.run(l.label, l.ts, this.joinedSeq + 1, l.id, l.model).changes === 1) {
        this.joined(row.model);
        this.waitingPredictions -= 1;
        return { status: 'joined', prediction: { id: l.id, model: row.model, version: row.version, ts: row.ts, output: row.output } };
      }
    }
    if (this.stmt.insertEarlyLabel.run(l.id, l.model, l.label, l.ts).changes === 0) {
      const kept = this.stmt.findLabel.get(l.id, l.model);
      return { status: 'duplicate', sameValue: kept?.label === l.label };
    }
    this.changeEarly(l.model, 1);
    return { status: 'early' };
  }

  /** The feature JSON of a stored prediction, to publish its joined example. */
  featuresOf(id: string, model: string): string | undefined {
    return this.stmt.featuresOf.get(id, model)?.features ?? undefined;
  }

  /** What the store holds under one prediction id: a pair per model (callers may reuse an id across models). */
  pairsOf(id: string): PairState[] {
    return this.stmt.pairsOfId.all(id).map((r) =>
      r.output === null
        ? { model: r.model, hasPrediction: false, hasLabel: true }
        : { model: r.model, hasPrediction: true, hasLabel: r.has_label === 1, prediction: { model: r.model, version: r.version!, ts: r.ts!, output: r.output } },
    );
  }

  private joined(model: string): void {
    this.joinedSeq += 1;
    this.joinedSinceTrim.set(model, (this.joinedSinceTrim.get(model) ?? 0) + 1);
  }

  private changeEarly(model: string, delta: number): void {
    const n = (this.early.get(model) ?? 0) + delta;
    if (n > 0) this.early.set(model, n);
    else this.early.delete(model);
  }

  /**
   * Drops predictions that waited longer than `ttlMs` for a label and labels that waited as long for
   * their prediction (both measured against `now`, the monitor's event-time watermark), then the
   * oldest waiting predictions beyond `maxPendingPredictions` (all models together) and the oldest
   * early labels of each model beyond `maxEarlyLabels`: a flood of labels for one model never pushes
   * out another model's. Returns the counts per model.
   */
  expire(now: number, bounds: ExpiryBounds): Expired[] {
    const out: Expired[] = [];
    const cutoff = now - bounds.ttlMs;
    const push = (model: string, kind: ExpiryKind, reason: ExpiryReason, count: number) => {
      if (count > 0) out.push({ model, kind, reason, count });
    };
    // MIN over the partial index is one step; the GROUP BY only runs when something is due
    const oldest = this.db.prepare('SELECT MIN(ts) AS t FROM predictions WHERE label IS NULL').get() as { t: number | null };
    if (oldest.t !== null && oldest.t < cutoff) {
      const due = this.db.prepare('SELECT model, COUNT(*) AS n FROM predictions WHERE label IS NULL AND ts < ? GROUP BY model').all(cutoff) as { model: string; n: number }[];
      for (const r of due) push(r.model, 'prediction', 'ttl', r.n);
      this.db.prepare('DELETE FROM predictions WHERE label IS NULL AND ts < ?').run(cutoff);
      this.recount();
    }
    if (this.waitingPredictions > bounds.maxPendingPredictions) {
      const victims = this.db
        .prepare('SELECT id, model FROM predictions WHERE label IS NULL ORDER BY ts, id LIMIT ?')
        .all(this.waitingPredictions - bounds.maxPendingPredictions) as { id: string; model: string }[];
      for (const v of victims) this.stmt.deleteRow.run(v.id, v.model);
      for (const { model, n } of countByModel(victims)) push(model, 'prediction', 'capacity', n);
      this.waitingPredictions -= victims.length;
    }
    for (const [model, count] of [...this.early]) {
      let left = count;
      const first = this.db.prepare('SELECT MIN(labeled_ts) AS t FROM predictions WHERE features IS NULL AND model = ?').get(model) as { t: number | null };
      if (first.t !== null && first.t < cutoff) {
        const gone = this.db.prepare('DELETE FROM predictions WHERE features IS NULL AND model = ? AND labeled_ts < ?').run(model, cutoff).changes;
        push(model, 'label', 'ttl', gone);
        left -= gone;
      }
      if (left > bounds.maxEarlyLabels) {
        const victims = this.db
          .prepare('SELECT id FROM predictions WHERE features IS NULL AND model = ? ORDER BY labeled_ts, id LIMIT ?')
          .all(model, left - bounds.maxEarlyLabels) as { id: string }[];
        for (const v of victims) this.stmt.deleteRow.run(v.id, model);
        push(model, 'label', 'capacity', victims.length);
        left -= victims.length;
      }
      this.changeEarly(model, left - count);
    }
    return out;
  }

  /**
   * Keeps the newest `labeledWindow` joined examples of a model; older ones leave the store. Cheap to
   * call after every batch: it only reads the table once a tenth of the window has been joined.
   */
  trimLabeled(model: string, force = false): void {
    const since = this.joinedSinceTrim.get(model) ?? 0;
    if (!force && since < Math.max(1, Math.floor(this.labeledWindow / 10))) return;
    this.joinedSinceTrim.set(model, 0);
    const row = this.db
      .prepare('SELECT joined_seq AS seq FROM predictions WHERE model = ? AND joined_seq IS NOT NULL ORDER BY joined_seq DESC LIMIT 1 OFFSET ?')
      .get(model, this.labeledWindow) as { seq: number } | undefined;
    if (row) this.db.prepare('DELETE FROM predictions WHERE model = ? AND joined_seq IS NOT NULL AND joined_seq <= ?').run(model, row.seq);
  }

  /** Entries waiting to be joined: predictions without their label, labels without their prediction. */
  pendingCounts(): { predictions: number; labels: number } {
    let labels = 0;
    for (const n of this.early.values()) labels += n;
    return { predictions: this.waitingPredictions, labels };
  }

  /** Early labels (waiting for their prediction) per model; models without any are left out. */
  earlyLabelCounts(): Map<string, number> {
    return new Map(this.early);
  }

  /** The labeled window of a model, newest first (at most `limit` examples). */
  labeledExamples(model: string, limit = this.labeledWindow): JoinedExample[] {
    limit = Math.min(limit, this.labeledWindow);
    const rows = this.db
      .prepare(
        'SELECT id, model, version, ts, labeled_ts, features, output, label FROM predictions WHERE model = ? AND joined_seq IS NOT NULL ORDER BY joined_seq DESC LIMIT ?',
      )
      .all(model, limit) as { id: string; model: string; version: number; ts: number; labeled_ts: number; features: string; output: string; label: string }[];
    return rows.flatMap((r) => {
      const columns = this.restore(joinedColumns, () => ({ features: JSON.parse(r.features), output: JSON.parse(r.output), label: JSON.parse(r.label) }), {
        table: 'predictions',
        id: r.id,
        model: r.model,
      });
      return columns ? [{ id: r.id, model: r.model, version: r.version, ts: r.ts, labeledTs: r.labeled_ts, ...columns }] : [];
    });
  }

  labeledCount(model: string): number {
    // at most the window: rows past it may linger until the next trim, but are no longer part of it
    return (
      this.db
        .prepare('SELECT COUNT(*) AS n FROM (SELECT 1 FROM predictions WHERE model = ? AND joined_seq IS NOT NULL ORDER BY joined_seq DESC LIMIT ?)')
        .get(model, this.labeledWindow) as { n: number }
    ).n;
  }

  /**
   * The state stored under `key`, read through its schema. Undefined when there is none, and when the
   * stored value is not JSON or does not fit (logged): the caller then starts that state afresh.
   */
  getState<T>(key: string, schema: z.ZodType<T>): T | undefined {
    const row = this.stmt.getState.get(key);
    return row ? this.restore(schema, () => JSON.parse(row.value), { table: 'state', key }) : undefined;
  }

  putState(key: string, value: unknown): void {
    this.stmt.putState.run(key, JSON.stringify(value));
  }

  /** Keys of stored state that start with `prefix`. */
  stateKeys(prefix: string): string[] {
    const rows = this.db.prepare("SELECT key FROM state WHERE key >= ? AND key < ? || x'ff'").all(prefix, prefix) as { key: string }[];
    return rows.map((r) => r.key);
  }

  addOutbox(topic: string, key: string, value: string): void {
    this.stmt.addOutbox.run(topic, key, value);
  }

  outbox(limit = 1000): OutboxEntry[] {
    return this.stmt.readOutbox.all(limit);
  }

  removeOutbox(upToSeq: number): void {
    this.stmt.removeOutbox.run(upToSeq);
  }

  addDecision(model: string, version: number, type: string, time: number, details: Record<string, unknown>): void {
    this.stmt.addDecision.run(model, version, type, time, JSON.stringify(details));
    this.db
      .prepare('DELETE FROM decisions WHERE model = ? AND seq <= (SELECT seq FROM decisions WHERE model = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)')
      .run(model, model, DECISION_HISTORY);
  }

  /** The decision history, oldest first; one model's, or every model's. */
  decisions(model?: string, limit = 100): DecisionRecord[] {
    const rows = (
      model === undefined
        ? this.db.prepare('SELECT * FROM (SELECT * FROM decisions ORDER BY seq DESC LIMIT ?) ORDER BY seq').all(limit)
        : this.db.prepare('SELECT * FROM (SELECT * FROM decisions WHERE model = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq').all(model, limit)
    ) as { seq: number; model: string; version: number; type: string; time: number; details: string }[];
    return rows.flatMap((r) => {
      const details = this.restore(decisionDetails, () => JSON.parse(r.details), { table: 'decisions', seq: r.seq, model: r.model });
      return details ? [{ ...r, details }] : [];
    });
  }

  /**
   * A stored row's JSON read back through its schema. A row that is not valid JSON or does not fit
   * (a file written by another version, or damaged) is logged and skipped: one bad row must not stop
   * the monitor from reading the rest.
   */
  private restore<T>(schema: z.ZodType<T>, read: () => unknown, where: Record<string, string | number>): T | undefined {
    let json: unknown;
    try {
      json = read();
    } catch (err) {
      this.logger.warn('skipping a stored row that is not valid JSON', { ...where, error: describeError(err) });
      return undefined;
    }
    const parsed = schema.safeParse(json);
    if (parsed.success) return parsed.data;
    this.logger.warn('skipping a stored row that does not fit its schema', { ...where, error: parsed.error.issues.map((i) => `${i.path.join('.') || '(row)'}: ${i.message}`).join('; ') });
    return undefined;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function countByModel(rows: { model: string }[]): { model: string; n: number }[] {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.model, (counts.get(r.model) ?? 0) + 1);
  return [...counts].map(([model, n]) => ({ model, n }));
}
