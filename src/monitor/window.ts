// The current drift window of one model version: live rows accumulate here until the window closes (by
// count, or by event time), then the drift tests read its contents. Memory is bounded by the spec, not by
// the stream: rows sit in fixed typed-array slots (a ring buffer for count windows, a seeded reservoir for
// windows larger than maxSamples), and the whole state snapshots to JSON so that a restarted monitor
// closes the same windows with the same contents.

export interface WindowSpec {
  /**
   * Rows per window: a window closes as soon as it holds this many. `Infinity` (tumbling, with
   * durationMs > 0) makes a purely time-based window.
   */
  size: number;
  /**
   * Rows between two evaluations. `step === size`: tumbling windows; `step < size`: sliding windows,
   * evaluated every `step` new rows over the last `size` rows.
   */
  step: number;
  /**
   * 0 turns time closing off. Otherwise the window also closes when the event time elapsed since the
   * first row added after the previous close reaches durationMs and the window holds at least
   * minSamples rows (for sliding windows this caps how long an evaluation waits for `step` rows).
   */
  durationMs: number;
  /** Fewest rows a window must hold to close on time; below it the window keeps filling. */
  minSamples: number;
  /**
   * Most rows a tumbling window keeps: beyond it the window keeps a uniform reservoir sample (seeded and
   * deterministic) while still counting every row. A sliding window must fit in it entirely, since a
   * reservoir cannot forget the rows that slide out. @defaultValue 10_000
   */
  maxSamples?: number;
  /** Seed of the reservoir sample. @defaultValue 0 */
  seed?: number;
}

export interface WindowColumn {
  name: string;
  kind: 'numeric' | 'categorical';
}

/** One column of a closed window: only its present values; `missing` counts the rows without one. */
export type WindowColumnValues =
  | { kind: 'numeric'; sorted: Float64Array; missing: number }
  | { kind: 'categorical'; counts: Map<string, number>; total: number; missing: number };

export interface WindowContents {
  /** 0, 1, 2, ... per version. */
  index: number;
  /** Earliest and latest event time among the window's rows. */
  startTime: number;
  endTime: number;
  /** Rows in the window, including any the reservoir did not keep. */
  rows: number;
  columns: Record<string, WindowColumnValues>;
}

/**
 * A live row. Missing, null, non-finite or unparsable values are missing for that column. Numeric
 * columns also accept numeric strings and booleans (1/0); categorical values are keyed by their string form.
 */
export type WindowRow = Readonly<Record<string, number | string | boolean | null | undefined>>;

export const DEFAULT_MAX_SAMPLES = 10_000;

type Store =
  | { kind: 'numeric'; name: string; values: Float64Array; missing: number }
  | { kind: 'categorical'; name: string; codes: Int32Array; dictionary: string[]; lookup: Map<string, number>; missing: number };

const SNAPSHOT_VERSION = 1;

interface Snapshot {
  v: number;
  index: number;
  rows: number;
  fresh: number;
  freshStart: number | null;
  minTime: number | null;
  maxTime: number | null;
  /** Event time of each kept row, in slot order (oldest first for a ring). */
  times: number[];
  columns: SnapshotColumn[];
}

type SnapshotColumn =
  | { name: string; kind: 'numeric'; values: (number | null)[]; missing: number }
  | { name: string; kind: 'categorical'; dictionary: string[]; codes: number[]; missing: number };

export class DriftWindow {
  private readonly size: number;
  private readonly step: number;
  private readonly durationMs: number;
  private readonly minSamples: number;
  private readonly seed: number;
  /** Slots per column: the window size, or maxSamples for a reservoir. */
  private readonly capacity: number;
  private readonly reservoir: boolean;
  private readonly stores: Store[];
  private readonly times: Float64Array;
  /** Slot of the oldest row (rings only; a reservoir fills slots from 0). */
  private head = 0;
  /** Occupied slots. */
  private length = 0;
  /** Rows added to a reservoir window, kept or not. */
  private seen = 0;
  /** Rows added since the last close, and the event time of the first of them. */
  private fresh = 0;
  private freshStart = Number.NaN;
  /** Event-time range of a reservoir window (over every row, not just the kept ones). */
  private minTime = Number.POSITIVE_INFINITY;
  private maxTime = Number.NEGATIVE_INFINITY;
  private index = 0;
  private windowHash = 0;

