/**
 * What a reconciler decides: writes through the Kubernetes API, as data. Reconcilers return
 * actions; the runtime performs them (an ActionPerformer: controllers/client.ts over HTTP, or
 * api/inProcess.ts in the server's own process), each carrying the controller's
 * identity and the cause of the decision.
 */
import { createHash } from 'node:crypto';
import type { KubeObject } from '../core/objects/codecs';
import { canonicalJson } from '../projections/digest';

/**
 * A core/v1 Event to record once the action succeeded (what `kubectl describe` shows).
 * `{name}` in the message becomes the name of the object the action answered with.
 */
export interface EventNote {
  readonly involved: { readonly kind: string; readonly namespace?: string; readonly name: string; readonly uid?: string; readonly apiVersion?: string };
  readonly reason: string;
  readonly message: string;
  readonly type?: 'Normal' | 'Warning';
}

export type Action = (
  | { readonly verb: 'create'; readonly kind: string; readonly namespace?: string; readonly body: KubeObject }
  | { readonly verb: 'update'; readonly kind: string; readonly namespace?: string; readonly name: string; readonly body: KubeObject }
  | { readonly verb: 'updateStatus'; readonly kind: string; readonly namespace?: string; readonly name: string; readonly body: KubeObject }
  | { readonly verb: 'patch'; readonly kind: string; readonly namespace?: string; readonly name: string; readonly patch: Record<string, unknown> }
  | { readonly verb: 'delete'; readonly kind: string; readonly namespace?: string; readonly name: string; readonly gracePeriodSeconds?: number; readonly uid?: string }
  | { readonly verb: 'bind'; readonly namespace: string; readonly name: string; readonly node: string; readonly uid?: string }
  | { readonly verb: 'renewLease'; readonly name: string; readonly holder: string; readonly durationSeconds: number }
) & { readonly event?: EventNote };

/** The reference an Event makes to the object it is about. */
export const involvedRef = (o: KubeObject): EventNote['involved'] => ({
  kind: o.kind as string,
  apiVersion: o.apiVersion as string,
  ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
  name: o.metadata.name as string,
  ...(o.metadata.uid ? { uid: o.metadata.uid } : {}),
});

export interface Decision {
  readonly actions: readonly Action[];
  /** Reconcile this key again after this many milliseconds of the controller clock. */
  readonly requeueAfter?: number;
}

export const nothing: Decision = { actions: [] };

/** Object keys as the runtime queues them: `Kind|namespace/name` or `Kind|name`. */
export const keyOf = (kind: string, namespace: string | undefined, name: string): string => `${kind}|${namespace ? `${namespace}/` : ''}${name}`;

export function parseKey(key: string): { kind: string; namespace?: string; name: string } {
  const [kind, rest] = key.split('|');
  const slash = rest.indexOf('/');
  return slash < 0 ? { kind, name: rest } : { kind, namespace: rest.slice(0, slash), name: rest.slice(slash + 1) };
}

/**
 * A digest of what a decision does: every action, canonical JSON. Each write of a decision
 * carries it (envelope `decision`), so a re-run of the decision with other code can tell whether
 * it would have decided the same.
 */
export const decisionDigest = (actions: readonly Action[]): string => createHash('sha256').update(canonicalJson(actions)).digest('hex').slice(0, 32);
