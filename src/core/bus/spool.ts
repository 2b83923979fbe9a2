// A bounded first-in-first-out queue of bus messages on disk, for events that could not be sent
// (broker down, breaker open) and must survive a restart of the process.
//
// Layout: `<dir>/<seq>.jsonl` segment files, one JSON record per line, appended to in order, plus
// `<dir>/cursor.json` = `{segment, acked}`: how many records of the oldest segment were already
// sent. A segment whose records are all sent is deleted. When the files together pass `maxBytes`,
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
import { describeError } from '../errors.js';
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

const SEGMENT_NAME = /^(\d{16})\.jsonl$/;
const CURSOR_FILE = 'cursor.json';
const MiB = 1024 * 1024;

function segmentName(seq: number): string {
  return `${String(seq).padStart(16, '0')}.jsonl`;
}

/** One line back into a record, or undefined when the line is damaged (a torn write, say). */
function parseLine(line: string): SpoolRecord | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
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

export class DiskSpool {
  readonly dir: string;
  readonly maxBytes: number;
  readonly segmentBytes: number;
  private readonly logger: Logger;
  private readonly dropListeners = new Set<(count: number, reason: SpoolDropReason) => void>();
  private segments: Segment[] = [];
  /** Records of segments[0] already sent. */
  private acked = 0;
  private nextSeq = 1;
  /** Open descriptor of the segment being appended to (always the last one). */
  private tailFd: number | undefined;
  /** Parsed records of recently read segments, by seq (the head, and the one after it while peeking across). */
  private readonly cache = new Map<number, SpoolRecord[]>();
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
    let tooLarge = 0;
    const flush = () => {
      if (pending === '') return;
      const tail = this.segments[this.segments.length - 1]!;
      writeSync(this.tailFd!, pending);
      tail.bytes += Buffer.byteLength(pending);
      tail.records += pendingRecords.length;
      this.cache.get(tail.seq)?.push(...pendingRecords);
      pending = '';
      pendingRecords = [];
    };
    for (const record of records) {
      const line = serialise(record);
      const length = Buffer.byteLength(line);
      if (length > this.maxBytes / 4) {
        tooLarge++;
        continue;
      }
      const tail = this.segments[this.segments.length - 1];
      const tailBytes = tail && this.tailFd !== undefined ? tail.bytes + Buffer.byteLength(pending) : Infinity;
      if (tailBytes > 0 && tailBytes + length > this.segmentBytes) {
        flush();
        this.enforceBound();
        this.startSegment();
      }
      pending += line;
      pendingRecords.push(record);
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
      const records = this.read(this.segments[i]!);
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
      const remaining = head.records - this.acked;
      if (left < remaining) {
        this.acked += left;
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
      const segment = this.scan(seq, path);
      if (segment) this.segments.push(segment);
    }
    this.nextSeq = Math.max(maxSeq + 1, cursor?.segment ?? 1);
    const head = this.segments[0];
    if (head && cursor && cursor.segment === head.seq) {
      this.acked = Math.min(cursor.acked, head.records);
      if (this.acked === head.records) this.removeHead();
    }
    // Appends after a restart always go to a new segment, never after a possibly torn line.
    if (this.segments.length > 0) {
      this.logger.info('event spool holds records from an earlier run', { dir: this.dir, records: this.size, bytes: this.bytes });
    }
  }

  /** Counts a segment's valid records and cuts off a torn last line; undefined when nothing valid is left. */
  private scan(seq: number, path: string): Segment | undefined {
    let text = readFileSync(path, 'utf8');
    const end = text.lastIndexOf('\n') + 1;
    if (end < text.length) {
      this.logger.warn('event spool: cutting off a torn last line', { file: path, bytes: Buffer.byteLength(text.slice(end)) });
      const fd = openSync(path, 'r+');
      try {
        ftruncateSync(fd, Buffer.byteLength(text.slice(0, end)));
      } finally {
        closeSync(fd);
      }
      text = text.slice(0, end);
    }
    const records = this.parse(text, path);
    if (records.length === 0) {
      this.unlink(path);
      return undefined;
    }
    return { seq, path, records: records.length, bytes: Buffer.byteLength(text) };
  }

  private parse(text: string, path: string): SpoolRecord[] {
    const out: SpoolRecord[] = [];
    let damaged = 0;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const record = parseLine(line);
      if (record) out.push(record);
      else damaged++;
    }
    if (damaged > 0) this.logger.warn('event spool: skipped damaged lines', { file: path, lines: damaged });
    return out;
  }

  private read(segment: Segment): SpoolRecord[] {
    let records = this.cache.get(segment.seq);
    if (!records) {
      records = this.parse(readFileSync(segment.path, 'utf8'), segment.path);
      if (records.length !== segment.records) {
        // The file changed behind our back (edited, or damaged on disk): trust what is readable.
        this.logger.warn('event spool: segment holds a different number of records than counted', {
          file: segment.path,
          counted: segment.records,
          readable: records.length,
        });
        segment.records = records.length;
        if (segment === this.segments[0]) this.acked = Math.min(this.acked, records.length);
      }
      // Keep only the segments near the head: the cache must not grow with the spool.
      for (const seq of this.cache.keys()) if (seq !== this.segments[0]?.seq) this.cache.delete(seq);
      this.cache.set(segment.seq, records);
    }
    return records;
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

  private readCursor(): { segment: number; acked: number } | undefined {
    let text: string;
    try {
      text = readFileSync(join(this.dir, CURSOR_FILE), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const raw = JSON.parse(text) as { segment?: unknown; acked?: unknown };
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
    writeFileSync(`${path}.tmp`, JSON.stringify({ segment, acked: this.acked }));
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
    if (this.closed) throw new Error('the event spool is closed');
  }
}
