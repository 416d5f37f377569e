/** Small readings of pods and nodes that several controllers share. */
import type { KubeObject } from '../core/objects/codecs';
import { addQuantities, mustParseQuantity, ZERO, type Quantity } from '../core/quantity';
import { podTotals } from '../core/admission/limitRanger';

type Condition = { type: string; status: string; lastTransitionTime?: string | null; lastHeartbeatTime?: string; reason?: string; message?: string };

export const conditionOf = (o: KubeObject, type: string): Condition | undefined =>
  ((o.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find((c) => c.type === type);

export const isPodReady = (pod: KubeObject): boolean => conditionOf(pod, 'Ready')?.status === 'True';
export const phaseOf = (pod: KubeObject): string | undefined => (pod.status as { phase?: string } | undefined)?.phase;
export const isTerminal = (pod: KubeObject): boolean => phaseOf(pod) === 'Succeeded' || phaseOf(pod) === 'Failed';
export const nodeNameOf = (pod: KubeObject): string | undefined => (pod.spec as { nodeName?: string } | undefined)?.nodeName || undefined;
export const isDeleting = (o: KubeObject): boolean => !!o.metadata.deletionTimestamp;
export const isNodeReady = (node: KubeObject): boolean => conditionOf(node, 'Ready')?.status === 'True';

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

/** A pod's requests as the scheduler counts them (cpu in millis, memory in bytes, via Quantity). */
export function podRequests(pod: KubeObject): { cpu: Quantity; memory: Quantity } {
  const r = podTotals(pod, 'requests');
  return { cpu: r.cpu ?? ZERO, memory: r.memory ?? ZERO };
}

export function sumRequests(pods: readonly KubeObject[]): { cpu: Quantity; memory: Quantity } {
  let cpu = ZERO;
  let memory = ZERO;
  for (const p of pods) {
    const r = podRequests(p);
    cpu = addQuantities(cpu, r.cpu);
    memory = addQuantities(memory, r.memory);
  }
  return { cpu, memory };
}

export const allocatableOf = (node: KubeObject, resource: string): Quantity => {
  const v = (node.status as { allocatable?: Record<string, string> } | undefined)?.allocatable?.[resource];
  return v === undefined ? ZERO : mustParseQuantity(v);
};

export const matchesSelector = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
