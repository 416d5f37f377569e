/**
 * The replication controller (pkg/controller/replication, via replicaset): keeps exactly
 * `spec.replicas` active pods matching the selector, created from the template with a controller
 * owner reference; adopts matching orphans, releases owned pods that no longer match (and so
 * replaces them); scales down deleting unscheduled, then not-ready, then newest pods first; keeps
 * `status` (replicas, fullyLabeledReplicas, readyReplicas, availableReplicas, observedGeneration).
 *
 * Pure: no expectations are needed, because the runtime performs one reconcile at a time and the
 * API answers a write only once the projection it reads from holds it.
 */
import type { KubeObject } from '../core/objects/codecs';
import type { ClusterView, Change } from '../projections';
import { involvedRef, keyOf, nothing, parseKey, type Action, type Decision } from './actions';
import type { ReconcileContext, Reconciler } from './runtime';
import { controllerOf, isDeleting, isPodReady, isTerminal, matchesSelector, nodeNameOf, phaseOf, type OwnerReference } from './pods';

const NAME = 'replication-controller';

interface RcSpec {
  replicas?: number;
  selector?: Record<string, string>;
  template?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: Record<string, unknown> };
}

const specOf = (rc: KubeObject) => (rc.spec ?? {}) as RcSpec;
const selectorOf = (rc: KubeObject) => specOf(rc).selector ?? specOf(rc).template?.metadata?.labels ?? {};

/** Lower first: the pods to delete when scaling down (Kubernetes' ActivePods ordering, simplified). */
function deletionRank(a: KubeObject, b: KubeObject): number {
  const unscheduled = (p: KubeObject) => (nodeNameOf(p) ? 1 : 0);
  const pending = (p: KubeObject) => (phaseOf(p) === 'Pending' ? 0 : phaseOf(p) === 'Unknown' ? 1 : 2);
  const ready = (p: KubeObject) => (isPodReady(p) ? 1 : 0);
  return (
    unscheduled(a) - unscheduled(b) ||
    pending(a) - pending(b) ||
    ready(a) - ready(b) ||
    // newer first
    String(b.metadata.creationTimestamp ?? '').localeCompare(String(a.metadata.creationTimestamp ?? '')) ||
    String(b.metadata.name).localeCompare(String(a.metadata.name))
  );
}

export function ownerRefTo(rc: KubeObject): OwnerReference {
  return { apiVersion: 'v1', kind: 'ReplicationController', name: rc.metadata.name as string, uid: rc.metadata.uid as string, controller: true, blockOwnerDeletion: true };
}

