/**
 * The EventStoreDB / KurrentDB adapter, through @eventstore/db-client 6.2.1 over gRPC.
 * Chosen by a connection string such as `esdb://host:2113?tls=false`.
 *
 * - resourceVersion = the event's commit position in $all.
 * - System events ($-prefixed streams or types) are part of $all on a real server; they are not
 *   Kronicle's and are skipped in every read and subscription.
 * - Every vendor error is translated here into a StoreError. When the server cannot be reached a
 *   call fails fast with StoreUnavailableError; the client rebuilds its channel and later calls
 *   succeed once the server is back. Appends are idempotent on event ids on the server, so a
 *   caller that retries an append with the same events after StoreUnavailableError never writes
 *   them twice.
 * - A live subscription fails with StoreUnavailableError when the connection drops; the caller
 *   resubscribes from the last position it saw (projections do).
 */
import {
  BACKWARDS,
  END,
  ErrorType,
  EventStoreDBClient,
  FORWARDS,
  START,
  type AllStreamResolvedEvent,
  type ResolvedEvent,
} from '@eventstore/db-client';
import { Observable } from 'rxjs';
import {
  InvalidEventError,
  StoreClosedError,
  StoreError,
  StoreUnavailableError,
  WrongExpectedVersionError,
} from './errors';
import { DEFAULT_MAX_EVENT_BYTES, checkExpectedRevision, checkStreamName, encodeAppend } from './internal';
import {
  DEFAULT_READ_COUNT,
  type AppendResult,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type JsonObject,
  type JsonValue,
  type Position,
  type ReadAllOptions,
  type ReadStreamOptions,
  type Snapshot,
  type SnapshotStore,
  type StoredEvent,
} from './port';
import { randomUUID } from 'node:crypto';

/**
 * Snapshots of projection state go to a system stream: every read and subscription of Kronicle's
 * events skips system streams, so they never look like cluster events. Each is a JSON event
 * holding the encoded state in base64.
 */
export const SNAPSHOT_STREAM = '$kronicle-snapshots';


export interface EsdbStoreOptions {
  readonly connectionString: string;
  readonly maxEventBytes?: number;
}

const isSystem = (e: { streamId: string; type: string }): boolean => e.streamId.startsWith('$') || e.type.startsWith('$');

export class EsdbEventStore implements EventStore {
  readonly description: string;
  private readonly client: EventStoreDBClient;
  private readonly maxEventBytes: number;
  private closed = false;

  constructor(options: EsdbStoreOptions) {
    const url = options.connectionString;
    if (!/^esdb(\+discover)?:\/\//.test(url)) {
      throw new StoreUnavailableError(`not an EventStoreDB connection string: ${url}`);
    }
    this.description = url.replace(/\/\/[^@/]*@/, '//');
    // Fail fast: a request waits at most this long for a server that does not answer.
    const withDeadline = /[?&]defaultDeadline=/.test(url) ? url : `${url}${url.includes('?') ? '&' : '?'}defaultDeadline=5000`;
    try {
      this.client = EventStoreDBClient.connectionString(withDeadline);
    } catch (err) {
      throw new StoreUnavailableError(`invalid EventStoreDB connection string ${this.description}: ${(err as Error).message}`, { cause: err });
    }
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  }

  async append(stream: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    this.ensureOpen();
    checkExpectedRevision(expected);
    const encoded = encodeAppend(stream, events, this.maxEventBytes);
    try {
      const result = await this.client.appendToStream(
        stream,
        encoded.map((e, i) => ({
          id: e.id,
          type: e.type,
          contentType: 'application/json' as const,
          data: events[i].data as never,
          metadata: events[i].metadata as never,
        })),
        { expectedRevision: expected },
      );
      if (!result.position) throw new StoreUnavailableError(`append to ${this.description} returned no position`);
      return { nextExpectedRevision: result.nextExpectedRevision, position: result.position.commit };
    } catch (err) {
      throw this.translate(err, stream, expected);
    }
  }

  readonly snapshots: SnapshotStore = {
    saveSnapshot: async (s: Snapshot) => {
      this.ensureOpen();
      try {
        await this.client.appendToStream(SNAPSHOT_STREAM, [
          { id: randomUUID(), type: 'KronicleSnapshot', contentType: 'application/json' as const, data: { position: s.position.toString(), schema: s.schema, state: s.data.toString('base64') } as never, metadata: {} as never },
        ]);
      } catch (err) {
        throw this.translate(err, SNAPSHOT_STREAM);
      }
    },
    loadSnapshot: async (position: Position, schema: number) => (await this.readSnapshots()).reverse().find((s) => s.schema === schema && s.position <= position),
    snapshotPositions: async (schema: number) =>
      (await this.readSnapshots()).filter((s) => s.schema === schema).map((s) => s.position).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    // A stream's events cannot be removed one by one: snapshots of another schema stay in the
    // stream and are skipped when read.
    dropSnapshotsExcept: async () => 0,
  };

