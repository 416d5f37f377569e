/**
 * The SQLite log's writing side: appending events (positions, the hash chain, the stream cache,
 * the expected-revision and retry rules, the per-stream index) and storing snapshots, on the
 * store's connection, which is the log's only writer. The store (sqlite.ts) keeps the rest:
 * checking and serialising appends, grouping them, fsyncing the WAL before it acknowledges, reads.
 *
 * The per-stream index (`stream_events`: stream, revision → position) is written in bulk, not at
 * every commit: a commit of 32 events to 32 streams would otherwise rewrite ~30 of the index's
 * pages into the WAL (more than half of what a commit writes), where one bulk insert of
 * INDEX_EVENTS events, sorted, rewrites each page once. The events not yet in it are the tail,
 * kept here in memory by stream (and rebuilt from the log at open): reads of a stream join the two.
 */
import type Database from 'better-sqlite3';
import * as zlib from 'node:zlib';
import { InvalidEventError, StoreError, StoreUnavailableError } from './errors';
import { NO_STREAM_REVISION, expectationHolds, resolveRetry, wrongExpectedVersion, type EncodedEvent, type RecordedId } from './appendRules';
import { GENESIS_HASH, chainHash } from './chain';
import type { AppendResult, ExpectedRevision, Position } from './port';

/** One append as the writer receives it: checked and serialised by the store. */
export interface WriteRequest {
  readonly stream: string;
  readonly events: readonly EncodedEvent[];
  readonly expected: ExpectedRevision;
}

/** What became of one append of a batch. */
export type Outcome = { readonly ok: true; readonly result: AppendResult } | { readonly ok: false; readonly error: StoreError };

/** An event of a stream not yet in `stream_events`. */
export interface TailEntry {
  readonly revision: bigint;
  readonly position: Position;
}

interface TailEvent extends TailEntry {
  readonly stream: string;
  readonly streamId: bigint;
}

/** Events between bulk inserts into the per-stream index. */
const INDEX_EVENTS = 4096;

interface StreamInfo {
  /** The row id in `streams`; undefined for a stream not yet written. */
  readonly id: bigint | undefined;
  readonly revision: bigint;
}

const STREAM_CACHE_SIZE = 100_000;

export class SqliteWriter {
  private readonly stmt: ReturnType<typeof prepareWriter>;
  /** Stream ids and current revisions, least recently used first; updated after each commit. */
  private readonly streams = new Map<string, StreamInfo>();
  /** The last committed event: the tip of the hash chain. */
  private tip: { position: Position; hash: string };
  /** The events after `stream_events_upto`, by stream, in order. */
  private readonly tail = new Map<string, TailEvent[]>();
  private tailCount = 0;
  /** Tail length at which the next bulk insert into the index is due. */
  private nextIndexAt: number;
  /** Where an event id is in the log (for resolveRetry): one function, not one per append. */
  private readonly lookupId = (id: string): RecordedId | undefined => this.stmt.byId.get(id) as RecordedId | undefined;

  constructor(
    private readonly db: Database.Database,
    private readonly description: string,
    private readonly indexEvents = INDEX_EVENTS,
  ) {
    this.stmt = prepareWriter(db);
    const last = this.stmt.tip.get() as { position: bigint; hash: string } | undefined;
    this.tip = last ? { position: last.position, hash: last.hash } : { position: 0n, hash: GENESIS_HASH };
    for (const [stream, streamId, revision, position] of this.stmt.tail.iterate(this.stmt.indexedUpTo.get() as bigint) as Iterable<[string, bigint, bigint, bigint]>) {
      this.addToTail({ stream, streamId, revision, position });
    }
    this.nextIndexAt = indexEvents;
    if (this.tailCount >= this.nextIndexAt) this.index();
  }

  /** The stream's events not yet in `stream_events` (all after those that are), in order. */
  tailOf(stream: string): readonly TailEntry[] {
    return this.tail.get(stream) ?? [];
  }

