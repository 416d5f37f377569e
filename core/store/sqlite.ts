/**
 * The embedded EventStore: one SQLite file (better-sqlite3) in the data directory.
 *
 * Durability: an append is acknowledged only after the WAL frames holding it are fsynced.
 * Commits run with `synchronous=NORMAL` (SQLite writes the WAL but does not fsync it) and the
 * store then fsyncs (fdatasync) the WAL file itself, off the event loop on libuv's thread pool.
 * That is the same guarantee as `synchronous=FULL` — a commit is durable once its WAL frames are
 * on disk — but the event loop never waits for the disk, and while one fsync is in flight the
 * next batch is already being committed: one fsync covers everything committed before it started.
 *
 * Checkpoints (copying the WAL into the database file, and fsyncing it) run on a thread of their
 * own (sqliteCheckpointer.ts), never inside a commit.
 *
 * Nobody sees what is not durable: every read is bounded by the durable head (the position of
 * the last fsynced commit), so a subscriber or a reader can never observe an event that a
 * power loss could still take back.
 *
 * Group commit: appends arriving in the same turn of the event loop are written in one
 * transaction (sqliteWriter.ts). Each append is fully checked (retry, expected revision) before
 * any of its rows is written, so a refused append writes nothing and the others go on.
 *
 * One process at a time: the store holds an exclusive lock on `<file>.lock` (a tiny SQLite file
 * in EXCLUSIVE locking mode) for as long as it is open, so a second process — or a second open
 * in this one — gets StoreLockedError. The lock is the kernel's and dies with the process, so a
 * crashed server never leaves a stale lock behind.
 */
import Database from 'better-sqlite3';
import { Subject } from 'rxjs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { StoreClosedError, StoreError, StoreIncompatibleError, StoreLockedError, StoreUnavailableError } from './errors';
import { DEFAULT_MAX_EVENT_BYTES, checkExpectedRevision, checkStreamName, decodeRaw, encodeAppend, pullSubscription, type RecordedId } from './internal';
import {
  DEFAULT_READ_COUNT,
  type AppendResult,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type Position,
  type RawEvent,
  type RawEventReader,
  type ReadAllOptions,
  type ReadStreamOptions,
  type Snapshot,
  type SnapshotStore,
  type StoredEvent,
} from './port';
import { configure, migrate } from './sqliteSchema';
import { SqliteCheckpointer, type CheckpointResult } from './sqliteCheckpointer';
import { SqliteWriter, type Outcome, type TailEntry, type WriteRequest } from './sqliteWriter';
import type { ChainedLog, ChainedRow } from './chain';

export { SQLITE_SCHEMA_VERSION } from './sqliteSchema';

export interface SqliteStoreOptions {
  /** The database file. Its directory is created if missing. */
  readonly file: string;
  readonly clock?: () => Date;
  readonly maxEventBytes?: number;
  /** Events between checkpoints (default CHECKPOINT_EVENTS); smaller in tests. */
  readonly checkpointEvents?: number;
  /** WAL pages past which it is emptied and restarted (default RESTART_FRAMES); smaller in tests. */
  readonly restartFrames?: number;
  /** Events between bulk inserts into the per-stream index (sqliteWriter.ts); smaller in tests. */
  readonly indexEvents?: number;
}

/** A row as reads return it (READ_COLUMNS), and with its hash as chainedRows reads it. */
type RawRow = [bigint, string, string, bigint, string, bigint, string, string];
type ChainedRawRow = [...RawRow, (string | null)?];

