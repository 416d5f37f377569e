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
 * A shallow copy of `o` with `fields` set (like `{ ...o, ...fields }`). Written as a loop
 * because V8 takes a slow path for a spread followed by new properties, which made this the
 * most expensive step of the projection fold (about 3 µs against 0.7 µs per object).
 */
export function withFields<T extends object>(o: T, fields: Partial<T> | Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const k in o) out[k] = (o as Record<string, unknown>)[k];
  for (const k in fields) out[k] = (fields as Record<string, unknown>)[k];
  return out as T;
}
