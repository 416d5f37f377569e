/**
 * The current objects of one kind, with the indexes lists are served from: by namespace, by
 * label (key -> value -> objects) and by the fields Kubernetes clients select on most
 * (spec.nodeName, status.phase).
 *
 * Contract: objects handed out are the projection's own and read-only (DeepReadonly by type).
 * NEVER modify them: copy first. Each object carries the resourceVersion (log position) of the
 * last event that changed it.
 */
import type { KubeObject } from '../core/objects/codecs';
import { streamOf } from '../core/events/streams';
import { fieldValue, matchesFields, matchesLabels, type FieldSelector, type LabelSelector } from './selectors';

export type DeepReadonly<T> = T extends (infer U)[]
  ? ReadonlyArray<DeepReadonly<U>>
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

export interface StoredObject {
  readonly object: DeepReadonly<KubeObject>;
  /** The log position of the object's last event: its resourceVersion. */
  readonly position: bigint;
  /** The stream revision of the object's last event. */
  readonly revision: bigint;
  /** The id of that event and its correlation id, when it has one (known for objects folded, not restored). */
  readonly eventId?: string;
  readonly correlationId?: string;
}

export interface ListQuery {
  readonly namespace?: string;
  readonly labels?: LabelSelector;
  readonly fields?: FieldSelector;
}

/** Fields with an index; others are matched by scanning the candidates. */
export const INDEXED_FIELDS = ['metadata.name', 'spec.nodeName', 'status.phase'] as const;

/**
 * value -> the keys of the objects with that value. A value held by one object (a name, most
 * nodes' and labels' values in small clusters) maps straight to its key; a Set is made only for
 * a second one, which keeps indexing cheap in time and memory.
 */
type Index = Map<string, string | Set<string>>;

function addTo(index: Index, value: string, key: string): void {
  const cur = index.get(value);
  if (cur === undefined) index.set(value, key);
  else if (typeof cur === 'string') {
    if (cur !== key) index.set(value, new Set([cur, key]));
  } else cur.add(key);
}

function removeFrom(index: Index, value: string, key: string): void {
  const cur = index.get(value);
  if (cur === undefined) return;
  if (typeof cur === 'string') {
    if (cur === key) index.delete(value);
    return;
  }
  cur.delete(key);
  if (cur.size === 1) index.set(value, cur.values().next().value as string);
}

const keysAt = (index: Index | undefined, value: string): ReadonlySet<string> => {
  const cur = index?.get(value);
  return cur === undefined ? EMPTY : typeof cur === 'string' ? new Set([cur]) : cur;
};

const EMPTY: ReadonlySet<string> = new Set();

const INDEXED_PATHS = INDEXED_FIELDS.filter((f) => !f.startsWith('metadata.')).map((f) => f.split('.'));

/**
 * The values an object is indexed by, and nothing else: its name, namespace and labels and the
 * INDEXED_FIELDS. An object restored from a snapshot is indexed by its stub and parsed only when
 * someone reads it.
 */
export function indexStub(object: DeepReadonly<KubeObject>): KubeObject {
  const m = object.metadata;
  const owners = m.ownerReferences?.map((r) => ({ uid: (r as { uid?: string }).uid }));
  const stub: Record<string, unknown> = { metadata: { name: m.name, namespace: m.namespace, labels: m.labels, ...(owners ? { ownerReferences: owners } : {}) } };
  for (const path of INDEXED_PATHS) {
    let v: unknown = object;
    for (const p of path) v = v === undefined || v === null ? undefined : (v as Record<string, unknown>)[p];
    if (v === undefined) continue;
    let at = stub;
    for (let i = 0; i < path.length - 1; i++) at = (at[path[i]] ??= {}) as Record<string, unknown>;
    at[path[path.length - 1]] = v;
  }
  return stub as unknown as KubeObject;
}

export class ObjectStore {
  private readonly objects = new Map<string, StoredObject>();
  /** The index stubs of restored objects not replaced since (their objects may not be parsed yet). */
  private readonly stubs = new Map<string, DeepReadonly<KubeObject>>();
  private readonly byNamespace: Index = new Map();
  /** Owner uid → the keys of its dependents (ownerReferences): the garbage collector's question. */
  private readonly byOwner: Index = new Map();
  private readonly byLabel = new Map<string, Index>();
  private readonly byField = new Map<string, Index>(INDEXED_FIELDS.map((f) => [f, new Map()]));
  /**
   * Whether the indexes exist yet. They are built on the first question that needs them and kept
   * in step from then on, so a fold nobody lists from (a replay asked for one object, state at a
   * position read whole, a snapshot just loaded) never pays for them.
   */
  private indexed = false;
  private pendingStubs: { entries: ReadonlyArray<readonly [string, StoredObject]>; stubs: () => readonly KubeObject[] | undefined } | undefined;

