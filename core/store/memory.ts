/**
 * The in-memory EventStore, for unit tests and throwaway servers. Same contract as the durable
 * adapters (it passes the same conformance suite); nothing survives the process.
 */
import { Subject } from 'rxjs';
import { StoreClosedError } from './errors';
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

export interface MemoryStoreOptions {
  readonly clock?: () => Date;
  readonly maxEventBytes?: number;
}

export class MemoryEventStore implements EventStore {
  readonly description = 'memory';
  private readonly log: StoredEvent[] = [];
  private readonly streams = new Map<string, StoredEvent[]>();
  private readonly byId = new Map<string, StoredEvent>();
  private readonly appended = new Subject<void>();
  private readonly clock: () => Date;
  private readonly maxEventBytes: number;
  private closed = false;
  private readonly snapshotsByPosition = new Map<Position, Snapshot>();

  readonly snapshots: SnapshotStore = {
    saveSnapshot: async (s: Snapshot) => {
      this.ensureOpen();
      this.snapshotsByPosition.set(s.position, s);
    },
    loadSnapshot: async (position: Position, schema: number) => {
      let best: Snapshot | undefined;
      for (const s of this.snapshotsByPosition.values()) if (s.schema === schema && s.position <= position && (!best || s.position > best.position)) best = s;
      return best;
    },
    snapshotPositions: async (schema: number) =>
      [...this.snapshotsByPosition.values()].filter((s) => s.schema === schema).map((s) => s.position).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    dropSnapshotsExcept: async (schema: number) => {
      let n = 0;
      for (const [p, s] of this.snapshotsByPosition) if (s.schema !== schema && this.snapshotsByPosition.delete(p)) n++;
      return n;
    },
  };

  constructor(options: MemoryStoreOptions = {}) {
    this.clock = options.clock ?? (() => new Date());
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  }

  async append(stream: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    this.ensureOpen();
    checkExpectedRevision(expected);
    const encoded = encodeAppend(stream, events, this.maxEventBytes);
    const retry = resolveRetry(stream, encoded, expected, (id) => this.byId.get(id));
    if (retry) return retry;
    const existing = this.streams.get(stream) ?? [];
    const current = existing.length === 0 ? NO_STREAM_REVISION : BigInt(existing.length - 1);
    if (!expectationHolds(expected, current)) throw wrongExpectedVersion(stream, expected, current);
    const recordedAt = this.clock();
    let position = this.log.length === 0 ? 0n : this.log[this.log.length - 1].position;
    let revision = current;
    for (const e of encoded) {
      position += 1n;
      revision += 1n;
      // Stored as parsed copies of the serialised JSON, so callers never share objects with the log.
      const stored: StoredEvent = {
        id: e.id,
        type: e.type,
        stream,
        revision,
        position,
        recordedAt,
        data: JSON.parse(e.data),
        metadata: parseMetadata(e.metadata),
      };
      this.log.push(stored);
      existing.push(stored);
      this.byId.set(e.id, stored);
    }
    this.streams.set(stream, existing);
    this.appended.next();
    return { nextExpectedRevision: revision, position };
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<readonly StoredEvent[]> {
    this.ensureOpen();
    checkStreamName(stream);
    const events = this.streams.get(stream) ?? [];
    const max = options.maxCount ?? DEFAULT_READ_COUNT;
    if (options.direction === 'backwards') {
      const start = options.fromRevision === undefined ? events.length - 1 : Math.min(Number(options.fromRevision), events.length - 1);
      return events.slice(Math.max(0, start - max + 1), start + 1).reverse();
    }
    const start = Number(options.fromRevision ?? 0n);
    return events.slice(start, start + max);
  }

  async readAll(options: ReadAllOptions = {}): Promise<readonly StoredEvent[]> {
    this.ensureOpen();
    const max = options.maxCount ?? DEFAULT_READ_COUNT;
    const out: StoredEvent[] = [];
    if (options.direction === 'backwards') {
      let i = options.from === undefined ? this.log.length - 1 : this.indexAfter(options.from - 1n) - 1;
      for (; i >= 0 && out.length < max; i--) {
        const e = this.log[i];
        if (options.to !== undefined && e.position < options.to) break;
        out.push(e);
      }
      return out;
    }
    for (let i = this.indexAfter((options.from ?? 0n) - 1n); i < this.log.length && out.length < max; i++) {
      const e = this.log[i];
      if (options.to !== undefined && e.position > options.to) break;
      out.push(e);
    }
    return out;
  }

  async positionOfEvent(id: string): Promise<Position | undefined> {
    this.ensureOpen();
    return this.byId.get(id.toLowerCase())?.position;
  }

  async headPosition(): Promise<Position> {
    this.ensureOpen();
    return this.log.length === 0 ? 0n : this.log[this.log.length - 1].position;
  }

  subscribeAll(from: Position) {
    return pullSubscription(
      from,
      (after, limit) => {
        this.ensureOpen();
        const start = this.indexAfter(after);
        return this.log.slice(start, start + limit);
      },
      this.appended,
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    this.appended.complete();
  }

  /** Index of the first event whose position is greater than `after`. */
  private indexAfter(after: Position): number {
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.log[mid].position <= after) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private ensureOpen(): void {
    if (this.closed) throw new StoreClosedError(this.description);
  }
}
