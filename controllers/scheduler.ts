/**
 * The scheduler (pkg/scheduler, its default plugins in a subset): for a pod with no node,
 * filters — node Ready and schedulable, taints tolerated, nodeSelector, required node affinity,
 * resources fit (cpu, memory, pod count against allocatable minus the requests of its pods) —
 * then scores — least allocated, balanced allocation, fewest pods of the same owner — and binds
 * through the Binding subresource. A pod nothing fits gets PodScheduled=False with Kubernetes'
 * message ("0/3 nodes are available: 3 Insufficient cpu.") and is tried again when nodes or pods
 * change. Ties go to the node name, so a decision depends only on what was observed.
 */
import type { KubeObject } from '../core/objects/codecs';
import { compareQuantities, addQuantities, type Quantity } from '../core/quantity';
import type { ClusterView, Change } from '../projections';
import { involvedRef, keyOf, nothing, parseKey, type Decision } from './actions';
import type { ReconcileContext, Reconciler } from './runtime';
import { allocatableOf, conditionOf, controllerOf, isDeleting, isNodeReady, isTerminal, nodeNameOf, podRequests, podsOnNode, sumRequests } from './pods';
import { rfc3339 } from '../core/json';

const NAME = 'scheduler';
const SCHEDULER_NAME = 'default-scheduler';

interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}
interface Taint {
  key: string;
  value?: string;
  effect: string;
}
interface Requirement {
  key: string;
  operator: string;
  values?: string[];
}

const wantsScheduling = (pod: KubeObject): boolean =>
  !nodeNameOf(pod) && !isDeleting(pod) && !isTerminal(pod) && ((pod.spec as { schedulerName?: string } | undefined)?.schedulerName ?? SCHEDULER_NAME) === SCHEDULER_NAME;

function tolerates(tolerations: readonly Toleration[], taint: Taint): boolean {
  return tolerations.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

function matchRequirement(r: Requirement, value: string | undefined): boolean {
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
      return value !== undefined && Number(value) > Number(values[0]);
    case 'Lt':
      return value !== undefined && Number(value) < Number(values[0]);
    default:
      return false;
  }
}

function affinityMatches(pod: KubeObject, node: KubeObject): boolean {
  const spec = (pod.spec ?? {}) as { nodeSelector?: Record<string, string>; affinity?: { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: Array<{ matchExpressions?: Requirement[]; matchFields?: Requirement[] }> } } } };
  const labels = node.metadata.labels ?? {};
  if (spec.nodeSelector && !Object.entries(spec.nodeSelector).every(([k, v]) => labels[k] === v)) return false;
  const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!terms || terms.length === 0) return true;
  return terms.some(
    (t) =>
      (t.matchExpressions ?? []).every((r) => matchRequirement(r, labels[r.key])) &&
      (t.matchFields ?? []).every((r) => matchRequirement(r, r.key === 'metadata.name' ? (node.metadata.name as string) : undefined)),
  );
}

const fits = (used: Quantity, request: Quantity, allocatable: Quantity) => compareQuantities(addQuantities(used, request), allocatable) <= 0;

/** Why a node cannot take the pod (Kubernetes' reason strings), or undefined when it can. */
export function filterNode(pod: KubeObject, node: KubeObject, podsOnNode: readonly KubeObject[]): string[] {
  const reasons: string[] = [];
  if (!isNodeReady(node)) return ['node(s) were not ready'];
  if ((node.spec as { unschedulable?: boolean } | undefined)?.unschedulable) return ['node(s) were unschedulable'];
  const tolerations = ((pod.spec as { tolerations?: Toleration[] } | undefined)?.tolerations ?? []) as Toleration[];
  const taints = ((node.spec as { taints?: Taint[] } | undefined)?.taints ?? []).filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
  const untolerated = taints.find((t) => !tolerates(tolerations, t));
  if (untolerated) return [`node(s) had untolerated taint {${untolerated.key}: ${untolerated.value ?? ''}}`];
  if (!affinityMatches(pod, node)) return ["node(s) didn't match Pod's node affinity/selector"];
  const active = podsOnNode.filter((p) => !isTerminal(p));
  const used = sumRequests(active);
  const req = podRequests(pod);
  if (active.length + 1 > Number(allocatableOf(node, 'pods').nanos / 1_000_000_000n)) reasons.push('Too many pods');
  if (!fits(used.cpu, req.cpu, allocatableOf(node, 'cpu'))) reasons.push('Insufficient cpu');
  if (!fits(used.memory, req.memory, allocatableOf(node, 'memory'))) reasons.push('Insufficient memory');
  return reasons;
}

