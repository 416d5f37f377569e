/**
 * Snapshots of the cluster projection: its objects (with their positions and revisions) at one
 * log position, as bytes the store keeps beside the log. Loading one and folding the events
 * after it gives exactly the state a fold from the start would — the same fold, started later.
 *
 * When: a snapshot is due once the log has grown, since the last one, by half as many events as
 * the cluster has objects (and at least SNAPSHOT_MIN_EVENTS). Writing one costs in proportion to
 * the objects, so the cost per event stays bounded however big the cluster; and "state at P" costs
 * at most one snapshot load plus a fold of that many events — measured, folding an event costs
 * about twice what loading an object from a snapshot does, so the two halves are balanced.
 *
 * Disposable: a snapshot of another schema is ignored (and dropped); bump SNAPSHOT_SCHEMA when
 * the fold or the object model changes what a fold produces.
 */
import type { EventStore, Position, Snapshot } from '../core/store/port';
import type { KubeObject } from '../core/objects/codecs';
import { ClusterProjection, type ProjectionOptions } from './cluster';
import { indexStub, type StoredObject } from './objectStore';

export const SNAPSHOT_SCHEMA = 3;
export const SNAPSHOT_MIN_EVENTS = 500;

/**
 * The live server writes them sparser — once the log has grown by twice as many events as there
 * are objects: its snapshots are for starting again quickly, and their cost is paid on the write
 * path (at 5,000 hollow nodes, a snapshot every objects/2 events was a fifth of the CPU of their
 * heartbeats). `stateAt` writes the denser ones, where a question about the past folds.
 */
export const LIVE_EVENTS_PER_OBJECT = 2;

/** Whether a snapshot is due after `eventsSince` events with `objects` objects in the cluster. */
export function snapshotDue(eventsSince: number, objects: number, minEvents = SNAPSHOT_MIN_EVENTS, eventsPerObject = 0.5): boolean {
  return eventsSince >= Math.max(minEvents, Math.ceil(objects * eventsPerObject));
}

type Captured = ReturnType<ClusterProjection['capture']>;

/** A row per object: [stream, position, revision, byte length of its JSON text]. */
type Row = [string, string, string, number];

interface Header {
  readonly position: string;
  readonly kinds: Record<string, Row[]>;
  /** The byte length of the stubs section. */
  readonly stubs: number;
}

/**
 * The format, UTF-8: one line of JSON — the position and, per kind, a row per object — then the
 * objects' index stubs (`{"Pod": [stub, …], …}`, in the rows' order), then every object's JSON
 * text, back to back, in the rows' order. Loading one parses the rows alone; the stubs are parsed
 * when the projection's indexes are first needed, and each object's text when the object is first
 * read — so a question about a few objects (or a fold that touches a few) parses a few.
 */
export function encodeSnapshot(captured: Captured): Snapshot {
  const kinds: Record<string, Row[]> = {};
  const stubs: Record<string, KubeObject[]> = {};
  const texts: string[] = [];
  for (const [kind, entries] of captured.kinds) {
    if (entries.length === 0) continue;
    stubs[kind] = entries.map(([, e]) => indexStub(e.object));
    kinds[kind] = entries.map(([stream, e]) => {
      const text = JSON.stringify(e.object);
      texts.push(text);
      return [stream, e.position.toString(), e.revision.toString(), Buffer.byteLength(text)];
    });
  }
  const stubsText = JSON.stringify(stubs);
  const header: Header = { position: captured.position.toString(), kinds, stubs: Buffer.byteLength(stubsText) };
  return { position: captured.position, schema: SNAPSHOT_SCHEMA, data: Buffer.from(`${JSON.stringify(header)}\n${stubsText}${texts.join('')}`) };
}

/** An object restored from a snapshot: its JSON text is parsed the first time it is read. */
class RestoredObject implements StoredObject {
  private parsed: KubeObject | undefined;

  constructor(
    private readonly data: Buffer,
    private readonly start: number,
    private readonly length: number,
    readonly position: bigint,
    readonly revision: bigint,
  ) {}

