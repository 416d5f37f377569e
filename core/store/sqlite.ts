/**
 * The embedded EventStore: one SQLite file (better-sqlite3) in the data directory.
 *
 * Threads: appends are written by a worker thread (sqliteWriter.ts) that owns the writing
 * connection; reads use a read-only connection on the calling thread. SQLite's WAL lets the
 * reader see every committed append while the writer works.
 *
 * Durability: WAL with synchronous=FULL, so a commit returns only after the WAL is fsynced;
 * an append's promise resolves only after the commit that holds it.
 *
 * Group commit: appends queue up here while the writer is busy; each time the writer finishes a
 * batch, everything queued meanwhile goes to it as the next batch, written in one transaction.
 * Under load batches grow, and the fsync of one batch overlaps the encoding of the next.
 *
 * One process at a time: a lock file beside the log (`<file>.lock`) is held with an EXCLUSIVE
 * SQLite lock for the life of the store, so a second process gets StoreLockedError. The lock is
 * the kernel's (fcntl) and dies with the process: a crashed server never leaves a stale lock.
 */
import Database from 'better-sqlite3';
import { Subject } from 'rxjs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  InvalidEventError,
  StoreClosedError,
  StoreIncompatibleError,
  StoreLockedError,
  StoreUnavailableError,
  WrongExpectedVersionError,
  type InvalidEventReason,
} from './errors';
import { DEFAULT_MAX_EVENT_BYTES, checkExpectedRevision, checkStreamName, encodeAppend, parseMetadata, pullSubscription } from './internal';
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
import type { WriterAppend, WriterError, WriterOutcome, WriterRequest, WriterResponse } from './sqliteWriter';

export { SQLITE_SCHEMA_VERSION } from './sqliteSchema';

export interface SqliteStoreOptions {
  /** The database file. Its directory is created if missing. */
  readonly file: string;
  readonly clock?: () => Date;
  readonly maxEventBytes?: number;
}

/** A row of the events table, as the reader returns it. */
export interface EventRow {
  position: bigint;
  id: string;
  stream: string;
  revision: bigint;
  type: string;
  recorded_at: bigint;
  data: string;
  metadata: string;
}

type RawRow = [bigint, string, string, bigint, string, bigint, string, string];

interface PendingAppend extends WriterAppend {
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

const TOP = BigInt(Number.MAX_SAFE_INTEGER);

/** The writer's compiled form in dist/, or its TypeScript source (run through tsx) in a checkout. */
function startWriterThread(file: string): Worker {
  const js = path.join(__dirname, 'sqliteWriter.js');
  const workerData = { kronicleSqliteWriter: file };
  if (fs.existsSync(js)) return new Worker(js, { workerData });
  // From source (tests, benchmarks): tsx, a development dependency, compiles the writer.
  const ts = path.join(__dirname, 'sqliteWriter.ts');
  return new Worker(`require('tsx/cjs'); require(${JSON.stringify(ts)});`, { eval: true, workerData });
}

function fromWire(e: WriterError): Error {
  switch (e.code) {
    case 'WrongExpectedVersion':
      return new WrongExpectedVersionError(e.stream ?? '', e.expected ?? 'any', e.actual ?? 'no_stream');
    case 'InvalidEvent':
      return new InvalidEventError((e.reason ?? 'InvalidJson') as InvalidEventReason, e.message);
    case 'StoreIncompatible':
      return new StoreIncompatibleError(e.message);
    default:
      if (e.sqliteCode === 'SQLITE_CONSTRAINT_UNIQUE' || e.sqliteCode === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        return new InvalidEventError('DuplicateEventId', e.message);
      }
      if (e.sqliteCode === 'SQLITE_NOTADB' || e.sqliteCode === 'SQLITE_CORRUPT') {
        return new StoreIncompatibleError(`not a Kronicle log (${e.message})`);
      }
      return new StoreUnavailableError(`SQLite: ${e.message}`);
  }
}

function holdLock(file: string): Database.Database {
  const lockFile = `${file}.lock`;
  const lock = new Database(lockFile, { timeout: 0 });
  try {
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec('BEGIN EXCLUSIVE');
    return lock;
  } catch (err) {
    lock.close();
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      throw new StoreLockedError(`${file} is in use by another Kronicle process; stop it or use another data directory`);
    }
    throw new StoreUnavailableError(`cannot lock ${lockFile}: ${(err as Error).message}`, { cause: err });
  }
}

