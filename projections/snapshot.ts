/**
 * Snapshots of the cluster projection: its objects (with their positions and revisions) at one
 * log position, as JSON text the store keeps beside the log. Loading one and folding the events
 * after it gives exactly the state a fold from the start would — the same fold, started later.
 *
 * When: a snapshot is due once the log has grown, since the last one, by as many events as the
 * cluster has objects (and at least SNAPSHOT_MIN_EVENTS). Writing one costs in proportion to
 * the objects, so the cost per event stays bounded however big the cluster; and "state at P" costs
 * at most one snapshot load plus a fold of that many events.
 *
 * Disposable: a snapshot of another schema is ignored (and dropped); bump SNAPSHOT_SCHEMA when
 * the fold or the object model changes what a fold produces.
 */
import type { EventStore, Position, Snapshot } from '../core/store/port';
import type { KubeObject } from '../core/objects/codecs';
import { ClusterProjection, type ProjectionOptions } from './cluster';
import type { StoredObject } from './objectStore';

export const SNAPSHOT_SCHEMA = 1;
export const SNAPSHOT_MIN_EVENTS = 1000;

/** Whether a snapshot is due after `eventsSince` events with `objects` objects in the cluster. */
export function snapshotDue(eventsSince: number, objects: number, minEvents = SNAPSHOT_MIN_EVENTS): boolean {
  return eventsSince >= Math.max(minEvents, objects);
}

type Captured = ReturnType<ClusterProjection['capture']>;

/** A row per object: [stream, position, revision, object]. */
type Row = [string, string, string, KubeObject];

export function encodeSnapshot(captured: Captured): Snapshot {
  const kinds: Record<string, Row[]> = {};
  for (const [kind, entries] of captured.kinds) {
    if (entries.length > 0) kinds[kind] = entries.map(([stream, e]) => [stream, e.position.toString(), e.revision.toString(), e.object as KubeObject]);
  }
  return { position: captured.position, schema: SNAPSHOT_SCHEMA, data: JSON.stringify({ position: captured.position.toString(), kinds }) };
}

export function decodeSnapshot(snapshot: Snapshot, options: ProjectionOptions = {}): ClusterProjection {
  const parsed = JSON.parse(snapshot.data) as { position: string; kinds: Record<string, Row[]> };
  if (BigInt(parsed.position) !== snapshot.position) throw new Error(`snapshot at ${snapshot.position} says it is at ${parsed.position}`);
  const view = new ClusterProjection(options);
  view.restore(
    snapshot.position,
    Object.entries(parsed.kinds).map(([kind, rows]) => [kind, rows.map(([stream, position, revision, object]): [string, StoredObject] => [stream, { object, position: BigInt(position), revision: BigInt(revision) }])]),
  );
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