  get object(): KubeObject {
    return (this.parsed ??= JSON.parse(this.data.toString('utf8', this.start, this.start + this.length)) as KubeObject);
  }
}

export function decodeSnapshot(snapshot: Snapshot, options: ProjectionOptions = {}): ClusterProjection {
  const data = snapshot.data;
  const newline = data.indexOf(0x0a);
  if (newline < 0) throw new Error(`snapshot at ${snapshot.position} has no object section`);
  const header = JSON.parse(data.toString('utf8', 0, newline)) as Header;
  if (BigInt(header.position) !== snapshot.position) throw new Error(`snapshot at ${snapshot.position} says it is at ${header.position}`);
  const stubsStart = newline + 1;
  const stubsEnd = stubsStart + header.stubs;
  let stubs: Record<string, KubeObject[]> | undefined;
  // Stubs that cannot be read (they never are, unless the bytes were damaged) are done without:
  // the indexes are then built from the objects themselves.
  const stubsOf = (kind: string) => (): readonly KubeObject[] | undefined => {
    try {
      stubs ??= JSON.parse(data.toString('utf8', stubsStart, stubsEnd)) as Record<string, KubeObject[]>;
    } catch {
      return undefined;
    }
    const out = stubs[kind];
    return Array.isArray(out) && out.length === header.kinds[kind].length ? out : undefined;
  };
  let offset = stubsEnd;
  const kinds: Array<[string, Array<[string, StoredObject]>, () => readonly KubeObject[] | undefined]> = [];
  for (const [kind, rows] of Object.entries(header.kinds)) {
    const entries = rows.map(([stream, position, revision, length]): [string, StoredObject] => {
      const entry = new RestoredObject(data, offset, length, BigInt(position), BigInt(revision));
      offset += length;
      return [stream, entry];
    });
    kinds.push([kind, entries, stubsOf(kind)]);
  }
  if (offset !== data.length) throw new Error(`snapshot at ${snapshot.position} is truncated or overlong`);
  const view = new ClusterProjection(options);
  view.restore(snapshot.position, kinds);
  return view;
}

/**
 * Writes snapshots of a live projection as it follows the log. The state is captured
 * synchronously at the event boundary (references only: objects are immutable) and serialised
 * and saved afterwards, off the fold's path; one save at a time, and a failed save is only
 * reported (snapshots are disposable).
 */
export class Snapshotter {
  private since = 0;
  private saving = false;
  private last: Position = 0n;
  private stopped = false;
  private readonly listener: { unsubscribe(): void };

  constructor(
    private readonly view: ClusterProjection,
    private readonly store: EventStore,
    private readonly options: { minEvents?: number; onError?: (err: unknown) => void; onSaved?: (position: Position) => void } = {},
  ) {
    this.listener = view.applied.subscribe(() => this.onApplied());
  }

  private onApplied(): void {
    this.since++;
    if (this.saving || !this.store.snapshots || !snapshotDue(this.since, this.view.objectCount, this.options.minEvents, LIVE_EVENTS_PER_OBJECT)) return;
    const captured = this.view.capture();
    if (captured.position <= this.last) return;
    this.since = 0;
    this.saving = true;
    setImmediate(() => {
      if (this.stopped) return;
      this.store
        .snapshots!.saveSnapshot(encodeSnapshot(captured))
        .then(() => {
          this.last = captured.position;
          this.options.onSaved?.(captured.position);
        })
        .catch((err) => this.options.onError?.(err))
        .finally(() => (this.saving = false));
    });
  }

  stop(): void {
    this.stopped = true;
    this.listener.unsubscribe();
  }
}

/** The latest usable snapshot at or before `position`, loaded; undefined when there is none. */
export async function loadSnapshotAt(store: EventStore, position: Position, options: ProjectionOptions = {}): Promise<ClusterProjection | undefined> {
  const s = await store.snapshots?.loadSnapshot(position, SNAPSHOT_SCHEMA);
  return s ? decodeSnapshot(s, options) : undefined;
}
