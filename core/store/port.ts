/**
 * The EventStore port: the one interface through which Kronicle reads and writes its log.
 *
 * Three adapters implement it (memory, sqlite, esdb) and all of them pass the same conformance
 * suite (tests/conformance/eventStore.conformance.ts). The contract:
 *
 * - A log is a totally ordered sequence of events. Each event has a global `position`
 *   (strictly increasing, not necessarily contiguous: EventStoreDB positions are byte offsets)
 *   and belongs to one stream, in which it has a `revision` (0, 1, 2, … without gaps).
 * - `append` writes all of its events or none. It resolves only once the events are durable.
 *   It is idempotent on event ids: a retry with the same ids and the same expectation writes
 *   nothing and resolves with the original result.
 * - `readAll` forwards from a position is inclusive; backwards from a position is exclusive;
 *   `subscribeAll(from)` is exclusive (it delivers events after `from`).
 * - `subscribeAll` delivers every event after `from`, in position order, with no gap and no
 *   duplicate, first catching up from the log and then following new appends. It reads the log
 *   as its consumer takes events, so memory stays bounded however far behind the consumer is.
 * - Failures are `StoreError`s (see errors.ts); vendor errors never leave an adapter.
 */
import type { Observable } from 'rxjs';

/** A global log position. Decimal string form is an object's resourceVersion. */
export type Position = bigint;
/** A revision within one stream; the first event of a stream has revision 0. */
export type Revision = bigint;

export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | Revision;

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonObject | readonly JsonValue[];
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

/** An event as proposed to `append`. `id` is a UUID and the idempotency key. */
export interface EventToAppend {
  readonly id: string;
  readonly type: string;
  readonly data: JsonValue;
  readonly metadata: JsonObject;
}

/** An event as recorded in the log. */
export interface StoredEvent {
  readonly id: string;
  readonly type: string;
  readonly stream: string;
  readonly revision: Revision;
  readonly position: Position;
  /** The store's clock when the event was appended. */
  readonly recordedAt: Date;
  readonly data: JsonValue;
  readonly metadata: JsonObject;
}

/**
 * An event as the log holds it, payload and metadata still JSON text. Stores that keep events
 * as text can hand them out undecoded (RawEventReader), so that a large replay decodes them where
 * and when it chooses (projections/decodeThread.ts).
 */
export interface RawEvent {
  readonly id: string;
  readonly type: string;
  readonly stream: string;
  readonly revision: Revision;
  readonly position: Position;
  /** Milliseconds since the epoch. */
  readonly recordedAt: bigint;
  readonly data: string;
  readonly metadata: string;
}

export interface RawEventReader {
  /** The events after `after` up to `to` (inclusive; default the head), in position order, read page by page as iterated. */
  rawEvents(after: Position, to?: Position): Iterable<RawEvent>;
}

export const readsRaw = <S extends EventStore>(store: S): store is S & RawEventReader =>
  typeof (store as Partial<RawEventReader>).rawEvents === 'function';

export interface AppendResult {
  /** The revision of the last event written to the stream. */
  readonly nextExpectedRevision: Revision;
  /** The position of the last event written. */
  readonly position: Position;
}

export type Direction = 'forwards' | 'backwards';

export interface ReadStreamOptions {
  /** Inclusive. Defaults to 0 forwards and the last revision backwards. */
  readonly fromRevision?: Revision;
  readonly direction?: Direction;
  readonly maxCount?: number;
}

export interface ReadAllOptions {
  /**
   * Forwards: inclusive, default the start of the log.
   * Backwards: exclusive, default the end of the log.
   */
  readonly from?: Position;
  /** Inclusive bound on the other side of the range. */
  readonly to?: Position;
  readonly direction?: Direction;
  /** Defaults to DEFAULT_READ_COUNT; reads are paged, never unbounded. */
  readonly maxCount?: number;
}

export const DEFAULT_READ_COUNT = 4096;

/**
 * A snapshot of projection state at a log position, stored beside the log (its format is the
 * projections' business: here it is bytes). Snapshots are disposable: derived from the log,
 * ignored when their schema is not the reader's, rebuilt when missing.
 */
export interface Snapshot {
  readonly position: Position;
  readonly schema: number;
  /** The encoded state (projections/snapshot.ts), opaque to the store. */
  readonly data: Buffer;
}

export interface SnapshotStore {
  saveSnapshot(snapshot: Snapshot): Promise<void>;
  /** The latest snapshot of `schema` at or before `position`. */
  loadSnapshot(position: Position, schema: number): Promise<Snapshot | undefined>;
  /** Positions of the snapshots of `schema`, ascending. */
  snapshotPositions(schema: number): Promise<Position[]>;
  /** Removes every snapshot of another schema; returns how many. */
  dropSnapshotsExcept(schema: number): Promise<number>;
}

export interface EventStore {
  /** A short name for messages: "memory", "sqlite:/path", "esdb://host:port". */
  readonly description: string;
  /** Where snapshots of projection state are kept beside the log, when the store keeps them. */
  readonly snapshots?: SnapshotStore;
  append(stream: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult>;
  /** Events of one stream; an absent stream reads as empty. */
  readStream(stream: string, options?: ReadStreamOptions): Promise<readonly StoredEvent[]>;
  readAll(options?: ReadAllOptions): Promise<readonly StoredEvent[]>;
  /** The position of the last event in the log, 0n when the log is empty. */
  headPosition(): Promise<Position>;
  /** Where the event with this id is in the log (stores that index ids: not EventStoreDB); undefined when absent. */
  positionOfEvent?(id: string): Promise<Position | undefined>;
  /** Catch-up then live; exclusive of `from` (0n = everything). */
  subscribeAll(from: Position): Observable<StoredEvent>;
  close(): Promise<void>;
}
