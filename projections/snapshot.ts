/**
 * Snapshots of the cluster projection: its objects (with their positions and revisions) at one
 * log position, as JSON text the store keeps beside the log. Loading one and folding the events
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

export const SNAPSHOT_SCHEMA = 2;
export const SNAPSHOT_MIN_EVENTS = 500;

/** Whether a snapshot is due after `eventsSince` events with `objects` objects in the cluster. */
export function snapshotDue(eventsSince: number, objects: number, minEvents = SNAPSHOT_MIN_EVENTS): boolean {
  return eventsSince >= Math.max(minEvents, Math.ceil(objects / 2));
}

type Captured = ReturnType<ClusterProjection['capture']>;

/** A row per object: [stream, position, revision, index stub, length of its JSON text]. */
type Row = [string, string, string, KubeObject, number];

/**
 * The format: one line of JSON — the position and, per kind, a row per object with what it is
 * indexed by — then every object's JSON text, back to back, in the rows' order. Loading one
 * parses the rows and indexes the objects by them; each object's text is parsed when the object
 * is first read, so a question about a few objects (or a fold that touches a few) parses a few.
 */
export function encodeSnapshot(captured: Captured): Snapshot {
  const kinds: Record<string, Row[]> = {};
  const texts: string[] = [];
  for (const [kind, entries] of captured.kinds) {
    if (entries.length === 0) continue;
    kinds[kind] = entries.map(([stream, e]) => {
      const text = JSON.stringify(e.object);
      texts.push(text);
      return [stream, e.position.toString(), e.revision.toString(), indexStub(e.object), text.length];
    });
  }
  return { position: captured.position, schema: SNAPSHOT_SCHEMA, data: `${JSON.stringify({ position: captured.position.toString(), kinds })}\n${texts.join('')}` };
}

/** An object restored from a snapshot: its JSON text is parsed the first time it is read. */
class RestoredObject implements StoredObject {
  private parsed: KubeObject | undefined;

  constructor(
    private readonly data: string,
    private readonly start: number,
    private readonly length: number,
    readonly position: bigint,
    readonly revision: bigint,
  ) {}

  get object(): KubeObject {
    return (this.parsed ??= JSON.parse(this.data.substring(this.start, this.start + this.length)) as KubeObject);
  }
}

export function decodeSnapshot(snapshot: Snapshot, options: ProjectionOptions = {}): ClusterProjection {
  const data = snapshot.data;
  const newline = data.indexOf('\n');
  if (newline < 0) throw new Error(`snapshot at ${snapshot.position} has no object section`);
  const parsed = JSON.parse(data.slice(0, newline)) as { position: string; kinds: Record<string, Row[]> };
  if (BigInt(parsed.position) !== snapshot.position) throw new Error(`snapshot at ${snapshot.position} says it is at ${parsed.position}`);
  let offset = newline + 1;
  const kinds: Array<[string, Array<[string, StoredObject, KubeObject]>]> = [];
  for (const [kind, rows] of Object.entries(parsed.kinds)) {
    kinds.push([
      kind,
      rows.map(([stream, position, revision, stub, length]) => {
        const entry = new RestoredObject(data, offset, length, BigInt(position), BigInt(revision));
        offset += length;
        return [stream, entry, stub];
      }),
    ]);
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
    if (this.saving || !this.store.snapshots || !snapshotDue(this.since, this.view.objectCount, this.options.minEvents)) return;
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
