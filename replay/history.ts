/**
 * The replay debugger's readers: an object's history (every change with who, when, why and a
 * field-level diff), the causation chain behind an object's state ("why"), the cluster's state at
 * any past position or time (from the nearest snapshot, projections/snapshot.ts), diffs and changes
 * across the cluster — all read from the log with the same folds as the live server. Controller
 * re-runs are in rerun.ts, history files in historyFile.ts, re-simulation in api/simulation.ts.
 */
import * as E from 'fp-ts/Either';
import { evolveObject } from '../core/deciders/object';
import { streamOf, type ObjectKey } from '../core/events/streams';
import { decodeEvent, type ObjectEvent } from '../core/events/types';
import type { Recorded } from '../core/events/envelope';
import type { KubeObject } from '../core/objects/codecs';
import type { EventStore, StoredEvent } from '../core/store/port';
import { ClusterProjection } from '../projections';
import { encodeSnapshot, loadSnapshotAt, snapshotDue } from '../projections/snapshot';
import { KINDS } from '../core/kinds';
import { redactSecret } from './redact';

export interface FieldChange {
  readonly op: 'add' | 'remove' | 'replace';
  readonly path: string;
  readonly from?: unknown;
  readonly to?: unknown;
}

export interface HistoryEntry {
  readonly position: bigint;
  readonly revision: bigint;
  readonly time: Date;
  readonly type: string;
  readonly actor: string;
  readonly eventId: string;
  readonly causationId?: string;
  readonly changes: readonly FieldChange[];
}

export class ReplayError extends Error {}

/** Bookkeeping fields every write changes; a diff leaves them out. */
const NOISE = new Set(['/metadata/resourceVersion', '/metadata/managedFields']);

