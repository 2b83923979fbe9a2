// The monitor's durable state, in one SQLite file: predictions waiting for their label, labels that
// arrived first, the labeled window per model (what retraining learns from), state snapshots of the
// windows and the policy, and an outbox of decisions still to be published. Every batch of events is
// applied in one transaction, and the bus commits the batch's offsets only after that transaction, so
// a monitor killed at any point restarts from a consistent state and replays at most the batch it was
// in; the primary keys on prediction ids make that replay a no-op (nothing is counted twice).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';

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
export interface Expired {
  model: string;
  kind: 'prediction' | 'label';
  reason: ExpiryReason;
  count: number;
}

export interface MonitorStoreOptions {
  /** File of the SQLite database; ':memory:' keeps it in memory (tests). */
  path: string;
  /** Joined examples kept per model, newest first. @defaultValue 10000 */
  labeledWindow?: number;
}

/**
 * One row per prediction id. A prediction and its label may come in either order, so a row starts as
 * whichever half arrives first: a waiting prediction (label NULL) or a waiting label (features NULL).
 * `joined_seq` numbers the rows that have both halves, in the order they were joined.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS predictions (
  id TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  version INTEGER,
  ts INTEGER,
  features TEXT,
  output TEXT,
  label TEXT,
  labeled_ts INTEGER,
  joined_seq INTEGER
);
CREATE INDEX IF NOT EXISTS predictions_waiting ON predictions(ts) WHERE label IS NULL;
CREATE INDEX IF NOT EXISTS labels_waiting ON predictions(labeled_ts) WHERE features IS NULL;
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

/** Layout version of the file, in SQLite's user_version; a file of another layout is refused. */
const STORE_LAYOUT = 1;

/** How many decisions per model the history keeps. */
const DECISION_HISTORY = 1000;

type Waiting = { model: string; version: number; ts: number; output: string };

export class MonitorStore {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly labeledWindow: number;
  private joinedSeq = 0;
  private waiting = { predictions: 0, labels: 0 };
  private readonly joinedSinceTrim = new Map<string, number>();
  private readonly stmt: {
    insertPrediction: Statement<[string, string, number, number, string, string]>;
    findEarlyLabel: Statement<[string], { label: string; labeled_ts: number }>;
    completeEarlyLabel: Statement<[string, number, number, string, string, number, string]>;
    findWaiting: Statement<[string], Waiting>;
    joinLabel: Statement<[string, number, number, string]>;
    insertEarlyLabel: Statement<[string, string, string, number]>;
    getState: Statement<[string], { value: string }>;
    putState: Statement<[string, string]>;
    addOutbox: Statement<[string, string, string]>;
    addDecision: Statement<[string, number, string, number, string]>;
  };

