/**
 * Node lifecycle (pkg/controller/nodelifecycle): a node whose lease has not been renewed for the
 * grace period goes Ready=Unknown ("Kubelet stopped posting node status.") and gets the
 * unreachable taints (NoSchedule, NoExecute); a node reporting Ready=False gets the not-ready
 * ones; when it is Ready again they go. Pods on a node tainted NoExecute for longer than the
 * eviction timeout are deleted, so their controllers replace them elsewhere.
 */
import type { KubeObject } from '../core/objects/codecs';
import { rfc3339 } from '../core/json';
import type { Change } from '../projections';
import { involvedRef, keyOf, nothing, parseKey, type Action, type Decision } from './actions';
import type { ReconcileContext, Reconciler } from './runtime';
import { conditionOf, isDeleting, isTerminal, nodeNameOf, podsOnNode } from './pods';

export interface NodeLifecycleOptions {
  /** How long a lease may go unrenewed before the node is Unknown (Kubernetes: 40 s). */
  readonly gracePeriodSeconds?: number;
  /** How long a node may be unreachable or not ready before its pods are evicted (Kubernetes: 300 s). */
  readonly evictionTimeoutSeconds?: number;
}

const UNREACHABLE = 'node.kubernetes.io/unreachable';
const NOT_READY = 'node.kubernetes.io/not-ready';
interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

export function nodeLifecycle(options: NodeLifecycleOptions = {}): Reconciler {
  const grace = (options.gracePeriodSeconds ?? 40) * 1000;
  const eviction = (options.evictionTimeoutSeconds ?? 300) * 1000;
  const nodeKey = (name: string) => keyOf('Node', undefined, name);
  // Like Kubernetes' node startup grace: a controller that has just started gives every node a
  // full grace period to renew (after a restart, the leases in the log are as old as the downtime).
  let startedAt: number | undefined;
  return {
    name: 'node-lifecycle-controller',
    // Lease renewals are not watched: what they change is when a node's lease expires, and every
    // reconcile of a Ready node already asks to be run again at its lease's expiry — where it reads
    // the latest renewal (and asks again) or finds the node gone quiet. At 5,000 nodes a reconcile
    // per renewal was 500 reconciles a second that could only decide nothing.
    keysFor(change: Change): string[] {
      return change.kind === 'Node' ? [nodeKey((change.object as KubeObject).metadata.name as string)] : [];
    },
    initialKeys: (view) => view.store('Node').list().map((s) => nodeKey(s.object.metadata.name as string)),
    reconcile(key: string, { view, now }: ReconcileContext): Decision {
      startedAt ??= now.getTime();
      const { name } = parseKey(key);
      const node = view.store('Node').get(undefined, name)?.object as KubeObject | undefined;
      if (!node) return nothing;
      const lease = view.store('Lease').get('kube-node-lease', name)?.object as KubeObject | undefined;
      return decideNode(node, lease, podsOnNode(view, name), now, grace, eviction, startedAt);
    },
  };
}

export function decideNode(node: KubeObject, lease: KubeObject | undefined, pods: readonly KubeObject[], now: Date, grace: number, eviction: number, startedAt = 0): Decision {
  const name = node.metadata.name as string;
  const ready = conditionOf(node, 'Ready');
  const renewed = Math.max(startedAt, Date.parse(String((lease?.spec as { renewTime?: string } | undefined)?.renewTime ?? ready?.lastHeartbeatTime ?? node.metadata.creationTimestamp ?? now.toISOString())));
  const expiresAt = renewed + grace;
  const actions: Action[] = [];
  const t = rfc3339(now);
  let status = (node.status ?? {}) as Record<string, unknown>;
  let readiness: 'True' | 'False' | 'Unknown' = (ready?.status as 'True' | 'False' | 'Unknown' | undefined) ?? 'Unknown';
  if (now.getTime() > expiresAt && readiness !== 'Unknown') {
    // The kubelet stopped renewing: every condition it reports becomes Unknown.
    const conditions = ((status.conditions ?? []) as Array<Record<string, unknown>>).map((c) => ({
      ...c,
      status: 'Unknown',
      reason: 'NodeStatusUnknown',
      message: 'Kubelet stopped posting node status.',
      lastTransitionTime: t,
    }));
    status = { ...status, conditions };
    readiness = 'Unknown';
    actions.push({ verb: 'updateStatus', kind: 'Node', name, body: { ...node, status }, event: { involved: involvedRef(node), reason: 'NodeNotReady', message: `Node ${name} status is now: NodeNotReady` } });
  }
  const taints = ((node.spec as { taints?: Taint[] } | undefined)?.taints ?? []) as Taint[];
  const want = readiness === 'Unknown' ? UNREACHABLE : readiness === 'False' ? NOT_READY : undefined;
  const kept = taints.filter((x) => x.key !== UNREACHABLE && x.key !== NOT_READY);
  const existing = taints.filter((x) => x.key === want);
  const next = want ? [...kept, ...(existing.length === 2 ? existing : [{ key: want, effect: 'NoSchedule' }, { key: want, effect: 'NoExecute', timeAdded: t }])] : kept;
  if (JSON.stringify(next) !== JSON.stringify(taints)) {
    actions.push({ verb: 'patch', kind: 'Node', name, patch: { spec: { taints: next.length ? next : null } } });
  }
  const noExecute = next.find((x) => x.key === want && x.effect === 'NoExecute');
  let requeueAfter: number | undefined = readiness === 'True' ? Math.max(1, expiresAt - now.getTime() + 1) : undefined;
  if (noExecute) {
    const evictAt = Date.parse(noExecute.timeAdded ?? t) + eviction;
    if (now.getTime() >= evictAt) {
      for (const p of pods) {
        if (isDeleting(p) || isTerminal(p)) continue;
        const event = { involved: involvedRef(p), reason: 'TaintManagerEviction', message: `Marking for deletion Pod ${p.metadata.namespace}/${p.metadata.name}` };
        actions.push({ verb: 'delete', kind: 'Pod', namespace: p.metadata.namespace as string, name: p.metadata.name as string, uid: p.metadata.uid, event });
      }
    } else requeueAfter = evictAt - now.getTime();
  }
  return { actions, ...(requeueAfter !== undefined ? { requeueAfter } : {}) };
}

export const isOnNode = (pod: KubeObject, node: string): boolean => nodeNameOf(pod) === node;