/** A field-level diff of two JSON values (paths in JSON pointer form). */
export function diff(before: unknown, after: unknown, path = ''): FieldChange[] {
  if (NOISE.has(path)) return [];
  if (before === after) return [];
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(before) && isObj(after)) {
    const out: FieldChange[] = [];
    for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
      const p = `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      if (!(k in after)) {
        if (!NOISE.has(p)) out.push({ op: 'remove', path: p, from: before[k] });
      } else if (!(k in before)) {
        if (!NOISE.has(p)) out.push({ op: 'add', path: p, to: after[k] });
      } else out.push(...diff(before[k], after[k], p));
    }
    return out;
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  if (before === undefined) return [{ op: 'add', path: path || '/', to: after }];
  if (after === undefined) return [{ op: 'remove', path: path || '/', from: before }];
  return [{ op: 'replace', path: path || '/', from: before, to: after }];
}

async function readStreamAll(store: EventStore, stream: string): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for (let from = 0n; ; ) {
    const page = await store.readStream(stream, { fromRevision: from, maxCount: 1024 });
    out.push(...page);
    if (page.length < 1024) return out;
    from = page[page.length - 1].revision + 1n;
  }
}

/** Every change to one object, oldest first. An object the log never had is an error. */
export async function history(store: EventStore, key: ObjectKey): Promise<HistoryEntry[]> {
  const events = await readStreamAll(store, streamOf(key));
  if (events.length === 0) throw new ReplayError(`the log has no ${key.kind} ${key.namespace ? `${key.namespace}/` : ''}${key.name}`);
  let object: KubeObject | undefined;
  return events.map((stored) => {
    const decoded = decodeEvent(stored);
    if (E.isLeft(decoded)) throw new ReplayError(decoded.left.message);
    const next = evolveObject(object, decoded.right);
    const entry: HistoryEntry = {
      position: stored.position,
      revision: stored.revision,
      time: stored.recordedAt,
      type: stored.type,
      actor: decoded.right.metadata.actor.name,
      eventId: stored.id,
      ...(decoded.right.metadata.causationId ? { causationId: decoded.right.metadata.causationId } : {}),
      changes: diff(redactSecret(object), redactSecret(next)),
    };
    object = next;
    return entry;
  });
}

export interface CauseLink {
  readonly eventId: string;
  readonly position: bigint;
  readonly time: Date;
  readonly type: string;
  readonly stream: string;
  readonly actor: string;
}

/**
 * Why an object is as it is: its last event (at or before `at`), the event that caused that one,
 * and so on back to a write nobody caused (a user's, or the system's) — newest first. Causes are
 * always earlier in the log, so the search reads backwards from each link.
 */
export async function why(store: EventStore, key: ObjectKey, at?: bigint): Promise<CauseLink[]> {
  const events = (await readStreamAll(store, streamOf(key))).filter((e) => at === undefined || e.position <= at);
  if (events.length === 0) throw new ReplayError(`the log has no ${key.kind} ${key.namespace ? `${key.namespace}/` : ''}${key.name}${at !== undefined ? ` at ${at}` : ''}`);
  const link = (e: StoredEvent): CauseLink => ({
    eventId: e.id,
    position: e.position,
    time: e.recordedAt,
    type: e.type,
    stream: e.stream,
    actor: (e.metadata as { actor?: { name?: string } } | undefined)?.actor?.name ?? 'unknown',
  });
  const chain: CauseLink[] = [];
  let current: StoredEvent | undefined = events[events.length - 1];
  const seen = new Set<string>();
  while (current && !seen.has(current.id) && chain.length < 1000) {
    seen.add(current.id);
    chain.push(link(current));
    const causationId: string | undefined = (current.metadata as { causationId?: string } | undefined)?.causationId;
    current = causationId ? await findEvent(store, causationId, current.position) : undefined;
  }
  return chain;
}

/**
 * The event with `id` (before position `before`, when given): through the store's index by id
 * where it has one, else searched backwards through the log.
 */
export async function findEvent(store: EventStore, id: string, before?: bigint): Promise<StoredEvent | undefined> {
  if (store.positionOfEvent) {
    const position = await store.positionOfEvent(id);
    if (position === undefined || (before !== undefined && position >= before)) return undefined;
    const [event] = await store.readAll({ from: position, to: position, maxCount: 1 });
    return event;
  }
  for (let from = before ?? (await store.headPosition()) + 1n; from > 0n; ) {
    const page = await store.readAll({ from, direction: 'backwards', maxCount: 4096 });
    const hit = page.find((e) => e.id === id);
    if (hit) return hit;
    if (page.length < 4096) return undefined;
    from = page[page.length - 1].position;
  }
  return undefined;
}

export interface StateOptions {
  /** Start from the nearest snapshot at or before the position (default true). */
  readonly snapshots?: boolean;
  /** Save the snapshots that are due along the fold and missing (default: when snapshots are used). */
  readonly fill?: boolean;
  /** Write a snapshot after at least this many events (default SNAPSHOT_MIN_EVENTS, or more in a big cluster). */
  readonly snapshotEvery?: number;
  /** Called as the fold goes, for progress bars. */
  readonly onProgress?: (position: bigint, to: bigint) => void;
}

/**
 * The cluster as it was at `position` (inclusive): the nearest snapshot at or before it, then the
 * events after the snapshot folded with the live server's fold. Without a snapshot, folded from
 * the start of the log — and the snapshots due along the way are written, so the next question
 * about this stretch of history is cheap.
 */
export async function stateAt(store: EventStore, position: bigint, options: StateOptions = {}): Promise<ClusterProjection> {
  const head = await store.headPosition();
  if (position > head) throw new ReplayError(`position ${position} is beyond the log's head (${head})`);
  if (position < 0n) throw new ReplayError(`position ${position} is not a log position`);
  const useSnapshots = options.snapshots !== false && store.snapshots !== undefined;
  let view: ClusterProjection | undefined;
  if (useSnapshots) view = await loadSnapshotAt(store, position).catch(() => undefined);
  view ??= new ClusterProjection();
  const fill = useSnapshots && options.fill !== false;
  let since = 0;
  for (;;) {
    const page = await store.readAll({ from: view.position + 1n, to: position, maxCount: 4096 });
    for (const e of page) {
      view.apply(e);
      since++;
      if (fill && e.position < position && snapshotDue(since, view.objectCount, options.snapshotEvery)) {
        await store.snapshots!.saveSnapshot(encodeSnapshot(view.capture()));
        since = 0;
      }
    }
    options.onProgress?.(view.position, position);
    if (page.length < 4096) return view;
  }
}

/** The last log position recorded at or before `time` (0 when the log starts later). */
export async function positionAt(store: EventStore, time: Date): Promise<bigint> {
  let last = 0n;
  for (let from = 1n; ; ) {
    const page = await store.readAll({ from, maxCount: 4096 });
    for (const e of page) {
      if (e.recordedAt.getTime() > time.getTime()) return last;
      last = e.position;
    }
    if (page.length < 4096) return last;
    from = page[page.length - 1].position + 1n;
  }
}

