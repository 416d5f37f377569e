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
import { objectKey } from '../core/events/streams';
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
}

export interface ListQuery {
  readonly namespace?: string;
  readonly labels?: LabelSelector;
  readonly fields?: FieldSelector;
}

/** Fields with an index; others are matched by scanning the candidates. */
export const INDEXED_FIELDS = ['spec.nodeName', 'status.phase'] as const;

type Index = Map<string, Set<string>>;

function addTo(index: Index, value: string, key: string): void {
  let set = index.get(value);
  if (!set) index.set(value, (set = new Set()));
  set.add(key);
}

function removeFrom(index: Index, value: string, key: string): void {
  const set = index.get(value);
  if (!set) return;
  set.delete(key);
  if (set.size === 0) index.delete(value);
}

export class ObjectStore {
  private readonly objects = new Map<string, StoredObject>();
  private readonly byNamespace: Index = new Map();
  private readonly byLabel = new Map<string, Index>();
  private readonly byField = new Map<string, Index>(INDEXED_FIELDS.map((f) => [f, new Map()]));

  constructor(readonly kind: string) {}

  get size(): number {
    return this.objects.size;
  }

  get(namespace: string | undefined, name: string): StoredObject | undefined {
    return this.objects.get(objectKey(namespace, name));
  }

  /** Sets (or with undefined, removes) the object at a key, keeping the indexes in step. */
  put(key: string, next: StoredObject | undefined): void {
    const prev = this.objects.get(key);
    if (prev) this.unindex(key, prev.object);
    if (next) {
      this.objects.set(key, next);
      this.index(key, next.object);
    } else {
      this.objects.delete(key);
    }
  }

  /** The matching objects, sorted by namespace and name (the order Kubernetes lists in). */
  list(query: ListQuery = {}): StoredObject[] {
    const keys = this.candidates(query);
    const out: StoredObject[] = [];
    for (const key of keys) {
      const s = this.objects.get(key);
      if (!s) continue;
      const o = s.object as KubeObject;
      if (query.namespace !== undefined && (o.metadata.namespace ?? '') !== query.namespace) continue;
      if (query.labels && !matchesLabels(query.labels, o.metadata.labels)) continue;
      if (query.fields && !matchesFields(this.kind, query.fields, o)) continue;
      out.push(s);
    }
    return out.sort((a, b) => compareKeys(a.object as KubeObject, b.object as KubeObject));
  }

  *all(): IterableIterator<StoredObject> {
    yield* this.objects.values();
  }

  /** The smallest index set that bounds the result, or every key. */
  private candidates(query: ListQuery): Iterable<string> {
    const sets: Set<string>[] = [];
    if (query.namespace !== undefined) sets.push(this.byNamespace.get(query.namespace) ?? new Set());
    for (const r of query.labels ?? []) {
      if (r.operator === '=') sets.push(this.byLabel.get(r.key)?.get(r.values[0]) ?? new Set());
      else if (r.operator === 'in') {
        const idx = this.byLabel.get(r.key);
        sets.push(new Set(r.values.flatMap((v) => [...(idx?.get(v) ?? [])])));
      } else if (r.operator === 'exists') {
        const idx = this.byLabel.get(r.key);
        sets.push(new Set([...(idx?.values() ?? [])].flatMap((s) => [...s])));
      }
    }
    for (const r of query.fields ?? []) {
      const idx = this.byField.get(r.field);
      if (idx && r.operator === '=') sets.push(idx.get(r.value) ?? new Set());
    }
    if (sets.length === 0) return this.objects.keys();
    return sets.reduce((a, b) => (b.size < a.size ? b : a));
  }

  private index(key: string, o: DeepReadonly<KubeObject>): void {
    addTo(this.byNamespace, o.metadata.namespace ?? '', key);
    for (const [k, v] of Object.entries(o.metadata.labels ?? {})) {
      let idx = this.byLabel.get(k);
      if (!idx) this.byLabel.set(k, (idx = new Map()));
      addTo(idx, v, key);
    }
    for (const [field, idx] of this.byField) addTo(idx, fieldValue(this.kind, o as KubeObject, field), key);
  }

  private unindex(key: string, o: DeepReadonly<KubeObject>): void {
    removeFrom(this.byNamespace, o.metadata.namespace ?? '', key);
    for (const [k, v] of Object.entries(o.metadata.labels ?? {})) {
      const idx = this.byLabel.get(k);
      if (!idx) continue;
      removeFrom(idx, v, key);
      if (idx.size === 0) this.byLabel.delete(k);
    }
    for (const [field, idx] of this.byField) removeFrom(idx, fieldValue(this.kind, o as KubeObject, field), key);
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
