// The current drift window of one model version: live rows accumulate here until the window closes (by
// count, or by event time), then the drift tests read its contents. Memory is bounded by the spec, not by
// the stream: rows sit in fixed typed-array slots (a ring buffer for count windows, a seeded reservoir for
// windows larger than maxSamples), and the whole state snapshots to JSON so that a restarted monitor
// closes the same windows with the same contents.
import { codeOf, columnValues, compact, newStore, toCategory, toNumber } from './window-columns.js';
import type { ColumnStore } from './window-columns.js';
import { hashWindow, uniformAt } from './window-sampling.js';
import { SNAPSHOT_VERSION, isMissing, jsonNumber, parseSnapshot, snapshotColumn, writeSaved } from './window-snapshot.js';
import type { Snapshot } from './window-snapshot.js';
import { DEFAULT_MAX_SAMPLES, validateSpec } from './window-spec.js';
import type { WindowColumn, WindowColumnValues, WindowContents, WindowRow, WindowSpec } from './window-spec.js';

export { DEFAULT_MAX_SAMPLES } from './window-spec.js';
export type { WindowColumn, WindowColumnValues, WindowContents, WindowRow, WindowSpec } from './window-spec.js';

export class DriftWindow {
  private readonly size: number;
  private readonly step: number;
  private readonly durationMs: number;
  private readonly minSamples: number;
  private readonly seed: number;
  /** Slots per column: the window size, or maxSamples for a reservoir. */
  private readonly capacity: number;
  private readonly reservoir: boolean;
  private readonly stores: ColumnStore[];
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
    this.stores = columns.map((c) => newStore(c, this.capacity));
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
        if (store.dictionary.length > 2 * this.capacity + 64) compact(store, this.keptSlots());
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
    const slots = this.keptSlots();
    for (const store of this.stores) {
      const value = columnValues(store, slots, this.reservoir ? store.missing : undefined);
      // defineProperty: a column called "__proto__" must be data, not the object's prototype.
      Object.defineProperty(columns, store.name, { value, enumerable: true, writable: true, configurable: true });
    }
    let startTime = this.minTime;
    let endTime = this.maxTime;
    if (!this.reservoir) {
      startTime = Number.POSITIVE_INFINITY;
      endTime = Number.NEGATIVE_INFINITY;
      for (const slot of slots) {
        const t = this.times[slot]!;
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
    const slots = this.keptSlots();
    const columns = this.stores.map((store) => snapshotColumn(store, slots));
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

  /** The occupied slots, oldest row first for a ring. */
  private keptSlots(): number[] {
    return Array.from({ length: this.length }, (_, i) => this.slotAt(i));
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
    const slots = this.keptSlots();
    for (const store of this.stores) {
      store.missing = 0;
      if (store.kind === 'categorical') compact(store, slots);
    }
  }
}