  constructor(spec: WindowSpec, columns: readonly WindowColumn[]) {
    const maxSamples = spec.maxSamples ?? DEFAULT_MAX_SAMPLES;
    validateSpec(spec, maxSamples);
    const names = new Set<string>();
    for (const c of columns) {
      if (names.has(c.name)) throw new Error(`DriftWindow: column "${c.name}" is listed twice`);
      names.add(c.name);
    }
    this.size = spec.size;
    this.step = spec.step;
    this.durationMs = spec.durationMs;
    this.minSamples = spec.minSamples;
    this.seed = spec.seed ?? 0;
    this.reservoir = spec.size > maxSamples;
    this.capacity = this.reservoir ? maxSamples : spec.size;
    this.times = new Float64Array(this.capacity);
    this.stores = columns.map((c): Store =>
      c.kind === 'numeric'
        ? { kind: 'numeric', name: c.name, values: new Float64Array(this.capacity), missing: 0 }
        : { kind: 'categorical', name: c.name, codes: new Int32Array(this.capacity), dictionary: [], lookup: new Map(), missing: 0 },
    );
    this.windowHash = hashWindow(this.seed, this.index);
  }

  /** Rows in the current window (for a reservoir, including the ones it did not keep). */
  get rows(): number {
    return this.reservoir ? this.seen : this.length;
  }

  /** Index the next closed window will have. */
  get nextIndex(): number {
    return this.index;
  }

  add(row: WindowRow, time: number): void {
    if (!Number.isFinite(time)) throw new RangeError(`DriftWindow.add: event time must be a finite number, got ${time}`);
    const slot = this.claimSlot();
    for (const store of this.stores) {
      const raw = row[store.name];
      if (store.kind === 'numeric') {
        const x = toNumber(raw);
        if (slot >= 0) store.values[slot] = x;
        if (this.reservoir && Number.isNaN(x)) store.missing++;
      } else {
        const category = toCategory(raw);
        if (slot >= 0) store.codes[slot] = category === undefined ? -1 : codeOf(store, category);
        if (this.reservoir && category === undefined) store.missing++;
        // An identifier-like column would otherwise grow the dictionary with every row.
        if (store.dictionary.length > 2 * this.capacity + 64) this.compact(store);
      }
    }
    if (slot >= 0) this.times[slot] = time;
    if (this.reservoir) {
      if (time < this.minTime) this.minTime = time;
      if (time > this.maxTime) this.maxTime = time;
    }
    if (this.fresh === 0) this.freshStart = time;
    this.fresh++;
  }

  /** Whether the window has closed: by count, or by event time `now` (see WindowSpec.durationMs). */
  ready(now: number): boolean {
    const rows = this.rows;
    if (rows >= this.size) return true;
    return this.durationMs > 0 && this.fresh > 0 && rows >= this.minSamples && now - this.freshStart >= this.durationMs;
  }

