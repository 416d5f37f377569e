/**
 * A hollow kubelet: a simulated node, no containers. It registers its Node (capacity,
 * allocatable, addresses, nodeInfo, podCIDR), renews its Lease in kube-node-lease every 10 s,
 * and runs the pods bound to it through their phases: Pending → Running (after the startup delay)
 * → Succeeded/Failed when a container exits, restarted per restartPolicy. Pod IPs come from the
 * node's podCIDR. It finishes the deletion of pods that carry a deletionTimestamp.
 *
 * Behaviour per pod, by annotation:
 *   kronicle.io/startup-delay: seconds before the containers run (default 0)
 *   kronicle.io/exit-after:    seconds a container runs before it exits
 *   kronicle.io/exit-code:     its exit code (default 0)
 *   kronicle.io/never-ready:   "true": running, never Ready
 * Everything is a function of the observed pod, the node's settings and `now`: deterministic.
 * `heartbeats = false` (fault injection) stops the lease renewals and status reports; so does the
 * annotation `kronicle.io/fault: heartbeats-stopped` on its Node — a fault written through the API,
 * so it is an input of the history, recorded and re-sent by a re-simulation like any other.
 */
import type { KubeObject } from '../core/objects/codecs';
import { rfc3339 } from '../core/json';
import type { ClusterView, Change } from '../projections';
import { involvedRef, keyOf, nothing, parseKey, type Action, type Decision } from './actions';
import type { ReconcileContext, Reconciler } from './runtime';
import { conditionOf, isDeleting, isTerminal, nodeNameOf, podsOnNode } from './pods';

export const LEASE_RENEW_MS = 10_000;
export const LEASE_DURATION_SECONDS = 40;

export interface HollowNodeOptions {
  readonly name: string;
  /**
   * The node's index (1…65535): its address is 127.1.<index / 256>.<index % 256> and its pod CIDR
   * 127.<2 + index / 256>.<index % 256>.0/24 — loopback addresses (all of 127.0.0.0/8 is on the
   * loopback interface on Linux), so a hollow node's pods can really serve, and nothing collides.
   */
  readonly index: number;
  readonly cpu?: string;
  readonly memory?: string;
  readonly pods?: number;
  readonly labels?: Record<string, string>;
  readonly address?: string;
  /** How often the lease is renewed (default 10 s, as the kubelet does). */
  readonly leaseRenewMs?: number;
}

/** The kubelet's port, as in Kubernetes (served over plain HTTP here, on the node's loopback address). */
export const KUBELET_PORT = 10250;

export const podCIDRFor = (index: number): string => `127.${2 + Math.floor(index / 256)}.${index % 256}.0/24`;
export const nodeAddressFor = (index: number): string => `127.1.${Math.floor(index / 256)}.${index % 256}`;
/** The node index a pod CIDR of podCIDRFor stands for. */
export const indexOfPodCIDR = (cidr: string): number | undefined => {
  const m = /^127\.(\d+)\.(\d+)\.0\/24$/.exec(cidr);
  return m ? (Number(m[1]) - 2) * 256 + Number(m[2]) : undefined;
};

const annotation = (pod: KubeObject, key: string): string | undefined => pod.metadata.annotations?.[`kronicle.io/${key}`];
const seconds = (v: string | undefined): number | undefined => (v === undefined || Number.isNaN(Number(v)) ? undefined : Math.max(0, Number(v)));

export class HollowKubelet implements Reconciler {
  readonly name: string;
  readonly actor: string;
  readonly node: string;
  /** Fault injection: false stops heartbeats (lease renewals and status reports). */
  heartbeats = true;
  private readonly podCIDR: string;
  /** The node's InternalIP, where its kubelet endpoint answers (podServers.ts). */
  readonly address: string;

  constructor(readonly options: HollowNodeOptions) {
    this.name = `kubelet-${options.name}`;
    this.node = options.name;
    this.actor = `system:node:${options.name}`;
    this.podCIDR = podCIDRFor(options.index);
    this.address = options.address ?? nodeAddressFor(options.index);
  }

  get nodeKey(): string {
    return keyOf('Node', undefined, this.options.name);
  }

  keysFor(change: Change): string[] {
    const o = change.object as KubeObject;
    if (change.kind === 'Pod' && nodeNameOf(o) === this.options.name && change.type !== 'DELETED') return [keyOf('Pod', o.metadata.namespace, o.metadata.name as string)];
    if (change.kind === 'Node' && o.metadata.name === this.options.name) return [this.nodeKey];
    return [];
  }

  initialKeys(view: ClusterView): string[] {
    const pods = podsOnNode(view, this.options.name).map((p) => keyOf('Pod', p.metadata.namespace, p.metadata.name as string));
    return [this.nodeKey, ...pods];
  }