interface PendingAppend extends WriteRequest {
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

/** A commit waiting for an fsync: its appends, what became of each, and the head it reached. */
interface Committed {
  readonly batch: readonly PendingAppend[];
  readonly outcomes: readonly Outcome[];
  readonly head: Position;
}

const TOP = BigInt(Number.MAX_SAFE_INTEGER);
/**
 * At most this many appends per transaction: a burst is committed in slices, one per turn of the
 * event loop, so the first slice's fsync is already running while the next ones are written.
 */
const COMMIT_BATCH = 32;
/** A checkpoint after this many events (about 2,500 WAL pages of ~1 KiB objects). */
const CHECKPOINT_EVENTS = 2_000;
/**
 * Under a steady load the WAL is never fully copied at the moment a commit starts (commits go on
 * while a checkpoint runs), so SQLite never rewinds it. Past this many pages (64 MiB) writes are
 * held (appends queue, the event loop runs on) while one checkpoint copies everything; the next
 * commit then starts the WAL again from its beginning.
 */
const RESTART_FRAMES = 16_384;

function translateOpenError(err: unknown, file: string): Error {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: string }).code;
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new StoreLockedError(`${file} is in use by another Kronicle process; stop it or use another data directory`);
  }
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new StoreIncompatibleError(`${file} is not a Kronicle log (${(err as Error).message})`);
  }
  return new StoreUnavailableError(`cannot open ${file}: ${(err as Error).message}`, { cause: err });
}

export class SqliteEventStore implements EventStore, ChainedLog, RawEventReader {
  readonly description: string;
  private readonly clock: () => Date;
  private readonly maxEventBytes: number;
  private readonly walFile: string;
  private readonly appended = new Subject<void>();
  private readonly stmt: ReturnType<typeof prepare>;
  private queue: PendingAppend[] = [];
  private commitScheduled = false;
  private readonly writer: SqliteWriter;
  /** Committed but not yet fsynced, oldest first. */
  private unsynced: Committed[] = [];
  private syncing = false;
  private durableHead: Position;
  private closed = false;
  private idle: Array<() => void> = [];
  private walFd: number | undefined;
  private readonly checkpointer: SqliteCheckpointer;
  private readonly checkpointEvents: number;
  private readonly restartFrames: number;
  private eventsSinceCheckpoint = 0;
  private checkpointing: Promise<void> | undefined;
  /** No writes are sent: the WAL is to be emptied and restarted (see RESTART_FRAMES). */
  private holdWrites = false;

  private constructor(
    private readonly db: Database.Database,
    private readonly lock: Database.Database,
    options: SqliteStoreOptions,
  ) {
    this.description = `sqlite:${options.file}`;
    this.walFile = `${options.file}-wal`;
    this.clock = options.clock ?? (() => new Date());
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    this.stmt = prepare(db);
    this.checkpointer = new SqliteCheckpointer(options.file, db);
    this.checkpointEvents = options.checkpointEvents ?? CHECKPOINT_EVENTS;
    this.restartFrames = options.restartFrames ?? RESTART_FRAMES;
    this.writer = new SqliteWriter(db, this.description, options.indexEvents);
    // Everything committed before this open was made durable by open().
    this.durableHead = this.writer.head;
  }