export class SqliteEventStore implements EventStore {
  readonly description: string;
  private readonly clock: () => Date;
  private readonly maxEventBytes: number;
  private readonly appended = new Subject<void>();
  private queue: PendingAppend[] = [];
  private inFlight: { seq: number; batch: PendingAppend[] } | undefined;
  private seq = 0;
  private closed = false;
  private drained: Array<() => void> = [];
  private readonly stmt: ReturnType<typeof prepareReads>;

  private constructor(
    private readonly reader: Database.Database,
    private readonly writer: Worker,
    private readonly lock: Database.Database,
    options: SqliteStoreOptions,
  ) {
    this.description = `sqlite:${options.file}`;
    this.clock = options.clock ?? (() => new Date());
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    this.stmt = prepareReads(reader);
    writer.on('message', (m: WriterResponse) => {
      if (m.op === 'appended') this.settle(m.seq, m.outcomes);
    });
    writer.on('error', (err) => this.failAll(new StoreUnavailableError(`the SQLite writer failed: ${err.message}`, { cause: err })));
    writer.on('exit', () => {
      if (!this.closed) this.failAll(new StoreUnavailableError('the SQLite writer stopped'));
    });
  }

  static async open(options: SqliteStoreOptions): Promise<SqliteEventStore> {
    const file = path.resolve(options.file);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const lock = holdLock(file);
    let writer: Worker | undefined;
    try {
      writer = startWriterThread(file);
      await new Promise<void>((resolve, reject) => {
        const w = writer as Worker;
        const onMessage = (m: WriterResponse) => {
          w.off('error', onError);
          w.off('message', onMessage);
          if (m.op === 'ready') resolve();
          else if (m.op === 'failed') reject(fromWire(m.error));
        };
        const onError = (err: Error) => reject(new StoreUnavailableError(`cannot start the SQLite writer: ${err.message}`, { cause: err }));
        w.on('message', onMessage);
        w.once('error', onError);
      });
      const reader = new Database(file, { readonly: true, fileMustExist: true });
      reader.defaultSafeIntegers(true);
      return new SqliteEventStore(reader, writer, lock, { ...options, file });
    } catch (err) {
      await writer?.terminate();
      lock.close();
      throw err;
    }
  }

