/**
 * Server-side defaulting, as Kubernetes does it (pkg/apis/core/v1/defaults.go): fields a client
 * may leave out and the API server fills in, so stored objects look like Kubernetes' own. Pure;
 * the decider applies it on every create and update, whoever writes (a user or a controller).
 */
import type { KubeObject } from './codecs';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const setIfAbsent = (o: Obj, key: string, value: unknown): void => {
  if (o[key] === undefined || o[key] === null) o[key] = value;
};

function defaultContainer(c: Obj): Obj {
  const out: Obj = { ...c };
  const image = typeof out.image === 'string' ? out.image : '';
  // The tag is what follows the last ':' after the last '/'; a digest pins the image too.
  const lastPart = image.slice(image.lastIndexOf('/') + 1);
  const tag = image.includes('@') ? 'digest' : lastPart.includes(':') ? lastPart.slice(lastPart.indexOf(':') + 1) : '';
  setIfAbsent(out, 'imagePullPolicy', tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent');
  setIfAbsent(out, 'terminationMessagePath', '/dev/termination-log');
  setIfAbsent(out, 'terminationMessagePolicy', 'File');
  if (Array.isArray(out.ports)) out.ports = out.ports.map((p) => (isObj(p) ? { ...p, protocol: p.protocol ?? 'TCP' } : p));
  const resources: Obj = isObj(out.resources) ? { ...out.resources } : {};
  // Limits without requests: the requests default to the limits.
  if (isObj(resources.limits)) {
    const requests: Obj = isObj(resources.requests) ? { ...resources.requests } : {};
    for (const [k, v] of Object.entries(resources.limits)) setIfAbsent(requests, k, v);
    resources.requests = requests;
  }
  out.resources = resources;
  return out;
}

export function defaultPodSpec(spec: Obj): Obj {
  const out: Obj = { ...spec };
  setIfAbsent(out, 'restartPolicy', 'Always');
  setIfAbsent(out, 'terminationGracePeriodSeconds', 30);
  setIfAbsent(out, 'dnsPolicy', 'ClusterFirst');
  setIfAbsent(out, 'schedulerName', 'default-scheduler');
  setIfAbsent(out, 'securityContext', {});
  setIfAbsent(out, 'enableServiceLinks', true);
  setIfAbsent(out, 'priority', 0);
  setIfAbsent(out, 'preemptionPolicy', 'PreemptLowerPriority');
  if (Array.isArray(out.containers)) out.containers = out.containers.map((c) => (isObj(c) ? defaultContainer(c) : c));
  if (Array.isArray(out.initContainers)) out.initContainers = out.initContainers.map((c) => (isObj(c) ? defaultContainer(c) : c));
  return out;
}

function defaultService(o: Obj): void {
  const spec: Obj = isObj(o.spec) ? { ...o.spec } : {};
  setIfAbsent(spec, 'type', 'ClusterIP');
  setIfAbsent(spec, 'sessionAffinity', 'None');
  if (spec.type !== 'ExternalName') {
    setIfAbsent(spec, 'internalTrafficPolicy', 'Cluster');
    if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') setIfAbsent(spec, 'externalTrafficPolicy', 'Cluster');
  }
  if (Array.isArray(spec.ports)) {
    spec.ports = spec.ports.map((p) => (isObj(p) ? { ...p, protocol: p.protocol ?? 'TCP', targetPort: p.targetPort ?? p.port } : p));
  }
  o.spec = spec;
}

function defaultReplicationController(o: Obj): void {
  const spec: Obj = isObj(o.spec) ? { ...o.spec } : {};
  setIfAbsent(spec, 'replicas', 1);
  const template: Obj | undefined = isObj(spec.template) ? { ...spec.template } : undefined;
  if (template) {
    const labels = isObj(template.metadata) && isObj(template.metadata.labels) ? template.metadata.labels : undefined;
    if (labels && (!isObj(spec.selector) || Object.keys(spec.selector).length === 0)) spec.selector = { ...labels };
    const meta = isObj(o.metadata) ? o.metadata : {};
    if (labels && (!isObj(meta.labels) || Object.keys(meta.labels).length === 0)) o.metadata = { ...meta, labels: { ...labels } };
    if (isObj(template.spec)) template.spec = defaultPodSpec(template.spec);
    spec.template = template;
  }
  o.spec = spec;
}

function defaultLimitRange(o: Obj): void {
  const spec = isObj(o.spec) ? o.spec : undefined;
  if (!spec || !Array.isArray(spec.limits)) return;
  o.spec = {
    ...spec,
    limits: spec.limits.map((item) => {
      if (!isObj(item) || item.type !== 'Container') return item;
      const out: Obj = { ...item };
      const def: Obj = { ...(isObj(item.default) ? item.default : {}) };
      for (const [k, v] of Object.entries(isObj(item.max) ? item.max : {})) setIfAbsent(def, k, v);
      const req: Obj = { ...(isObj(item.defaultRequest) ? item.defaultRequest : {}) };
      for (const [k, v] of Object.entries(def)) setIfAbsent(req, k, v);
      for (const [k, v] of Object.entries(isObj(item.min) ? item.min : {})) setIfAbsent(req, k, v);
      if (Object.keys(def).length) out.default = def;
      if (Object.keys(req).length) out.defaultRequest = req;
      return out;
    }),
  };
}

/** The object with Kubernetes' defaults filled in; fields the client set are kept. */
export function applyDefaults(kind: string, object: KubeObject): KubeObject {
  const o: Obj = { ...object };
  switch (kind) {
    case 'Pod':
      if (isObj(o.spec)) o.spec = defaultPodSpec(o.spec);
      break;
    case 'Service':
      defaultService(o);
      break;
    case 'ReplicationController':
      defaultReplicationController(o);
      break;
    case 'Namespace': {
      const spec: Obj = isObj(o.spec) ? { ...o.spec } : {};
      setIfAbsent(spec, 'finalizers', ['kubernetes']);
      o.spec = spec;
      const status: Obj = isObj(o.status) ? { ...o.status } : {};
      setIfAbsent(status, 'phase', 'Active');
      o.status = status;
      break;
    }
    case 'Secret':
      setIfAbsent(o, 'type', 'Opaque');
      break;
    case 'Endpoints':
      if (Array.isArray(o.subsets)) {
        o.subsets = o.subsets.map((s) =>
          isObj(s) && Array.isArray(s.ports) ? { ...s, ports: s.ports.map((p) => (isObj(p) ? { ...p, protocol: p.protocol ?? 'TCP' } : p)) } : s,
        );
      }
      break;
    case 'LimitRange':
      defaultLimitRange(o);
      break;
    default:
      break;
  }
  return o as KubeObject;
}

/**
 * The status a new pod starts with (the pod strategy's PrepareForCreate): Pending, with its QoS
 * class — Guaranteed when every container's cpu and memory limits are set and equal to its
 * requests, BestEffort when no container sets any, Burstable otherwise.
 */
export function newPodStatus(pod: KubeObject): Record<string, unknown> {
  return { phase: 'Pending', qosClass: qosClassOf(pod) };
}

export function qosClassOf(pod: KubeObject): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const spec = (pod.spec ?? {}) as { containers?: Obj[]; initContainers?: Obj[] };
  const containers = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const r = (isObj(c.resources) ? c.resources : {}) as { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
    const requests = r.requests ?? {};
    const limits = r.limits ?? {};
    const compute = (list: Record<string, unknown>) => Object.keys(list).filter((k) => k === 'cpu' || k === 'memory');
    if (compute(requests).length > 0 || compute(limits).length > 0) any = true;
    for (const k of ['cpu', 'memory']) {
      if (limits[k] === undefined || (requests[k] !== undefined && String(requests[k]) !== String(limits[k]))) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
