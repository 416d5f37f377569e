/**
 * A digest of the whole cluster state: the sum (mod 2^256) of a SHA-256 per object over its kind,
 * stream, position, revision and canonical JSON (keys sorted). Two views with the same digest
 * hold the same objects field for field. Being a sum, it is kept up to date in O(1) per change
 * (DigestTracker) — recordings store the live digest after every event, so a replay can be
 * checked position by position without storing the state at each one.
 */
import { createHash } from 'node:crypto';
import type { Subscription } from 'rxjs';
import type { ClusterProjection } from './cluster';
import type { StoredObject } from './objectStore';

const MOD = 1n << 256n;

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

function objectHash(kind: string, stream: string, entry: StoredObject): bigint {
  return BigInt(`0x${createHash('sha256').update(`${kind}\n${stream}\n${entry.position}\n${entry.revision}\n${canonicalJson(entry.object)}`).digest('hex')}`);
}

const hex = (sum: bigint) => sum.toString(16).padStart(64, '0');

/** The digest of a view's state, computed from all its objects. */
export function stateDigest(view: ClusterProjection): string {
  let sum = 0n;
  for (const [kind, entries] of view.capture().kinds) for (const [stream, e] of entries) sum = (sum + objectHash(kind, stream, e)) % MOD;
  return hex(sum);
}

/** Keeps a live view's digest as it folds, and calls `onEvent` with it after every event. */
export class DigestTracker {
  private sum = 0n;
  private readonly hashes = new Map<string, bigint>();
  private readonly subscriptions: Subscription[];

  constructor(view: ClusterProjection, onEvent: (position: bigint, digest: string) => void) {
    for (const [kind, entries] of view.capture().kinds) {
      for (const [stream, e] of entries) {
        const h = objectHash(kind, stream, e);
        this.hashes.set(stream, h);
        this.sum = (this.sum + h) % MOD;
      }
    }
    this.subscriptions = [
      view.changes.subscribe((change) => {
        const stream = change.event.stream;
        const old = this.hashes.get(stream);
        if (old !== undefined) this.sum = (this.sum - old + MOD) % MOD;
        if (change.type === 'DELETED') this.hashes.delete(stream);
        else {
          const h = objectHash(change.kind, stream, { object: change.object, position: change.position, revision: change.event.revision });
          this.hashes.set(stream, h);
          this.sum = (this.sum + h) % MOD;
        }
      }),
      view.applied.subscribe((position) => onEvent(position, hex(this.sum))),
    ];
  }

  get digest(): string {
    return hex(this.sum);
  }

  stop(): void {
    for (const s of this.subscriptions) s.unsubscribe();
  }
}