/** Higher is better: least allocated and balanced cpu/memory, fewer pods of the same owner. */
function score(pod: KubeObject, node: KubeObject, podsOnNode: readonly KubeObject[]): number {
  const active = podsOnNode.filter((p) => !isTerminal(p));
  const used = sumRequests([...active, pod]);
  const frac = (u: Quantity, a: Quantity) => (a.nanos === 0n ? 1 : Math.min(1, Number(u.nanos) / Number(a.nanos)));
  const cpu = frac(used.cpu, allocatableOf(node, 'cpu'));
  const mem = frac(used.memory, allocatableOf(node, 'memory'));
  const leastAllocated = ((1 - cpu + (1 - mem)) / 2) * 100;
  const balanced = (1 - Math.abs(cpu - mem)) * 100;
  const owner = controllerOf(pod)?.uid;
  const siblings = owner ? active.filter((p) => controllerOf(p)?.uid === owner).length : 0;
  const spread = 100 / (1 + siblings);
  return leastAllocated + balanced + 2 * spread;
}

/**
 * How many feasible nodes to find before scoring (kube-scheduler's percentageOfNodesToScore):
 * all of them in small clusters, an adaptive share (at least 100) in large ones.
 */
export function feasibleToFind(nodes: number): number {
  if (nodes < 100) return nodes;
  const pct = Math.max(5, 50 - Math.floor(nodes / 125));
  return Math.max(100, Math.floor((nodes * pct) / 100));
}

const hashOf = (s: string): number => {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
};