  private async readSnapshots(): Promise<Snapshot[]> {
    this.ensureOpen();
    const out: Snapshot[] = [];
    try {
      for await (const resolved of this.client.readStream(SNAPSHOT_STREAM, { direction: FORWARDS, fromRevision: START, maxCount: 10_000 })) {
        const d = resolved.event?.data as { position?: string; schema?: number; state?: string } | undefined;
        if (d && typeof d.position === 'string' && typeof d.schema === 'number' && typeof d.state === 'string') out.push({ position: BigInt(d.position), schema: d.schema, data: Buffer.from(d.state, 'base64') });
      }
    } catch (err) {
      if ((err as { type?: string }).type === ErrorType.STREAM_NOT_FOUND) return [];
      throw this.translate(err, SNAPSHOT_STREAM);
    }
    return out;
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<readonly StoredEvent[]> {
    this.ensureOpen();
    checkStreamName(stream);
    const backwards = options.direction === 'backwards';
    const out: StoredEvent[] = [];
    try {
      const read = this.client.readStream(stream, {
        direction: backwards ? BACKWARDS : FORWARDS,
        fromRevision: options.fromRevision ?? (backwards ? END : START),
        maxCount: options.maxCount ?? DEFAULT_READ_COUNT,
      });
      for await (const resolved of read) {
        const e = toStored(resolved);
        if (e) out.push(e);
      }
      return out;
    } catch (err) {
      if ((err as { type?: string }).type === ErrorType.STREAM_NOT_FOUND) return [];
      throw this.translate(err, stream);
    }
  }

  async readAll(options: ReadAllOptions = {}): Promise<readonly StoredEvent[]> {
    this.ensureOpen();
    const max = options.maxCount ?? DEFAULT_READ_COUNT;
    const backwards = options.direction === 'backwards';
    const out: StoredEvent[] = [];
    let from: Position | undefined = options.from;
    let skipAt: Position | undefined;
    try {
      // Paged so that system events, which count against a page but are skipped, cannot cut a read short.
      for (;;) {
        const requested = max - out.length + (skipAt === undefined ? 0 : 1);
        let seen = 0;
        let last: Position | undefined;
        const read = this.client.readAll({
          direction: backwards ? BACKWARDS : FORWARDS,
          fromPosition: from === undefined ? (backwards ? END : START) : { commit: from, prepare: from },
          maxCount: requested,
        });
        // The page is always read to its end: leaving a read stream early leaves its gRPC call
        // open in client 6.2.1, and the client's dispose() then waits for it forever.
        let beyond = false;
        for await (const resolved of read) {
          seen++;
          last = resolved.event?.position?.commit ?? last;
          const e = toStored(resolved);
          if (beyond || !e || e.position === skipAt || out.length >= max) continue;
          if (options.to !== undefined && (backwards ? e.position < options.to : e.position > options.to)) beyond = true;
          else out.push(e);
        }
        if (beyond || out.length >= max || seen < requested || last === undefined) return out;
        // Forwards reads are inclusive of `from`, so the next page skips the event already seen.
        from = last;
        skipAt = backwards ? undefined : last;
      }
    } catch (err) {
      throw this.translate(err);
    }
  }

  async headPosition(): Promise<Position> {
    const last = await this.readAll({ direction: 'backwards', maxCount: 1 });
    return last.length === 0 ? 0n : last[0].position;
  }

  subscribeAll(from: Position): Observable<StoredEvent> {
    return new Observable<StoredEvent>((subscriber) => {
      if (this.closed) {
        subscriber.error(new StoreClosedError(this.description));
        return undefined;
      }
      const sub = this.client.subscribeToAll({
        fromPosition: from === 0n ? START : { commit: from, prepare: from },
        resolveLinkTos: false,
      });
      sub.on('data', (resolved: AllStreamResolvedEvent) => {
        const e = toStored(resolved);
        if (e && e.position > from) subscriber.next(e);
      });
      sub.on('error', (err: unknown) => subscriber.error(this.translate(err)));
      sub.on('end', () => subscriber.complete());
      return () => {
        void sub.unsubscribe().catch(() => undefined);
      };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.dispose();
  }

  private ensureOpen(): void {
    if (this.closed) throw new StoreClosedError(this.description);
  }

  private translate(err: unknown, stream?: string, expected?: ExpectedRevision): StoreError {
    if (err instanceof StoreError) return err;
    const type = (err as { type?: string }).type;
    const message = (err as Error)?.message ?? String(err);
    switch (type) {
      case ErrorType.WRONG_EXPECTED_VERSION: {
        const w = err as { actualVersion?: bigint | string; streamName?: string };
        const actual = typeof w.actualVersion === 'bigint' && w.actualVersion >= 0n ? w.actualVersion : 'no_stream';
        return new WrongExpectedVersionError(stream ?? w.streamName ?? '', expected ?? 'any', actual);
      }
      case ErrorType.MAXIMUM_APPEND_SIZE_EXCEEDED:
        return new InvalidEventError('EventTooLarge', `EventStoreDB refused the append: ${message}`);
      case ErrorType.ACCESS_DENIED:
        return new StoreUnavailableError(`EventStoreDB denied access: ${message}`, { cause: err });
      default:
        return new StoreUnavailableError(`EventStoreDB at ${this.description} is unavailable: ${message}`, { cause: err });
    }
  }
}

function toStored(resolved: ResolvedEvent | AllStreamResolvedEvent): StoredEvent | undefined {
  const e = resolved.event as
    | { id: string; type: string; streamId: string; revision: bigint; created: Date; data: unknown; metadata?: unknown; position?: { commit: bigint } }
    | undefined;
  if (!e || isSystem(e) || !e.position) return undefined;
  const metadata = e.metadata;
  return {
    id: e.id,
    type: e.type,
    stream: e.streamId,
    revision: e.revision,
    position: e.position.commit,
    recordedAt: e.created,
    data: (e.data as JsonValue) ?? null,
    metadata: metadata && typeof metadata === 'object' && !(metadata instanceof Uint8Array) ? (metadata as JsonObject) : {},
  };
}
