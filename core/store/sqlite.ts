/**
 * The embedded EventStore: one SQLite file (better-sqlite3) in the data directory.
 *
 * Durability: WAL journal with synchronous=FULL, so a commit returns only after the WAL is
 * fsynced; an append's promise resolves only after the commit that holds it.
 *
 * Group commit: appends arriving in the same turn of the event loop are queued and written in one
 * transaction (one fsync). Each append in the group is checked and written inside its own
 * savepoint, so one append's conflict never affects another's, and each either writes all its
 * events or none.
 *
 * One process at a time: the connection runs in EXCLUSIVE locking mode and takes the write lock on
 * open, so a second process opening the same file gets StoreLockedError. The lock is the kernel's
 * and dies with the process, so a crashed server never leaves a stale lock behind.
 */
import Database from 'better-sqlite3';
import { Subject } from 'rxjs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  InvalidEventError,
  StoreClosedError,
  StoreError,
  StoreIncompatibleError,
  StoreLockedError,
  StoreUnavailableError,
} from './errors';
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
  type StoredEvent,
} from './port';

/** Bumped when the table layout changes; older files are migrated on open, newer ones refused. */
export const SQLITE_SCHEMA_VERSION = 1;
const APPLICATION_ID = 0x4b524e4c; // "KRNL"

export interface SqliteStoreOptions {
  /** The database file. Its directory is created if missing. */
  readonly file: string;
  readonly clock?: () => Date;
  readonly maxEventBytes?: number;
}

interface Row {
  position: bigint;
  id: string;
  stream: string;
  revision: bigint;
  type: string;
  recorded_at: bigint;
  data: string;
  metadata: string;
}

interface PendingAppend {
  readonly stream: string;
  readonly events: readonly EncodedEvent[];
  readonly expected: ExpectedRevision;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

export class SqliteEventStore implements EventStore {
  readonly description: string;
  private readonly db: Database.Database;
  private readonly clock: () => Date;
  private readonly maxEventBytes: number;
  private readonly appended = new Subject<void>();
  private queue: PendingAppend[] = [];
  private flushScheduled = false;
  private closed = false;
  private readonly stmt: ReturnType<SqliteEventStore['prepare']>;

  private constructor(db: Database.Database, options: SqliteStoreOptions) {
    this.db = db;
    this.description = `sqlite:${options.file}`;
    this.clock = options.clock ?? (() => new Date());
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    this.stmt = this.prepare();
  }

