/**
 * Patches, by Content-Type: JSON merge patch (RFC 7386), JSON patch (RFC 6902, through
 * fast-json-patch), strategic merge patch (core/objects/strategicMerge) and server-side apply
 * (`application/apply-patch+yaml`, handled by the resource handler with core/objects/managedFields).
 */
import * as E from 'fp-ts/Either';
import { applyPatch, validate, type Operation } from 'fast-json-patch';
import { strategicMerge } from '../core/objects/strategicMerge';

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

export const PATCH_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

export function patchTypeOf(contentType: string | undefined): PatchType | undefined {
  const base = (contentType ?? '').split(';')[0].trim().toLowerCase();
  return PATCH_TYPES[base];
}

/** RFC 7386: objects merge recursively, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const base: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete base[k];
    else base[k] = mergePatch(base[k], v);
  }
  return base;
}

/**
 * Applies a parsed patch document to a copy of `target` (an object of the given OpenAPI
 * definition, which strategic merge patch takes its merge keys from); errors are messages for a 400.
 */
export function applyPatchDocument(type: Exclude<PatchType, 'apply'>, target: unknown, patch: unknown, definition?: string): E.Either<string, unknown> {
  if (type === 'strategic') return strategicMerge(definition, target, patch);
  if (type === 'merge') {
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return E.left('a merge patch must be a JSON object');
    return E.right(mergePatch(target, patch));
  }
  if (!Array.isArray(patch)) return E.left('a JSON patch must be an array of operations');
  const invalid = validate(patch as Operation[], target);
  if (invalid) return E.left(`the JSON patch is invalid: ${invalid.message.split('\n')[0]}`);
  try {
    return E.right(applyPatch(structuredClone(target), patch as Operation[], true, false).newDocument);
  } catch (err) {
    return E.left(`the JSON patch could not be applied: ${(err as Error).message.split('\n')[0]}`);
  }
}
