/**
 * The cluster projection: the log folded into the current objects of every kind.
 *
 * One code path for live and replay: `apply` is the fold step (decode, upcast, evolve the
 * object, update the indexes, emit the change). Live mode (`follow`) feeds it from
 * `subscribeAll`; replay feeds it a finite range of the log (`foldRange`).
 *
 * Consistency contract:
 * - Events are applied in log order, each exactly once; `position` is the last one applied.
 * - `waitFor(p)` resolves once every event up to p has been applied (read-your-writes: a
 *   writer waits for the position its append returned before answering).
 * - `changes` emits one Change per applied event that changed an object, in log order,
 *   synchronously from `apply`. One object's changes arrive in order; a subscriber that is slow
 *   must buffer on its own side.
 * - Objects handed out are read-only; NEVER modify them.
 */
import * as E from 'fp-ts/Either';
import { Subject, asyncScheduler, defer, retry, timer, type Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { evolveObject } from '../core/deciders/object';
import type { EventMetadata, Recorded } from '../core/events/envelope';
import { decodeEvent, parseStoredType, type EventDecodeError, type ObjectEvent, type UpcastOptions } from '../core/events/types';
import { KINDS } from '../core/kinds';
import type { KubeObject } from '../core/objects/codecs';
import { decodeRaw, parseMetadata } from '../core/store/internal';
import { readsRaw, type EventStore, type Position, type RawEvent, type RawEventReader, type StoredEvent } from '../core/store/port';
import type { StateLoader } from '../core/shell';
import { streamOf } from '../core/events/streams';
import { DECODE_BATCH, DecodeThread, DeferredObject } from './decodeThread';
import { ObjectStore, type DeepReadonly, type StoredObject } from './objectStore';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Change {
  readonly type: ChangeType;
  readonly kind: string;
  /** The object after the change; for DELETED, its last state (with the deletion's resourceVersion). */
  readonly object: DeepReadonly<KubeObject>;
  readonly position: Position;
  /** The event that made the change. */
  readonly event: Recorded<ObjectEvent>;
}

/**
 * What controllers read: the objects by kind, the log position they reflect, and the changes as
 * they happen. The live projection is one; a remote view fed by list and watch over the API
 * (controllers/remoteView.ts) is another.
 */
export interface ClusterView {
  store(kind: string): ObjectStore;
  readonly position: Position;
  readonly changes: Observable<Change>;
  /** Resolves once the view reflects `position` (for objects of `kind`, where a view tracks kinds apart). */
  waitFor(position: Position, kind?: string): Promise<void>;
}

export interface ProjectionOptions extends UpcastOptions {
  /** Called for an event that cannot be decoded; the fold skips it and goes on. */
  readonly onDecodeError?: (error: EventDecodeError) => void;
  /** Called when the live subscription fails; it is retried with backoff from the last position. */
  readonly onStoreError?: (error: unknown) => void;
  /**
   * Whether `foldRange` decodes on a second thread (decodeThread.ts): 'auto' (the default) for
   * DECODE_THREAD_MIN events or more from a store that reads raw events, with the default schema
   * (no `upcasters` or `currentVersion` given); 'never'; 'always' (tests: any range, and the fold
   * waits for the thread to start instead of going on without it), still only from such a store.
   */
  readonly decodeThread?: 'auto' | 'always' | 'never';
  /** The least range 'auto' decodes on a second thread (default DECODE_THREAD_MIN; smaller in tests). */
  readonly decodeThreadMin?: bigint;
}

/** The least range foldRange decodes on a second thread: below it, starting the thread costs more than it saves. */
export const DECODE_THREAD_MIN = 50_000n;

/** Batches sent to the decode thread ahead of the one being applied. */
const BATCHES_AHEAD = 3;

export class ClusterProjection implements ClusterView {
  private readonly stores = new Map<string, ObjectStore>(KINDS.map((k) => [k.kind, new ObjectStore(k.kind)]));
  private readonly changeSubject = new Subject<Change>();
  private readonly appliedSubject = new Subject<Position>();
  private waiters: Array<{ position: Position; resolve: () => void }> = [];
  private _position: Position = 0n;
  private _decodeErrors = 0;

  /** Every change, in log order, emitted synchronously as events are applied. */
  readonly changes: Observable<Change> = this.changeSubject.asObservable();

  /** The position of every event applied, changed an object or not, synchronously. */
  readonly applied: Observable<Position> = this.appliedSubject.asObservable();

  constructor(private readonly options: ProjectionOptions = {}) {}

  get position(): Position {
    return this._position;
  }

  get decodeErrors(): number {
    return this._decodeErrors;
  }

  store(kind: string): ObjectStore {
    const s = this.stores.get(kind);
    if (!s) throw new RangeError(`no projection for kind ${kind}`);
    return s;
  }

  /** Every object with its stream, by kind: the state as of `position`, captured by reference (objects are immutable). */
  capture(): { position: Position; kinds: Array<[string, Array<[string, StoredObject]>]> } {
    return { position: this._position, kinds: [...this.stores].map(([kind, s]) => [kind, [...s.entries()]]) };
  }

  /**
   * Starts an empty projection from captured state (a snapshot's); the fold goes on from its
   * position. Per kind, the objects by stream and a function giving their index stubs in the same
   * order when first needed (ObjectStore.restore), so objects can be parsed lazily (snapshot.ts).
   */
  restore(position: Position, kinds: Iterable<readonly [string, ReadonlyArray<readonly [string, StoredObject]>, () => readonly KubeObject[] | undefined]>): void {
    if (this._position !== 0n) throw new Error('restore needs an empty projection');
    for (const [kind, entries, stubs] of kinds) this.stores.get(kind)?.restore(entries, stubs);
    this._position = position;
  }

  /** The number of objects of every kind. */
  get objectCount(): number {
    let n = 0;
    for (const s of this.stores.values()) n += s.size;
    return n;
  }

  /** Object counts per kind. */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.stores].map(([k, s]) => [k, s.size]));
  }

  /** The fold step. Events at or before the current position are ignored (idempotent replays). */
  apply(stored: StoredEvent): void {
    if (stored.position <= this._position) return;
    const decoded = decodeEvent(stored, this.options);
    let change: Change | undefined;
    if (E.isRight(decoded)) change = this.applyRecorded(decoded.right);
    else {
      this._decodeErrors++;
      this.options.onDecodeError?.(decoded.left);
    }
    this.settle(stored.position, change);
  }

  /**
   * The fold step for a whole-object event the decode thread accepted (decodesAsWholeObject),
   * nobody watching the changes: what applyRecorded does for it, the object parsed when first read.
   */
  private applyDeferred(e: RawEvent): void {
    if (e.position <= this._position) return;
    const type = parseStoredType(e.type);
    const store = type && this.stores.get(type.kind);
    if (store) {
      const metadata = parseMetadata(e.metadata) as Partial<EventMetadata>;
      store.put(e.stream, new DeferredObject(e, type.kind, type.verb as 'Created' | 'Updated', metadata.correlationId));
    }
    this.settle(e.position);
  }

  /** After an event is applied: the position reached, then the change and the position announced. */
  private settle(position: Position, change?: Change): void {
    this.advance(position);
    if (change) this.changeSubject.next(change);
    if (this.appliedSubject.observed) this.appliedSubject.next(position);
  }

  /** Applies a decoded event; returns the change (built only when someone is listening). */
  private applyRecorded(rec: Recorded<ObjectEvent>): Change | undefined {
    const store = this.stores.get(rec.event.kind);
    if (!store) return undefined;
    const prev = store.getByStream(rec.stream);
    const next = evolveObject(prev?.object as KubeObject | undefined, rec);
    if (next) {
      const entry: StoredObject = { object: next, position: rec.position, revision: rec.revision, eventId: rec.id, correlationId: rec.metadata.correlationId };
      store.put(rec.stream, entry);
      if (!this.changeSubject.observed) return undefined;
      return { type: prev ? 'MODIFIED' : 'ADDED', kind: rec.event.kind, object: next, position: rec.position, event: rec };
    }
    if (!prev) return undefined;
    store.put(rec.stream, undefined);
    if (!this.changeSubject.observed) return undefined;
    const last = rec.event.type === 'Deleted' ? rec.event.object : (prev.object as KubeObject);
    const object = { ...last, metadata: { ...last.metadata, resourceVersion: rec.position.toString() } };
    return { type: 'DELETED', kind: rec.event.kind, object, position: rec.position, event: rec };
  }

  private advance(position: Position): void {
    this._position = position;
    if (this.waiters.length === 0) return;
    const ready = this.waiters.filter((w) => w.position <= position);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.position > position);
    for (const w of ready) w.resolve();
  }

  /**
   * A command shell state loader that answers from this projection instead of reading the
   * stream. The state may be behind the log (another writer, or a deleted object whose stream
   * still exists): then the append's expected revision fails and the shell reloads from the
   * stream, so a decision is never taken on stale state. Same fold, so the same object.
   */
  readonly loader: StateLoader = async (_store, key) => {
    const entry = this.stores.get(key.kind)?.getByStream(streamOf(key));
    if (!entry) return { object: undefined, revision: -1n, position: this._position };
    return { object: entry.object as KubeObject, revision: entry.revision, position: entry.position };
  };

  /** Resolves once the projection has applied every event up to `position`. */
  waitFor(position: Position): Promise<void> {
    if (position <= this._position) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ position, resolve }));
  }

  /**
   * Follows the log live from the current position. A failed subscription (the store went
   * away) is retried from the last applied position, so nothing is skipped or applied twice.
   */
  follow(store: EventStore, scheduler: SchedulerLike = asyncScheduler): Subscription {
    // `defer`: each (re)subscription starts from the position reached at that moment.
    return defer(() => store.subscribeAll(this._position))
      .pipe(
        retry({
          delay: (err, attempt) => {
            this.options.onStoreError?.(err);
            return timer(Math.min(5000, 100 * 2 ** Math.min(attempt, 6)), scheduler);
          },
          resetOnSuccess: true,
        }),
      )
      .subscribe({ next: (e) => this.apply(e) });
  }

  /** Replay: folds the events in (from, to] from the log. */
  async foldRange(store: EventStore, to?: Position, pageSize = 4096): Promise<void> {
    if (readsRaw(store) && (await this.decodesOnThread(store, to))) await this.foldRaw(store, to);
    // Whatever is left (all of it without the thread) is read and decoded here.
    for (;;) {
      const page = await store.readAll({ from: this._position + 1n, to, maxCount: pageSize });
      for (const e of page) this.apply(e);
      if (page.length < pageSize) return;
    }
  }

  private async decodesOnThread(store: EventStore, to: Position | undefined): Promise<boolean> {
    const mode = this.options.decodeThread ?? 'auto';
    if (mode === 'never' || this.options.upcasters !== undefined || this.options.currentVersion !== undefined) return false;
    return mode === 'always' || (to ?? (await store.headPosition())) - this._position >= (this.options.decodeThreadMin ?? DECODE_THREAD_MIN);
  }

  /**
   * The fold with the decode thread: raw events are read here in batches and, once the thread has
   * started, sent to it a few batches ahead; each batch is applied once the thread has answered for
   * it. Until it has started, batches are decoded and applied here (with 'always', the fold waits
   * for it instead).
   */
  private async foldRaw(store: RawEventReader, to: Position | undefined): Promise<void> {
    const thread = DecodeThread.start();
    if (!thread) return;
    try {
      const events = store.rawEvents(this._position, to)[Symbol.iterator]();
      let more = true;
      const take = (): RawEvent[] => {
        const batch: RawEvent[] = [];
        while (more && batch.length < DECODE_BATCH) {
          const next = events.next();
          if (next.done) more = false;
          else batch.push(next.value);
        }
        return batch;
      };
      if (this.options.decodeThread === 'always') await thread.whenStarted;
      while (more && thread.usable && !thread.ready) {
        for (const e of take()) this.apply(decodeRaw(e));
        // Lets the thread's word that it has started come in.
        await new Promise((resolve) => setImmediate(resolve));
      }
      const ahead: Array<{ events: RawEvent[]; flags: Promise<Uint8Array | undefined> }> = [];
      const send = () => {
        while (more && ahead.length < BATCHES_AHEAD) {
          const batch = take();
          if (batch.length > 0) ahead.push({ events: batch, flags: thread.check(batch) });
        }
      };
      send();
      for (let batch = ahead.shift(); batch; batch = ahead.shift()) {
        send();
        const flags = await batch.flags;
        for (let i = 0; i < batch.events.length; i++) {
          const e = batch.events[i];
          if (flags?.[i] === 1 && !this.changeSubject.observed) this.applyDeferred(e);
          else this.apply(decodeRaw(e));
        }
      }
    } finally {
      thread.close();
    }
  }
}
