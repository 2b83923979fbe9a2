// A bounded first-in-first-out queue of bus messages on disk, for events that could not be sent
// (broker down, breaker open) and must survive a restart of the process.
//
// Layout: `<dir>/<seq>.jsonl` segment files, one JSON record per line, appended to in order, plus
// `<dir>/cursor.json` = `{version: 2, segment, offset}`: the byte offset in the oldest segment of
// the first record not yet sent. A byte offset, not a count of records: a line that was sent and
// then damaged on disk no longer parses, and a count of readable records would then skip an
// unsent one. Lines are split and decoded byte by byte (invalid UTF-8 makes one line damaged, it
// does not shift the others). A cursor of the first format, `{segment, acked}` (records of the
// oldest segment sent), is still read, the way it was meant, and rewritten in the new format.
// A segment whose records are all sent is deleted. When the files together pass `maxBytes`,
// whole oldest segments are deleted (their unsent records counted as dropped), the way Kafka's
// own retention works: so the bound holds at segment granularity, never more than one segment
// (at most a quarter of the bound) is dropped at once.
//
// I/O is synchronous and small (one write per append call, a tiny cursor file per ack): callers
// are the publisher's flush loop and its overflow spill, never a request handler directly. There
// is no fsync per append: a write that returned is in the OS page cache, so it survives the process
// crashing or restarting, but not the machine losing power. fsync on every append would cost
// milliseconds per batch on ordinary disks; `close()` does fsync once.
//
// One process per directory: two spools on the same directory would corrupt each other.
import {
  closeSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { DriftgateError, describeError } from '../errors.js';
import { silentLogger } from '../logger.js';
import type { Logger } from '../logger.js';
import type { OutgoingMessage } from './types.js';

export interface SpoolRecord {
  topic: string;
  message: OutgoingMessage;
}

export type SpoolDropReason = 'spool_full' | 'too_large';

export interface DiskSpoolOptions {
  dir: string;
  /** Bound on the bytes of all segment files (at least 1 KiB); past it the oldest records go. @defaultValue 67108864 (64 MiB) */
  maxBytes?: number;
  /** Size at which a new segment file starts; between 256 bytes and a quarter of maxBytes. @defaultValue min(8 MiB, maxBytes / 8) */
  segmentBytes?: number;
  /** Called with the number of records dropped and why. */
  onDrop?: (count: number, reason: SpoolDropReason) => void;
  logger?: Logger;
}

interface Segment {
  seq: number;
  path: string;
  /** Valid records in the file. */
  records: number;
  /** Size of the file. */
  bytes: number;
}

/** A segment's valid records and, for each, the byte offset just past its line. */
interface ParsedSegment {
  records: SpoolRecord[];
  ends: number[];
  /** Lines that did not parse. */
  damaged: number;
}

type Cursor = { segment: number; offset: number } | { segment: number; acked: number };

const SEGMENT_NAME = /^(\d{16})\.jsonl$/;
const CURSOR_FILE = 'cursor.json';
const MiB = 1024 * 1024;

function segmentName(seq: number): string {
  return `${String(seq).padStart(16, '0')}.jsonl`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One line back into a record, or undefined when the line is damaged (a torn write, say). */
function parseLine(bytes: Uint8Array): SpoolRecord | undefined {
  let raw: unknown;
  try {
    // Records are written from JSON.stringify, always valid UTF-8: invalid bytes mean damage.
    raw = JSON.parse(utf8.decode(bytes));
  } catch {
    return undefined;
  }
  if (raw === null || typeof raw !== 'object') return undefined;
  const { topic, key, value, headers } = raw as Record<string, unknown>;
  if (typeof topic !== 'string' || typeof key !== 'string' || typeof value !== 'string') return undefined;
  if (headers !== undefined && (headers === null || typeof headers !== 'object')) return undefined;
  const message: OutgoingMessage = { key, value };
  if (headers !== undefined) message.headers = headers as Record<string, string>;
  return { topic, message };
}

function serialise(record: SpoolRecord): string {
  const { key, value, headers } = record.message;
  return JSON.stringify({ topic: record.topic, key, value, headers }) + '\n';
}

/** Splits a segment's bytes into lines at newline bytes and parses each. */
function parseSegment(data: Buffer): ParsedSegment {
  const parsed: ParsedSegment = { records: [], ends: [], damaged: 0 };
  for (let start = 0; start < data.length; ) {
    const newline = data.indexOf(0x0a, start);
    const end = newline < 0 ? data.length : newline + 1;
    const line = data.subarray(start, newline < 0 ? data.length : newline);
    if (line.length > 0) {
      const record = parseLine(line);
      if (record) {
        parsed.records.push(record);
        parsed.ends.push(end);
      } else parsed.damaged++;
    }
    start = end;
  }
  return parsed;
}

/** Records whose line ends at or before `offset`: those a cursor at `offset` counts as sent. */
function recordsBefore(ends: readonly number[], offset: number): number {
  let low = 0;
  let high = ends.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (ends[mid]! <= offset) low = mid + 1;
    else high = mid;
  }
  return low;
}

export class DiskSpool {
  readonly dir: string;
  readonly maxBytes: number;
  readonly segmentBytes: number;
  private readonly logger: Logger;
  private readonly dropListeners = new Set<(count: number, reason: SpoolDropReason) => void>();
  private segments: Segment[] = [];
  /** Byte offset in segments[0] of the first record not sent yet (what cursor.json stores). */
  private ackedBytes = 0;
  /** Records of segments[0] already sent: its records whose lines end at or before ackedBytes. */
  private acked = 0;
  private nextSeq = 1;
  /** Open descriptor of the segment being appended to (always the last one). */
  private tailFd: number | undefined;
  /** Parsed records of recently read segments, by seq (the head, and the one after it while peeking across). */
  private readonly cache = new Map<number, ParsedSegment>();
  private droppedCount = 0;
  private closed = false;

  constructor(options: DiskSpoolOptions) {
    this.dir = options.dir;
    this.maxBytes = Math.max(1024, options.maxBytes ?? 64 * MiB);
    this.segmentBytes = Math.max(256, Math.min(options.segmentBytes ?? Math.min(8 * MiB, this.maxBytes / 8), this.maxBytes / 4));
    this.logger = options.logger ?? silentLogger;
    if (options.onDrop) this.dropListeners.add(options.onDrop);
    mkdirSync(this.dir, { recursive: true });
    this.recover();
  }

  /** Records waiting to be sent. */
  get size(): number {
    let total = 0;
    for (const s of this.segments) total += s.records;
    return total - this.acked;
  }

  /** Bytes of the segment files on disk. */
  get bytes(): number {
    let total = 0;
    for (const s of this.segments) total += s.bytes;
    return total;
  }

  /** Records dropped by this instance because of the bound. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Another onDrop hook (the publisher counts drops in its metrics); returns its remover. */
  addDropListener(listener: (count: number, reason: SpoolDropReason) => void): () => void {
    this.dropListeners.add(listener);
    return () => this.dropListeners.delete(listener);
  }

  /** Adds records at the end, then drops the oldest segments while over the bound. */
  append(records: readonly SpoolRecord[]): void {
    this.assertOpen();
    let pending = '';
    let pendingRecords: SpoolRecord[] = [];
    /** Byte length of each pending line, and their sum. */
    let pendingLengths: number[] = [];
    let pendingBytes = 0;
    let tooLarge = 0;
    const flush = () => {
      if (pending === '') return;
      const tail = this.segments[this.segments.length - 1]!;
      writeSync(this.tailFd!, pending);
      const cached = this.cache.get(tail.seq);
      let end = tail.bytes;
      for (const length of pendingLengths) {
        end += length;
        cached?.ends.push(end);
      }
      cached?.records.push(...pendingRecords);
      tail.bytes = end;
      tail.records += pendingRecords.length;
      pending = '';
      pendingRecords = [];
      pendingLengths = [];
      pendingBytes = 0;
    };
    for (const record of records) {
      const line = serialise(record);
      const length = Buffer.byteLength(line);
      if (length > this.maxBytes / 4) {
        tooLarge++;
        continue;
      }
      const tail = this.segments[this.segments.length - 1];
      const tailBytes = tail && this.tailFd !== undefined ? tail.bytes + pendingBytes : Infinity;
      if (tailBytes > 0 && tailBytes + length > this.segmentBytes) {
        flush();
        this.enforceBound();
        this.startSegment();
      }
      pending += line;
      pendingRecords.push(record);
      pendingLengths.push(length);
      pendingBytes += length;
    }
    flush();
    this.enforceBound();
    if (tooLarge > 0) this.drop(tooLarge, 'too_large');
  }

  /** The oldest `n` records (fewer when the spool holds fewer), without removing them. */
  peek(n: number): SpoolRecord[] {
    this.assertOpen();
    const out: SpoolRecord[] = [];
    for (let i = 0; i < this.segments.length && out.length < n; i++) {
      const { records } = this.read(this.segments[i]!);
      const from = i === 0 ? this.acked : 0;
      out.push(...records.slice(from, from + n - out.length));
    }
    return out;
  }

  /** Removes the oldest `n` records: call it after the records `peek` returned were sent. */
  ack(n: number): void {
    this.assertOpen();
    let left = Math.min(n, this.size);
    while (left > 0) {
      const head = this.segments[0]!;
      const { ends } = this.read(head);
      const remaining = head.records - this.acked;
      if (left < remaining) {
        this.acked += left;
        this.ackedBytes = ends[this.acked - 1]!;
        break;
      }
      left -= remaining;
      this.removeHead();
    }
    this.writeCursor();
  }

  /** Flushes the open segment to disk and closes it. The spool cannot be used afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.tailFd !== undefined) {
      try {
        fsyncSync(this.tailFd);
      } finally {
        closeSync(this.tailFd);
        this.tailFd = undefined;
      }
    }
    this.cache.clear();
  }

  // ---- internals ------------------------------------------------------------------------------

  /** Rebuilds the state from the directory after a restart (or a crash). */
  private recover(): void {
    const found = readdirSync(this.dir)
      .map((name) => SEGMENT_NAME.exec(name))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const cursor = this.readCursor();
    let maxSeq = 0;
    for (const seq of found) {
      maxSeq = Math.max(maxSeq, seq);
      const path = join(this.dir, segmentName(seq));
      if (cursor && seq < cursor.segment) {
        // Fully sent before the last stop; only its deletion had not happened.
        this.unlink(path);
        continue;
      }
      const scanned = this.scan(seq, path);
      if (!scanned) continue;
      this.segments.push(scanned.segment);
      if (this.segments.length === 1) this.cache.set(seq, scanned.parsed);
    }
    this.nextSeq = Math.max(maxSeq + 1, cursor?.segment ?? 1);
    const head = this.segments[0];
    if (head && cursor && cursor.segment === head.seq) {
      const { ends } = this.read(head);
      if ('offset' in cursor) {
        this.ackedBytes = Math.min(cursor.offset, head.bytes);
        // Records whose line ends at or before the offset were sent; a line the offset falls
        // inside (a file edited since) is sent again: a duplicate rather than a loss.
        this.acked = recordsBefore(ends, this.ackedBytes);
      } else {
        // The first cursor format counted readable records: read it as it was meant, once.
        this.acked = Math.min(cursor.acked, head.records);
        this.ackedBytes = this.acked > 0 ? ends[this.acked - 1]! : 0;
        this.logger.info('event spool: converted a cursor of the old format (record count) to a byte offset', { dir: this.dir, acked: this.acked });
        this.writeCursor();
      }
      if (this.acked === head.records) this.removeHead();
    }
    // Appends after a restart always go to a new segment, never after a possibly torn line.
    if (this.segments.length > 0) {
      this.logger.info('event spool holds records from an earlier run', { dir: this.dir, records: this.size, bytes: this.bytes });
    }
  }

  /**
   * Parses a segment and cuts off a torn last line (bytes after the last newline); undefined, and
   * the file deleted, when nothing valid is left.
   */
  private scan(seq: number, path: string): { segment: Segment; parsed: ParsedSegment } | undefined {
    let data = readFileSync(path);
    const end = data.lastIndexOf(0x0a) + 1;
    if (end < data.length) {
      this.logger.warn('event spool: cutting off a torn last line', { file: path, bytes: data.length - end });
      const fd = openSync(path, 'r+');
      try {
        ftruncateSync(fd, end);
      } finally {
        closeSync(fd);
      }
      data = data.subarray(0, end);
    }
    const parsed = this.parse(data, path);
    if (parsed.records.length === 0) {
      this.unlink(path);
      return undefined;
    }
    return { segment: { seq, path, records: parsed.records.length, bytes: data.length }, parsed };
  }

  private parse(data: Buffer, path: string): ParsedSegment {
    const parsed = parseSegment(data);
    if (parsed.damaged > 0) this.logger.warn('event spool: skipped damaged lines', { file: path, lines: parsed.damaged });
    return parsed;
  }

  private read(segment: Segment): ParsedSegment {
    let parsed = this.cache.get(segment.seq);
    if (!parsed) {
      parsed = this.parse(readFileSync(segment.path), segment.path);
      if (parsed.records.length !== segment.records) {
        // The file changed behind our back (edited, or damaged on disk): trust what is readable.
        this.logger.warn('event spool: segment holds a different number of records than counted', {
          file: segment.path,
          counted: segment.records,
          readable: parsed.records.length,
        });
        segment.records = parsed.records.length;
      }
      if (segment === this.segments[0]) this.acked = recordsBefore(parsed.ends, this.ackedBytes);
      // Keep only the segments near the head: the cache must not grow with the spool.
      for (const seq of this.cache.keys()) if (seq !== this.segments[0]?.seq) this.cache.delete(seq);
      this.cache.set(segment.seq, parsed);
    }
    return parsed;
  }

  private startSegment(): void {
    if (this.tailFd !== undefined) closeSync(this.tailFd);
    const seq = this.nextSeq++;
    const path = join(this.dir, segmentName(seq));
    this.tailFd = openSync(path, 'a');
    this.segments.push({ seq, path, records: 0, bytes: 0 });
  }

  private removeHead(): void {
    const head = this.segments.shift();
    if (!head) return;
    if (this.segments.length === 0 && this.tailFd !== undefined) {
      closeSync(this.tailFd);
      this.tailFd = undefined;
    }
    this.cache.delete(head.seq);
    this.acked = 0;
    this.ackedBytes = 0;
    this.unlink(head.path);
  }

  private enforceBound(): void {
    let removed = 0;
    while (this.bytes > this.maxBytes && this.segments.length > 1) {
      removed += this.segments[0]!.records - this.acked;
      this.removeHead();
    }
    if (removed > 0) {
      this.writeCursor();
      this.drop(removed, 'spool_full');
    }
  }

  private drop(count: number, reason: SpoolDropReason): void {
    this.droppedCount += count;
    this.logger.warn('event spool dropped records', { count, reason, dir: this.dir });
    for (const listener of this.dropListeners) {
      try {
        listener(count, reason);
      } catch (err) {
        this.logger.error('event spool onDrop hook threw', { error: describeError(err) });
      }
    }
  }

  private readCursor(): Cursor | undefined {
    let text: string;
    try {
      text = readFileSync(join(this.dir, CURSOR_FILE), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const raw = JSON.parse(text) as { segment?: unknown; offset?: unknown; acked?: unknown };
      if (Number.isSafeInteger(raw.segment) && Number.isSafeInteger(raw.offset)) {
        return { segment: raw.segment as number, offset: Math.max(0, raw.offset as number) };
      }
      if (Number.isSafeInteger(raw.segment) && Number.isSafeInteger(raw.acked)) {
        return { segment: raw.segment as number, acked: Math.max(0, raw.acked as number) };
      }
    } catch {
      // fall through: a damaged cursor means replaying the head segment again (duplicates, no loss)
    }
    this.logger.warn('event spool: ignoring a damaged cursor file', { dir: this.dir });
    return undefined;
  }

  /** Written to a temporary file and renamed, so a crash leaves the old cursor or the new one. */
  private writeCursor(): void {
    const segment = this.segments[0]?.seq ?? this.nextSeq;
    const path = join(this.dir, CURSOR_FILE);
    writeFileSync(`${path}.tmp`, JSON.stringify({ version: 2, segment, offset: this.ackedBytes }));
    renameSync(`${path}.tmp`, path);
  }

  private unlink(path: string): void {
    try {
      unlinkSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new DriftgateError('EVENT_BUS_UNAVAILABLE', 'the event spool is closed');
  }
}