  reconcile(key: string, { view, now }: ReconcileContext): Decision {
    const { kind, namespace, name } = parseKey(key);
    const node = view.store('Node').get(undefined, this.options.name)?.object as KubeObject | undefined;
    const up = this.heartbeats && node?.metadata.annotations?.['kronicle.io/fault'] !== 'heartbeats-stopped';
    if (kind === 'Node') return this.reconcileNode(node, now, up);
    const pod = view.store('Pod').get(namespace, name)?.object as KubeObject | undefined;
    if (!pod || nodeNameOf(pod) !== this.options.name) return nothing;
    const others = podsOnNode(view, this.options.name).filter((p) => p.metadata.uid !== pod.metadata.uid);
    return this.reconcilePod(pod, others, now, up);
  }

  nodeObject(now: Date): KubeObject {
    const o = this.options;
    const capacity = { cpu: o.cpu ?? '4', memory: o.memory ?? '16Gi', pods: String(o.pods ?? 110), 'ephemeral-storage': '100Gi' };
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: o.name,
        labels: { 'kubernetes.io/hostname': o.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'node.kronicle.io/hollow': 'true', ...(o.labels ?? {}) },
        annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
      },
      spec: { podCIDR: this.podCIDR, podCIDRs: [this.podCIDR] },
      status: {
        capacity,
        allocatable: capacity,
        conditions: this.conditions(now),
        addresses: [
          { type: 'InternalIP', address: this.address },
          { type: 'Hostname', address: o.name },
        ],
        daemonEndpoints: { kubeletEndpoint: { Port: KUBELET_PORT } },
        nodeInfo: {
          machineID: `hollow-${o.index}`,
          systemUUID: `hollow-${o.index}`,
          bootID: `hollow-${o.index}`,
          kernelVersion: '6.1.0-hollow',
          osImage: 'Kronicle hollow node',
          containerRuntimeVersion: 'hollow://1.0.0',
          kubeletVersion: 'v1.32.0',
          kubeProxyVersion: 'v1.32.0',
          operatingSystem: 'linux',
          architecture: 'amd64',
        },
      },
    };
  }

  private conditions(now: Date) {
    const t = rfc3339(now);
    const ok = (type: string, reason: string, message: string) => ({ type, status: 'False', lastHeartbeatTime: t, lastTransitionTime: t, reason, message });
    return [
      ok('MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      ok('DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      ok('PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      { type: 'Ready', status: 'True', lastHeartbeatTime: t, lastTransitionTime: t, reason: 'KubeletReady', message: 'kubelet is posting ready status' },
    ];
  }

  private reconcileNode(node: KubeObject | undefined, now: Date, up: boolean): Decision {
    const every = this.options.leaseRenewMs ?? LEASE_RENEW_MS;
    if (!up) return { actions: [], requeueAfter: every };
    const actions: Action[] = [];
    if (!node) actions.push({ verb: 'create', kind: 'Node', body: this.nodeObject(now) });
    else if (conditionOf(node, 'Ready')?.status !== 'True') {
      // Marked NotReady/Unknown while it was away: it reports Ready again.
      actions.push({ verb: 'updateStatus', kind: 'Node', name: this.options.name, body: { ...node, status: { ...(node.status as object), conditions: this.conditions(now) } } });
    }
    actions.push({ verb: 'renewLease', name: this.options.name, holder: this.options.name, durationSeconds: LEASE_DURATION_SECONDS });
    return { actions, requeueAfter: every };
  }

  /** The pod IP: the lowest host address of the node's /24 that no other pod of the node holds. */
  private podIP(pod: KubeObject, others: readonly KubeObject[]): string {
    const current = (pod.status as { podIP?: string } | undefined)?.podIP;
    if (current) return current;
    const used = new Set(others.filter((p) => !isTerminal(p)).map((p) => (p.status as { podIP?: string } | undefined)?.podIP));
    const base = this.podCIDR.replace(/\.0\/24$/, '');
    for (let i = 2; i < 255; i++) if (!used.has(`${base}.${i}`)) return `${base}.${i}`;
    return `${base}.254`;
  }

  private reconcilePod(pod: KubeObject, others: readonly KubeObject[], now: Date, up: boolean): Decision {
    const ns = pod.metadata.namespace as string;
    const name = pod.metadata.name as string;
    if (isDeleting(pod)) {
      // The containers are stopped (there are none): the deletion is finished.
      return { actions: [{ verb: 'delete', kind: 'Pod', namespace: ns, name, gracePeriodSeconds: 0, uid: pod.metadata.uid }] };
    }
    if (!up || isTerminal(pod)) return nothing;
    const status = (pod.status ?? {}) as Record<string, unknown>;
    const spec = (pod.spec ?? {}) as { containers?: Array<{ name: string; image?: string }>; restartPolicy?: string };
    const boundAt = Date.parse(String(conditionOf(pod, 'PodScheduled')?.lastTransitionTime ?? pod.metadata.creationTimestamp ?? now.toISOString()));
    const startAt = boundAt + (seconds(annotation(pod, 'startup-delay')) ?? 0) * 1000;
    if (now.getTime() < startAt) {
      if (status.phase === 'Pending' && status.hostIP) return { actions: [], requeueAfter: startAt - now.getTime() };
      return { actions: [this.statusUpdate(pod, { ...status, phase: 'Pending', hostIP: this.address, hostIPs: [{ ip: this.address }] })], requeueAfter: startAt - now.getTime() };
    }
    const exitAfter = seconds(annotation(pod, 'exit-after'));
    const exitCode = Number(annotation(pod, 'exit-code') ?? 0);
    const restarts = Number((status.containerStatuses as Array<{ restartCount?: number }> | undefined)?.[0]?.restartCount ?? 0);
    const startedAt = Date.parse(String((status.containerStatuses as Array<{ state?: { running?: { startedAt?: string } } }> | undefined)?.[0]?.state?.running?.startedAt ?? '')) || startAt;
    if (status.phase === 'Running' && exitAfter !== undefined) {
      const exitAt = startedAt + exitAfter * 1000;
      if (now.getTime() < exitAt) return { actions: [], requeueAfter: exitAt - now.getTime() };
      const policy = spec.restartPolicy ?? 'Always';
      const restart = policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
      if (!restart) return { actions: [this.statusUpdate(pod, this.terminated(pod, status, exitCode, startedAt, now))] };
      return { actions: [this.statusUpdate(pod, this.running(pod, others, status, now, restarts + 1))], requeueAfter: exitAfter * 1000 };
    }
    if (status.phase === 'Running') return nothing;
    const containers = (spec.containers ?? []).map((c) => c.name).join(', ');
    const started = { ...this.statusUpdate(pod, this.running(pod, others, status, now, restarts)), event: { involved: involvedRef(pod), reason: 'Started', message: `Started container ${containers}` } };
    return { actions: [started], ...(exitAfter !== undefined ? { requeueAfter: exitAfter * 1000 } : {}) };
  }

  private statusUpdate(pod: KubeObject, status: Record<string, unknown>): Action {
    return { verb: 'updateStatus', kind: 'Pod', namespace: pod.metadata.namespace as string, name: pod.metadata.name as string, body: { ...pod, status } };
  }

  private running(pod: KubeObject, others: readonly KubeObject[], status: Record<string, unknown>, now: Date, restartCount: number): Record<string, unknown> {
    const t = rfc3339(now);
    const ready = annotation(pod, 'never-ready') !== 'true';
    const ip = this.podIP(pod, others);
    const containers = ((pod.spec as { containers?: Array<{ name: string; image?: string }> } | undefined)?.containers ?? []);
    const cond = (type: string, ok: boolean) => ({ type, status: ok ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: t });
    const scheduled = conditionOf(pod, 'PodScheduled') ?? cond('PodScheduled', true);
    return {
      ...status,
      phase: 'Running',
      hostIP: this.address,
      hostIPs: [{ ip: this.address }],
      podIP: ip,
      podIPs: [{ ip }],
      startTime: status.startTime ?? t,
      conditions: [cond('PodReadyToStartContainers', true), cond('Initialized', true), cond('Ready', ready), cond('ContainersReady', ready), scheduled],
      containerStatuses: containers.map((c, i) => ({
        name: c.name,
        image: c.image ?? '',
        imageID: `hollow://${c.image ?? ''}`,
        containerID: `hollow://${pod.metadata.uid}-${i}-${restartCount}`,
        ready,
        started: true,
        restartCount,
        state: { running: { startedAt: t } },
      })),
    };
  }

  private terminated(pod: KubeObject, status: Record<string, unknown>, exitCode: number, startedAt: number, now: Date): Record<string, unknown> {
    const t = rfc3339(now);
    const containers = ((pod.spec as { containers?: Array<{ name: string; image?: string }> } | undefined)?.containers ?? []);
    const reason = exitCode === 0 ? 'Completed' : 'Error';
    return {
      ...status,
      phase: exitCode === 0 ? 'Succeeded' : 'Failed',
      conditions: ((status.conditions as Array<{ type: string }> | undefined) ?? []).map((c) => (c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False', reason: 'PodCompleted', lastTransitionTime: t } : c)),
      containerStatuses: containers.map((c, i) => ({
        name: c.name,
        image: c.image ?? '',
        imageID: `hollow://${c.image ?? ''}`,
        containerID: `hollow://${pod.metadata.uid}-${i}`,
        ready: false,
        started: false,
        restartCount: Number((status.containerStatuses as Array<{ restartCount?: number }> | undefined)?.[i]?.restartCount ?? 0),
        state: { terminated: { exitCode, reason, startedAt: rfc3339(new Date(startedAt)), finishedAt: t } },
      })),
    };
  }
}
