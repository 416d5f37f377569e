/**
 * Field ownership and server-side apply, after structured-merge-diff: each manager owns a set of
 * fields (Kubernetes' FieldsV1 format: `f:<field>`, `k:<item keys>`, `v:<value>`, `.` for the
 * node itself); an apply merges the applied configuration, removes what the manager applied
 * before and no longer applies (unless someone else owns it), and refuses to change a field
 * another manager owns unless forced. Every other write becomes an `Update` entry owning the
 * fields it changed. Pure functions; the API layer calls them before the command is decided.
 */
import { deepEqual } from '../json';
import { DEFINITIONS, PATCH_META, type FieldType } from './schema';

/** A FieldsV1 set: nested objects, `{}` at the leaves. */
export type FieldSet = { [pathElement: string]: FieldSet };
type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface ManagedFieldsEntry {
  [field: string]: unknown;
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: FieldSet;
  subresource?: string;
}

type Shape = FieldType | undefined;
const childShape = (shape: Shape, key: string): Shape => {
  if (!shape) return undefined;
  if ('ref' in shape) return DEFINITIONS[shape.ref]?.properties[key];
  if (shape.type === 'map') return shape.values;
  return undefined;
};
const isStruct = (shape: Shape): boolean => !!shape && 'ref' in shape && !!DEFINITIONS[shape.ref];
const listKeys = (shape: Shape, key: string): readonly string[] | 'set' | undefined => {
  if (!shape || !('ref' in shape)) return undefined;
  const meta = PATCH_META[shape.ref]?.[key];
  if (!meta || !meta.strategy.startsWith('merge')) return undefined;
  return meta.listMapKeys ?? 'set';
};

const itemKey = (item: Json, keys: readonly string[]): string => {
  const k: Json = {};
  for (const name of [...keys].sort()) if (item[name] !== undefined) k[name] = item[name];
  return `k:${JSON.stringify(k)}`;
};

/** The set of fields a value sets, as FieldsV1. */
export function fieldSetOf(shape: Shape, value: unknown): FieldSet {
  const out: FieldSet = {};
  if (!isObject(value)) return out;
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    out[`f:${k}`] = fieldNode(shape, k, v);
  }
  return out;
}

function fieldNode(parent: Shape, key: string, v: unknown): FieldSet {
  const shape = childShape(parent, key);
  const keys = listKeys(parent, key);
  if (Array.isArray(v) && keys !== undefined) {
    const node: FieldSet = {};
    const items = shape && !('ref' in shape) && shape.type === 'array' ? shape.items : undefined;
    for (const item of v) {
      if (keys === 'set' || !isObject(item)) node[`v:${JSON.stringify(item)}`] = {};
      else node[itemKey(item, keys)] = { '.': {}, ...fieldSetOf(items, item) };
    }
    return node;
  }
  if (isObject(v) && Object.keys(v).length > 0) {
    const children = fieldSetOf(shape, v);
    // A map (labels, annotations, resource lists) is owned as a whole as well as key by key.
    return isStruct(shape) || !shape ? children : { '.': {}, ...children };
  }
  return {};
}

