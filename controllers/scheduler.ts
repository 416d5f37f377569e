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
import { milliValue, value } from '../core/quantity';
import type { ClusterView, Change } from '../projections';
import { involvedRef, keyOf, nothing, parseKey, type Decision } from './actions';
import type { ReconcileContext, Reconciler } from './runtime';
import { allocatableOf, conditionOf, controllerOf, isDeleting, isNodeReady, isTerminal, nodeNameOf } from './pods';
import { podTotals } from '../core/admission/limitRanger';
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

/** What the active (not terminal) pods bound to a node request, summed. */
export interface NodeUsage {
  readonly pods: number;
  /** cpu requested in millicores, memory in bytes (rounded up per pod, as kube-scheduler counts). */
  readonly cpu: number;
  readonly memory: number;
  /** Controller (owner) uid → how many of the node's pods it owns. */
  readonly owners: ReadonlyMap<string, number>;
}

const EMPTY_USAGE: NodeUsage = { pods: 0, cpu: 0, memory: 0, owners: new Map() };

/**
 * A pod's requests as the scheduler counts them: millicores and bytes. Objects from the projection
 * never change (a change is a new object), so they are remembered per object.
 */
const requestsOf = (pod: KubeObject): { cpu: number; memory: number } => {
  let r = requestNumbers.get(pod);
  if (!r) {
    const t = podTotals(pod, 'requests');
    requestNumbers.set(pod, (r = { cpu: t.cpu ? Number(milliValue(t.cpu)) : 0, memory: t.memory ? Number(value(t.memory)) : 0 }));
  }
  return r;
};
const requestNumbers = new WeakMap<KubeObject, { cpu: number; memory: number }>();

/** The usage with one more pod on the node. */
export function withPod(usage: NodeUsage, pod: KubeObject): NodeUsage {
  if (isTerminal(pod)) return usage;
  const r = requestsOf(pod);
  const owner = controllerOf(pod)?.uid;
  const owners = owner ? new Map(usage.owners).set(owner, (usage.owners.get(owner) ?? 0) + 1) : usage.owners;
  return { pods: usage.pods + 1, cpu: usage.cpu + r.cpu, memory: usage.memory + r.memory, owners };
}

/** The usage of a node from its pods. */
export const usageOf = (pods: readonly KubeObject[]): NodeUsage => pods.reduce(withPod, EMPTY_USAGE);

interface Contribution {
  readonly node: string;
  readonly cpu: number;
  readonly memory: number;
  readonly owner?: string;
}

type MutableUsage = { -readonly [K in keyof NodeUsage]: NodeUsage[K] } & { owners: Map<string, number> };

/**
 * The usage of every node, kept in step with the pods' changes instead of summed again from each
 * node's pods at every decision (that sum was most of a decision's cost at 5,000 nodes). It is a
 * function of the view: built from it, then told every change the view makes.
 */
export class NodeUsages {
  private readonly byPod = new Map<string, Contribution>();
  private readonly byNode = new Map<string, MutableUsage>();

  constructor(view: ClusterView) {
    for (const s of view.store('Pod').list({}, false)) this.observe(s.object as KubeObject, false);
  }

  /** A pod as it now is (or, `gone`, deleted). */
  observe(pod: KubeObject, gone: boolean): void {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const before = this.byPod.get(key);
    const node = gone || isTerminal(pod) ? undefined : nodeNameOf(pod);
    let after: Contribution | undefined;
    if (node) {
      const r = requestsOf(pod);
      after = { node, cpu: r.cpu, memory: r.memory, owner: controllerOf(pod)?.uid };
    }
    if (before?.node === after?.node && before?.cpu === after?.cpu && before?.memory === after?.memory && before?.owner === after?.owner) return;
    if (before) this.count(before, -1);
    if (after) {
      this.byPod.set(key, after);
      this.count(after, 1);
    } else this.byPod.delete(key);
  }