  constructor(readonly kind: string) {}

  get size(): number {
    return this.objects.size;
  }

  get(namespace: string | undefined, name: string): StoredObject | undefined {
    return this.objects.get(streamOf({ kind: this.kind, namespace, name }));
  }

  /** The objects that name `uid` among their owners, in no particular order. */
  ownedBy(uid: string): StoredObject[] {
    const out: StoredObject[] = [];
    this.ensureIndexed();
    for (const key of keysAt(this.byOwner, uid)) {
      const s = this.objects.get(key);
      if (s) out.push(s);
    }
    return out;
  }

  /** Every object with its stream name, in no particular order. */
  entries(): IterableIterator<[string, StoredObject]> {
    return this.objects.entries();
  }

  /** By the object's stream name, the key objects are held under. */
  getByStream(stream: string): StoredObject | undefined {
    return this.objects.get(stream);
  }

  /**
   * Sets (or with undefined, removes) the object of a stream, keeping the indexes in step.
   * Objects are keyed by their stream name: the log already holds it as one flat string.
   */
  put(key: string, next: StoredObject | undefined): void {
    const prev = this.indexed ? this.stubs.get(key) ?? this.objects.get(key)?.object : undefined;
    this.stubs.delete(key);
    if (next) this.objects.set(key, next);
    else this.objects.delete(key);
    if (this.indexed) this.reindex(key, prev, next?.object);
  }

  /**
   * Restores objects from a snapshot into an empty store. Each may be parsed when first read;
   * `stubs()` gives their index stubs (indexStub), in the same order (or undefined: none to be
   * had, the objects are read instead), and is called only when the
   * indexes or a sorted list first need them — a snapshot loaded to read a few objects parses
   * neither the stubs nor the other objects.
   */
  restore(entries: ReadonlyArray<readonly [string, StoredObject]>, stubs: () => readonly KubeObject[] | undefined): void {
    if (this.objects.size > 0 || this.indexed) throw new Error('restore needs an empty store');
    for (const [key, entry] of entries) this.objects.set(key, entry);
    this.pendingStubs = { entries, stubs };
  }

  /** The stubs of restored objects, for those not replaced since. */
  private loadStubs(): void {
    const pending = this.pendingStubs;
    if (!pending) return;
    this.pendingStubs = undefined;
    const stubs = pending.stubs();
    // Without stubs the objects themselves are read.
    if (!stubs) return;
    pending.entries.forEach(([key, entry], i) => {
      if (this.objects.get(key) === entry) this.stubs.set(key, stubs[i]);
    });
  }

  /** Builds the indexes from the objects held (restored ones by their stubs), once. */
  private ensureIndexed(): void {
    if (this.indexed) return;
    this.loadStubs();
    this.indexed = true;
    for (const [key, s] of this.objects) this.reindex(key, undefined, this.stubs.get(key) ?? s.object);
  }

  /**
   * The matching objects, sorted by namespace and name (the order Kubernetes lists in); with
   * `sorted = false`, in the store's own order (controllers that do not care save the sort).
   */
  list(query: ListQuery = {}, sorted = true): StoredObject[] {
    if (sorted || query.labels || query.fields) this.loadStubs();
    const keys = this.candidates(query);
    const out: StoredObject[] = [];
    const byName: Array<[DeepReadonly<KubeObject>, StoredObject]> = [];
    for (const key of keys) {
      const s = this.objects.get(key);
      if (!s) continue;
      // A restored object not yet read is matched by its stub (a field selector on an unindexed field reads it).
      const stub = this.stubs.get(key);
      const o = (stub ?? s.object) as KubeObject;
      if (query.namespace !== undefined && (o.metadata.namespace ?? '') !== query.namespace) continue;
      if (query.labels && !matchesLabels(query.labels, o.metadata.labels)) continue;
      if (query.fields && !matchesFields(this.kind, query.fields, query.fields.every((f) => (INDEXED_FIELDS as readonly string[]).includes(f.field) || f.field === 'metadata.namespace') ? o : (s.object as KubeObject))) continue;
      if (sorted) byName.push([o, s]);
      else out.push(s);
    }
    return sorted ? byName.sort((a, b) => compareKeys(a[0] as KubeObject, b[0] as KubeObject)).map((x) => x[1]) : out;
  }