  /**
   * Returns the window's contents and advances: a tumbling window starts empty, a sliding one keeps its
   * last `size - step` rows. Throws on an empty window, which has nothing to test.
   */
  take(): WindowContents {
    if (this.rows === 0) throw new RangeError('DriftWindow.take: the window is empty');
    const columns: Record<string, WindowColumnValues> = {};
    for (const store of this.stores) {
      // defineProperty: a column called "__proto__" must be data, not the object's prototype.
      Object.defineProperty(columns, store.name, { value: this.columnValues(store), enumerable: true, writable: true, configurable: true });
    }
    let startTime = this.minTime;
    let endTime = this.maxTime;
    if (!this.reservoir) {
      startTime = Number.POSITIVE_INFINITY;
      endTime = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < this.length; i++) {
        const t = this.times[this.slotAt(i)]!;
        if (t < startTime) startTime = t;
        if (t > endTime) endTime = t;
      }
    }
    const contents: WindowContents = { index: this.index, startTime, endTime, rows: this.rows, columns };
    this.advance();
    return contents;
  }

  /** The window's state as plain JSON (arrays of numbers and strings). */
  snapshot(): unknown {
    const slots = Array.from({ length: this.length }, (_, i) => this.slotAt(i));
    const columns = this.stores.map((store): SnapshotColumn => {
      if (store.kind === 'numeric') {
        return { name: store.name, kind: 'numeric', values: slots.map((s) => jsonNumber(store.values[s]!)), missing: store.missing };
      }
      // Only the categories still in use, renumbered, so the snapshot does not carry stale ones.
      const renumber = new Map<number, number>();
      const dictionary: string[] = [];
      const codes = slots.map((s) => {
        const code = store.codes[s]!;
        if (code < 0) return -1;
        let next = renumber.get(code);
        if (next === undefined) {
          next = dictionary.length;
          renumber.set(code, next);
          dictionary.push(store.dictionary[code]!);
        }
        return next;
      });
      return { name: store.name, kind: 'categorical', dictionary, codes, missing: store.missing };
    });
    const snapshot: Snapshot = {
      v: SNAPSHOT_VERSION,
      index: this.index,
      rows: this.rows,
      fresh: this.fresh,
      freshStart: jsonNumber(this.freshStart),
      minTime: jsonNumber(this.minTime),
      maxTime: jsonNumber(this.maxTime),
      times: slots.map((s) => this.times[s]!),
      columns,
    };
    return snapshot;
  }

  /**
   * Rebuilds a window from `snapshot()`. With the same spec and columns it continues exactly: the same
   * windows close with the same contents. If the spec or columns changed meanwhile, it continues as well
   * as it can: columns are matched by name (new ones start missing), kept rows are replayed into the
   * new window (a ring keeps the newest that fit), and a reservoir that had already subsampled but now
   * has a different capacity restarts its count from the rows it kept. Throws on a malformed snapshot.
   */
  static restore(json: unknown, spec: WindowSpec, columns: readonly WindowColumn[]): DriftWindow {
    const snap = parseSnapshot(json);
    const window = new DriftWindow(spec, columns);
    window.index = snap.index;
    window.windowHash = hashWindow(window.seed, window.index);
    const kept = snap.times.length;
    const byName = new Map(snap.columns.map((c) => [c.name, c]));
    const subsampled = snap.rows > kept;

    if (subsampled && window.reservoir && kept === window.capacity) {
      // A reservoir in mid-stream: its slots and count are the state Algorithm R continues from.
      window.seen = snap.rows;
      window.length = kept;
      window.times.set(snap.times);
      for (const store of window.stores) {
        const saved = byName.get(store.name);
        const fits = saved !== undefined && saved.kind === store.kind;
        store.missing = fits ? saved.missing : snap.rows;
        for (let i = 0; i < kept; i++) writeSaved(store, i, fits ? saved : undefined, i);
      }
    } else {
      for (let i = 0; i < kept; i++) {
        const slot = window.claimSlot();
        if (slot >= 0) window.times[slot] = snap.times[i]!;
        for (const store of window.stores) {
          const saved = byName.get(store.name);
          const fits = saved !== undefined && saved.kind === store.kind;
          if (slot >= 0) writeSaved(store, slot, fits ? saved : undefined, i);
          if (window.reservoir && isMissing(store, slot, fits ? saved : undefined, i)) store.missing++;
        }
      }
    }
    if (window.reservoir) {
      window.minTime = snap.minTime ?? Number.POSITIVE_INFINITY;
      window.maxTime = snap.maxTime ?? Number.NEGATIVE_INFINITY;
      // A ring's snapshot has no running range: its rows' own times are the range.
      if (snap.minTime === null || snap.maxTime === null) {
        for (const t of snap.times) {
          window.minTime = Math.min(window.minTime, t);
          window.maxTime = Math.max(window.maxTime, t);
        }
      }
    }
    window.fresh = window.rows > 0 ? snap.fresh : 0;
    window.freshStart = window.fresh > 0 ? (snap.freshStart ?? Number.NaN) : Number.NaN;
    return window;
  }

  private slotAt(i: number): number {
    const s = this.head + i;
    return s >= this.capacity ? s - this.capacity : s;
  }

  /** Slot for a new row; -1 when a reservoir does not keep it. */
  private claimSlot(): number {
    if (!this.reservoir) {
      if (this.length < this.capacity) return this.slotAt(this.length++);
      // An untaken full ring keeps the newest rows, the sliding-window meaning of "the last size rows".
      const slot = this.head;
      this.head = this.slotAt(1);
      return slot;
    }
    const n = this.seen++;
    if (n < this.capacity) {
      this.length++;
      return n;
    }
    // Algorithm R: the n-th row (0-based) replaces a random slot with probability capacity / (n + 1).
    // The uniform draw is a hash of (seed, window, n), so the reservoir needs no generator state to
    // snapshot and a restored window draws exactly what the original would have.
    const j = Math.floor(uniformAt(this.windowHash, n) * (n + 1));
    return j < this.capacity ? j : -1;
  }

  private columnValues(store: Store): WindowColumnValues {
    if (store.kind === 'numeric') {
      const present = new Float64Array(this.length);
      let count = 0;
      for (let i = 0; i < this.length; i++) {
        const x = store.values[this.slotAt(i)]!;
        if (!Number.isNaN(x)) present[count++] = x;
      }
      const sorted = present.subarray(0, count).sort();
      return { kind: 'numeric', sorted: count === present.length ? sorted : sorted.slice(), missing: this.reservoir ? store.missing : this.length - count };
    }
    const tally = new Float64Array(store.dictionary.length);
    let total = 0;
    for (let i = 0; i < this.length; i++) {
      const code = store.codes[this.slotAt(i)]!;
      if (code >= 0) {
        tally[code]! += 1;
        total++;
      }
    }
    // Sorted keys make the contents canonical, whatever order the categories first appeared in.
    const order = [...store.dictionary.keys()].filter((c) => tally[c]! > 0);
    order.sort((a, b) => compareStrings(store.dictionary[a]!, store.dictionary[b]!));
    const counts = new Map(order.map((c) => [store.dictionary[c]!, tally[c]!]));
    return { kind: 'categorical', counts, total, missing: this.reservoir ? store.missing : this.length - total };
  }

  private advance(): void {
    this.index++;
    this.windowHash = hashWindow(this.seed, this.index);
    this.fresh = 0;
    this.freshStart = Number.NaN;
    const keep = this.step < this.size ? Math.min(this.length, this.size - this.step) : 0;
    this.head = keep === 0 ? 0 : this.slotAt(this.length - keep);
    this.length = keep;
    this.seen = 0;
    this.minTime = Number.POSITIVE_INFINITY;
    this.maxTime = Number.NEGATIVE_INFINITY;
    for (const store of this.stores) {
      store.missing = 0;
      if (store.kind === 'categorical') this.compact(store);
    }
  }

  /** Drops dictionary entries no kept row uses. */
  private compact(store: Extract<Store, { kind: 'categorical' }>): void {
    const renumber = new Map<number, number>();
    const dictionary: string[] = [];
    for (let i = 0; i < this.length; i++) {
      const slot = this.slotAt(i);
      const code = store.codes[slot]!;
      if (code < 0) continue;
      let next = renumber.get(code);
      if (next === undefined) {
        next = dictionary.length;
        renumber.set(code, next);
        dictionary.push(store.dictionary[code]!);
      }
      store.codes[slot] = next;
    }
    store.dictionary = dictionary;
    store.lookup = new Map(dictionary.map((c, i) => [c, i]));
  }
}

