/**
 * Strategic merge patch, as apimachinery's `strategicpatch` applies it on the server
 * (StrategicMergeMapPatch with MergeParallelList and IgnoreUnmatchedNulls): lists whose field
 * declares `patchStrategy: merge` merge item by item on their merge key (or as sets, for
 * primitives), other lists and scalars are replaced, null deletes; the directives `$patch`
 * (replace, delete, merge), `$retainKeys`, `$setElementOrder/<list>` and
 * `$deleteFromPrimitiveList/<list>` are honoured. Patch metadata comes from ./schema.
 */
import * as E from 'fp-ts/Either';
import { patchMeta, propertyType, type FieldType } from './schema';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ORDER = '$setElementOrder/';
const DELETE_PRIMITIVE = '$deleteFromPrimitiveList/';

class PatchError extends Error {}

/** Applies a strategic merge patch to a copy of `original` (an object of `definition`). */
export function strategicMerge(definition: string | undefined, original: unknown, patch: unknown): E.Either<string, Json> {
  if (!isObject(patch)) return E.left('a strategic merge patch must be a JSON object');
  try {
    return E.right(mergeMap(definition === undefined ? undefined : { ref: definition }, isObject(original) ? structuredClone(original) : {}, structuredClone(patch)));
  } catch (err) {
    if (err instanceof PatchError) return E.left(err.message);
    throw err;
  }
}

/** The shape of a map in the document: a Kubernetes type, or a map of some value type. */
type Shape = FieldType | undefined;

function childShape(shape: Shape, key: string): Shape {
  if (!shape) return undefined;
  if ('ref' in shape) return propertyType(shape.ref, key);
  if (shape.type === 'map') return shape.values;
  return undefined;
}

const itemShape = (t: Shape): Shape => (t && !('ref' in t) && t.type === 'array' ? t.items : undefined);
const metaOf = (shape: Shape, key: string) => (shape && 'ref' in shape ? patchMeta(shape.ref, key) : undefined);

function mergeMap(shape: Shape, original: Json, patch: Json): Json {
  if (DIRECTIVE in patch) {
    const directive = patch[DIRECTIVE];
    delete patch[DIRECTIVE];
    if (directive === 'replace') return discardNulls(patch) as Json;
    if (directive === 'delete') return {};
    if (directive !== 'merge') throw new PatchError(`unknown patch type: ${JSON.stringify(directive)} in map: ${JSON.stringify(patch)}`);
  }
  applyRetainKeys(original, patch);
  mergeOrderedLists(shape, original, patch);
  for (const [rawKey, patchValue] of Object.entries(patch)) {
    let key = rawKey;
    let deleteList = false;
    if (key.startsWith(DELETE_PRIMITIVE)) {
      key = key.slice(DELETE_PRIMITIVE.length);
      deleteList = true;
      if (!Array.isArray(patchValue)) throw new PatchError(`${rawKey} must be a list of values`);
    }
    if (patchValue === null) {
      delete original[key];
      continue;
    }
    const child = childShape(shape, key);
    const meta = metaOf(shape, key);
    if (!(key in original)) {
      // New here: taken from the patch, with its directives applied to nothing.
      if (deleteList) continue;
      if (isObject(patchValue)) original[key] = mergeMap(child, {}, patchValue);
      else if (Array.isArray(patchValue) && meta?.strategy.startsWith('merge')) original[key] = mergeList(itemShape(child), [], patchValue, meta.mergeKey, false);
      else original[key] = discardNulls(patchValue);
      continue;
    }
    const current = original[key];
    if (isObject(current) && isObject(patchValue)) {
      original[key] = mergeMap(child, current, patchValue);
    } else if (Array.isArray(current) && Array.isArray(patchValue)) {
      original[key] = meta?.strategy.startsWith('merge') || deleteList ? mergeList(itemShape(child), current, patchValue, meta?.mergeKey, deleteList) : discardNulls(patchValue);
    } else if (!deleteList) {
      original[key] = discardNulls(patchValue);
    }
  }
  return original;
}

/** `$retainKeys`: the keys of the original not listed are cleared (Kubernetes' union types). */
function applyRetainKeys(original: Json, patch: Json): void {
  if (!(RETAIN_KEYS in patch)) return;
  const keep = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(keep) || !keep.every((k) => typeof k === 'string')) throw new PatchError('$retainKeys must be a list of strings');
  const retained = new Set(keep as string[]);
  for (const k of Object.keys(patch)) {
    if (!k.startsWith('$') && !retained.has(k)) throw new PatchError(`all fields in the patch must be present in $retainKeys: ${k} is not`);
  }
  for (const k of Object.keys(original)) if (!retained.has(k)) delete original[k];
}