const SYSTEM_METADATA = ['name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp', 'generation', 'managedFields', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds'];

/**
 * The fields an object's managers can own: not apiVersion and kind, not the metadata the server
 * sets, and not the status of a resource that has a status subresource (Kubernetes' stripMeta and
 * its status reset for the main resource).
 */
export function ownableFields(definition: string, value: unknown, subresource?: string): FieldSet {
  const set = fieldSetOf({ ref: definition }, value);
  delete set['f:apiVersion'];
  delete set['f:kind'];
  const meta = set['f:metadata'];
  if (meta) {
    for (const f of SYSTEM_METADATA) delete meta[`f:${f}`];
    if (Object.keys(meta).length === 0) delete set['f:metadata'];
  }
  if (subresource !== 'status' && DEFINITIONS[definition]?.properties.status) delete set['f:status'];
  if (subresource === 'status') for (const k of Object.keys(set)) if (k !== 'f:status') delete set[k];
  return set;
}

/** The paths of a set's members (its leaves and its `.`-marked nodes). */
export function members(set: FieldSet, prefix: readonly string[] = []): string[][] {
  const out: string[][] = [];
  for (const [pe, child] of Object.entries(set)) {
    if (pe === '.') continue;
    const path = [...prefix, pe];
    const keys = Object.keys(child);
    if (keys.length === 0 || '.' in child) out.push(path);
    if (keys.length > 0) out.push(...members(child, path));
  }
  return out;
}

const has = (set: FieldSet, path: readonly string[]): boolean => {
  let node: FieldSet | undefined = set;
  for (const pe of path) {
    node = node[pe];
    if (!node) return false;
  }
  return true;
};

/** `set` without the given paths (and without nodes left empty by their removal). */
export function removePaths(set: FieldSet, paths: readonly (readonly string[])[]): FieldSet {
  const out = structuredClone(set);
  for (const path of paths) {
    const trail: FieldSet[] = [out];
    let node: FieldSet | undefined = out;
    for (const pe of path.slice(0, -1)) {
      node = node[pe];
      if (!node) break;
      trail.push(node);
    }
    if (!node) continue;
    const last = path[path.length - 1];
    const target = node[last];
    if (!target) continue;
    // A node with children keeps them; only its own membership goes.
    if (Object.keys(target).some((k) => k !== '.')) delete target['.'];
    else delete node[last];
    // trail[i] is the node at path[i - 1]: parents left empty go too.
    for (let i = trail.length - 1; i > 0; i--) if (Object.keys(trail[i]).length === 0) delete trail[i - 1][path[i - 1]];
  }
  return out;
}

export function union(a: FieldSet, b: FieldSet): FieldSet {
  const out: FieldSet = structuredClone(a);
  for (const [pe, child] of Object.entries(b)) out[pe] = out[pe] ? union(out[pe], child) : structuredClone(child);
  return out;
}

/** The value at a FieldsV1 path, or undefined. */
export function valueAt(value: unknown, path: readonly string[]): unknown {
  let v: unknown = value;
  for (const pe of path) {
    if (pe.startsWith('f:')) {
      if (!isObject(v)) return undefined;
      v = v[pe.slice(2)];
    } else if (pe.startsWith('k:')) {
      if (!Array.isArray(v)) return undefined;
      const key = JSON.parse(pe.slice(2)) as Json;
      v = v.find((item) => isObject(item) && Object.entries(key).every(([k, x]) => deepEqual(item[k], x)));
    } else if (pe.startsWith('v:')) {
      if (!Array.isArray(v)) return undefined;
      const want = JSON.parse(pe.slice(2));
      v = v.find((item) => deepEqual(item, want));
    } else return undefined;
    if (v === undefined) return undefined;
  }
  return v;
}

/** Removes the field at a FieldsV1 path from a (mutable) value. */
function deleteAt(value: unknown, path: readonly string[]): void {
  const parent = valueAt(value, path.slice(0, -1));
  const pe = path[path.length - 1];
  if (pe.startsWith('f:') && isObject(parent)) delete parent[pe.slice(2)];
  else if (Array.isArray(parent)) {
    const item = valueAt(parent, [pe]);
    const at = parent.indexOf(item);
    if (at >= 0) parent.splice(at, 1);
  }
}

/** The applied configuration merged into the live object: maps merge, keyed lists merge by key. */
export function mergeApplied(shape: Shape, live: unknown, applied: unknown): unknown {
  if (!isObject(applied)) return applied;
  const out: Json = isObject(live) ? { ...live } : {};
  for (const [k, v] of Object.entries(applied)) {
    const child = childShape(shape, k);
    const keys = listKeys(shape, k);
    const current = out[k];
    if (Array.isArray(v) && Array.isArray(current) && keys !== undefined) {
      const items = child && !('ref' in child) && child.type === 'array' ? child.items : undefined;
      const merged = current.slice();
      for (const item of v) {
        const at = keys === 'set' || !isObject(item) ? merged.findIndex((x) => deepEqual(x, item)) : merged.findIndex((x) => isObject(x) && itemKey(x, keys) === itemKey(item, keys));
        if (at >= 0) merged[at] = mergeApplied(items, merged[at], item);
        else merged.push(item);
      }
      out[k] = merged;
    } else if (isObject(v) && isObject(current)) out[k] = mergeApplied(child, current, v);
    else out[k] = v;
  }
  return out;
}

export interface Conflict {
  readonly manager: string;
  readonly apiVersion: string;
  readonly field: string;
}

/** `.spec.containers[name="nginx"].image`, as Kubernetes prints conflicting fields. */
export function describePath(path: readonly string[]): string {
  return path
    .map((pe) => {
      if (pe.startsWith('f:')) return `.${pe.slice(2)}`;
      if (pe.startsWith('k:')) {
        const key = JSON.parse(pe.slice(2)) as Json;
        return `[${Object.entries(key).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
      }
      if (pe.startsWith('v:')) return `[=${pe.slice(2)}]`;
      return pe;
    })
    .join('');
}

export interface ApplyResult {
  readonly object: Json;
  readonly managedFields: ManagedFieldsEntry[];
  readonly conflicts: Conflict[];
}

/**
 * Server-side apply of `applied` by `manager` onto `live` (undefined: the object is created).
 * With conflicts and no `force`, `conflicts` is non-empty and nothing else is meaningful.
 */
export function apply(definition: string, live: Json | undefined, applied: Json, manager: string, force: boolean, now: string): ApplyResult {
  const shape: Shape = { ref: definition };
  const config = withoutManagedFields(applied);
  const newSet = ownableFields(definition, config);
  const liveEntries = live ? managedFieldsOf(live) : [];
  const isMine = (e: ManagedFieldsEntry) => e.manager === manager && e.operation === 'Apply';
  const entries = liveEntries.filter((e) => !isMine(e));
  const previousEntry = liveEntries.find(isMine);
  const previous = previousEntry?.fieldsV1 ?? {};
  const conflicts: Conflict[] = [];
  const taken: string[][] = [];
  if (live) {
    for (const path of members(newSet)) {
      const mine = valueAt(config, path);
      if (isObject(mine)) continue;
      const theirs = valueAt(live, path);
      if (deepEqual(mine, theirs)) continue;
      for (const e of entries) {
        if (has(e.fieldsV1, path)) {
          if (force) taken.push(path);
          else conflicts.push({ manager: e.manager, apiVersion: e.apiVersion, field: describePath(path) });
        }
      }
    }
  }
  if (conflicts.length > 0) return { object: live ?? config, managedFields: entries, conflicts };
  let others = entries.map((e) => ({ ...e, fieldsV1: removePaths(e.fieldsV1, taken) })).filter((e) => Object.keys(e.fieldsV1).length > 0);
  const merged = structuredClone(mergeApplied(shape, live ? withoutManagedFields(live) : {}, config)) as Json;
  // Fields this manager applied before and applies no more go, unless someone else owns them.
  const dropped = members(previous).filter((p) => !has(newSet, p) && !others.some((e) => has(e.fieldsV1, p)));
  for (const path of dropped.sort((a, b) => b.length - a.length)) deleteAt(merged, path);
  others = others.filter((e) => Object.keys(e.fieldsV1).length > 0);
  if (live && previousEntry && taken.length === 0 && deepEqual(previous, newSet) && deepEqual(merged, withoutManagedFields(live))) {
    return { object: merged, managedFields: liveEntries, conflicts: [] };
  }
  const entry: ManagedFieldsEntry = { manager, operation: 'Apply', apiVersion: apiVersionOf(applied, live), time: now, fieldsType: 'FieldsV1', fieldsV1: newSet };
  return { object: merged, managedFields: [...others, entry], conflicts: [] };
}

/**
 * The managed fields after an ordinary write (create, update, patch) by `manager`: it owns the
 * fields it changed, nobody else still owns them, and fields that are gone are owned by nobody.
 */
export function recordUpdate(definition: string, live: Json | undefined, next: Json, manager: string, now: string, subresource?: string): ManagedFieldsEntry[] {
  const after = withoutManagedFields(next);
  const before = live ? withoutManagedFields(live) : undefined;
  const present = ownableFields(definition, after, subresource);
  // A create: the writer owns everything it set.
  if (!before) return Object.keys(present).length > 0 ? [{ manager, operation: 'Update', apiVersion: apiVersionOf(next, live), time: now, fieldsType: 'FieldsV1', fieldsV1: present, ...(subresource ? { subresource } : {}) }] : [];
  const changed = members(present).filter((p) => !deepEqual(valueAt(before, p), valueAt(after, p)));
  const stillThere = (set: FieldSet) => removePaths(set, members(set).filter((p) => !has(present, p)));
  const entries: ManagedFieldsEntry[] = [];
  let mine: FieldSet = {};
  for (const e of live ? managedFieldsOf(live) : []) {
    if (e.manager === manager && e.operation === 'Update' && (e.subresource ?? '') === (subresource ?? '')) {
      mine = e.fieldsV1;
      continue;
    }
    const kept = stillThere(removePaths(e.fieldsV1, changed));
    if (Object.keys(kept).length > 0) entries.push(e.fieldsV1 === kept ? e : { ...e, fieldsV1: kept });
  }
  // Nothing changed: the managed fields stay as they were (no new time stamp, no new event).
  if (live && changed.length === 0) return managedFieldsOf(live);
  const changedSet = onlyPaths(present, changed);
  const owned = stillThere(union(mine, changedSet));
  if (Object.keys(owned).length > 0) {
    entries.push({ manager, operation: 'Update', apiVersion: apiVersionOf(next, live), time: now, fieldsType: 'FieldsV1', fieldsV1: owned, ...(subresource ? { subresource } : {}) });
  }
  return entries;
}

/** The sub-set of `set` holding exactly the given member paths. */
function onlyPaths(set: FieldSet, paths: readonly (readonly string[])[]): FieldSet {
  const out: FieldSet = {};
  for (const path of paths) {
    let node = out;
    let src: FieldSet | undefined = set;
    for (const pe of path) {
      src = src?.[pe];
      node = node[pe] ??= {};
    }
    if (src && '.' in src) node['.'] = {};
  }
  return out;
}

function managedFieldsOf(o: Json): ManagedFieldsEntry[] {
  const m = (o.metadata as { managedFields?: unknown } | undefined)?.managedFields;
  return Array.isArray(m) ? (m.filter((e) => isObject(e) && typeof e.manager === 'string' && isObject(e.fieldsV1)) as ManagedFieldsEntry[]) : [];
}

function withoutManagedFields(o: Json): Json {
  const metadata = o.metadata;
  if (!isObject(metadata) || !('managedFields' in metadata)) return o;
  const { managedFields: _dropped, ...rest } = metadata;
  return { ...o, metadata: rest };
}

const apiVersionOf = (o: Json, live: Json | undefined): string => String(o.apiVersion ?? live?.apiVersion ?? 'v1');

/**
 * The field manager Kubernetes names a write after when the request names none: the client's
 * User-Agent up to the first `/` (`kubectl`, `kubectl-client-side-apply`…).
 */
export function defaultManager(userAgent: string | undefined): string {
  const name = (userAgent ?? '').split('/')[0].trim();
  return name === '' ? 'unknown' : name.slice(0, 128);
}