  of(node: string): NodeUsage {
    return this.byNode.get(node) ?? EMPTY_USAGE;
  }

  /** The node's usage as an object kept up to date in place: read without a lookup per decision. */
  slot(node: string): NodeUsage {
    return this.mutable(node);
  }

  private mutable(node: string): MutableUsage {
    let u = this.byNode.get(node);
    if (!u) this.byNode.set(node, (u = { pods: 0, cpu: 0, memory: 0, owners: new Map() }));
    return u;
  }

  private count(c: Contribution, sign: 1 | -1): void {
    const u = this.mutable(c.node);
    u.pods += sign;
    u.cpu += sign === 1 ? c.cpu : -c.cpu;
    u.memory += sign === 1 ? c.memory : -c.memory;
    if (c.owner) {
      const n = (u.owners.get(c.owner) ?? 0) + sign;
      if (n === 0) u.owners.delete(c.owner);
      else u.owners.set(c.owner, n);
    }
  }
}

/** What the filters and scores read of a node, taken once per (immutable) node object. */
export interface NodeFacts {
  readonly node: KubeObject;
  readonly name: string;
  readonly ready: boolean;
  readonly unschedulable: boolean;
  /** The taints that keep pods off (NoSchedule, NoExecute). */
  readonly taints: readonly Taint[];
  /** Allocatable millicores, bytes and pods. */
  readonly cpu: number;
  readonly memory: number;
  readonly pods: number;
}

const nodeFacts = new WeakMap<KubeObject, NodeFacts>();
function factsOf(node: KubeObject): NodeFacts {
  let f = nodeFacts.get(node);
  if (!f) {
    const spec = (node.spec ?? {}) as { unschedulable?: boolean; taints?: Taint[] };
    f = {
      node,
      name: node.metadata.name as string,
      ready: isNodeReady(node),
      unschedulable: !!spec.unschedulable,
      taints: (spec.taints ?? []).filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute'),
      cpu: Number(milliValue(allocatableOf(node, 'cpu'))),
      memory: Number(value(allocatableOf(node, 'memory'))),
      pods: Number(value(allocatableOf(node, 'pods'))),
    };
    nodeFacts.set(node, f);
  }
  return f;
}

/** What the filters and scores read of the pod being placed, taken once per decision. */
interface PodFacts {
  readonly pod: KubeObject;
  readonly cpu: number;
  readonly memory: number;
  readonly tolerations: readonly Toleration[];
  readonly owner?: string;
}

const podFactsOf = (pod: KubeObject): PodFacts => ({
  pod,
  ...requestsOf(pod),
  tolerations: ((pod.spec as { tolerations?: Toleration[] } | undefined)?.tolerations ?? []) as Toleration[],
  owner: controllerOf(pod)?.uid,
});

/** Why a node cannot take the pod (Kubernetes' reason strings); empty when it can. */
function filter(p: PodFacts, f: NodeFacts, usage: NodeUsage): string[] {
  if (!f.ready) return ['node(s) were not ready'];
  if (f.unschedulable) return ['node(s) were unschedulable'];
  if (f.taints.length > 0) {
    const untolerated = f.taints.find((t) => !tolerates(p.tolerations, t));
    if (untolerated) return [`node(s) had untolerated taint {${untolerated.key}: ${untolerated.value ?? ''}}`];
  }
  if (!affinityMatches(p.pod, f.node)) return ["node(s) didn't match Pod's node affinity/selector"];
  const reasons: string[] = [];
  if (usage.pods + 1 > f.pods) reasons.push('Too many pods');
  if (usage.cpu + p.cpu > f.cpu) reasons.push('Insufficient cpu');
  if (usage.memory + p.memory > f.memory) reasons.push('Insufficient memory');
  return reasons;
}

const fraction = (used: number, allocatable: number) => (allocatable === 0 ? 1 : Math.min(1, used / allocatable));

