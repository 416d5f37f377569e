/**
 * Service allocations (in Kubernetes, the API server's service registry): a ClusterIP from the
 * service CIDR (default 10.96.0.0/12; the first address is the `kubernetes` service's), node
 * ports from 30000-32767 for NodePort and LoadBalancer services, LoadBalancer ingress from a
 * configured pool. The lowest free value is taken, so allocation is deterministic; the runtime's
 * single worker means two services are never given the same one. Each allocation is an update of
 * the Service, so it is an event in the log; a deleted Service's values are free again.
 */
import type { KubeObject } from '../core/objects/codecs';
import type { Change } from '../projections';
import { keyOf, nothing, parseKey, type Decision } from './actions';
import type { ReconcileContext, Reconciler } from './runtime';

export interface ServiceAllocationOptions {
  readonly serviceCIDR?: string;
  readonly nodePortRange?: readonly [number, number];
  /** LoadBalancer ingress addresses, e.g. 172.18.255.200-172.18.255.250. */
  readonly loadBalancerPool?: readonly string[];
}

const ipToInt = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const intToIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

interface ServiceSpec {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  ports?: Array<{ port: number; nodePort?: number; protocol?: string; name?: string }>;
}

export function serviceController(options: ServiceAllocationOptions = {}): Reconciler {
  const [net, bits] = (options.serviceCIDR ?? '10.96.0.0/12').split('/');
  const first = ipToInt(net) + 2; // .0 is the network, .1 the kubernetes service
  const size = 2 ** (32 - Number(bits)) - 3;
  const [lowPort, highPort] = options.nodePortRange ?? [30000, 32767];
  const pool = options.loadBalancerPool ?? Array.from({ length: 51 }, (_, i) => `172.18.255.${200 + i}`);
  return {
    name: 'service-controller',
    keysFor: (change: Change) => (change.kind === 'Service' && change.type !== 'DELETED' ? [keyOf('Service', change.object.metadata.namespace, change.object.metadata.name as string)] : []),
    initialKeys: (view) => view.store('Service').list().map((s) => keyOf('Service', s.object.metadata.namespace, s.object.metadata.name as string)),
    reconcile(key: string, { view }: ReconcileContext): Decision {
      const { namespace, name } = parseKey(key);
      const service = view.store('Service').get(namespace, name)?.object as KubeObject | undefined;
      if (!service || service.metadata.deletionTimestamp) return nothing;
      const others = view.store('Service').list().map((s) => s.object as KubeObject).filter((s) => s.metadata.uid !== service.metadata.uid);
      const spec = { ...((service.spec ?? {}) as ServiceSpec) };
      const type = spec.type ?? 'ClusterIP';
      let changed = false;
      if (type !== 'ExternalName' && !spec.clusterIP) {
        const used = new Set(others.map((s) => (s.spec as ServiceSpec | undefined)?.clusterIP).filter((ip): ip is string => !!ip && ip !== 'None').map(ipToInt));
        let ip: number | undefined;
        for (let i = 0; i < size; i++) if (!used.has(first + i)) {
          ip = first + i;
          break;
        }
        if (ip === undefined) return nothing;
        spec.clusterIP = intToIp(ip);
        spec.clusterIPs = [spec.clusterIP];
        changed = true;
      }
      if ((type === 'NodePort' || type === 'LoadBalancer') && (spec.ports ?? []).some((p) => !p.nodePort)) {
        const used = new Set(others.flatMap((s) => ((s.spec as ServiceSpec | undefined)?.ports ?? []).map((p) => p.nodePort)).concat((spec.ports ?? []).map((p) => p.nodePort)));
        let next = lowPort;
        spec.ports = (spec.ports ?? []).map((p) => {
          if (p.nodePort) return p;
          while (used.has(next) && next <= highPort) next++;
          if (next > highPort) return p;
          used.add(next);
          return { ...p, nodePort: next };
        });
        changed = true;
      }
      const actions: Decision['actions'][number][] = [];
      if (changed) actions.push({ verb: 'update', kind: 'Service', namespace, name, body: { ...service, spec: spec as Record<string, unknown> } as KubeObject });
      const ingress = ((service.status as { loadBalancer?: { ingress?: Array<{ ip: string }> } } | undefined)?.loadBalancer?.ingress ?? []);
      if (type === 'LoadBalancer' && ingress.length === 0) {
        const taken = new Set(others.flatMap((s) => ((s.status as { loadBalancer?: { ingress?: Array<{ ip: string }> } } | undefined)?.loadBalancer?.ingress ?? []).map((i) => i.ip)));
        const ip = pool.find((a) => !taken.has(a));
        if (ip) actions.push({ verb: 'updateStatus', kind: 'Service', namespace, name, body: { ...service, status: { loadBalancer: { ingress: [{ ip, ipMode: 'VIP' }] } } } as KubeObject });
      }
      return { actions };
    },
  };
}
