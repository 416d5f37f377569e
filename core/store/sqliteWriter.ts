/**
 * The SQLite log's writer thread. It owns the only writing connection and runs group commits:
 * each message is a batch of appends, written in one transaction (one fsync) and answered with
 * one outcome per append. Running here, the fsync never blocks the main thread's event loop,
 * and the main thread gathers the next batch while this one is being made durable.
 *
 * Each append is fully checked (retry, expected revision) before any of its rows is written, so
 * a refused append writes nothing and the others go on. Should the batch fail as a whole (an
 * I/O error), each append is tried again in a transaction of its own.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { StoreError } from './errors';
import { NO_STREAM_REVISION, expectationHolds, resolveRetry, wrongExpectedVersion, type EncodedEvent, type RecordedId } from './appendRules';
import { configureWriter, migrate } from './sqliteSchema';
import type { AppendResult, ExpectedRevision } from './port';

export interface WriterAppend {
  readonly stream: string;
  readonly events: readonly EncodedEvent[];
  readonly expected: ExpectedRevision;
}

/** An error crossing the thread boundary: enough to rebuild the StoreError on the other side. */
export interface WriterError {
  readonly code: string;
  readonly message: string;
  readonly reason?: string;
  readonly stream?: string;
  readonly expected?: ExpectedRevision;
  readonly actual?: bigint | 'no_stream';
  readonly sqliteCode?: string;
}

export type WriterOutcome = { readonly ok: true; readonly result: AppendResult } | { readonly ok: false; readonly error: WriterError };

export type WriterRequest =
  | { readonly op: 'append'; readonly seq: number; readonly recordedAt: bigint; readonly appends: readonly WriterAppend[] }
  | { readonly op: 'close' };

export type WriterResponse =
  | { readonly op: 'ready' }
  | { readonly op: 'failed'; readonly error: WriterError }
  | { readonly op: 'appended'; readonly seq: number; readonly outcomes: readonly WriterOutcome[] }
  | { readonly op: 'closed' };

interface StreamInfo {
  readonly id: bigint | undefined;
  readonly revision: bigint;
}

const STREAM_CACHE_SIZE = 100_000;

const toWire = (err: unknown): WriterError => {
  if (err instanceof StoreError) {
    const e = err as StoreError & { reason?: string; stream?: string; expected?: ExpectedRevision; actual?: bigint | 'no_stream' };
    return { code: e.code, message: e.message, reason: e.reason, stream: e.stream, expected: e.expected, actual: e.actual };
  }
  return { code: 'SqliteError', message: (err as Error)?.message ?? String(err), sqliteCode: (err as { code?: string })?.code };
};

function startWriter(file: string): void {
  const port = parentPort;
  if (!port) throw new Error('sqliteWriter must run in a worker thread');
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: 1000 });
    configureWriter(db);
    migrate(db, file);
  } catch (err) {
    port.postMessage({ op: 'failed', error: toWire(err) } satisfies WriterResponse);
    return;
  }
  const stmt = {
    insert: db.prepare('INSERT INTO events (id, stream, stream_id, revision, type, recorded_at, data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    streamId: db.prepare('SELECT id FROM streams WHERE name = ?').pluck(),
    insertStream: db.prepare('INSERT INTO streams (name) VALUES (?)'),
    streamRevision: db.prepare('SELECT max(revision) FROM events WHERE stream_id = ?').pluck(),
    byId: db.prepare('SELECT stream, revision, position FROM events WHERE id = ?'),
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
  };
  // Stream ids and current revisions, least recently used first. This thread is the log's only
  // writer, so the cache cannot go stale; it is updated only after a commit.
  const streams = new Map<string, StreamInfo>();

  const streamInfo = (name: string): StreamInfo => {
    const cached = streams.get(name);
    if (cached) return cached;
    const id = stmt.streamId.get(name) as bigint | undefined;
    const revision = id === undefined ? NO_STREAM_REVISION : ((stmt.streamRevision.get(id) as bigint | null) ?? NO_STREAM_REVISION);
    return { id, revision };
  };

  const writeOne = (a: WriterAppend, recordedAt: bigint, touched: Map<string, StreamInfo>): AppendResult => {
    const retry = resolveRetry(a.stream, a.events, a.expected, (id) => stmt.byId.get(id) as RecordedId | undefined);
    if (retry) return retry;
    const info = touched.get(a.stream) ?? streamInfo(a.stream);
    if (!expectationHolds(a.expected, info.revision)) throw wrongExpectedVersion(a.stream, a.expected, info.revision);
    const streamId = info.id ?? BigInt(stmt.insertStream.run(a.stream).lastInsertRowid);
    let revision = info.revision;
    let position = 0n;
    for (const e of a.events) {
      revision += 1n;
      position = BigInt(stmt.insert.run(e.id, a.stream, streamId, revision, e.type, recordedAt, e.data, e.metadata).lastInsertRowid);
    }
    touched.set(a.stream, { id: streamId, revision });
    return { nextExpectedRevision: revision, position };
  };

  /** One transaction for the batch; undefined when the transaction itself failed. */
  const writeBatch = (appends: readonly WriterAppend[], recordedAt: bigint): WriterOutcome[] | undefined => {
    const outcomes: WriterOutcome[] = [];
    const touched = new Map<string, StreamInfo>();
    try {
      stmt.begin.run();
      for (const a of appends) {
        try {
          outcomes.push({ ok: true, result: writeOne(a, recordedAt, touched) });
        } catch (err) {
          if (!(err instanceof StoreError)) throw err;
          outcomes.push({ ok: false, error: toWire(err) });
        }
      }
      stmt.commit.run();
    } catch (err) {
      if (db.inTransaction) stmt.rollback.run();
      if (appends.length === 1) return [{ ok: false, error: toWire(err) }];
      return undefined;
    }
    for (const [name, info] of touched) {
      streams.delete(name);
      streams.set(name, info);
      if (streams.size > STREAM_CACHE_SIZE) streams.delete(streams.keys().next().value as string);
    }
    return outcomes;
  };

  port.on('message', (req: WriterRequest) => {
    if (req.op === 'close') {
      db.close();
      port.postMessage({ op: 'closed' } satisfies WriterResponse);
      port.close();
      return;
    }
    const outcomes = writeBatch(req.appends, req.recordedAt) ?? req.appends.map((a) => (writeBatch([a], req.recordedAt) as WriterOutcome[])[0]);
    port.postMessage({ op: 'appended', seq: req.seq, outcomes } satisfies WriterResponse);
  });
  port.postMessage({ op: 'ready' } satisfies WriterResponse);
}

if (parentPort && (workerData as { kronicleSqliteWriter?: string } | undefined)?.kronicleSqliteWriter) {
  startWriter((workerData as { kronicleSqliteWriter: string }).kronicleSqliteWriter);
}
