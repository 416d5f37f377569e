/** Small, pure helpers over JSON values. */

/** Structural equality of JSON values (key order does not matter). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}

/** An object without the given keys (a shallow copy). */
export function omit<T extends object, K extends keyof T>(o: T, ...keys: K[]): Omit<T, K> {
  const out = { ...o };
  for (const k of keys) delete out[k];
  return out;
}

/** RFC 3339 with seconds, as Kubernetes writes metav1.Time. */
export const rfc3339 = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
/** RFC 3339 with microseconds, as Kubernetes writes metav1.MicroTime (leases, events). */
export const rfc3339Micro = (d: Date): string => d.toISOString().replace(/Z$/, '000Z');

/**
 * `next`, with every part that equals the same part of `prev` replaced by prev's (structural
 * sharing). The result is deep-equal to `next`. Neither argument is modified.
 *
 * Projections keep one immutable object per Kubernetes object; most events change a small part
 * of it (a status, a label). Sharing the unchanged parts keeps the new version small, and lets
 * the freshly decoded copies of those parts die young instead of being promoted and collected
 * later — on a replay of a million events, that is most of the garbage collector's work.
 */
export function shareUnchanged<T>(prev: unknown, next: T): T {
  if (prev === next) return next;
  if (typeof next !== 'object' || next === null) return next;
  if (typeof prev !== 'object' || prev === null) return next;
  if (Array.isArray(next)) {
    if (!Array.isArray(prev)) return next;
    // Allocates only once a difference is found; an unchanged array is returned as prev.
    let out: unknown[] | undefined;
    for (let i = 0; i < next.length; i++) {
      const v = i < prev.length ? shareUnchanged(prev[i], next[i]) : next[i];
      if (out) out[i] = v;
      else if (v !== prev[i]) {
        out = prev.slice(0, i);
        out[i] = v;
      }
    }
    if (!out && prev.length === next.length) return prev as T;
    return (out ?? prev.slice(0, next.length)) as T;
  }
  if (Array.isArray(prev)) return next;
  const p = prev as Record<string, unknown>;
  const n = next as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  let count = 0;
  for (const k in n) {
    const nv = n[k];
    if (nv === undefined) continue;
    count++;
    const v = shareUnchanged(p[k], nv);
    if (out) out[k] = v;
    else if (v !== p[k]) {
      out = {};
      for (const before in n) {
        if (before === k) break;
        if (n[before] !== undefined) out[before] = p[before];
      }
      out[k] = v;
    }
  }
  if (out) return out as T;
  let prevCount = 0;
  for (const k in p) if (p[k] !== undefined) prevCount++;
  if (prevCount === count) return prev as T;
  // prev had more keys: next is prev without them.
  const trimmed: Record<string, unknown> = {};
  for (const k in n) if (n[k] !== undefined) trimmed[k] = p[k];
  return trimmed as T;
}