/** Higher is better: least allocated and balanced cpu/memory, fewer pods of the same owner. */
function score(p: PodFacts, f: NodeFacts, usage: NodeUsage): number {
  const cpu = fraction(usage.cpu + p.cpu, f.cpu);
  const mem = fraction(usage.memory + p.memory, f.memory);
  const leastAllocated = ((1 - cpu + (1 - mem)) / 2) * 100;
  const balanced = (1 - Math.abs(cpu - mem)) * 100;
  const siblings = p.owner ? usage.owners.get(p.owner) ?? 0 : 0;
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

/** Places a pod on one of `nodes` (in name order), or says why none can take it. */
export function schedule(pod: KubeObject, nodes: readonly NodeFacts[], usageAt: (index: number) => NodeUsage, now: Date): Decision {
  if (!wantsScheduling(pod)) return nothing;
  const p = podFactsOf(pod);
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
    const at = (start + i) % nodes.length;
    const f = nodes[at];
    const on = usageAt(at);
    const why = filter(p, f, on);
    if (why.length > 0) {
      for (const r of why) reasons.set(r, (reasons.get(r) ?? 0) + 1);
      continue;
    }
    feasible++;
    const s = score(p, f, on);
    if (!best || s > best.score || (s === best.score && f.name < best.node)) best = { node: f.name, score: s };
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
    const on = assumedOn.get(a.node);
    on?.delete(uid);
    if (on?.size === 0) assumedOn.delete(a.node);
  };
  let usagesCache: { view: ClusterView; usages: NodeUsages } | undefined;
  const usagesOf = (view: ClusterView): NodeUsages => {
    if (usagesCache?.view !== view) usagesCache = { view, usages: new NodeUsages(view) };
    return usagesCache.usages;
  };
  // The nodes, sorted by name, with their usages in the same order: read again only after a Node changed.
  let nodesCache: { view: ClusterView; nodes: NodeFacts[]; usages: NodeUsage[]; index: Map<string, number> } | undefined;
  const nodesOf = (view: ClusterView) => {
    const usages = usagesOf(view);
    if (nodesCache?.view !== view) {
      const nodes = view.store('Node').list().map((s) => factsOf(s.object as KubeObject));
      nodesCache = { view, nodes, usages: nodes.map((f) => usages.slot(f.name)), index: new Map(nodes.map((f, i) => [f.name, i])) };
    }
    return nodesCache;
  };
  /** By node index, the usage with the pods assumed there (but `self`) counted in. */
  const usageAt = (cache: NonNullable<typeof nodesCache>, self: string): ((index: number) => NodeUsage) => {
    if (assumedOn.size === 0) return (i) => cache.usages[i];
    const adjusted = new Map<number, NodeUsage>();
    for (const [node, pods] of assumedOn) {
      const i = cache.index.get(node);
      if (i === undefined) continue;
      let usage = cache.usages[i];
      for (const [uid, pod] of pods) if (uid !== self) usage = withPod(usage, pod);
      adjusted.set(i, usage);
    }
    return (i) => adjusted.get(i) ?? cache.usages[i];
  };
  return {
    name: NAME,
    actor: 'system:kube-scheduler',
    parallelism: 16,
    keysFor(change: Change, view: ClusterView): string[] {
      const o = change.object as KubeObject;
      if (change.kind === 'Pod') {
        if (usagesCache?.view === view) usagesCache.usages.observe(o, change.type === 'DELETED');
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
      const cache = nodesOf(view);
      const uid = pod.metadata.uid as string;
      const decision = schedule(pod, cache.nodes, usageAt(cache, uid), now);
      const bind = decision.actions.find((a) => a.verb === 'bind') as { node: string } | undefined;
      if (bind) assume(uid, bind.node, pod);
      else forget(uid);
      return decision;
    },
  };
}

export const scheduler: Reconciler = makeScheduler();
