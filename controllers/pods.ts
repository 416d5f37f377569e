/** Small readings of pods and nodes that several controllers share. */
import type { KubeObject } from '../core/objects/codecs';
import { mustParseQuantity, ZERO, type Quantity } from '../core/quantity';

type Condition = { type: string; status: string; lastTransitionTime?: string | null; lastHeartbeatTime?: string; reason?: string; message?: string };

export const conditionOf = (o: KubeObject, type: string): Condition | undefined =>
  ((o.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find((c) => c.type === type);

export const isPodReady = (pod: KubeObject): boolean => conditionOf(pod, 'Ready')?.status === 'True';
export const phaseOf = (pod: KubeObject): string | undefined => (pod.status as { phase?: string } | undefined)?.phase;
export const isTerminal = (pod: KubeObject): boolean => phaseOf(pod) === 'Succeeded' || phaseOf(pod) === 'Failed';
export const nodeNameOf = (pod: KubeObject): string | undefined => (pod.spec as { nodeName?: string } | undefined)?.nodeName || undefined;
export const isDeleting = (o: KubeObject): boolean => !!o.metadata.deletionTimestamp;
const readyCache = new WeakMap<object, boolean>();
/** Remembered per (immutable) node object: the scheduler asks for every node of every decision. */
export const isNodeReady = (node: KubeObject): boolean => {
  let ready = readyCache.get(node);
  if (ready === undefined) readyCache.set(node, (ready = conditionOf(node, 'Ready')?.status === 'True'));
  return ready;
};

/** The pods bound to a node, through the projection's spec.nodeName index (unsorted). */
export const podsOnNode = (view: { store(kind: string): { list(q: object, sorted?: boolean): ReadonlyArray<{ readonly object: unknown }> } }, node: string): KubeObject[] =>
  view
    .store('Pod')
    .list({ fields: [{ field: 'spec.nodeName', operator: '=', value: node }] }, false)
    .map((s) => s.object as KubeObject);

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export const controllerOf = (o: KubeObject): OwnerReference | undefined =>
  ((o.metadata.ownerReferences ?? []) as unknown as OwnerReference[]).find((r) => r.controller === true);

const allocatableCache = new WeakMap<object, Map<string, Quantity>>();

export const allocatableOf = (node: KubeObject, resource: string): Quantity => {
  let byResource = allocatableCache.get(node);
  if (!byResource) allocatableCache.set(node, (byResource = new Map()));
  let q = byResource.get(resource);
  if (q === undefined) {
    const v = (node.status as { allocatable?: Record<string, string> } | undefined)?.allocatable?.[resource];
    byResource.set(resource, (q = v === undefined ? ZERO : mustParseQuantity(v)));
  }
  return q;
};

export const matchesSelector = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
