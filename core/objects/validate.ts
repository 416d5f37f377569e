/**
 * Semantic validation per kind, after decoding, following pkg/apis/core/validation:
 * names, label and annotation rules, container and port rules, quantities and their ordering.
 * Each validator returns every problem it finds as a FieldError; none throws.
 */
import * as E from 'fp-ts/Either';
import { compareQuantities, parseQuantity } from '../quantity';
import {
  dns1035Label,
  dns1123Label,
  dns1123Subdomain,
  duplicate,
  forbidden,
  ianaServiceName,
  invalid,
  isIP,
  isValidPortNumber,
  notSupported,
  qualifiedName,
  required,
  validateAnnotations,
  validateLabels,
  validateQuantity,
  type FieldError,
} from '../validation';
import type {
  PolicyRule,
  RoleBinding,
  Container,
  Endpoints,
  Event,
  LimitRange,
  Lease,
  Namespace,
  Node,
  ObjectMeta,
  Pod,
  PodSpec,
  ReplicationController,
  ResourceQuota,
  Secret,
  Service,
  ServiceAccount,
} from './codecs';

export type NameRule = (name: string) => string[];

export function validateMeta(meta: ObjectMeta, namespaced: boolean, nameRule: NameRule, field = 'metadata'): FieldError[] {
  const out: FieldError[] = [];
  if (!meta.name && !meta.generateName) out.push(required(`${field}.name`, 'name or generateName is required'));
  if (meta.name) for (const m of nameRule(meta.name)) out.push(invalid(`${field}.name`, meta.name, m));
  if (meta.generateName) {
    // The generated suffix is five characters; the prefix must leave room and be valid itself.
    const prefix = meta.generateName.replace(/-$/, '');
    if (prefix) for (const m of nameRule(`${prefix}`)) out.push(invalid(`${field}.generateName`, meta.generateName, m));
  }
  if (namespaced) {
    if (meta.namespace) for (const m of dns1123Label(meta.namespace)) out.push(invalid(`${field}.namespace`, meta.namespace, m));
  } else if (meta.namespace) {
    out.push(forbidden(`${field}.namespace`, 'not allowed on this type'));
  }
  out.push(...validateLabels(meta.labels ?? undefined, `${field}.labels`));
  out.push(...validateAnnotations(meta.annotations ?? undefined, `${field}.annotations`));
  (meta.finalizers ?? []).forEach((f, i) => {
    for (const m of qualifiedName(f)) out.push(invalid(`${field}.finalizers[${i}]`, f, m));
  });
  (meta.ownerReferences ?? []).forEach((r, i) => {
    const p = `${field}.ownerReferences[${i}]`;
    if (!r.apiVersion) out.push(invalid(`${p}.apiVersion`, r.apiVersion, 'version must not be empty'));
    if (!r.kind) out.push(invalid(`${p}.kind`, r.kind, 'kind must not be empty'));
    if (!r.name) out.push(invalid(`${p}.name`, r.name, 'name must not be empty'));
    if (!r.uid) out.push(invalid(`${p}.uid`, r.uid, 'uid must not be empty'));
  });
  if ((meta.ownerReferences ?? []).filter((r) => r.controller).length > 1) {
    out.push(invalid(`${field}.ownerReferences`, meta.ownerReferences, 'Only one reference can have Controller set to true'));
  }
  return out;
}

const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const DNS_POLICIES = ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const TOLERATION_OPERATORS = ['Equal', 'Exists'];
const TAINT_EFFECTS = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'];