function validateSpec(spec: WindowSpec, maxSamples: number): void {
  const fail = (message: string): never => {
    throw new RangeError(`DriftWindow: ${message} (spec ${JSON.stringify(spec)})`);
  };
  if (!(Number.isFinite(spec.durationMs) && spec.durationMs >= 0)) fail('durationMs must be a number >= 0');
  const timeOnly = spec.size === Number.POSITIVE_INFINITY;
  if (timeOnly && spec.durationMs === 0) fail('size may be Infinity only for a time window (durationMs > 0)');
  if (!timeOnly && !(Number.isInteger(spec.size) && spec.size >= 1)) fail('size must be an integer >= 1');
  if (!(spec.step === spec.size || (Number.isInteger(spec.step) && spec.step >= 1 && spec.step < spec.size))) {
    fail('step must be an integer between 1 and size');
  }
  if (!(Number.isInteger(spec.minSamples) && spec.minSamples >= 0)) fail('minSamples must be an integer >= 0');
  if (!(Number.isInteger(maxSamples) && maxSamples >= 1)) fail('maxSamples must be an integer >= 1');
  if (spec.step < spec.size && spec.size > maxSamples) {
    fail(`a sliding window must fit in maxSamples (${maxSamples}): lower size or raise maxSamples`);
  }
  if (spec.seed !== undefined && !Number.isFinite(spec.seed)) fail('seed must be a finite number');
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : Number.NaN;
  if (typeof v === 'string') {
    if (v.trim() === '') return Number.NaN;
    const x = Number(v);
    return Number.isFinite(x) ? x : Number.NaN;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  // Also covers inherited properties ("constructor", "toString") of a row that lacks the column.
  return Number.NaN;
}

function toCategory(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isNaN(v) ? undefined : String(v);
  if (typeof v === 'boolean') return String(v);
  return undefined;
}

function codeOf(store: Extract<Store, { kind: 'categorical' }>, category: string): number {
  let code = store.lookup.get(category);
  if (code === undefined) {
    code = store.dictionary.length;
    store.dictionary.push(category);
    store.lookup.set(category, code);
  }
  return code;
}

function writeSaved(store: Store, slot: number, saved: SnapshotColumn | undefined, i: number): void {
  if (store.kind === 'numeric') {
    const v = saved?.kind === 'numeric' ? saved.values[i] : null;
    store.values[slot] = v === null || v === undefined ? Number.NaN : v;
  } else {
    const code = saved?.kind === 'categorical' ? (saved.codes[i] ?? -1) : -1;
    const category = code >= 0 && saved?.kind === 'categorical' ? saved.dictionary[code] : undefined;
    store.codes[slot] = category === undefined ? -1 : codeOf(store, category);
  }
}

function isMissing(store: Store, slot: number, saved: SnapshotColumn | undefined, i: number): boolean {
  if (slot >= 0) return store.kind === 'numeric' ? Number.isNaN(store.values[slot]!) : store.codes[slot]! < 0;
  if (saved === undefined) return true;
  return saved.kind === 'numeric' ? saved.values[i] === null : (saved.codes[i] ?? -1) < 0;
}

function parseSnapshot(json: unknown): Snapshot {
  const bad = (what: string): never => {
    throw new Error(`DriftWindow.restore: not a window snapshot (${what})`);
  };
  if (typeof json !== 'object' || json === null) return bad('not an object');
  const s = json as Partial<Snapshot>;
  if (s.v !== SNAPSHOT_VERSION) return bad(`version ${String(s.v)}, expected ${SNAPSHOT_VERSION}`);
  if (!Number.isInteger(s.index) || !Number.isInteger(s.rows) || !Number.isInteger(s.fresh)) return bad('counters');
  if (!Array.isArray(s.times) || !Array.isArray(s.columns)) return bad('arrays');
  const kept = s.times.length;
  if (s.rows! < kept) return bad('fewer rows than kept rows');
  for (const c of s.columns as unknown[]) {
    const col = c as Partial<SnapshotColumn> | null;
    if (typeof col?.name !== 'string') return bad('column name');
    const ok =
      col.kind === 'numeric'
        ? Array.isArray(col.values) && col.values.length === kept
        : col.kind === 'categorical' && Array.isArray(col.codes) && col.codes.length === kept && Array.isArray(col.dictionary);
    if (!ok) return bad(`column "${col.name}"`);
  }
  return s as Snapshot;
}

function jsonNumber(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** murmur3's 32-bit finalizer: a bijective mix that spreads every input bit over the output. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hashWindow(seed: number, index: number): number {
  return mix32(mix32(Math.trunc(seed) ^ 0x6a09e667) ^ index);
}

function uniformAt(windowHash: number, n: number): number {
  return mix32(mix32((windowHash + Math.imul(n, 0x9e3779b9)) | 0) ^ n) / 4294967296;
}