  get head(): Position {
    return this.tip.position;
  }

  /**
   * One transaction for the batch. A refused append (wrong expected revision, a clashing id)
   * writes nothing and the others go on; if the transaction itself fails (an I/O error), each
   * append is tried alone, so one cannot take the others down with it.
   */
  write(batch: readonly WriteRequest[], recordedAt: bigint): Outcome[] {
    return this.writeBatch(batch, recordedAt) ?? batch.map((p) => (this.writeBatch([p], recordedAt) as Outcome[])[0]);
  }

  /** Snapshots are stored deflated (fast level: consecutive objects share most of their keys). */
  saveSnapshot(position: Position, schema: number, createdAt: bigint, data: Uint8Array): void {
    this.stmt.saveSnapshot.run(position, schema, createdAt, zlib.deflateRawSync(data, { level: 1 }));
  }

  dropSnapshotsExcept(schema: number): number {
    return Number(this.stmt.dropSnapshots.run(schema).changes);
  }

  /** One transaction for the batch; undefined when the transaction itself failed. */
  private writeBatch(batch: readonly WriteRequest[], recordedAt: bigint): Outcome[] | undefined {
    const outcomes: Outcome[] = [];
    const touched = new Map<string, StreamInfo>();
    const written: TailEvent[] = [];
    const tip = { ...this.tip };
    try {
      this.stmt.begin.run();
      for (const p of batch) {
        try {
          outcomes.push({ ok: true, result: this.writeOne(p, recordedAt, touched, tip, written) });
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
    for (const e of written) this.addToTail(e);
    if (this.tailCount >= this.nextIndexAt) this.index();
    return outcomes;
  }

  private addToTail(e: TailEvent): void {
    const entries = this.tail.get(e.stream);
    if (entries) entries.push(e);
    else this.tail.set(e.stream, [e]);
    this.tailCount++;
  }

  /**
   * The tail into `stream_events`, sorted (each index page is written once), in a transaction of
   * its own. It needs no fsync of its own: lost to a crash, the tail is rebuilt at open. If it
   * fails (it should not), the tail stays and the next try is INDEX_EVENTS events later.
   */
  private index(): void {
    // Each stream's entries are in revision order already: only the streams need sorting.
    const streams = [...this.tail.values()].sort((a, b) => (a[0].streamId < b[0].streamId ? -1 : 1));
    try {
      this.stmt.begin.run();
      for (const entries of streams) for (const e of entries) this.stmt.index.run(e.streamId, e.revision, e.position);
      this.stmt.setIndexedUpTo.run(this.tip.position);
      this.stmt.commit.run();
      this.tail.clear();
      this.tailCount = 0;
      this.nextIndexAt = this.indexEvents;
    } catch {
      if (this.db.inTransaction) this.stmt.rollback.run();
      this.nextIndexAt = this.tailCount + this.indexEvents;
    }
  }

  /**
   * One append, in the batch's transaction. An append whose ids are already in the log is a retry
   * (resolveRetry). Most appends are one event to a stream that exists: those skip looking their
   * id up first — the log's unique index on ids refuses a retry's row (only that statement is
   * undone) and the lookup is made then, or when the expected revision does not hold.
   */
  private writeOne(p: WriteRequest, recordedAt: bigint, touched: Map<string, StreamInfo>, tip: { position: Position; hash: string }, written: TailEvent[]): AppendResult {
    const info = touched.get(p.stream) ?? this.streamInfo(p.stream);
    const quick = p.events.length === 1 && info.id !== undefined;
    if (!quick) {
      const retry = this.retryOf(p);
      if (retry) return retry;
    }
    if (!expectationHolds(p.expected, info.revision)) {
      const retry = quick ? this.retryOf(p) : undefined;
      if (retry) return retry;
      throw wrongExpectedVersion(p.stream, p.expected, info.revision);
    }
    if (quick) {
      try {
        return this.insertEvents(p, recordedAt, touched, tip, written, info.id as bigint, info.revision);
      } catch (err) {
        const retry = (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' ? this.retryOf(p) : undefined;
        if (retry) return retry;
        throw err;
      }
    }
    const streamId = info.id ?? BigInt(this.stmt.insertStream.run(p.stream).lastInsertRowid);
    return this.insertEvents(p, recordedAt, touched, tip, written, streamId, info.revision);
  }

  /** The original result when the append's ids are already in the log (resolveRetry); undefined for a new append. */
  private retryOf(p: WriteRequest): AppendResult | undefined {
    return resolveRetry(p.stream, p.events, p.expected, this.lookupId);
  }

  private insertEvents(
    p: WriteRequest,
    recordedAt: bigint,
    touched: Map<string, StreamInfo>,
    tip: { position: Position; hash: string },
    written: TailEvent[],
    streamId: bigint,
    current: bigint,
  ): AppendResult {
    let revision = current;
    for (const e of p.events) {
      revision += 1n;
      // Positions are assigned here, not by SQLite, so that each event's hash can cover its
      // position and chain to the event before it in the same statement.
      const row = { position: tip.position + 1n, id: e.id, stream: p.stream, revision, type: e.type, recordedAt, data: e.data, metadata: e.metadata };
      const hash = chainHash(tip.hash, row);
      this.stmt.insert.run(row.position, e.id, p.stream, streamId, revision, e.type, recordedAt, e.data, e.metadata, hash);
      tip.position = row.position;
      tip.hash = hash;
      written.push({ stream: p.stream, streamId, revision, position: row.position });
    }
    touched.set(p.stream, { id: streamId, revision });
    return { nextExpectedRevision: revision, position: tip.position };
  }

  /** The stream's id and current revision; this connection is the log's only writer. */
  private streamInfo(name: string): StreamInfo {
    const cached = this.streams.get(name);
    if (cached) return cached;
    // A stream with events in the tail: its id and last revision are there.
    const tail = this.tail.get(name);
    if (tail) return { id: tail[0].streamId, revision: tail[tail.length - 1].revision };
    const id = this.stmt.streamId.get(name) as bigint | undefined;
    const revision = id === undefined ? NO_STREAM_REVISION : ((this.stmt.streamRevision.get(id) as bigint | null) ?? NO_STREAM_REVISION);
    return { id, revision };
  }

  private remember(name: string, info: StreamInfo): void {
    this.streams.delete(name);
    this.streams.set(name, info);
    if (this.streams.size > STREAM_CACHE_SIZE) this.streams.delete(this.streams.keys().next().value as string);
  }
}

function prepareWriter(db: Database.Database) {
  return {
    insert: db.prepare('INSERT INTO events (position, id, stream, stream_id, revision, type, recorded_at, data, metadata, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
    tip: db.prepare('SELECT position, hash FROM events ORDER BY position DESC LIMIT 1'),
    saveSnapshot: db.prepare('INSERT OR REPLACE INTO snapshots (position, schema, created_at, data) VALUES (?, ?, ?, ?)'),
    dropSnapshots: db.prepare('DELETE FROM snapshots WHERE schema <> ?'),
    streamId: db.prepare('SELECT id FROM streams WHERE name = ?').pluck(),
    insertStream: db.prepare('INSERT INTO streams (name) VALUES (?)'),
    streamRevision: db.prepare('SELECT max(revision) FROM stream_events WHERE stream_id = ?').pluck(),
    indexedUpTo: db.prepare('SELECT position FROM stream_events_upto WHERE id = 1').pluck(),
    tail: db.prepare('SELECT stream, stream_id, revision, position FROM events WHERE position > ? ORDER BY position').raw(true),
    index: db.prepare('INSERT INTO stream_events (stream_id, revision, position) VALUES (?, ?, ?)'),
    setIndexedUpTo: db.prepare('UPDATE stream_events_upto SET position = ? WHERE id = 1'),
    byId: db.prepare('SELECT stream, revision, position FROM events WHERE id = ?'),
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
  };
}