  static async open(options: SqliteStoreOptions): Promise<SqliteEventStore> {
    const file = path.resolve(options.file);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const lock = takeLock(file);
    let db: Database.Database;
    try {
      db = new Database(file, { timeout: 250 });
    } catch (err) {
      lock.close();
      throw translateOpenError(err, file);
    }
    try {
      configure(db);
      migrate(db, file);
      // Whatever an earlier process committed is made durable before it is served.
      if (fs.existsSync(`${file}-wal`)) {
        const fd = fs.openSync(`${file}-wal`, 'r');
        try {
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      }
    } catch (err) {
      db.close();
      lock.close();
      throw translateOpenError(err, file);
    }
    return new SqliteEventStore(db, lock, { ...options, file });
  }

  append(stream: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    try {
      this.ensureOpen();
      checkExpectedRevision(expected);
      const encoded = encodeAppend(stream, events, this.maxEventBytes);
      return new Promise((resolve, reject) => {
        this.queue.push({ stream, events: encoded, expected, resolve, reject });
        this.scheduleCommit();
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Appends made in the same turn of the event loop are committed together, in the next. */
  private scheduleCommit(): void {
    if (this.commitScheduled) return;
    this.commitScheduled = true;
    setImmediate(() => this.commit());
  }

  /** Writes up to COMMIT_BATCH queued appends in one transaction, then queues them for the next fsync. */
  private commit(): void {
    this.commitScheduled = false;
    // A checkpoint that is to empty the WAL is running: the queue waits for it.
    if (this.holdWrites) return;
    const batch = this.queue.splice(0, COMMIT_BATCH);
    if (this.queue.length > 0) this.scheduleCommit();
    if (batch.length === 0) return;
    const outcomes = this.writer.write(batch, BigInt(this.clock().getTime()));
    this.unsynced.push({ batch, outcomes, head: this.writer.head });
    this.sync();
    for (const p of batch) this.eventsSinceCheckpoint += p.events.length;
    if (this.eventsSinceCheckpoint >= this.checkpointEvents && !this.checkpointing) this.checkpoint();
  }

  /**
   * A checkpoint on the checkpoint thread. When writes are held (no commit runs while it does), it
   * copies the whole WAL; writes resume after it.
   */
  private checkpoint(): void {
    this.eventsSinceCheckpoint = 0;
    const held = this.holdWrites;
    const done = (result: CheckpointResult | undefined): void => {
      this.checkpointing = undefined;
      if (held) {
        this.holdWrites = false;
        if (this.queue.length > 0) this.scheduleCommit();
      } else if (result && result.log >= this.restartFrames && !this.closed) {
        // `log` is the WAL's length when the checkpoint began: long means it has not restarted.
        this.holdWrites = true;
        this.checkpoint();
      }
      this.settled();
    };
    // A failed checkpoint loses nothing (the pages stay in the WAL); the next one retries.
    this.checkpointing = this.checkpointer.run().then(done, () => done(undefined));
  }

  /**
   * Fsyncs the WAL for every commit made so far, then acknowledges them. One fsync at a time;
   * commits made while it runs wait for the next one, which covers them all. (Two or three at
   * once were measured: no faster, the disk serialises them.)
   */
  private sync(): void {
    if (this.syncing || this.unsynced.length === 0) {
      this.settled();
      return;
    }
    this.syncing = true;
    const covered = this.unsynced;
    this.unsynced = [];
    this.fsyncWal((err) => {
      this.syncing = false;
      if (err) {
        // The commits may or may not be on disk: they are not acknowledged. A client retrying
        // with the same event ids gets the original result if they were written.
        const error = new StoreUnavailableError(`fsync of ${this.walFile} failed: ${err.message}`, { cause: err });
        for (const c of covered) for (const p of c.batch) p.reject(error);
      } else {
        this.durableHead = covered[covered.length - 1].head;
        for (const c of covered) answer(c);
        this.appended.next();
      }
      this.sync();
    });
  }

  /** Wakes close() once nothing is queued, waiting for an fsync, or held for a checkpoint. */
  private settled(): void {
    if (this.syncing || this.unsynced.length > 0 || this.queue.length > 0 || this.holdWrites) return;
    for (const done of this.idle.splice(0)) done();
  }

  /**
   * fsync of the WAL on libuv's thread pool, through one descriptor kept open: the WAL file
   * lives as long as this connection (a checkpoint rewinds it, never removes it; SQLite deletes
   * it only when the last connection closes).
   */
  private fsyncWal(done: (err: NodeJS.ErrnoException | null) => void): void {
    if (this.walFd === undefined) {
      fs.open(this.walFile, 'r', (err, fd) => {
        if (err) return done(err);
        this.walFd = fd;
        fs.fdatasync(fd, done);
      });
      return;
    }
    fs.fdatasync(this.walFd, done);
  }

  /**
   * A stream's events: those in the per-stream index, joined with those still in the writer's
   * tail (all later than the indexed ones), read by position.
   */
  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<readonly StoredEvent[]> {
    this.ensureOpen();
    checkStreamName(stream);
    const max = options.maxCount ?? DEFAULT_READ_COUNT;
    const head = this.durableHead;
    const tail = this.writer.tailOf(stream).filter((e) => e.position <= head);
    const at = (entries: readonly TailEntry[]): RawRow[] => entries.map((e) => this.stmt.at.get(e.position) as RawRow);
    let rows: RawRow[];
    if (options.direction === 'backwards') {
      const from = options.fromRevision ?? TOP;
      const later = tail.filter((e) => e.revision <= from).reverse().slice(0, max);
      rows = at(later);
      if (rows.length < max) rows.push(...(this.stmt.streamBackwards.all(stream, from, head, max - rows.length) as RawRow[]));
    } else {
      const from = options.fromRevision ?? 0n;
      rows = this.stmt.streamForwards.all(stream, from, head, max) as RawRow[];
      if (rows.length < max) rows.push(...at(tail.filter((e) => e.revision >= from).slice(0, max - rows.length)));
    }
    return rows.map(fromRaw);
  }

  async readAll(options: ReadAllOptions = {}): Promise<readonly StoredEvent[]> {
    this.ensureOpen();
    const max = options.maxCount ?? DEFAULT_READ_COUNT;
    const bound = (p: Position | undefined) => (p === undefined || p > this.durableHead ? this.durableHead : p);
    const rows =
      options.direction === 'backwards'
        ? this.stmt.backwards.all(options.from === undefined ? this.durableHead + 1n : options.from, options.to ?? 0n, max)
        : this.stmt.forwards.all(options.from ?? 0n, bound(options.to), max);
    return (rows as RawRow[]).filter((r) => r[0] <= this.durableHead).map(fromRaw);
  }

  /**
   * Events after `after` up to `to` (and the durable head), as stored, JSON still in text: the hot
   * path of full replays. Raw rows (arrays) are markedly cheaper for better-sqlite3 to build.
   */
  rawEvents(after: Position, to?: Position): Generator<RawEvent> {
    return this.rows(this.stmt.after, after, to);
  }

  private *rows(statement: Database.Statement, after: Position, to: Position = TOP, pageSize = 2048): Generator<ChainedRow> {
    this.ensureOpen();
    let from = after;
    for (;;) {
      const bound = to < this.durableHead ? to : this.durableHead;
      const page = statement.all(from, bound, pageSize) as ChainedRawRow[];
      for (const r of page) yield rowOf(r);
      if (page.length < pageSize) return;
      from = page[page.length - 1][0];
    }
  }

  async headPosition(): Promise<Position> {
    this.ensureOpen();
    return this.durableHead;
  }

  /**
   * Snapshots live in the same file, in their own table, deflated (fast level: consecutive
   * objects share most of their keys, so a snapshot shrinks several times for a few milliseconds
   * to inflate). They are written without an fsync of their own (they ride on the next append's):
   * a snapshot lost to a crash is rebuilt.
   */
  readonly snapshots: SnapshotStore = {
    saveSnapshot: async (s: Snapshot) => {
      this.ensureOpen();
      if (s.position > this.durableHead) throw new RangeError(`snapshot at ${s.position} is beyond the log's head (${this.durableHead})`);
      this.writer.saveSnapshot(s.position, s.schema, BigInt(this.clock().getTime()), s.data);
    },
    loadSnapshot: async (position: Position, schema: number) => {
      this.ensureOpen();
      const row = this.stmt.loadSnapshot.get(position, schema) as { position: bigint; data: Buffer } | undefined;
      return row ? { position: row.position, schema, data: zlib.inflateRawSync(row.data) } : undefined;
    },
    snapshotPositions: async (schema: number) => {
      this.ensureOpen();
      return this.stmt.snapshotPositions.all(schema) as bigint[];
    },
    dropSnapshotsExcept: async (schema: number) => {
      this.ensureOpen();
      return this.writer.dropSnapshotsExcept(schema);
    },
  };

  async positionOfEvent(id: string): Promise<Position | undefined> {
    this.ensureOpen();
    const row = this.stmt.byId.get(id.toLowerCase()) as RecordedId | undefined;
    return row && row.position <= this.durableHead ? row.position : undefined;
  }

  /** The rows as stored, with their hashes, for `verify`. */
  chainedRows(after: Position): Generator<ChainedRow> {
    return this.rows(this.stmt.chained, after);
  }

  subscribeAll(from: Position) {
    return pullSubscription(
      from,
      (after, limit) => {
        this.ensureOpen();
        return (this.stmt.after.all(after, this.durableHead, limit) as RawRow[]).map(fromRaw);
      },
      this.appended,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Appends already accepted are committed and made durable before the store closes.
    if (this.queue.length > 0 || this.commitScheduled || this.syncing || this.unsynced.length > 0) {
      await new Promise<void>((resolve) => {
        this.idle.push(resolve);
        if (this.queue.length > 0) this.commit();
        else this.sync();
      });
    }
    this.closed = true;
    await this.checkpointing;
    await this.checkpointer.close();
    this.appended.complete();
    if (this.walFd !== undefined) fs.closeSync(this.walFd);
    this.db.close();
    this.lock.close();
  }

  private ensureOpen(): void {
    if (this.closed) throw new StoreClosedError(this.description);
  }
}

/** Answers each append of a commit now durable. */
function answer(c: Committed): void {
  for (let i = 0; i < c.batch.length; i++) {
    const o = c.outcomes[i];
    if (o.ok) c.batch[i].resolve(o.result);
    else c.batch[i].reject(o.error);
  }
}

/**
 * The store's lock: `<file>.lock`, an SQLite file held in EXCLUSIVE locking mode, whose lock
 * the connection keeps until it closes (or the process dies).
 */
function takeLock(file: string): Database.Database {
  const lockFile = `${file}.lock`;
  let lock: Database.Database | undefined;
  try {
    lock = new Database(lockFile, { timeout: 0 });
    lock.pragma('locking_mode = EXCLUSIVE');
    // No journal file beside it: nothing is ever written to the lock file.
    lock.pragma('journal_mode = MEMORY');
    lock.exec('BEGIN EXCLUSIVE; COMMIT');
    return lock;
  } catch (err) {
    lock?.close();
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') throw translateOpenError(err, file);
    throw new StoreUnavailableError(`cannot lock ${lockFile}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The columns reads return, in the order of RawRow (arrays are markedly cheaper to build than
 * objects). Not the hash: only `verify` reads it (chainedRows).
 */
const READ_COLUMNS = 'position, id, stream, revision, type, recorded_at, data, metadata';
const INDEXED_COLUMNS = READ_COLUMNS.split(', ').map((c) => `e.${c}`).join(', ');

function prepare(db: Database.Database) {
  return {
    loadSnapshot: db.prepare('SELECT position, data FROM snapshots WHERE position <= ? AND schema = ? ORDER BY position DESC LIMIT 1'),
    snapshotPositions: db.prepare('SELECT position FROM snapshots WHERE schema = ? ORDER BY position').pluck(),
    byId: db.prepare('SELECT stream, revision, position FROM events WHERE id = ?'),
    after: db.prepare(`SELECT ${READ_COLUMNS} FROM events WHERE position > ? AND position <= ? ORDER BY position LIMIT ?`).raw(true),
    chained: db.prepare(`SELECT ${READ_COLUMNS}, hash FROM events WHERE position > ? AND position <= ? ORDER BY position LIMIT ?`).raw(true),
    forwards: db.prepare(`SELECT ${READ_COLUMNS} FROM events WHERE position >= ? AND position <= ? ORDER BY position LIMIT ?`).raw(true),
    backwards: db.prepare(`SELECT ${READ_COLUMNS} FROM events WHERE position < ? AND position >= ? ORDER BY position DESC LIMIT ?`).raw(true),
    at: db.prepare(`SELECT ${READ_COLUMNS} FROM events WHERE position = ?`).raw(true),
    streamForwards: db.prepare(
      `SELECT ${INDEXED_COLUMNS} FROM stream_events s JOIN events e ON e.position = s.position
       WHERE s.stream_id = (SELECT id FROM streams WHERE name = ?) AND s.revision >= ? AND s.position <= ? ORDER BY s.revision LIMIT ?`,
    ).raw(true),
    streamBackwards: db.prepare(
      `SELECT ${INDEXED_COLUMNS} FROM stream_events s JOIN events e ON e.position = s.position
       WHERE s.stream_id = (SELECT id FROM streams WHERE name = ?) AND s.revision <= ? AND s.position <= ? ORDER BY s.revision DESC LIMIT ?`,
    ).raw(true),
  };
}

/** A row as an event still in text (with its hash when the row has one). */
function rowOf(r: ChainedRawRow): ChainedRow {
  return { position: r[0], id: r[1], stream: r[2], revision: r[3], type: r[4], recordedAt: r[5], data: r[6], metadata: r[7], hash: r[8] ?? null };
}

const fromRaw = (r: RawRow): StoredEvent => decodeRaw(rowOf(r));