  constructor(opts: MonitorStoreOptions) {
    this.path = opts.path;
    this.labeledWindow = opts.labeledWindow ?? 10_000;
    if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
    this.db = new Database(opts.path);
    const layout = this.db.pragma('user_version', { simple: true }) as number;
    const empty = (this.db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }).n === 0;
    if (!empty && layout !== STORE_LAYOUT) {
      this.db.close();
      throw new Error(`monitor store ${opts.path} has layout ${layout}, this build reads layout ${STORE_LAYOUT}; move the file away to start afresh`);
    }
    // WAL lets a reader (the status endpoint, a retrain) run beside the writer; FULL makes a
    // committed transaction survive a power cut, since the bus commits offsets right after it.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    // Rows are looked up by id in random order: a page cache that holds the working set (64 MiB)
    // keeps those lookups off the file system.
    this.db.pragma('cache_size = -65536');
    this.db.exec(SCHEMA);
    this.db.pragma(`user_version = ${STORE_LAYOUT}`);
    const db = this.db;
    this.stmt = {
      // The common cases cost one statement per event: a new prediction, and a label whose prediction
      // waits (a SELECT then an UPDATE, cheaper than UPDATE ... RETURNING: 6 against 12 µs measured).
      // Labels that come first and redeliveries take one or two more.
      insertPrediction: db.prepare('INSERT OR IGNORE INTO predictions (id, model, version, ts, features, output) VALUES (?, ?, ?, ?, ?, ?)'),
      findEarlyLabel: db.prepare('SELECT label, labeled_ts FROM predictions WHERE id = ? AND features IS NULL'),
      completeEarlyLabel: db.prepare('UPDATE predictions SET model = ?, version = ?, ts = ?, features = ?, output = ?, joined_seq = ? WHERE id = ?'),
      findWaiting: db.prepare('SELECT model, version, ts, output FROM predictions WHERE id = ? AND label IS NULL AND features IS NOT NULL'),
      joinLabel: db.prepare('UPDATE predictions SET label = ?, labeled_ts = ?, joined_seq = ? WHERE id = ?'),
      insertEarlyLabel: db.prepare('INSERT OR IGNORE INTO predictions (id, model, label, labeled_ts) VALUES (?, ?, ?, ?)'),
      getState: db.prepare('SELECT value FROM state WHERE key = ?'),
      putState: db.prepare('INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      addOutbox: db.prepare('INSERT INTO outbox (topic, key, value) VALUES (?, ?, ?)'),
      addDecision: db.prepare('INSERT INTO decisions (model, version, type, time, details) VALUES (?, ?, ?, ?, ?)'),
    };
    this.recount();
  }

