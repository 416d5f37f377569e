/**
 * The embedded EventStore: one SQLite file (better-sqlite3) in the data directory.
 *
 * Durability: an append is acknowledged only after the WAL frames holding it are fsynced.
 * Commits run with `synchronous=NORMAL` (SQLite writes the WAL but does not fsync it) and the
 * store then fsyncs the WAL file itself, off the event loop on libuv's thread pool. That is the
 * same guarantee as `synchronous=FULL` — a commit is durable once its WAL frames are on disk —
 * but the event loop never waits for the disk, and while one fsync is in flight the next batch
 * is already being committed: one fsync covers everything committed before it started.
 *
 * Nobody sees what is not durable: every read is bounded by the durable head (the position of
 * the last fsynced commit), so a subscriber or a reader can never observe an event that a
 * power loss could still take back.
 *
 * Group commit: appends arriving in the same turn of the event loop are written in one
 * transaction. Each append is fully checked (retry, expected revision) before any of its rows is
 * written, so a refused append writes nothing and the others go on.
 *
 * One process at a time: the connection runs in EXCLUSIVE locking mode and takes the write lock
 * on open, so a second process gets StoreLockedError. The lock is the kernel's and dies with the
 * process, so a crashed server never leaves a stale lock behind.
 */
import Database from 'better-sqlite3';
import { Subject } from 'rxjs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { StoreClosedError, StoreError, StoreIncompatibleError, StoreLockedError, StoreUnavailableError, InvalidEventError } from './errors';
import {
  DEFAULT_MAX_EVENT_BYTES,
  NO_STREAM_REVISION,
  checkExpectedRevision,
  checkStreamName,
  encodeAppend,
  expectationHolds,
  parseMetadata,
  pullSubscription,
  resolveRetry,
  wrongExpectedVersion,
  type EncodedEvent,
  type RecordedId,
} from './internal';
import {
  DEFAULT_READ_COUNT,
  type AppendResult,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type Position,
  type ReadAllOptions,
  type ReadStreamOptions,
  type Snapshot,
  type SnapshotStore,
  type StoredEvent,
} from './port';
import { configure, migrate } from './sqliteSchema';
import { GENESIS_HASH, chainHash, type ChainedLog, type ChainedRow } from './chain';

export { SQLITE_SCHEMA_VERSION } from './sqliteSchema';

export interface SqliteStoreOptions {
  /** The database file. Its directory is created if missing. */
  readonly file: string;
  readonly clock?: () => Date;
  readonly maxEventBytes?: number;
}

/** A row of the events table. */
export interface EventRow {
  position: bigint;
  id: string;
  stream: string;
  revision: bigint;
  type: string;
  recorded_at: bigint;
  data: string;
  metadata: string;
  hash: string | null;
}

/** A row as reads return it (READ_COLUMNS), and with its hash as iterateRows reads it. */
type RawRow = [bigint, string, string, bigint, string, bigint, string, string];
type ChainedRawRow = [...RawRow, string | null];

interface PendingAppend {
  readonly stream: string;
  readonly events: readonly EncodedEvent[];
  readonly expected: ExpectedRevision;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

interface StreamInfo {
  /** The row id in `streams`; undefined for a stream not yet written. */
  readonly id: bigint | undefined;
  readonly revision: bigint;
}

type Outcome = { readonly ok: true; readonly result: AppendResult } | { readonly ok: false; readonly error: unknown };

/** A commit waiting for an fsync: how to answer each of its appends, and the head it reached. */
interface Committed {
  readonly answer: Array<(syncError?: Error) => void>;
  readonly head: Position;
}

const TOP = BigInt(Number.MAX_SAFE_INTEGER);
const STREAM_CACHE_SIZE = 100_000;
const COMMIT_BATCH = 32;

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

export class SqliteEventStore implements EventStore, ChainedLog {
  readonly description: string;
  private readonly clock: () => Date;
  private readonly maxEventBytes: number;
  private readonly walFile: string;
  private readonly appended = new Subject<void>();
  private readonly stmt: ReturnType<typeof prepare>;
  /** Stream ids and current revisions, least recently used first; updated after each commit. */
  private readonly streams = new Map<string, StreamInfo>();
  private queue: PendingAppend[] = [];
  private commitScheduled = false;
  /** Committed but not yet fsynced, oldest first. */
  private unsynced: Committed[] = [];
  private syncing = false;
  private durableHead: Position;
  private closed = false;
  private idle: Array<() => void> = [];
  private walFd: number | undefined;
  /** The last committed event: the tip of the hash chain. */
  private tip: { position: Position; hash: string };

