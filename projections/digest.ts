/**
 * A digest of the whole cluster state: SHA-256 over every object (kind, stream, position and the
 * object as canonical JSON, keys sorted), in stream order. Two views with the same digest hold
 * the same objects field for field. Recordings store the live digest after every event, so a
 * replay can be checked position by position without storing the state at each one.
 */
import { createHash } from 'node:crypto';
import type { ClusterProjection } from './cluster';

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function stateDigest(view: ClusterProjection): string {
  const h = createHash('sha256');
  for (const [kind, entries] of view.capture().kinds) {
    for (const [stream, e] of entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
      h.update(`${kind}\n${stream}\n${e.position}\n${e.revision}\n${canonicalJson(e.object)}\n`);
    }
  }
  return h.digest('hex');
}