function podFromTemplate(rc: KubeObject): KubeObject {
  const t = specOf(rc).template ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${rc.metadata.name}-`,
      namespace: rc.metadata.namespace,
      labels: { ...(t.metadata?.labels ?? {}) },
      ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
      ownerReferences: [ownerRefTo(rc)],
    },
    spec: structuredClone(t.spec ?? {}),
  };
}

export function reconcileReplicationController(rc: KubeObject | undefined, pods: readonly KubeObject[]): Decision {
  if (!rc || isDeleting(rc)) return nothing;
  const uid = rc.metadata.uid;
  const ns = rc.metadata.namespace;
  const selector = selectorOf(rc);
  const actions: Action[] = [];
  const owned: KubeObject[] = [];
  for (const pod of pods) {
    if (pod.metadata.namespace !== ns) continue;
    const ref = controllerOf(pod);
    const matches = matchesSelector(selector, pod.metadata.labels ?? undefined);
    if (ref?.uid === uid) {
      if (matches) owned.push(pod);
      else if (!isDeleting(pod)) {
        // Relabelled out of the selector: released (kept, no longer ours), and replaced.
        const refs = (pod.metadata.ownerReferences ?? []).filter((r) => (r as { uid?: string }).uid !== uid);
        actions.push({ verb: 'patch', kind: 'Pod', namespace: ns, name: pod.metadata.name as string, patch: { metadata: { ownerReferences: refs.length ? refs : null, uid: pod.metadata.uid } } });
      }
    } else if (!ref && matches && !isDeleting(pod) && !isTerminal(pod)) {
      // An orphan that matches: adopted.
      actions.push({ verb: 'patch', kind: 'Pod', namespace: ns, name: pod.metadata.name as string, patch: { metadata: { ownerReferences: [...(pod.metadata.ownerReferences ?? []), ownerRefTo(rc)], uid: pod.metadata.uid } } });
      owned.push(pod);
    }
  }
  const active = owned.filter((p) => !isDeleting(p) && !isTerminal(p));
  const want = Math.max(0, specOf(rc).replicas ?? 1);
  if (active.length < want) {
    for (let i = active.length; i < want; i++) {
      actions.push({ verb: 'create', kind: 'Pod', namespace: ns, body: podFromTemplate(rc), event: { involved: involvedRef(rc), reason: 'SuccessfulCreate', message: 'Created pod: {name}' } });
    }
  } else if (active.length > want) {
    const victims = [...active].sort(deletionRank).slice(0, active.length - want);
    for (const p of victims) {
      actions.push({ verb: 'delete', kind: 'Pod', namespace: ns, name: p.metadata.name as string, uid: p.metadata.uid, event: { involved: involvedRef(rc), reason: 'SuccessfulDelete', message: `Deleted pod: ${p.metadata.name}` } });
    }
  }
  const ready = active.filter(isPodReady).length;
  const status = {
    ...((rc.status ?? {}) as Record<string, unknown>),
    replicas: active.length,
    fullyLabeledReplicas: active.filter((p) => Object.entries(specOf(rc).template?.metadata?.labels ?? {}).every(([k, v]) => p.metadata.labels?.[k] === v)).length,
    readyReplicas: ready,
    availableReplicas: ready,
    observedGeneration: rc.metadata.generation ?? 1,
  };
  for (const k of ['readyReplicas', 'availableReplicas', 'fullyLabeledReplicas'] as const) if (status[k] === 0) delete (status as Record<string, unknown>)[k];
  const current = (rc.status ?? {}) as Record<string, unknown>;
  const changed = ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration'].some((k) => current[k] !== (status as Record<string, unknown>)[k]);
  if (changed) actions.push({ verb: 'updateStatus', kind: 'ReplicationController', namespace: ns, name: rc.metadata.name as string, body: { ...rc, status } });
  return { actions };
}

export const replicationController: Reconciler = {
  name: NAME,
  keysFor(change: Change, view: ClusterView): string[] {
    const o = change.object as KubeObject;
    if (change.kind === 'ReplicationController') return [keyOf('ReplicationController', o.metadata.namespace, o.metadata.name as string)];
    if (change.kind !== 'Pod') return [];
    const ref = controllerOf(o);
    if (ref?.kind === 'ReplicationController') return [keyOf('ReplicationController', o.metadata.namespace, ref.name)];
    if (ref) return [];
    // An orphan: every controller in its namespace whose selector matches may adopt it.
    return view
      .store('ReplicationController')
      .list({ namespace: o.metadata.namespace })
      .map((s) => s.object as KubeObject)
      .filter((rc) => matchesSelector(selectorOf(rc), o.metadata.labels ?? undefined))
      .map((rc) => keyOf('ReplicationController', rc.metadata.namespace, rc.metadata.name as string));
  },
  initialKeys(view: ClusterView): string[] {
    return view
      .store('ReplicationController')
      .list()
      .map((s) => keyOf('ReplicationController', s.object.metadata.namespace, s.object.metadata.name as string));
  },
  reconcile(key: string, { view }: ReconcileContext): Decision {
    const { namespace, name } = parseKey(key);
    const rc = view.store('ReplicationController').get(namespace, name)?.object as KubeObject | undefined;
    if (!rc) return nothing;
    // Unsorted: the decision orders what it needs to (scale-down victims) itself.
    const pods = view.store('Pod').list({ namespace }, false).map((s) => s.object as KubeObject);
    return reconcileReplicationController(rc, pods);
  },
};