export function schedule(pod: KubeObject, nodes: readonly KubeObject[], podsOn: (node: string) => readonly KubeObject[], now: Date): Decision {
  if (!wantsScheduling(pod)) return nothing;
  const ns = pod.metadata.namespace as string;
  const name = pod.metadata.name as string;
  const reasons = new Map<string, number>();
  let best: { node: string; score: number } | undefined;
  // Nodes in name order from a start that depends on the pod, until enough feasible ones are
  // found: deterministic, and it spreads the search as kube-scheduler's rotating start does.
  const want = feasibleToFind(nodes.length);
  const start = nodes.length ? hashOf(String(pod.metadata.uid ?? name)) % nodes.length : 0;
  let feasible = 0;
  for (let i = 0; i < nodes.length && feasible < want; i++) {
    const node = nodes[(start + i) % nodes.length];
    const on = podsOn(node.metadata.name as string);
    const why = filterNode(pod, node, on);
    if (why.length > 0) {
      for (const r of why) reasons.set(r, (reasons.get(r) ?? 0) + 1);
      continue;
    }
    feasible++;
    const s = score(pod, node, on);
    if (!best || s > best.score || (s === best.score && String(node.metadata.name) < best.node)) best = { node: node.metadata.name as string, score: s };
  }
  if (best) {
    const event = { involved: involvedRef(pod), reason: 'Scheduled', message: `Successfully assigned ${ns}/${name} to ${best.node}` };
    return { actions: [{ verb: 'bind', namespace: ns, name, node: best.node, uid: pod.metadata.uid, event }] };
  }
  const detail = [...reasons].sort(([a], [b]) => a.localeCompare(b)).map(([r, n]) => `${n} ${r}`).join(', ');
  const message = `0/${nodes.length} nodes are available${detail ? `: ${detail}` : ''}.`;
  const current = conditionOf(pod, 'PodScheduled');
  if (current?.status === 'False' && current.reason === 'Unschedulable' && current.message === message) return nothing;
  const conditions = ((pod.status as { conditions?: Array<{ type: string }> } | undefined)?.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
  conditions.push({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null, lastTransitionTime: rfc3339(now) } as never);
  const event = { involved: involvedRef(pod), reason: 'FailedScheduling', message, type: 'Warning' as const };
  return { actions: [{ verb: 'updateStatus', kind: 'Pod', namespace: ns, name, body: { ...pod, status: { ...((pod.status ?? {}) as object), conditions } }, event }] };
}

const pendingKeys = (view: ClusterView): string[] =>
  view
    .store('Pod')
    .list({}, false)
    .map((s) => s.object as KubeObject)
    .filter(wantsScheduling)
    .map((p) => keyOf('Pod', p.metadata.namespace, p.metadata.name as string));

/**
 * The scheduler reconciler. With a concurrent manager its binds overlap (parallelism 16): each
 * decision is recorded as an assumption — the pod counted on its node — until the view shows the
 * binding (or the pod gone), so overlapping decisions never overcommit a node, as kube-scheduler's
 * assume cache does.
 */
export function makeScheduler(): Reconciler {
  const assumed = new Map<string, { node: string; pod: KubeObject }>();
  const assumedOn = new Map<string, Map<string, KubeObject>>();
  const assume = (uid: string, node: string, pod: KubeObject) => {
    forget(uid);
    assumed.set(uid, { node, pod });
    let m = assumedOn.get(node);
    if (!m) assumedOn.set(node, (m = new Map()));
    m.set(uid, pod);
  };
  const forget = (uid: string) => {
    const a = assumed.get(uid);
    if (!a) return;
    assumed.delete(uid);
    assumedOn.get(a.node)?.delete(uid);
  };
  // The nodes, sorted by name: read again only after a Node changed.
  let nodesCache: { view: ClusterView; nodes: KubeObject[] } | undefined;
  const nodesOf = (view: ClusterView): KubeObject[] => {
    if (nodesCache?.view !== view) nodesCache = { view, nodes: view.store('Node').list().map((s) => s.object as KubeObject) };
    return nodesCache.nodes;
  };
  const podsOn = (view: ClusterView, self: string | undefined) => (node: string): KubeObject[] => {
    const bound = podsOnNode(view, node);
    const extra = assumedOn.get(node);
    if (!extra || extra.size === 0) return bound;
    const out = [...bound];
    for (const [uid, pod] of extra) if (uid !== self) out.push(pod);
    return out;
  };
  return {
    name: NAME,
    actor: 'system:kube-scheduler',
    parallelism: 16,
    keysFor(change: Change, view: ClusterView): string[] {
      const o = change.object as KubeObject;
      if (change.kind === 'Pod') {
        if (change.type === 'DELETED' || nodeNameOf(o)) forget(o.metadata.uid as string);
        if (change.type !== 'DELETED' && wantsScheduling(o)) return [keyOf('Pod', o.metadata.namespace, o.metadata.name as string)];
        // A pod gone or finished frees room: the waiting pods try again.
        if (change.type === 'DELETED' || isTerminal(o)) return pendingKeys(view);
        return [];
      }
      if (change.kind === 'Node') {
        nodesCache = undefined;
        return pendingKeys(view);
      }
      return [];
    },
    initialKeys: pendingKeys,
    // kube-scheduler's queue order: higher priority first, then older.
    rank(key: string, view: ClusterView) {
      const { namespace, name } = parseKey(key);
      const pod = view.store('Pod').get(namespace, name)?.object as KubeObject | undefined;
      const priority = (pod?.spec as { priority?: number } | undefined)?.priority ?? 0;
      return [-priority, String(pod?.metadata.creationTimestamp ?? '')] as const;
    },
    reconcile(key: string, { view, now }: ReconcileContext): Decision {
      const { namespace, name } = parseKey(key);
      const pod = view.store('Pod').get(namespace, name)?.object as KubeObject | undefined;
      if (!pod) return nothing;
      const nodes = nodesOf(view);
      const uid = pod.metadata.uid as string;
      const decision = schedule(pod, nodes, podsOn(view, uid), now);
      const bind = decision.actions.find((a) => a.verb === 'bind') as { node: string } | undefined;
      if (bind) assume(uid, bind.node, pod);
      else forget(uid);
      return decision;
    },
  };
}

export const scheduler: Reconciler = makeScheduler();