  /** Re-reads the counters kept in memory (at open, and after a rolled-back transaction). */
  private recount(): void {
    this.joinedSeq = (this.db.prepare('SELECT MAX(joined_seq) AS seq FROM predictions').get() as { seq: number | null }).seq ?? 0;
    const p = this.db.prepare('SELECT COUNT(*) AS n FROM predictions WHERE label IS NULL').get() as { n: number };
    const l = this.db.prepare('SELECT COUNT(*) AS n FROM predictions WHERE features IS NULL').get() as { n: number };
    this.waiting = { predictions: p.n, labels: l.n };
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
   * Records a prediction. Returns 'duplicate' when its id is known (a redelivery), 'pending' when it
   * now waits for its label, or the label that had arrived before it ('joined').
   */
  addPrediction(p: StoredPrediction): { status: 'duplicate' | 'pending' } | { status: 'joined'; label: string; labeledTs: number } {
    if (this.stmt.insertPrediction.run(p.id, p.model, p.version, p.ts, p.features, p.output).changes === 1) {
      this.waiting.predictions += 1;
      return { status: 'pending' };
    }
    const early = this.waiting.labels > 0 ? this.stmt.findEarlyLabel.get(p.id) : undefined;
    if (!early) return { status: 'duplicate' };
    this.stmt.completeEarlyLabel.run(p.model, p.version, p.ts, p.features, p.output, this.joinedSeq + 1, p.id);
    this.joined(p.model);
    this.waiting.labels -= 1;
    return { status: 'joined', label: early.label, labeledTs: early.labeled_ts };
  }

  /**
   * Records a label. 'joined' hands back the prediction it completes (without its features, which the
   * join does not need); 'early' means the prediction has not arrived (yet); 'duplicate' means this id
   * already has a label.
   */
  addLabel(l: StoredLabel): { status: 'duplicate' | 'early' } | { status: 'joined'; prediction: Omit<StoredPrediction, 'features'> } {
    const row = this.waiting.predictions > 0 ? this.stmt.findWaiting.get(l.id) : undefined;
    if (row) {
      this.stmt.joinLabel.run(l.label, l.ts, this.joinedSeq + 1, l.id);
      this.joined(row.model);
      this.waiting.predictions -= 1;
      return { status: 'joined', prediction: { id: l.id, model: row.model, version: row.version, ts: row.ts, output: row.output } };
    }
    if (this.stmt.insertEarlyLabel.run(l.id, l.model, l.label, l.ts).changes === 0) return { status: 'duplicate' };
    this.waiting.labels += 1;
    return { status: 'early' };
  }

  private joined(model: string): void {
    this.joinedSeq += 1;
    this.joinedSinceTrim.set(model, (this.joinedSinceTrim.get(model) ?? 0) + 1);
  }

  /**
   * Drops predictions that waited longer than `ttlMs` for a label and labels that waited as long for
   * their prediction (both measured against `now`, the monitor's event-time watermark), then the
   * oldest waiting entries beyond `maxPending` of each kind. Returns the counts per model.
   */
  expire(now: number, ttlMs: number, maxPending: number): Expired[] {
    const out: Expired[] = [];
    const cutoff = now - ttlMs;
    const collect = (rows: { model: string; n: number }[], kind: Expired['kind'], reason: ExpiryReason) => {
      for (const r of rows) if (r.n > 0) out.push({ model: r.model, kind, reason, count: r.n });
    };
    const kinds = [
      { kind: 'prediction' as const, where: 'label IS NULL', time: 'ts' },
      { kind: 'label' as const, where: 'features IS NULL', time: 'labeled_ts' },
    ];
    for (const { kind, where, time } of kinds) {
      // MIN over the partial index is one step; the GROUP BY only runs when something is due
      const oldest = this.db.prepare(`SELECT MIN(${time}) AS t FROM predictions WHERE ${where}`).get() as { t: number | null };
      if (oldest.t !== null && oldest.t < cutoff) {
        collect(this.db.prepare(`SELECT model, COUNT(*) AS n FROM predictions WHERE ${where} AND ${time} < ? GROUP BY model`).all(cutoff) as { model: string; n: number }[], kind, 'ttl');
        this.db.prepare(`DELETE FROM predictions WHERE ${where} AND ${time} < ?`).run(cutoff);
        this.recount();
      }
      const count = kind === 'prediction' ? this.waiting.predictions : this.waiting.labels;
      if (count > maxPending) {
        const victims = this.db.prepare(`SELECT id, model FROM predictions WHERE ${where} ORDER BY ${time}, id LIMIT ?`).all(count - maxPending) as { id: string; model: string }[];
        const del = this.db.prepare('DELETE FROM predictions WHERE id = ?');
        for (const v of victims) del.run(v.id);
        collect(countByModel(victims), kind, 'capacity');
        this.recount();
      }
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
    return { ...this.waiting };
  }

  /** The labeled window of a model, newest first (at most `limit` examples). */
  labeledExamples(model: string, limit = this.labeledWindow): JoinedExample[] {
    limit = Math.min(limit, this.labeledWindow);
    const rows = this.db
      .prepare(
        'SELECT id, model, version, ts, labeled_ts, features, output, label FROM predictions WHERE model = ? AND joined_seq IS NOT NULL ORDER BY joined_seq DESC LIMIT ?',
      )
      .all(model, limit) as { id: string; model: string; version: number; ts: number; labeled_ts: number; features: string; output: string; label: string }[];
    return rows.map((r) => ({
      id: r.id,
      model: r.model,
      version: r.version,
      ts: r.ts,
      labeledTs: r.labeled_ts,
      features: JSON.parse(r.features) as JoinedExample['features'],
      output: JSON.parse(r.output) as unknown,
      label: JSON.parse(r.label) as string | number,
    }));
  }

  labeledCount(model: string): number {
    // at most the window: rows past it may linger until the next trim, but are no longer part of it
    return (
      this.db
        .prepare('SELECT COUNT(*) AS n FROM (SELECT 1 FROM predictions WHERE model = ? AND joined_seq IS NOT NULL ORDER BY joined_seq DESC LIMIT ?)')
        .get(model, this.labeledWindow) as { n: number }
    ).n;
  }

  getState<T>(key: string): T | undefined {
    const row = this.stmt.getState.get(key);
    return row ? (JSON.parse(row.value) as T) : undefined;
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
    return this.db.prepare('SELECT seq, topic, key, value FROM outbox ORDER BY seq LIMIT ?').all(limit) as OutboxEntry[];
  }

  removeOutbox(upToSeq: number): void {
    this.db.prepare('DELETE FROM outbox WHERE seq <= ?').run(upToSeq);
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
    return rows.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
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