  append(stream: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    try {
      this.ensureOpen();
      checkExpectedRevision(expected);
      const encoded = encodeAppend(stream, events, this.maxEventBytes);
      return new Promise((resolve, reject) => {
        this.queue.push({ stream, events: encoded, expected, resolve, reject });
        // Appends made in the same turn of the event loop go out together.
        if (!this.inFlight && this.queue.length === 1) setImmediate(() => this.send());
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private send(): void {
    if (this.inFlight || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    const seq = ++this.seq;
    this.inFlight = { seq, batch };
    const request: WriterRequest = {
      op: 'append',
      seq,
      recordedAt: BigInt(this.clock().getTime()),
      appends: batch.map(({ stream, events, expected }) => ({ stream, events, expected })),
    };
    this.writer.postMessage(request);
  }

  private settle(seq: number, outcomes: readonly WriterOutcome[]): void {
    const flight = this.inFlight;
    if (!flight || flight.seq !== seq) return;
    this.inFlight = undefined;
    flight.batch.forEach((p, i) => {
      const o = outcomes[i];
      if (o.ok) p.resolve(o.result);
      else p.reject(fromWire(o.error));
    });
    if (outcomes.some((o) => o.ok)) this.appended.next();
    if (this.queue.length > 0) this.send();
    else for (const d of this.drained.splice(0)) d();
  }

  private failAll(error: Error): void {
    const pending = [...(this.inFlight?.batch ?? []), ...this.queue];
    this.inFlight = undefined;
    this.queue = [];
    for (const p of pending) p.reject(error);
    for (const d of this.drained.splice(0)) d();
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<readonly StoredEvent[]> {
    this.ensureOpen();
    checkStreamName(stream);
    const max = options.maxCount ?? DEFAULT_READ_COUNT;
    const rows =
      options.direction === 'backwards'
        ? this.stmt.streamBackwards.all(stream, options.fromRevision ?? TOP, max)
        : this.stmt.streamForwards.all(stream, options.fromRevision ?? 0n, max);
    return (rows as EventRow[]).map(toStored);
  }

  async readAll(options: ReadAllOptions = {}): Promise<readonly StoredEvent[]> {
    this.ensureOpen();
    const max = options.maxCount ?? DEFAULT_READ_COUNT;
    const rows =
      options.direction === 'backwards'
        ? this.stmt.backwards.all(options.from ?? TOP, options.to ?? 0n, max)
        : this.stmt.forwards.all(options.from ?? 0n, options.to ?? TOP, max);
    return (rows as EventRow[]).map(toStored);
  }

  /**
   * Rows after `after` up to `to`, as stored (JSON still in text): the hot path of full replays,
   * which decode only what they need.
   */
  *iterateRows(after: Position, to: Position = TOP, pageSize = 2048): Generator<EventRow> {
    this.ensureOpen();
    // Pages of `all()` rather than `iterate()`: one native call per page, not per row.
    // Raw rows (arrays) are markedly cheaper for better-sqlite3 to build than row objects.
    let from = after;
    for (;;) {
      const page = this.stmt.page.all(from, to, pageSize) as RawRow[];
      for (const r of page) yield { position: r[0], id: r[1], stream: r[2], revision: r[3], type: r[4], recorded_at: r[5], data: r[6], metadata: r[7] };
      if (page.length < pageSize) return;
      from = page[page.length - 1][0];
    }
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
        return (this.stmt.after.all(after, limit) as EventRow[]).map(toStored);
      },
      this.appended,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Appends already accepted are written before the store closes: none is dropped.
    if (this.inFlight || this.queue.length > 0) {
      await new Promise<void>((resolve) => {
        this.drained.push(resolve);
        this.send();
      });
    }
    this.closed = true;
    this.appended.complete();
    // The reader first, so that the writer closes the last connection and checkpoints the WAL.
    this.reader.close();
    await new Promise<void>((resolve) => {
      this.writer.once('exit', () => resolve());
      this.writer.postMessage({ op: 'close' } satisfies WriterRequest);
    });
    this.lock.close();
  }

  private ensureOpen(): void {
    if (this.closed) throw new StoreClosedError(this.description);
  }
}

function prepareReads(db: Database.Database) {
  return {
    head: db.prepare('SELECT max(position) FROM events').pluck(),
    after: db.prepare('SELECT * FROM events WHERE position > ? ORDER BY position LIMIT ?'),
    page: db.prepare('SELECT position, id, stream, revision, type, recorded_at, data, metadata FROM events WHERE position > ? AND position <= ? ORDER BY position LIMIT ?').raw(true),
    forwards: db.prepare('SELECT * FROM events WHERE position >= ? AND position <= ? ORDER BY position LIMIT ?'),
    backwards: db.prepare('SELECT * FROM events WHERE position < ? AND position >= ? ORDER BY position DESC LIMIT ?'),
    streamForwards: db.prepare('SELECT * FROM events WHERE stream_id = (SELECT id FROM streams WHERE name = ?) AND revision >= ? ORDER BY revision LIMIT ?'),
    streamBackwards: db.prepare('SELECT * FROM events WHERE stream_id = (SELECT id FROM streams WHERE name = ?) AND revision <= ? ORDER BY revision DESC LIMIT ?'),
  };
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