function validateResources(c: Container, field: string): FieldError[] {
  const out: FieldError[] = [];
  const requests = c.resources?.requests ?? {};
  const limits = c.resources?.limits ?? {};
  for (const [k, v] of Object.entries(requests)) {
    for (const m of qualifiedName(k)) out.push(invalid(`${field}.resources.requests[${k}]`, k, m));
    out.push(...validateQuantity(v, `${field}.resources.requests[${k}]`));
  }
  for (const [k, v] of Object.entries(limits)) {
    for (const m of qualifiedName(k)) out.push(invalid(`${field}.resources.limits[${k}]`, k, m));
    out.push(...validateQuantity(v, `${field}.resources.limits[${k}]`));
  }
  for (const [k, req] of Object.entries(requests)) {
    const lim = limits[k];
    if (lim === undefined) continue;
    const rq = parseQuantity(req);
    const lq = parseQuantity(lim);
    if (E.isRight(rq) && E.isRight(lq) && compareQuantities(rq.right, lq.right) > 0) {
      out.push(invalid(`${field}.resources.requests`, req, `must be less than or equal to ${k} limit of ${lim}`));
    }
  }
  return out;
}

function validateContainers(containers: readonly Container[], field: string, names: Set<string>): FieldError[] {
  const out: FieldError[] = [];
  containers.forEach((c, i) => {
    const p = `${field}[${i}]`;
    if (!c.name) out.push(required(`${p}.name`));
    else {
      for (const m of dns1123Label(c.name)) out.push(invalid(`${p}.name`, c.name, m));
      if (names.has(c.name)) out.push(duplicate(`${p}.name`, c.name));
      names.add(c.name);
    }
    if (!c.image || c.image.trim() === '') out.push(required(`${p}.image`));
    if (c.imagePullPolicy !== undefined && !PULL_POLICIES.includes(c.imagePullPolicy)) out.push(notSupported(`${p}.imagePullPolicy`, c.imagePullPolicy, PULL_POLICIES));
    const portNames = new Set<string>();
    (c.ports ?? []).forEach((port, j) => {
      const pp = `${p}.ports[${j}]`;
      if (!isValidPortNumber(port.containerPort)) out.push(invalid(`${pp}.containerPort`, port.containerPort, 'must be between 1 and 65535, inclusive'));
      if (port.hostPort !== undefined && port.hostPort !== 0 && !isValidPortNumber(port.hostPort)) out.push(invalid(`${pp}.hostPort`, port.hostPort, 'must be between 1 and 65535, inclusive'));
      if (port.protocol !== undefined && !PROTOCOLS.includes(port.protocol)) out.push(notSupported(`${pp}.protocol`, port.protocol, PROTOCOLS));
      if (port.name !== undefined && port.name !== '') {
        for (const m of ianaServiceName(port.name)) out.push(invalid(`${pp}.name`, port.name, m));
        if (portNames.has(port.name)) out.push(duplicate(`${pp}.name`, port.name));
        portNames.add(port.name);
      }
    });
    const envNames = c.env ?? [];
    envNames.forEach((e, j) => {
      if (!e.name) out.push(required(`${p}.env[${j}].name`));
    });
    out.push(...validateResources(c, p));
  });
  return out;
}