/** `$setElementOrder/<list>`: merges that list now, then orders it as the directive says. */
function mergeOrderedLists(shape: Shape, original: Json, patch: Json): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    const field = key.slice(SET_ORDER.length);
    const order = patch[key];
    delete patch[key];
    if (!Array.isArray(order)) throw new PatchError(`${key} must be a list`);
    const originalList = original[field] ?? [];
    const patchList = patch[field] ?? [];
    if (!Array.isArray(originalList)) throw new PatchError(`${field} is not a list in the object`);
    if (!Array.isArray(patchList)) throw new PatchError(`${field} must be a list in the patch`);
    delete patch[field];
    const meta = metaOf(shape, field);
    const mergeKey = meta?.mergeKey;
    const merged = meta?.strategy.startsWith('merge') ? mergeList(itemShape(childShape(shape, field)), originalList, patchList, mergeKey, false) : discardNulls(patchList) as unknown[];
    const ordered = normalizeOrder(merged, patchList, order, originalList, mergeKey);
    if (ordered.length > 0) original[field] = ordered;
    else delete original[field];
  }
}

const identity = (v: unknown, mergeKey: string | undefined): unknown => (mergeKey && isObject(v) ? v[mergeKey] : v);
const indexIn = (list: readonly unknown[], v: unknown, mergeKey: string | undefined): number => {
  const id = identity(v, mergeKey);
  return list.findIndex((x) => sameScalar(identity(x, mergeKey), id));
};
const sameScalar = (a: unknown, b: unknown) => a === b || (typeof a === 'object' && JSON.stringify(a) === JSON.stringify(b));

/**
 * apimachinery's normalizeElementOrder: the items the directive names in its order, the items
 * only the server had kept where they were relative to them (mergeSortedSlice).
 */
function normalizeOrder(merged: unknown[], patchList: unknown[], order: unknown[], originalList: unknown[], mergeKey: string | undefined): unknown[] {
  const inOrder: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const item of merged) (indexIn(order, item, mergeKey) >= 0 || indexIn(patchList, item, mergeKey) >= 0 ? inOrder : serverOnly).push(item);
  const rank = (list: unknown[], v: unknown) => indexIn(list, v, mergeKey);
  inOrder.sort((a, b) => rank(order, a) - rank(order, b));
  serverOnly.sort((a, b) => rank(originalList, a) - rank(originalList, b));
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < inOrder.length) {
    if (j >= inOrder.length) out.push(serverOnly[i++]);
    else if (i >= serverOnly.length) out.push(inOrder[j++]);
    else {
      const li = rank(originalList, serverOnly[i]);
      const ri = rank(originalList, inOrder[j]);
      if (li >= 0 && ri >= 0 && li < ri) out.push(serverOnly[i++]);
      else out.push(inOrder[j++]);
    }
  }
  return out;
}

function mergeList(items: Shape, original: unknown[], patch: unknown[], mergeKey: string | undefined, deleteList: boolean): unknown[] {
  if (original.length === 0 && patch.length === 0) return original;
  const first = patch.find((v) => v !== null) ?? original[0];
  if (!isObject(first)) {
    if (deleteList) return original.filter((v) => !patch.some((p) => sameScalar(p, v)));
    const out: unknown[] = [];
    for (const v of [...original, ...patch]) if (!out.some((o) => sameScalar(o, v))) out.push(v);
    return out;
  }
  if (!mergeKey) throw new PatchError('cannot merge lists without merge key');
  let base = original;
  const plain: Json[] = [];
  let replace = false;
  for (const item of patch) {
    if (!isObject(item)) throw new PatchError(`the list items must all be objects: ${JSON.stringify(item)}`);
    if (!(DIRECTIVE in item)) {
      plain.push(item);
      continue;
    }
    const directive = item[DIRECTIVE];
    if (directive === 'delete') {
      if (!(mergeKey in item)) throw new PatchError(`map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`);
      base = base.filter((o) => !(isObject(o) && sameScalar(o[mergeKey], item[mergeKey])));
    } else if (directive === 'replace') replace = true;
    else if (directive === 'merge') throw new PatchError('merging lists cannot yet be specified in the patch');
    else throw new PatchError(`unknown patch type: ${JSON.stringify(directive)} in map: ${JSON.stringify(item)}`);
  }
  if (replace) return plain.map((p) => discardNulls(p));
  const out = base.slice();
  for (const item of plain) {
    if (!(mergeKey in item)) throw new PatchError(`map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`);
    const at = out.findIndex((o) => isObject(o) && sameScalar(o[mergeKey], item[mergeKey]));
    if (at >= 0) out[at] = mergeMap(items, out[at] as Json, item);
    else out.push(mergeMap(items, {}, item));
  }
  return out;
}

/** IgnoreUnmatchedNulls: a null with nothing to delete is dropped, not stored. */
function discardNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(discardNulls);
  if (!isObject(v)) return v;
  const out: Json = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = discardNulls(x);
  return out;
}