  static open(options: SqliteStoreOptions): SqliteEventStore {
    fs.mkdirSync(path.dirname(path.resolve(options.file)), { recursive: true });
    let db: Database.Database;
    try {
      db = new Database(options.file, { timeout: 250 });
    } catch (err) {
      throw new StoreUnavailableError(`cannot open ${options.file}: ${(err as Error).message}`, { cause: err });
    }
    try {
      db.defaultSafeIntegers(true);
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      migrate(db, options.file);
      // Take the write lock now, and keep it: EXCLUSIVE mode never releases it until close.
      db.exec('BEGIN IMMEDIATE; COMMIT');
    } catch (err) {
      db.close();
      if (err instanceof StoreError) throw err;
      const code = (err as { code?: string }).code;
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
        throw new StoreLockedError(`${options.file} is in use by another Kronicle process; stop it or use another data directory`);
      }
      if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
        throw new StoreIncompatibleError(`${options.file} is not a Kronicle log (${(err as Error).message})`);
      }
      throw new StoreUnavailableError(`cannot open ${options.file}: ${(err as Error).message}`, { cause: err });
    }
    return new SqliteEventStore(db, options);
  }

  private prepare() {
    const db = this.db;
    return {
      insert: db.prepare(
        'INSERT INTO events (id, stream, revision, type, recorded_at, data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      streamRevision: db.prepare('SELECT max(revision) AS r FROM events WHERE stream = ?').pluck(),
      byId: db.prepare('SELECT stream, revision, position FROM events WHERE id = ?'),
      head: db.prepare('SELECT max(position) FROM events').pluck(),
      after: db.prepare('SELECT * FROM events WHERE position > ? ORDER BY position LIMIT ?'),
      forwards: db.prepare('SELECT * FROM events WHERE position >= ? AND position <= ? ORDER BY position LIMIT ?'),
      backwards: db.prepare('SELECT * FROM events WHERE position < ? AND position >= ? ORDER BY position DESC LIMIT ?'),
      streamForwards: db.prepare('SELECT * FROM events WHERE stream = ? AND revision >= ? ORDER BY revision LIMIT ?'),
      streamBackwards: db.prepare('SELECT * FROM events WHERE stream = ? AND revision <= ? ORDER BY revision DESC LIMIT ?'),
    };
  }

  append(stream: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    try {
      this.ensureOpen();
      checkExpectedRevision(expected);
      const encoded = encodeAppend(stream, events, this.maxEventBytes);
      return new Promise((resolve, reject) => {
        this.queue.push({ stream, events: encoded, expected, resolve, reject });
        if (!this.flushScheduled) {
          this.flushScheduled = true;
          setImmediate(() => this.flush());
        }
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Writes every queued append in one transaction, then settles their promises. */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    if (this.closed) {
      for (const p of batch) p.reject(new StoreClosedError(this.description));
      return;
    }
    const outcomes: Array<{ ok: true; result: AppendResult } | { ok: false; error: unknown }> = [];
    try {
      this.db.exec('BEGIN IMMEDIATE');
      const recordedAt = BigInt(this.clock().getTime());
      for (const p of batch) {
        this.db.exec('SAVEPOINT one_append');
        try {
          outcomes.push({ ok: true, result: this.writeOne(p, recordedAt) });
          this.db.exec('RELEASE one_append');
        } catch (err) {
          this.db.exec('ROLLBACK TO one_append; RELEASE one_append');
          outcomes.push({ ok: false, error: translate(err) });
        }
      }
      this.db.exec('COMMIT');
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      const error = new StoreUnavailableError(`append to ${this.description} failed: ${(err as Error).message}`, { cause: err });
      for (const p of batch) p.reject(error);
      return;
    }
    batch.forEach((p, i) => {
      const o = outcomes[i];
      if (o.ok) p.resolve(o.result);
      else p.reject(o.error);
    });
    if (outcomes.some((o) => o.ok)) this.appended.next();
  }

  private writeOne(p: PendingAppend, recordedAt: bigint): AppendResult {
    const retry = resolveRetry(p.stream, p.events, p.expected, (id) => this.stmt.byId.get(id) as Row | undefined);
    if (retry) return retry;
    const r = this.stmt.streamRevision.get(p.stream) as bigint | null;
    const current = r ?? NO_STREAM_REVISION;
    if (!expectationHolds(p.expected, current)) throw wrongExpectedVersion(p.stream, p.expected, current);
    let revision = current;
    let position = 0n;
    for (const e of p.events) {
      revision += 1n;
      const info = this.stmt.insert.run(e.id, p.stream, revision, e.type, recordedAt, e.data, e.metadata);
      position = BigInt(info.lastInsertRowid);
    }
    return { nextExpectedRevision: revision, position };
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<readonly StoredEvent[]> {
    this.ensureOpen();
    checkStreamName(stream);
    const max = options.maxCount ?? DEFAULT_READ_COUNT;
    const rows =
      options.direction === 'backwards'
        ? this.stmt.streamBackwards.all(stream, options.fromRevision ?? BigInt(Number.MAX_SAFE_INTEGER), max)
        : this.stmt.streamForwards.all(stream, options.fromRevision ?? 0n, max);
    return (rows as Row[]).map(toStored);
  }

  async readAll(options: ReadAllOptions = {}): Promise<readonly StoredEvent[]> {
    this.ensureOpen();
    const max = options.maxCount ?? DEFAULT_READ_COUNT;
    const top = BigInt(Number.MAX_SAFE_INTEGER);
    const rows =
      options.direction === 'backwards'
        ? this.stmt.backwards.all(options.from ?? top, options.to ?? 0n, max)
        : this.stmt.forwards.all(options.from ?? 0n, options.to ?? top, max);
    return (rows as Row[]).map(toStored);
  }

  /**
   * Reads forwards from the position after `after` without building StoredEvent objects for
   * the caller's own decoding: the hot path of full replays.
   */
  *iterateRaw(after: Position, to?: Position): Generator<Row> {
    this.ensureOpen();
    const stmt = this.db.prepare('SELECT * FROM events WHERE position > ? AND position <= ? ORDER BY position');
    yield* stmt.iterate(after, to ?? BigInt(Number.MAX_SAFE_INTEGER)) as Iterable<Row>;
  }

  async headPosition(): Promise<Position> {
    this.ensureOpen();
    return (this.stmt.head.get() as bigint | null) ?? 0n;
  }

  subscribeAll(from: Position) {
    return pullSubscription(
      from,
      (after, limit) => {
        this.ensureOpen();
        return (this.stmt.after.all(after, limit) as Row[]).map(toStored);
      },
      this.appended,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Let queued appends finish first: an append that was accepted is never dropped by close.
    if (this.queue.length > 0) this.flush();
    this.closed = true;
    this.appended.complete();
    this.db.close();
  }

  private ensureOpen(): void {
    if (this.closed) throw new StoreClosedError(this.description);
  }
}

function toStored(row: Row): StoredEvent {
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

function translate(err: unknown): unknown {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: string }).code;
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return new InvalidEventError('DuplicateEventId', (err as Error).message);
  }
  return new StoreUnavailableError((err as Error).message, { cause: err });
}

function migrate(db: Database.Database, file: string): void {
  const appId = Number(db.pragma('application_id', { simple: true }));
  const version = Number(db.pragma('user_version', { simple: true }));
  const tables = Number(db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'").pluck().get());
  if (appId !== APPLICATION_ID && (appId !== 0 || tables > 0)) {
    throw new StoreIncompatibleError(`${file} is an SQLite file but not a Kronicle log`);
  }
  if (version > SQLITE_SCHEMA_VERSION) {
    throw new StoreIncompatibleError(
      `${file} has log schema version ${version}; this Kronicle reads up to ${SQLITE_SCHEMA_VERSION}: upgrade Kronicle`,
    );
  }
  if (version === SQLITE_SCHEMA_VERSION) return;
  db.transaction(() => {
    // Version 0 -> 1: the initial layout. Later versions add steps here, each in this transaction.
    db.exec(`
      CREATE TABLE events (
        position    INTEGER PRIMARY KEY,
        id          TEXT    NOT NULL UNIQUE,
        stream      TEXT    NOT NULL,
        revision    INTEGER NOT NULL,
        type        TEXT    NOT NULL,
        recorded_at INTEGER NOT NULL,
        data        TEXT    NOT NULL,
        metadata    TEXT    NOT NULL,
        UNIQUE (stream, revision)
      );
    `);
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
  })();
}
