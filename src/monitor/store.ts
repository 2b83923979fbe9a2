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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS predictions (
  id TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  version INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  features TEXT NOT NULL,
  output TEXT NOT NULL,
  label TEXT,
  labeled_ts INTEGER,
  joined_seq INTEGER
);
CREATE INDEX IF NOT EXISTS predictions_pending ON predictions(ts) WHERE label IS NULL;
CREATE INDEX IF NOT EXISTS predictions_joined ON predictions(model, joined_seq) WHERE label IS NOT NULL;
CREATE TABLE IF NOT EXISTS early_labels (
  id TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  label TEXT NOT NULL,
  ts INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS early_labels_ts ON early_labels(ts);
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

/** How many decisions per model the history keeps. */
const DECISION_HISTORY = 1000;

export class MonitorStore {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly labeledWindow: number;
  private joinedSeq: number;
  private readonly stmt: {
    insertPrediction: Statement<[string, string, number, number, string, string]>;
    joinPrediction: Statement<[string, number, number, string]>;
    findPrediction: Statement<[string], { label: string | null; model: string; version: number; ts: number; features: string; output: string }>;
    insertEarlyLabel: Statement<[string, string, string, number]>;
    takeEarlyLabel: Statement<[string], { label: string; ts: number; model: string }>;
    deleteEarlyLabel: Statement<[string]>;
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
    // WAL lets a reader (the metrics endpoint, a retrain) run beside the writer; FULL makes a
    // committed transaction survive a power cut, since the bus commits offsets right after it.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
    const db = this.db;
    this.stmt = {
      insertPrediction: db.prepare('INSERT OR IGNORE INTO predictions (id, model, version, ts, features, output) VALUES (?, ?, ?, ?, ?, ?)'),
      joinPrediction: db.prepare('UPDATE predictions SET label = ?, labeled_ts = ?, joined_seq = ? WHERE id = ? AND label IS NULL'),
      findPrediction: db.prepare('SELECT label, model, version, ts, features, output FROM predictions WHERE id = ?'),
      insertEarlyLabel: db.prepare('INSERT OR IGNORE INTO early_labels (id, model, label, ts) VALUES (?, ?, ?, ?)'),
      takeEarlyLabel: db.prepare('SELECT label, ts, model FROM early_labels WHERE id = ?'),
      deleteEarlyLabel: db.prepare('DELETE FROM early_labels WHERE id = ?'),
      getState: db.prepare('SELECT value FROM state WHERE key = ?'),
      putState: db.prepare('INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      addOutbox: db.prepare('INSERT INTO outbox (topic, key, value) VALUES (?, ?, ?)'),
      addDecision: db.prepare('INSERT INTO decisions (model, version, type, time, details) VALUES (?, ?, ?, ?, ?)'),
    };
    const row = db.prepare('SELECT MAX(joined_seq) AS seq FROM predictions').get() as { seq: number | null };
    this.joinedSeq = row.seq ?? 0;
  }

  /** Runs `fn` in one transaction: everything it wrote lands together or not at all. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /**
   * Records a prediction. Returns 'duplicate' when its id is known (a redelivery), 'pending' when it
   * now waits for its label, or the label that had arrived before it ('joined').
   */
  addPrediction(p: StoredPrediction): { status: 'duplicate' | 'pending' } | { status: 'joined'; label: string; labeledTs: number } {
    const inserted = this.stmt.insertPrediction.run(p.id, p.model, p.version, p.ts, p.features, p.output).changes === 1;
    if (!inserted) return { status: 'duplicate' };
    const early = this.stmt.takeEarlyLabel.get(p.id);
    if (!early) return { status: 'pending' };
    this.stmt.deleteEarlyLabel.run(p.id);
    this.stmt.joinPrediction.run(early.label, early.ts, ++this.joinedSeq, p.id);
    return { status: 'joined', label: early.label, labeledTs: early.ts };
  }

  /**
   * Records a label. 'joined' hands back the prediction it completes; 'early' means the prediction has
   * not arrived (yet); 'duplicate' means this id already has a label, or an early label waits for it.
   */
  addLabel(l: StoredLabel):
    | { status: 'duplicate' | 'early' }
    | { status: 'joined'; prediction: StoredPrediction } {
    const found = this.stmt.findPrediction.get(l.id);
    if (found) {
      if (found.label !== null) return { status: 'duplicate' };
      this.stmt.joinPrediction.run(l.label, l.ts, ++this.joinedSeq, l.id);
      return {
        status: 'joined',
        prediction: { id: l.id, model: found.model, version: found.version, ts: found.ts, features: found.features, output: found.output },
      };
    }
    const inserted = this.stmt.insertEarlyLabel.run(l.id, l.model, l.label, l.ts).changes === 1;
    return { status: inserted ? 'early' : 'duplicate' };
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
    collect(
      this.db.prepare('SELECT model, COUNT(*) AS n FROM predictions WHERE label IS NULL AND ts < ? GROUP BY model').all(cutoff) as { model: string; n: number }[],
      'prediction',
      'ttl',
    );
    this.db.prepare('DELETE FROM predictions WHERE label IS NULL AND ts < ?').run(cutoff);
    collect(
      this.db.prepare('SELECT model, COUNT(*) AS n FROM early_labels WHERE ts < ? GROUP BY model').all(cutoff) as { model: string; n: number }[],
      'label',
      'ttl',
    );
    this.db.prepare('DELETE FROM early_labels WHERE ts < ?').run(cutoff);

    const pending = this.pendingCounts();
    if (pending.predictions > maxPending) {
      const excess = pending.predictions - maxPending;
      const victims = this.db
        .prepare('SELECT id, model FROM predictions WHERE label IS NULL ORDER BY ts, id LIMIT ?')
        .all(excess) as { id: string; model: string }[];
      const del = this.db.prepare('DELETE FROM predictions WHERE id = ?');
      for (const v of victims) del.run(v.id);
      collect(countByModel(victims), 'prediction', 'capacity');
    }
    if (pending.labels > maxPending) {
      const excess = pending.labels - maxPending;
      const victims = this.db.prepare('SELECT id, model FROM early_labels ORDER BY ts, id LIMIT ?').all(excess) as { id: string; model: string }[];
      const del = this.db.prepare('DELETE FROM early_labels WHERE id = ?');
      for (const v of victims) del.run(v.id);
      collect(countByModel(victims), 'label', 'capacity');
    }
    return out;
  }

  /** Keeps the newest `labeledWindow` joined examples of a model; older ones leave the store. */
  trimLabeled(model: string): void {
    const row = this.db
      .prepare('SELECT joined_seq AS seq FROM predictions WHERE model = ? AND label IS NOT NULL ORDER BY joined_seq DESC LIMIT 1 OFFSET ?')
      .get(model, this.labeledWindow) as { seq: number } | undefined;
    if (row) this.db.prepare('DELETE FROM predictions WHERE model = ? AND label IS NOT NULL AND joined_seq <= ?').run(model, row.seq);
  }

  pendingCounts(): { predictions: number; labels: number } {
    const p = this.db.prepare('SELECT COUNT(*) AS n FROM predictions WHERE label IS NULL').get() as { n: number };
    const l = this.db.prepare('SELECT COUNT(*) AS n FROM early_labels').get() as { n: number };
    return { predictions: p.n, labels: l.n };
  }

  /** The labeled window of a model, newest first (at most `limit` examples). */
  labeledExamples(model: string, limit = this.labeledWindow): JoinedExample[] {
    const rows = this.db
      .prepare(
        'SELECT id, model, version, ts, labeled_ts, features, output, label FROM predictions WHERE model = ? AND label IS NOT NULL ORDER BY joined_seq DESC LIMIT ?',
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
    return (this.db.prepare('SELECT COUNT(*) AS n FROM predictions WHERE model = ? AND label IS NOT NULL').get(model) as { n: number }).n;
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