/** The objects of a view as plain JSON, by `Kind-namespace/name`: how diffs and history files name them. */
export function objectsOf(view: ClusterProjection): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of KINDS) for (const s of view.store(k.kind).list()) out[`${k.kind}-${s.object.metadata.namespace ? `${s.object.metadata.namespace}/` : ''}${s.object.metadata.name}`] = s.object;
  return out;
}

export interface ObjectDiff {
  readonly object: string;
  readonly change: 'added' | 'removed' | 'changed';
  readonly changes: readonly FieldChange[];
}

/** What changed in the cluster between two positions: objects added, removed and changed, with field diffs. */
export async function diffBetween(store: EventStore, from: bigint, to: bigint): Promise<ObjectDiff[]> {
  if (from > to) throw new ReplayError(`from (${from}) is after to (${to})`);
  const before = await stateAt(store, from);
  const after = await stateAt(store, to);
  const visible = (view: ClusterProjection) => new Map(Object.entries(objectsOf(view)).map(([name, o]) => [name, redactSecret(o)]));
  const a = visible(before);
  const b = visible(after);
  const out: ObjectDiff[] = [];
  for (const name of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(name);
    const y = b.get(name);
    if (x === undefined) out.push({ object: name, change: 'added', changes: [] });
    else if (y === undefined) out.push({ object: name, change: 'removed', changes: [] });
    else {
      const changes = diff(x, y);
      if (changes.length > 0) out.push({ object: name, change: 'changed', changes });
    }
  }
  return out;
}

export interface ChangeFilter {
  readonly actor?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly since?: Date;
  readonly until?: Date;
  readonly limit?: number;
}

/**
 * Changes across the cluster, oldest first, filtered by actor, kind, namespace and time range:
 * "who changed what, and when". Each with its field diff against the object's previous state.
 */
export async function changes(store: EventStore, filter: ChangeFilter = {}): Promise<Array<HistoryEntry & { readonly stream: string }>> {
  const out: Array<HistoryEntry & { stream: string }> = [];
  const limit = filter.limit ?? 10_000;
  await walkLog(store, await store.headPosition(), ({ stored, rec, before, after }) => {
    const o = after ?? before;
    if (filter.actor !== undefined && rec.metadata.actor.name !== filter.actor) return;
    if (filter.kind !== undefined && rec.event.kind !== filter.kind) return;
    if (filter.namespace !== undefined && o?.metadata.namespace !== filter.namespace) return;
    if (filter.since && stored.recordedAt < filter.since) return;
    if (filter.until && stored.recordedAt > filter.until) return;
    out.push({
      stream: stored.stream,
      position: stored.position,
      revision: stored.revision,
      time: stored.recordedAt,
      type: stored.type,
      actor: rec.metadata.actor.name,
      eventId: stored.id,
      ...(rec.metadata.causationId ? { causationId: rec.metadata.causationId } : {}),
      changes: diff(redactSecret(before), redactSecret(after)),
    });
    return out.length < limit;
  });
  return out;
}

export interface FoldStep {
  readonly stored: StoredEvent;
  readonly rec: Recorded<ObjectEvent>;
  readonly before: KubeObject | undefined;
  readonly after: KubeObject | undefined;
}

/**
 * Walks the log from the start up to `to`, folding every object, and shows each decodable event
 * with the object before and after it; `visit` returns false to stop.
 */
export async function walkLog(store: EventStore, to: bigint, visit: (step: FoldStep) => boolean | void): Promise<void> {
  const objects = new Map<string, KubeObject | undefined>();
  for (let at = 1n; at <= to; ) {
    const page = await store.readAll({ from: at, to, maxCount: 4096 });
    for (const stored of page) {
      const decoded = decodeEvent(stored);
      if (E.isLeft(decoded)) continue;
      const before = objects.get(stored.stream);
      const after = evolveObject(before, decoded.right);
      objects.set(stored.stream, after);
      if (visit({ stored, rec: decoded.right, before, after }) === false) return;
    }
    if (page.length < 4096) return;
    at = page[page.length - 1].position + 1n;
  }
}