  /** The smallest index set that bounds the result, or every key. */
  private candidates(query: ListQuery): Iterable<string> {
    const sets: ReadonlySet<string>[] = [];
    if (query.namespace !== undefined || query.labels?.length || query.fields?.length) this.ensureIndexed();
    if (query.namespace !== undefined) sets.push(keysAt(this.byNamespace, query.namespace));
    for (const r of query.labels ?? []) {
      const idx = this.byLabel.get(r.key);
      if (r.operator === '=') sets.push(keysAt(idx, r.values[0]));
      else if (r.operator === 'in') sets.push(new Set(r.values.flatMap((v) => [...keysAt(idx, v)])));
      else if (r.operator === 'exists') sets.push(new Set([...(idx?.keys() ?? [])].flatMap((v) => [...keysAt(idx, v)])));
    }
    for (const r of query.fields ?? []) {
      const idx = this.byField.get(r.field);
      if (idx && r.operator === '=') sets.push(keysAt(idx, r.value));
    }
    if (sets.length === 0) return this.objects.keys();
    return sets.reduce((a, b) => (b.size < a.size ? b : a));
  }

  /**
   * Moves a key between index entries for what changed between two versions of its object.
   * Most changes (status, annotations) touch no indexed value, and then cost nothing here.
   */
  private reindex(key: string, prev: DeepReadonly<KubeObject> | undefined, next: DeepReadonly<KubeObject> | undefined): void {
    const pns = prev ? prev.metadata.namespace ?? '' : undefined;
    const nns = next ? next.metadata.namespace ?? '' : undefined;
    if (pns !== nns) {
      if (pns !== undefined) removeFrom(this.byNamespace, pns, key);
      if (nns !== undefined) addTo(this.byNamespace, nns, key);
    }
    const pl = prev?.metadata.labels ?? undefined;
    const nl = next?.metadata.labels ?? undefined;
    if (pl !== nl) {
      for (const k in pl ?? {}) {
        const v = (pl as Record<string, string>)[k];
        if (nl && (nl as Record<string, string>)[k] === v) continue;
        const idx = this.byLabel.get(k);
        if (!idx) continue;
        removeFrom(idx, v, key);
        if (idx.size === 0) this.byLabel.delete(k);
      }
      for (const k in nl ?? {}) {
        const v = (nl as Record<string, string>)[k];
        if (pl && (pl as Record<string, string>)[k] === v) continue;
        let idx = this.byLabel.get(k);
        if (!idx) this.byLabel.set(k, (idx = new Map()));
        addTo(idx, v, key);
      }
    }
    const po = prev?.metadata.ownerReferences;
    const no = next?.metadata.ownerReferences;
    if (po !== no) {
      const uids = (refs: typeof po) => new Set((refs ?? []).map((r) => (r as { uid?: string }).uid).filter((u): u is string => !!u));
      const before = uids(po);
      const after = uids(no);
      for (const u of before) if (!after.has(u)) removeFrom(this.byOwner, u, key);
      for (const u of after) if (!before.has(u)) addTo(this.byOwner, u, key);
    }
    for (const [field, idx] of this.byField) {
      const pv = prev ? fieldValue(this.kind, prev as KubeObject, field) : undefined;
      const nv = next ? fieldValue(this.kind, next as KubeObject, field) : undefined;
      if (pv === nv) continue;
      if (pv !== undefined) removeFrom(idx, pv, key);
      if (nv !== undefined) addTo(idx, nv, key);
    }
  }
}

function compareKeys(a: KubeObject, b: KubeObject): number {
  const an = a.metadata.namespace ?? '';
  const bn = b.metadata.namespace ?? '';
  if (an !== bn) return an < bn ? -1 : 1;
  const a1 = a.metadata.name ?? '';
  const b1 = b.metadata.name ?? '';
  return a1 < b1 ? -1 : a1 > b1 ? 1 : 0;
}
