/**
 * Endpoints (pkg/controller/endpoint): for each Service with a selector, an Endpoints object of
 * the same name listing the matching pods' IPs — ready ones in `addresses`, others in
 * `notReadyAddresses` — with the Service's ports resolved against each pod (a named targetPort
 * is looked up in the pod's container ports); pods resolving to the same ports share a subset.
 * The Endpoints of a Service that is gone are deleted.
 */
import type { KubeObject } from '../core/objects/codecs';
import { deepEqual } from '../core/json';
import { selectorFromMap, type ClusterView, type Change } from '../projections';
import { keyOf, nothing, parseKey, type Decision } from './actions';
import type { ReconcileContext, Reconciler } from './runtime';
import { isDeleting, isPodReady, isTerminal, matchesSelector } from './pods';

interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  targetPort?: number | string;
}

function resolvePorts(service: KubeObject, pod: KubeObject): Array<{ name?: string; port: number; protocol: string }> | undefined {
  const ports = ((service.spec as { ports?: ServicePort[] } | undefined)?.ports ?? []) as ServicePort[];
  const containerPorts = ((pod.spec as { containers?: Array<{ ports?: Array<{ name?: string; containerPort: number; protocol?: string }> }> } | undefined)?.containers ?? []).flatMap((c) => c.ports ?? []);
  const out: Array<{ name?: string; port: number; protocol: string }> = [];
  for (const p of ports) {
    const target = p.targetPort ?? p.port;
    const protocol = p.protocol ?? 'TCP';
    let port: number | undefined;
    if (typeof target === 'number') port = target;
    else if (/^\d+$/.test(target)) port = Number(target);
    else port = containerPorts.find((c) => c.name === target && (c.protocol ?? 'TCP') === protocol)?.containerPort;
    if (port === undefined) continue;
    out.push({ ...(p.name ? { name: p.name } : {}), port, protocol });
  }
  return out.length ? out : undefined;
}

export function desiredEndpoints(service: KubeObject, pods: readonly KubeObject[]): KubeObject {
  const selector = (service.spec as { selector?: Record<string, string> } | undefined)?.selector;
  const groups = new Map<string, { ports: unknown[]; addresses: unknown[]; notReadyAddresses: unknown[] }>();
  const candidates = pods
    .filter((p) => matchesSelector(selector, p.metadata.labels ?? undefined) && !isDeleting(p) && !isTerminal(p) && (p.status as { podIP?: string } | undefined)?.podIP)
    .sort((a, b) => String((a.status as { podIP: string }).podIP).localeCompare(String((b.status as { podIP: string }).podIP)));
  for (const pod of candidates) {
    const ports = resolvePorts(service, pod);
    if (!ports) continue;
    const id = JSON.stringify(ports);
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { ports, addresses: [], notReadyAddresses: [] }));
    const address = {
      ip: (pod.status as { podIP: string }).podIP,
      nodeName: (pod.spec as { nodeName?: string }).nodeName,
      targetRef: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
    };
    (isPodReady(pod) ? g.addresses : g.notReadyAddresses).push(address);
  }
  const subsets = [...groups.values()].map((g) => ({
    ...(g.addresses.length ? { addresses: g.addresses } : {}),
    ...(g.notReadyAddresses.length ? { notReadyAddresses: g.notReadyAddresses } : {}),
    ports: g.ports,
  }));
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: service.metadata.name, namespace: service.metadata.namespace, labels: { ...(service.metadata.labels ?? {}) } },
    ...(subsets.length ? { subsets } : {}),
  } as KubeObject;
}

export const endpointsController: Reconciler = {
  name: 'endpoints-controller',
  keysFor(change: Change, view: ClusterView): string[] {
    const o = change.object as KubeObject;
    if (change.kind === 'Service' || change.kind === 'Endpoints') return [keyOf('Service', o.metadata.namespace, o.metadata.name as string)];
    if (change.kind !== 'Pod') return [];
    // Every service of the namespace: the pod may have left a selector as well as joined one.
    return view
      .store('Service')
      .list({ namespace: o.metadata.namespace })
      .map((s) => keyOf('Service', s.object.metadata.namespace, s.object.metadata.name as string));
  },
  initialKeys: (view) => [...view.store('Service').list(), ...view.store('Endpoints').list()].map((s) => keyOf('Service', s.object.metadata.namespace, s.object.metadata.name as string)),
  reconcile(key: string, { view }: ReconcileContext): Decision {
    const { namespace, name } = parseKey(key);
    const service = view.store('Service').get(namespace, name)?.object as KubeObject | undefined;
    const current = view.store('Endpoints').get(namespace, name)?.object as KubeObject | undefined;
    const selector = (service?.spec as { selector?: Record<string, string> } | undefined)?.selector;
    if (!service || isDeleting(service) || !selector || Object.keys(selector).length === 0) {
      // No service (or one without a selector, whose endpoints are the user's): ours go.
      if (current && !service) return { actions: [{ verb: 'delete', kind: 'Endpoints', namespace, name }] };
      return nothing;
    }
    const pods = view.store('Pod').list({ namespace, labels: selectorFromMap(selector) }, false).map((s) => s.object as KubeObject);
    const desired = desiredEndpoints(service, pods);
    if (!current) return { actions: [{ verb: 'create', kind: 'Endpoints', namespace, body: desired }] };
    if (deepEqual(current.subsets ?? [], desired.subsets ?? []) && deepEqual(current.metadata.labels ?? {}, desired.metadata.labels ?? {})) return nothing;
    return { actions: [{ verb: 'update', kind: 'Endpoints', namespace, name, body: { ...current, metadata: { ...current.metadata, labels: desired.metadata.labels }, subsets: desired.subsets ?? [] } as KubeObject }] };
  },
};