export function validatePodSpec(spec: PodSpec, field = 'spec'): FieldError[] {
  const out: FieldError[] = [];
  if (!spec.containers || spec.containers.length === 0) out.push(required(`${field}.containers`));
  const names = new Set<string>();
  out.push(...validateContainers(spec.containers ?? [], `${field}.containers`, names));
  out.push(...validateContainers(spec.initContainers ?? [], `${field}.initContainers`, names));
  if (spec.restartPolicy !== undefined && !RESTART_POLICIES.includes(spec.restartPolicy)) out.push(notSupported(`${field}.restartPolicy`, spec.restartPolicy, RESTART_POLICIES));
  if (spec.dnsPolicy !== undefined && !DNS_POLICIES.includes(spec.dnsPolicy)) out.push(notSupported(`${field}.dnsPolicy`, spec.dnsPolicy, DNS_POLICIES));
  if (spec.terminationGracePeriodSeconds !== undefined && spec.terminationGracePeriodSeconds < 0) {
    out.push(invalid(`${field}.terminationGracePeriodSeconds`, spec.terminationGracePeriodSeconds, 'must be greater than or equal to 0'));
  }
  if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds <= 0) {
    out.push(invalid(`${field}.activeDeadlineSeconds`, spec.activeDeadlineSeconds, 'must be between 1 and 2147483647, inclusive'));
  }
  out.push(...validateLabels(spec.nodeSelector, `${field}.nodeSelector`));
  if (spec.nodeName) for (const m of dns1123Subdomain(spec.nodeName)) out.push(invalid(`${field}.nodeName`, spec.nodeName, m));
  if (spec.serviceAccountName) for (const m of dns1123Subdomain(spec.serviceAccountName)) out.push(invalid(`${field}.serviceAccountName`, spec.serviceAccountName, m));
  (spec.tolerations ?? []).forEach((tol, i) => {
    const p = `${field}.tolerations[${i}]`;
    if (tol.key) for (const m of qualifiedName(tol.key)) out.push(invalid(`${p}.key`, tol.key, m));
    if (tol.operator !== undefined && tol.operator !== '' && !TOLERATION_OPERATORS.includes(tol.operator)) out.push(notSupported(`${p}.operator`, tol.operator, TOLERATION_OPERATORS));
    if (tol.operator === 'Exists' && tol.value) out.push(invalid(`${p}.operator`, tol.value, 'value must be empty when `operator` is \'Exists\''));
    if (!tol.key && tol.operator !== 'Exists') out.push(invalid(`${p}.operator`, tol.operator ?? '', 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    if (tol.effect !== undefined && tol.effect !== '' && !TAINT_EFFECTS.includes(tol.effect)) out.push(notSupported(`${p}.effect`, tol.effect, TAINT_EFFECTS));
    if (tol.tolerationSeconds != null && tol.effect !== 'NoExecute') out.push(invalid(`${p}.effect`, tol.effect ?? '', 'effect must be \'NoExecute\' when `tolerationSeconds` is set'));
  });
  (spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []).forEach((term, i) => {
    (term.matchExpressions ?? []).forEach((req, j) => {
      const p = `${field}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[${i}].matchExpressions[${j}]`;
      const ops = ['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'];
      if (!ops.includes(req.operator)) out.push(notSupported(`${p}.operator`, req.operator, ops));
      const n = (req.values ?? []).length;
      if ((req.operator === 'In' || req.operator === 'NotIn') && n === 0) out.push(required(`${p}.values`, 'must be specified when `operator` is \'In\' or \'NotIn\''));
      if ((req.operator === 'Exists' || req.operator === 'DoesNotExist') && n > 0) out.push(forbidden(`${p}.values`, 'may not be specified when `operator` is \'Exists\' or \'DoesNotExist\''));
    });
  });
  const volumeNames = new Set<string>();
  (spec.volumes ?? []).forEach((v, i) => {
    if (!v.name) out.push(required(`${field}.volumes[${i}].name`));
    else if (volumeNames.has(v.name)) out.push(duplicate(`${field}.volumes[${i}].name`, v.name));
    volumeNames.add(v.name);
  });
  return out;
}

export const validatePod = (pod: Pod): FieldError[] => (pod.spec ? validatePodSpec(pod.spec) : [required('spec.containers')]);

export function validateReplicationController(rc: ReplicationController): FieldError[] {
  const out: FieldError[] = [];
  const spec = rc.spec ?? {};
  if (spec.replicas !== undefined && spec.replicas < 0) out.push(invalid('spec.replicas', spec.replicas, 'must be greater than or equal to 0'));
  if (spec.minReadySeconds !== undefined && spec.minReadySeconds < 0) out.push(invalid('spec.minReadySeconds', spec.minReadySeconds, 'must be greater than or equal to 0'));
  const selector = spec.selector ?? rc.spec?.template?.metadata?.labels ?? undefined;
  if (!selector || Object.keys(selector).length === 0) out.push(required('spec.selector'));
  else out.push(...validateLabels(selector, 'spec.selector'));
  const template = spec.template;
  if (!template) {
    out.push(required('spec.template'));
    return out;
  }
  const labels = template.metadata?.labels ?? {};
  if (selector && !Object.entries(selector).every(([k, v]) => labels[k] === v)) {
    out.push(invalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'));
  }
  out.push(...validateLabels(template.metadata?.labels ?? undefined, 'spec.template.metadata.labels'));
  if (!template.spec) out.push(required('spec.template.spec'));
  else {
    out.push(...validatePodSpec(template.spec, 'spec.template.spec'));
    if (template.spec.restartPolicy !== undefined && template.spec.restartPolicy !== 'Always') {
      out.push(notSupported('spec.template.spec.restartPolicy', template.spec.restartPolicy, ['Always']));
    }
  }
  return out;
}

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];

export function validateService(svc: Service): FieldError[] {
  const out: FieldError[] = [];
  const spec = svc.spec ?? {};
  const type = spec.type ?? 'ClusterIP';
  if (!SERVICE_TYPES.includes(type)) out.push(notSupported('spec.type', type, SERVICE_TYPES));
  const ports = spec.ports ?? [];
  if (type !== 'ExternalName' && spec.clusterIP !== 'None' && ports.length === 0) out.push(required('spec.ports'));
  if (type === 'ExternalName' && !spec.externalName) out.push(required('spec.externalName'));
  const names = new Set<string>();
  const seen = new Set<string>();
  ports.forEach((p, i) => {
    const f = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name) out.push(required(`${f}.name`));
    if (p.name) {
      for (const m of dns1123Label(p.name)) out.push(invalid(`${f}.name`, p.name, m));
      if (names.has(p.name)) out.push(duplicate(`${f}.name`, p.name));
      names.add(p.name);
    }
    if (!isValidPortNumber(p.port)) out.push(invalid(`${f}.port`, p.port, 'must be between 1 and 65535, inclusive'));
    const protocol = p.protocol ?? 'TCP';
    if (!PROTOCOLS.includes(protocol)) out.push(notSupported(`${f}.protocol`, protocol, PROTOCOLS));
    const key = `${p.port}/${protocol}`;
    if (seen.has(key)) out.push(duplicate(`spec.ports[${i}]`, { port: p.port, protocol }));
    seen.add(key);
    if (typeof p.targetPort === 'number' && p.targetPort !== 0 && !isValidPortNumber(p.targetPort)) {
      out.push(invalid(`${f}.targetPort`, p.targetPort, 'must be between 1 and 65535, inclusive'));
    }
    if (typeof p.targetPort === 'string') for (const m of ianaServiceName(p.targetPort)) out.push(invalid(`${f}.targetPort`, p.targetPort, m));
    if (p.nodePort !== undefined && p.nodePort !== 0) {
      if (type !== 'NodePort' && type !== 'LoadBalancer') out.push(forbidden(`${f}.nodePort`, 'may not be used when `type` is \'ClusterIP\''));
      else if (!isValidPortNumber(p.nodePort)) out.push(invalid(`${f}.nodePort`, p.nodePort, 'must be between 1 and 65535, inclusive'));
    }
  });
  if (spec.clusterIP && spec.clusterIP !== 'None' && !isIP(spec.clusterIP)) {
    out.push(invalid('spec.clusterIP', spec.clusterIP, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
  }
  out.push(...validateLabels(spec.selector, 'spec.selector'));
  return out;
}

export function validateEndpoints(ep: Endpoints): FieldError[] {
  const out: FieldError[] = [];
  (ep.subsets ?? []).forEach((s, i) => {
    for (const [key, list] of [['addresses', s.addresses], ['notReadyAddresses', s.notReadyAddresses]] as const) {
      (list ?? []).forEach((a, j) => {
        if (!isIP(a.ip)) out.push(invalid(`subsets[${i}].${key}[${j}].ip`, a.ip, 'must be a valid IP address'));
      });
    }
    (s.ports ?? []).forEach((p, j) => {
      if (!isValidPortNumber(p.port)) out.push(invalid(`subsets[${i}].ports[${j}].port`, p.port, 'must be between 1 and 65535, inclusive'));
      if (p.protocol !== undefined && !PROTOCOLS.includes(p.protocol)) out.push(notSupported(`subsets[${i}].ports[${j}].protocol`, p.protocol, PROTOCOLS));
    });
  });
  return out;
}

export function validateNode(node: Node): FieldError[] {
  const out: FieldError[] = [];
  (node.spec?.taints ?? []).forEach((taint, i) => {
    for (const m of qualifiedName(taint.key)) out.push(invalid(`spec.taints[${i}].key`, taint.key, m));
    if (!TAINT_EFFECTS.includes(taint.effect)) out.push(notSupported(`spec.taints[${i}].effect`, taint.effect, TAINT_EFFECTS));
  });
  for (const [k, v] of Object.entries(node.status?.capacity ?? {})) out.push(...validateQuantity(v, `status.capacity[${k}]`));
  for (const [k, v] of Object.entries(node.status?.allocatable ?? {})) out.push(...validateQuantity(v, `status.allocatable[${k}]`));
  return out;
}

export function validateResourceQuota(q: ResourceQuota): FieldError[] {
  const out: FieldError[] = [];
  for (const [k, v] of Object.entries(q.spec?.hard ?? {})) {
    for (const m of qualifiedName(k)) out.push(invalid(`spec.hard[${k}]`, k, m));
    out.push(...validateQuantity(v, `spec.hard[${k}]`));
  }
  return out;
}

const LIMIT_TYPES = ['Container', 'Pod', 'PersistentVolumeClaim'];

export function validateLimitRange(lr: LimitRange): FieldError[] {
  const out: FieldError[] = [];
  const limits = lr.spec?.limits;
  if (!Array.isArray(limits)) return [required('spec.limits')];
  limits.forEach((item, i) => {
    const f = `spec.limits[${i}]`;
    if (!LIMIT_TYPES.includes(item.type)) out.push(notSupported(`${f}.type`, item.type, LIMIT_TYPES));
    const q = (m: Record<string, string> | undefined, k: string) => {
      const v = m?.[k];
      if (v === undefined) return undefined;
      const p = parseQuantity(v);
      return E.isRight(p) ? p.right : undefined;
    };
    const keys = new Set([item.max, item.min, item.default, item.defaultRequest].flatMap((m) => Object.keys(m ?? {})));
    for (const k of keys) {
      const min = q(item.min, k);
      const max = q(item.max, k);
      const def = q(item.default, k);
      const defReq = q(item.defaultRequest, k);
      if (min && max && compareQuantities(min, max) > 0) out.push(invalid(`${f}.min[${k}]`, item.min?.[k], `min value ${item.min?.[k]} is greater than max value ${item.max?.[k]}`));
      if (def && max && compareQuantities(def, max) > 0) out.push(invalid(`${f}.default[${k}]`, item.default?.[k], `default value ${item.default?.[k]} is greater than max value ${item.max?.[k]}`));
      if (def && min && compareQuantities(min, def) > 0) out.push(invalid(`${f}.default[${k}]`, item.default?.[k], `min value ${item.min?.[k]} is greater than default value ${item.default?.[k]}`));
      if (defReq && max && compareQuantities(defReq, max) > 0) out.push(invalid(`${f}.defaultRequest[${k}]`, item.defaultRequest?.[k], `default request value ${item.defaultRequest?.[k]} is greater than max value ${item.max?.[k]}`));
      if (defReq && def && compareQuantities(defReq, def) > 0) out.push(invalid(`${f}.defaultRequest[${k}]`, item.defaultRequest?.[k], `default request value ${item.defaultRequest?.[k]} is greater than default limit value ${item.default?.[k]}`));
    }
  });
  return out;
}

const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
export const MAX_SECRET_SIZE = 1024 * 1024;

export function validateSecret(s: Secret): FieldError[] {
  const out: FieldError[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(s.data ?? {})) {
    if (!SECRET_KEY.test(k)) out.push(invalid(`data[${k}]`, k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"));
    if (!BASE64.test(v)) out.push(invalid(`data[${k}]`, '<secret contents redacted>', 'illegal base64 data'));
    size += Math.floor((v.length * 3) / 4);
  }
  for (const [k, v] of Object.entries(s.stringData ?? {})) {
    if (!SECRET_KEY.test(k)) out.push(invalid(`stringData[${k}]`, k, 'a valid config key must consist of alphanumeric characters, \'-\', \'_\' or \'.\''));
    size += v.length;
  }
  if (size > MAX_SECRET_SIZE) out.push({ type: 'FieldValueTooLong', field: 'data', message: `Too long: may not be more than ${MAX_SECRET_SIZE} bytes` });
  return out;
}

export function validateEvent(ev: Event): FieldError[] {
  const out: FieldError[] = [];
  if (!ev.involvedObject) out.push(required('involvedObject'));
  if (ev.involvedObject?.namespace && ev.metadata.namespace && ev.involvedObject.namespace !== ev.metadata.namespace) {
    out.push(invalid('involvedObject.namespace', ev.involvedObject.namespace, 'does not match event.namespace'));
  }
  if (ev.count !== undefined && ev.count < 0) out.push(invalid('count', ev.count, 'must be greater than or equal to 0'));
  return out;
}

export function validateLease(l: Lease): FieldError[] {
  const d = l.spec?.leaseDurationSeconds;
  return d !== undefined && d <= 0 ? [invalid('spec.leaseDurationSeconds', d, 'must be greater than 0')] : [];
}

export const validateNamespace = (_ns: Namespace): FieldError[] => [];
export const validateServiceAccount = (_sa: ServiceAccount): FieldError[] => [];

/** Names: most kinds use DNS-1123 subdomains; these use labels. */
export const NAME_RULES = { subdomain: dns1123Subdomain, label: dns1123Label, dns1035: dns1035Label, path: pathSegmentName } as const;


const RBAC_GROUP = 'rbac.authorization.k8s.io';

function validateRules(rules: readonly PolicyRule[] | null | undefined): FieldError[] {
  const out: FieldError[] = [];
  (rules ?? []).forEach((r, i) => {
    if (r.verbs.length === 0) out.push(required(`rules[${i}].verbs`, 'verbs must contain at least one value'));
    const urls = (r.nonResourceURLs ?? []).length > 0;
    const resources = (r.resources ?? []).length > 0;
    if (!urls && !resources) out.push(required(`rules[${i}].resources`, 'resource rules must supply at least one resource'));
  });
  return out;
}

export const validateRole = (r: { rules?: readonly PolicyRule[] | null }): FieldError[] => validateRules(r.rules);

/** A binding names a role of its group, and subjects Kubernetes knows (User, Group, ServiceAccount). */
export function validateBinding(cluster: boolean) {
  return (b: RoleBinding): FieldError[] => {
    const out: FieldError[] = [];
    if (b.roleRef.apiGroup !== RBAC_GROUP) out.push(notSupported('roleRef.apiGroup', b.roleRef.apiGroup, [RBAC_GROUP]));
    const kinds = cluster ? ['ClusterRole'] : ['Role', 'ClusterRole'];
    if (!kinds.includes(b.roleRef.kind)) out.push(notSupported('roleRef.kind', b.roleRef.kind, kinds));
    if (!b.roleRef.name) out.push(required('roleRef.name', 'roleRef.name is required'));
    (b.subjects ?? []).forEach((s, i) => {
      if (!['User', 'Group', 'ServiceAccount'].includes(s.kind)) out.push(notSupported(`subjects[${i}].kind`, s.kind, ['ServiceAccount', 'User', 'Group']));
      if (!s.name) out.push(required(`subjects[${i}].name`, 'name is required'));
      if (s.kind === 'ServiceAccount' && cluster && !s.namespace) out.push(required(`subjects[${i}].namespace`, 'namespace is required for a ServiceAccount'));
    });
    return out;
  };
}

/** RBAC objects' names are path segments (system:controller:… is a valid role name). */
function pathSegmentName(name: string): string[] {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  for (const c of ['/', '%']) if (name.includes(c)) return [`may not contain '${c}'`];
  return [];
}