  private constructor(
    private readonly db: Database.Database,
    options: SqliteStoreOptions,
  ) {
    this.description = `sqlite:${options.file}`;
    this.walFile = `${options.file}-wal`;
    this.clock = options.clock ?? (() => new Date());
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    this.stmt = prepare(db);
    this.durableHead = (this.stmt.head.get() as bigint | null) ?? 0n;
    const last = this.stmt.tip.get() as { position: bigint; hash: string } | undefined;
    this.tip = last ? { position: last.position, hash: last.hash } : { position: 0n, hash: GENESIS_HASH };
  }

  static async open(options: SqliteStoreOptions): Promise<SqliteEventStore> {
    const file = path.resolve(options.file);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    let db: Database.Database;
    try {
      db = new Database(file, { timeout: 250 });
    } catch (err) {
      throw translateOpenError(err, file);
    }
    try {
      configure(db);
      migrate(db, file);
      // Take the write lock now, and keep it: EXCLUSIVE mode never releases it until close.
      db.exec('BEGIN IMMEDIATE; COMMIT');
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
      throw translateOpenError(err, file);
    }
    return new SqliteEventStore(db, { ...options, file });
  }

  append(stream: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    try {
      this.ensureOpen();
      checkExpectedRevision(expected);
      const encoded = encodeAppend(stream, events, this.maxEventBytes);
      return new Promise((resolve, reject) => {
        this.queue.push({ stream, events: encoded, expected, resolve, reject });
        if (!this.commitScheduled) {
          this.commitScheduled = true;
          // Appends made in the same turn of the event loop are committed together.
          setImmediate(() => this.commit());
        }
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Writes every queued append in one transaction, then queues them for the next fsync. */
  private commit(): void {
    this.commitScheduled = false;
    // At most COMMIT_BATCH appends per transaction: a burst is committed in slices, so the
    // first slice's fsync is already running while the next slices are written, and the
    // appenders it releases prepare their next appends while the following fsync runs.
    const batch = this.queue.splice(0, COMMIT_BATCH);
    if (this.queue.length > 0) {
      this.commitScheduled = true;
      setImmediate(() => this.commit());
    }
    if (batch.length === 0) return;
    let outcomes = this.writeBatch(batch);
    // The batch failed as a whole (an I/O error): each append is tried alone, so one cannot
    // take the others down with it.
    if (!outcomes) outcomes = batch.map((p) => (this.writeBatch([p]) as Outcome[])[0]);
    const answer = batch.map((p, i) => {
      const o = (outcomes as Outcome[])[i];
      return (syncError?: Error) => (syncError ? p.reject(syncError) : o.ok ? p.resolve(o.result) : p.reject(o.error));
    });
    this.unsynced.push({ answer, head: this.tip.position });
    this.sync();
  }

  /** One transaction for the batch; undefined when the transaction itself failed. */
  private writeBatch(batch: readonly PendingAppend[]): Outcome[] | undefined {
    const outcomes: Outcome[] = [];
    const touched = new Map<string, StreamInfo>();
    const recordedAt = BigInt(this.clock().getTime());
    const tip = { ...this.tip };
    try {
      this.stmt.begin.run();
      for (const p of batch) {
        try {
          outcomes.push({ ok: true, result: this.writeOne(p, recordedAt, touched, tip) });
        } catch (err) {
          if (!(err instanceof StoreError)) throw err;
          outcomes.push({ ok: false, error: err });
        }
      }
      this.stmt.commit.run();
    } catch (err) {
      if (this.db.inTransaction) this.stmt.rollback.run();
      if (batch.length > 1) return undefined;
      const code = (err as { code?: string }).code;
      const error =
        code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
          ? new InvalidEventError('DuplicateEventId', (err as Error).message)
          : new StoreUnavailableError(`append to ${this.description} failed: ${(err as Error).message}`, { cause: err });
      return [{ ok: false, error }];
    }
    for (const [name, info] of touched) this.remember(name, info);
    this.tip = tip;
    return outcomes;
  }

  private writeOne(p: PendingAppend, recordedAt: bigint, touched: Map<string, StreamInfo>, tip: { position: Position; hash: string }): AppendResult {
    const retry = resolveRetry(p.stream, p.events, p.expected, (id) => this.stmt.byId.get(id) as RecordedId | undefined);
    if (retry) return retry;
    const info = touched.get(p.stream) ?? this.streamInfo(p.stream);
    if (!expectationHolds(p.expected, info.revision)) throw wrongExpectedVersion(p.stream, p.expected, info.revision);
    const streamId = info.id ?? BigInt(this.stmt.insertStream.run(p.stream).lastInsertRowid);
    let revision = info.revision;
    for (const e of p.events) {
      revision += 1n;
      // Positions are assigned here, not by SQLite, so that each event's hash can cover its
      // position and chain to the event before it in the same statement.
      const row = { position: tip.position + 1n, id: e.id, stream: p.stream, revision, type: e.type, recordedAt, data: e.data, metadata: e.metadata };
      const hash = chainHash(tip.hash, row);
      this.stmt.insert.run(row.position, e.id, p.stream, streamId, revision, e.type, recordedAt, e.data, e.metadata, hash);
      tip.position = row.position;
      tip.hash = hash;
    }
    const position = tip.position;
    touched.set(p.stream, { id: streamId, revision });
    return { nextExpectedRevision: revision, position };
  }

  /** The stream's id and current revision; this connection is the log's only writer. */
  private streamInfo(name: string): StreamInfo {
    const cached = this.streams.get(name);
    if (cached) return cached;
    const id = this.stmt.streamId.get(name) as bigint | undefined;
    const revision = id === undefined ? NO_STREAM_REVISION : ((this.stmt.streamRevision.get(id) as bigint | null) ?? NO_STREAM_REVISION);
    return { id, revision };
  }

  private remember(name: string, info: StreamInfo): void {
    this.streams.delete(name);
    this.streams.set(name, info);
    if (this.streams.size > STREAM_CACHE_SIZE) this.streams.delete(this.streams.keys().next().value as string);
  }

  /**
   * Fsyncs the WAL for every commit made so far, then acknowledges them. One fsync at a time;
   * commits made while it runs wait for the next one, which covers them all.
   */
  private sync(): void {
    if (this.syncing || this.unsynced.length === 0) {
      if (!this.syncing && this.queue.length === 0) for (const done of this.idle.splice(0)) done();
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
        for (const c of covered) for (const answer of c.answer) answer(error);
      } else {
        this.durableHead = covered[covered.length - 1].head;
        for (const c of covered) for (const answer of c.answer) answer();
        this.appended.next();
      }
      this.sync();
    });
  }

  /**
   * fsync of the WAL on libuv's thread pool, through one descriptor kept open: the WAL file
   * lives as long as this connection (EXCLUSIVE mode; a checkpoint rewinds it, never removes it).
   */
  private fsyncWal(done: (err: NodeJS.ErrnoException | null) => void): void {
    if (this.walFd === undefined) {
      fs.open(this.walFile, 'r', (err, fd) => {
        if (err) return done(err);
        this.walFd = fd;
        fs.fsync(fd, done);
      });
      return;
    }
    fs.fsync(this.walFd, done);
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<readonly StoredEvent[]> {
    this.ensureOpen();
    checkStreamName(stream);
    const max = options.maxCount ?? DEFAULT_READ_COUNT;
    const rows =
      options.direction === 'backwards'
        ? this.stmt.streamBackwards.all(stream, options.fromRevision ?? TOP, this.durableHead, max)
        : this.stmt.streamForwards.all(stream, options.fromRevision ?? 0n, this.durableHead, max);
    return (rows as RawRow[]).map(fromRaw);
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
   * Rows after `after` up to `to` (and the durable head), as stored, JSON still in text: the hot
   * path of full replays. Raw rows (arrays) are markedly cheaper for better-sqlite3 to build.
   */
  *iterateRows(after: Position, to: Position = TOP, pageSize = 2048): Generator<EventRow> {
    this.ensureOpen();
    let from = after;
    for (;;) {
      const bound = to < this.durableHead ? to : this.durableHead;
      const page = this.stmt.page.all(from, bound, pageSize) as ChainedRawRow[];
      for (const r of page) yield { position: r[0], id: r[1], stream: r[2], revision: r[3], type: r[4], recorded_at: r[5], data: r[6], metadata: r[7], hash: r[8] };
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
      this.stmt.saveSnapshot.run(s.position, s.schema, BigInt(this.clock().getTime()), zlib.deflateRawSync(s.data, { level: 1 }));
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
      return Number(this.stmt.dropSnapshots.run(schema).changes);
    },
  };

  async positionOfEvent(id: string): Promise<Position | undefined> {
    this.ensureOpen();
    const row = this.stmt.byId.get(id.toLowerCase()) as RecordedId | undefined;
    return row && row.position <= this.durableHead ? row.position : undefined;
  }

  /** The rows as stored, with their hashes, for `verify`. */
  *chainedRows(after: Position): Generator<ChainedRow> {
    for (const r of this.iterateRows(after)) {
      yield { position: r.position, id: r.id, stream: r.stream, revision: r.revision, type: r.type, recordedAt: r.recorded_at, data: r.data, metadata: r.metadata, hash: r.hash };
    }
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
    this.appended.complete();
    if (this.walFd !== undefined) fs.closeSync(this.walFd);
    this.db.close();
  }

  private ensureOpen(): void {
    if (this.closed) throw new StoreClosedError(this.description);
  }
}

/**
 * The columns reads return, in the order of RawRow (arrays are markedly cheaper to build than
 * objects). Not the hash: only `verify` reads it (iterateRows).
 */
const READ_COLUMNS = 'position, id, stream, revision, type, recorded_at, data, metadata';

function prepare(db: Database.Database) {
  return {
    insert: db.prepare('INSERT INTO events (position, id, stream, stream_id, revision, type, recorded_at, data, metadata, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
    tip: db.prepare('SELECT position, hash FROM events ORDER BY position DESC LIMIT 1'),
    saveSnapshot: db.prepare('INSERT OR REPLACE INTO snapshots (position, schema, created_at, data) VALUES (?, ?, ?, ?)'),
    loadSnapshot: db.prepare('SELECT position, data FROM snapshots WHERE position <= ? AND schema = ? ORDER BY position DESC LIMIT 1'),
    snapshotPositions: db.prepare('SELECT position FROM snapshots WHERE schema = ? ORDER BY position').pluck(),
    dropSnapshots: db.prepare('DELETE FROM snapshots WHERE schema <> ?'),
    streamId: db.prepare('SELECT id FROM streams WHERE name = ?').pluck(),
    insertStream: db.prepare('INSERT INTO streams (name) VALUES (?)'),
    streamRevision: db.prepare('SELECT max(revision) FROM events WHERE stream_id = ?').pluck(),
    byId: db.prepare('SELECT stream, revision, position FROM events WHERE id = ?'),
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
    head: db.prepare('SELECT max(position) FROM events').pluck(),
    after: db.prepare(`SELECT ${READ_COLUMNS} FROM events WHERE position > ? AND position <= ? ORDER BY position LIMIT ?`).raw(true),
    page: db.prepare(`SELECT ${READ_COLUMNS}, hash FROM events WHERE position > ? AND position <= ? ORDER BY position LIMIT ?`).raw(true),
    forwards: db.prepare(`SELECT ${READ_COLUMNS} FROM events WHERE position >= ? AND position <= ? ORDER BY position LIMIT ?`).raw(true),
    backwards: db.prepare(`SELECT ${READ_COLUMNS} FROM events WHERE position < ? AND position >= ? ORDER BY position DESC LIMIT ?`).raw(true),
    streamForwards: db.prepare(
      `SELECT ${READ_COLUMNS} FROM events WHERE stream_id = (SELECT id FROM streams WHERE name = ?) AND revision >= ? AND position <= ? ORDER BY revision LIMIT ?`,
    ).raw(true),
    streamBackwards: db.prepare(
      `SELECT ${READ_COLUMNS} FROM events WHERE stream_id = (SELECT id FROM streams WHERE name = ?) AND revision <= ? AND position <= ? ORDER BY revision DESC LIMIT ?`,
    ).raw(true),
  };
}

function fromRaw(r: RawRow): StoredEvent {
  return { id: r[1], type: r[4], stream: r[2], revision: r[3], position: r[0], recordedAt: new Date(Number(r[5])), data: JSON.parse(r[6]), metadata: parseMetadata(r[7]) };
}

export function toStored(row: EventRow): StoredEvent {
  return {
    id: row.id,
    type: row.type,
    stream: row.stream,
    revision: row.revision,
    position: row.position,
    recordedAt: new Date(Number(row.recorded_at)),
    data: JSON.parse(row.data),
    metadata: parseMetadata(row.metadata),
  };
}
