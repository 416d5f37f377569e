/**
 * io-ts codecs for the Kubernetes objects Kronicle serves, with Kubernetes' field names.
 *
 * They type every field Kronicle's controllers, scheduler and kubelets read. Fields they do not
 * read (probes, volumes, securityContext, affinity details…) are carried untouched: io-ts
 * `type`/`partial` codecs keep properties they do not name, so every field of a manifest
 * round-trips. Decoding also normalises what Kubernetes normalises (quantities to their
 * canonical spelling). Semantic rules (names, ranges, cross-field checks) live in validate.ts.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import { canonicalQuantity } from '../quantity';

const struct = <R extends t.Props, O extends t.Props>(name: string, required: R, optional: O) =>
  t.intersection([t.type(required), t.partial(optional)], name);

/** A JSON integer (not branded, so plain numbers can be written in code). */
export const Int = new t.Type<number, number, unknown>(
  'integer',
  (u): u is number => typeof u === 'number' && Number.isInteger(u),
  (u, c) => (typeof u === 'number' && Number.isInteger(u) ? t.success(u) : t.failure(u, c, 'must be an integer')),
  t.identity,
);

/** A resource quantity: a string ("500m", "1Gi") or a JSON number, decoded to its canonical string. */
export const Quantity = new t.Type<string, string, unknown>(
  'Quantity',
  (u): u is string => typeof u === 'string' && E.isRight(canonicalQuantity(u)),
  (u, c) => {
    if (typeof u !== 'string' && typeof u !== 'number') return t.failure(u, c, 'must be a quantity');
    const q = canonicalQuantity(u);
    return E.isRight(q) ? t.success(q.right) : t.failure(u, c, q.left);
  },
  t.identity,
);

export const ResourceList = t.record(t.string, Quantity, 'ResourceList');
export const StringMap = t.record(t.string, t.string, 'map[string]string');
/** An RFC 3339 time; Kubernetes writes seconds, clients may send milliseconds. */
export const Time = t.string;
export const IntOrString = t.union([Int, t.string], 'IntOrString');
const Obj = t.UnknownRecord;

export const OwnerReference = struct(
  'OwnerReference',
  { apiVersion: t.string, kind: t.string, name: t.string, uid: t.string },
  { controller: t.boolean, blockOwnerDeletion: t.boolean },
);

export const ObjectMeta = t.partial(
  {
    name: t.string,
    generateName: t.string,
    namespace: t.string,
    uid: t.string,
    resourceVersion: t.string,
    generation: Int,
    creationTimestamp: t.union([Time, t.null]),
    deletionTimestamp: t.union([Time, t.null]),
    deletionGracePeriodSeconds: t.union([Int, t.null]),
    labels: t.union([StringMap, t.null]),
    annotations: t.union([StringMap, t.null]),
    ownerReferences: t.array(OwnerReference),
    finalizers: t.array(t.string),
    managedFields: t.array(Obj),
    selfLink: t.string,
  },
  'ObjectMeta',
);

export const ObjectReference = t.partial(
  { kind: t.string, namespace: t.string, name: t.string, uid: t.string, apiVersion: t.string, resourceVersion: t.string, fieldPath: t.string },
  'ObjectReference',
);

export const ResourceRequirements = t.partial({ requests: ResourceList, limits: ResourceList, claims: t.array(Obj) }, 'ResourceRequirements');

export const ContainerPort = struct(
  'ContainerPort',
  { containerPort: Int },
  { name: t.string, protocol: t.string, hostPort: Int, hostIP: t.string },
);

export const EnvVar = struct('EnvVar', { name: t.string }, { value: t.string, valueFrom: Obj });

export const Container = struct(
  'Container',
  { name: t.string },
  {
    image: t.string,
    command: t.array(t.string),
    args: t.array(t.string),
    workingDir: t.string,
    ports: t.array(ContainerPort),
    env: t.array(EnvVar),
    envFrom: t.array(Obj),
    resources: ResourceRequirements,
    volumeMounts: t.array(struct('VolumeMount', { name: t.string, mountPath: t.string }, { readOnly: t.boolean, subPath: t.string })),
    imagePullPolicy: t.string,
    terminationMessagePath: t.string,
    terminationMessagePolicy: t.string,
    livenessProbe: Obj,
    readinessProbe: Obj,
    startupProbe: Obj,
    lifecycle: Obj,
    securityContext: Obj,
    stdin: t.boolean,
    tty: t.boolean,
  },
);

export const Toleration = t.partial(
  { key: t.string, operator: t.string, value: t.string, effect: t.string, tolerationSeconds: t.union([Int, t.null]) },
  'Toleration',
);

export const NodeSelectorRequirement = struct('NodeSelectorRequirement', { key: t.string, operator: t.string }, { values: t.array(t.string) });
export const NodeSelectorTerm = t.partial({ matchExpressions: t.array(NodeSelectorRequirement), matchFields: t.array(NodeSelectorRequirement) }, 'NodeSelectorTerm');
export const Affinity = t.partial(
  {
    nodeAffinity: t.partial({
      requiredDuringSchedulingIgnoredDuringExecution: t.type({ nodeSelectorTerms: t.array(NodeSelectorTerm) }),
      preferredDuringSchedulingIgnoredDuringExecution: t.array(t.type({ weight: Int, preference: NodeSelectorTerm })),
    }),
    podAffinity: Obj,
    podAntiAffinity: Obj,
  },
  'Affinity',
);

export const PodSpec = struct(
  'PodSpec',
  { containers: t.array(Container) },
  {
    initContainers: t.array(Container),
    ephemeralContainers: t.array(Obj),
    restartPolicy: t.string,
    terminationGracePeriodSeconds: Int,
    activeDeadlineSeconds: Int,
    dnsPolicy: t.string,
    nodeSelector: StringMap,
    serviceAccountName: t.string,
    serviceAccount: t.string,
    automountServiceAccountToken: t.boolean,
    nodeName: t.string,
    hostNetwork: t.boolean,
    hostname: t.string,
    subdomain: t.string,
    schedulerName: t.string,
    tolerations: t.array(Toleration),
    affinity: Affinity,
    priority: Int,
    priorityClassName: t.string,
    preemptionPolicy: t.string,
    volumes: t.array(struct('Volume', { name: t.string }, {})),
    securityContext: Obj,
    imagePullSecrets: t.array(Obj),
    enableServiceLinks: t.boolean,
    topologySpreadConstraints: t.array(Obj),
    readinessGates: t.array(Obj),
    overhead: ResourceList,
  },
);

export const ContainerState = t.partial(
  {
    waiting: t.partial({ reason: t.string, message: t.string }),
    running: t.partial({ startedAt: Time }),
    terminated: struct('ContainerStateTerminated', { exitCode: Int }, { signal: Int, reason: t.string, message: t.string, startedAt: Time, finishedAt: Time, containerID: t.string }),
  },
  'ContainerState',
);

export const ContainerStatus = struct(
  'ContainerStatus',
  { name: t.string },
  { ready: t.boolean, restartCount: Int, image: t.string, imageID: t.string, containerID: t.string, started: t.boolean, state: ContainerState, lastState: ContainerState },
);

export const PodCondition = struct(
  'PodCondition',
  { type: t.string, status: t.string },
  { lastProbeTime: t.union([Time, t.null]), lastTransitionTime: t.union([Time, t.null]), reason: t.string, message: t.string },
);

export const PodStatus = t.partial(
  {
    phase: t.string,
    conditions: t.array(PodCondition),
    message: t.string,
    reason: t.string,
    nominatedNodeName: t.string,
    hostIP: t.string,
    hostIPs: t.array(t.type({ ip: t.string })),
    podIP: t.string,
    podIPs: t.array(t.type({ ip: t.string })),
    startTime: Time,
    initContainerStatuses: t.array(ContainerStatus),
    containerStatuses: t.array(ContainerStatus),
    qosClass: t.string,
  },
  'PodStatus',
);

const objectOf = <S extends t.Props>(name: string, fields: S) =>
  struct(name, { metadata: ObjectMeta }, { apiVersion: t.string, kind: t.string, ...fields });

export const Pod = objectOf('Pod', { spec: PodSpec, status: PodStatus });

export const Taint = struct('Taint', { key: t.string, effect: t.string }, { value: t.string, timeAdded: t.union([Time, t.null]) });
export const NodeCondition = struct(
  'NodeCondition',
  { type: t.string, status: t.string },
  { lastHeartbeatTime: t.union([Time, t.null]), lastTransitionTime: t.union([Time, t.null]), reason: t.string, message: t.string },
);
export const NodeSystemInfo = t.partial(
  {
    machineID: t.string,
    systemUUID: t.string,
    bootID: t.string,
    kernelVersion: t.string,
    osImage: t.string,
    containerRuntimeVersion: t.string,
    kubeletVersion: t.string,
    kubeProxyVersion: t.string,
    operatingSystem: t.string,
    architecture: t.string,
  },
  'NodeSystemInfo',
);
export const Node = objectOf('Node', {
  spec: t.partial({ podCIDR: t.string, podCIDRs: t.array(t.string), providerID: t.string, unschedulable: t.boolean, taints: t.array(Taint) }),
  status: t.partial({
    capacity: ResourceList,
    allocatable: ResourceList,
    phase: t.string,
    conditions: t.array(NodeCondition),
    addresses: t.array(t.type({ type: t.string, address: t.string })),
    daemonEndpoints: t.partial({ kubeletEndpoint: t.partial({ Port: Int }) }),
    nodeInfo: NodeSystemInfo,
    images: t.array(Obj),
    volumesInUse: t.array(t.string),
  }),
});

export const ServicePort = struct(
  'ServicePort',
  { port: Int },
  { name: t.string, protocol: t.string, targetPort: IntOrString, nodePort: Int, appProtocol: t.string },
);
export const Service = objectOf('Service', {
  spec: t.partial({
    ports: t.array(ServicePort),
    selector: StringMap,
    clusterIP: t.string,
    clusterIPs: t.array(t.string),
    type: t.string,
    externalIPs: t.array(t.string),
    externalName: t.string,
    sessionAffinity: t.string,
    loadBalancerIP: t.string,
    loadBalancerSourceRanges: t.array(t.string),
    externalTrafficPolicy: t.string,
    internalTrafficPolicy: t.string,
    ipFamilies: t.array(t.string),
    ipFamilyPolicy: t.string,
    publishNotReadyAddresses: t.boolean,
    allocateLoadBalancerNodePorts: t.boolean,
  }),
  status: t.partial({ loadBalancer: t.partial({ ingress: t.array(t.partial({ ip: t.string, hostname: t.string })) }) }),
});

export const EndpointAddress = struct('EndpointAddress', { ip: t.string }, { hostname: t.string, nodeName: t.string, targetRef: ObjectReference });
export const EndpointPort = struct('EndpointPort', { port: Int }, { name: t.string, protocol: t.string, appProtocol: t.string });
export const Endpoints = objectOf('Endpoints', {
  subsets: t.array(t.partial({ addresses: t.array(EndpointAddress), notReadyAddresses: t.array(EndpointAddress), ports: t.array(EndpointPort) })),
});

export const PodTemplateSpec = t.partial({ metadata: ObjectMeta, spec: PodSpec }, 'PodTemplateSpec');
export const ReplicationController = objectOf('ReplicationController', {
  spec: t.partial({ replicas: Int, minReadySeconds: Int, selector: StringMap, template: PodTemplateSpec }),
  status: t.partial({
    replicas: Int,
    fullyLabeledReplicas: Int,
    readyReplicas: Int,
    availableReplicas: Int,
    observedGeneration: Int,
    conditions: t.array(Obj),
  }),
});

export const ResourceQuota = objectOf('ResourceQuota', {
  spec: t.partial({ hard: ResourceList, scopes: t.array(t.string), scopeSelector: Obj }),
  status: t.partial({ hard: ResourceList, used: ResourceList }),
});

export const LimitRangeItem = struct(
  'LimitRangeItem',
  { type: t.string },
  { max: ResourceList, min: ResourceList, default: ResourceList, defaultRequest: ResourceList, maxLimitRequestRatio: ResourceList },
);
export const LimitRange = objectOf('LimitRange', { spec: t.type({ limits: t.array(LimitRangeItem) }) });

export const ServiceAccount = objectOf('ServiceAccount', {
  secrets: t.array(ObjectReference),
  imagePullSecrets: t.array(t.partial({ name: t.string })),
  automountServiceAccountToken: t.boolean,
});

export const Secret = objectOf('Secret', { data: StringMap, stringData: StringMap, type: t.string, immutable: t.boolean });

export const Namespace = objectOf('Namespace', {
  spec: t.partial({ finalizers: t.array(t.string) }),
  status: t.partial({ phase: t.string, conditions: t.array(Obj) }),
});

export const Event = struct(
  'Event',
  { metadata: ObjectMeta, involvedObject: ObjectReference },
  {
    apiVersion: t.string,
    kind: t.string,
    reason: t.string,
    message: t.string,
    source: t.partial({ component: t.string, host: t.string }),
    firstTimestamp: t.union([Time, t.null]),
    lastTimestamp: t.union([Time, t.null]),
    count: Int,
    type: t.string,
    eventTime: t.union([Time, t.null]),
    series: Obj,
    action: t.string,
    related: ObjectReference,
    reportingComponent: t.string,
    reportingInstance: t.string,
  },
);

export const Binding = struct('Binding', { metadata: ObjectMeta, target: ObjectReference }, { apiVersion: t.string, kind: t.string });

export const Scale = objectOf('Scale', {
  spec: t.partial({ replicas: Int }),
  status: t.partial({ replicas: Int, selector: t.string }),
});

export const Lease = objectOf('Lease', {
  spec: t.partial({
    holderIdentity: t.string,
    leaseDurationSeconds: Int,
    acquireTime: t.union([Time, t.null]),
    renewTime: t.union([Time, t.null]),
    leaseTransitions: Int,
  }),
});

/** rbac.authorization.k8s.io/v1: who may do what (issue 6). */
export const PolicyRule = struct(
  'PolicyRule',
  { verbs: t.array(t.string) },
  { apiGroups: t.array(t.string), resources: t.array(t.string), resourceNames: t.array(t.string), nonResourceURLs: t.array(t.string) },
);
export const Subject = struct('Subject', { kind: t.string, name: t.string }, { apiGroup: t.string, namespace: t.string });
export const RoleRef = struct('RoleRef', { apiGroup: t.string, kind: t.string, name: t.string }, {});
export const Role = objectOf('Role', { rules: t.union([t.array(PolicyRule), t.null]) });
export const ClusterRole = objectOf('ClusterRole', {
  rules: t.union([t.array(PolicyRule), t.null]),
  aggregationRule: t.partial({ clusterRoleSelectors: t.array(t.record(t.string, t.unknown)) }),
});
const bindingOf = (name: string) => struct(name, { metadata: ObjectMeta, roleRef: RoleRef }, { apiVersion: t.string, kind: t.string, subjects: t.union([t.array(Subject), t.null]) });
export const RoleBinding = bindingOf('RoleBinding');
export const ClusterRoleBinding = bindingOf('ClusterRoleBinding');
export type PolicyRule = t.TypeOf<typeof PolicyRule>;
export type Subject = t.TypeOf<typeof Subject>;
export type RoleBinding = t.TypeOf<typeof RoleBinding>;

export type ObjectMeta = t.TypeOf<typeof ObjectMeta>;
export type OwnerReference = t.TypeOf<typeof OwnerReference>;
export type ObjectReference = t.TypeOf<typeof ObjectReference>;
export type Container = t.TypeOf<typeof Container>;
export type PodSpec = t.TypeOf<typeof PodSpec>;
export type PodStatus = t.TypeOf<typeof PodStatus>;
export type Pod = t.TypeOf<typeof Pod>;
export type Node = t.TypeOf<typeof Node>;
export type Service = t.TypeOf<typeof Service>;
export type Endpoints = t.TypeOf<typeof Endpoints>;
export type ReplicationController = t.TypeOf<typeof ReplicationController>;
export type ResourceQuota = t.TypeOf<typeof ResourceQuota>;
export type LimitRange = t.TypeOf<typeof LimitRange>;
export type ServiceAccount = t.TypeOf<typeof ServiceAccount>;
export type Secret = t.TypeOf<typeof Secret>;
export type Namespace = t.TypeOf<typeof Namespace>;
export type Event = t.TypeOf<typeof Event>;
export type Binding = t.TypeOf<typeof Binding>;
export type Scale = t.TypeOf<typeof Scale>;
export type Lease = t.TypeOf<typeof Lease>;

/** What every stored object has: the fields the log, projections and indexes rely on. */
export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly [field: string]: unknown;
}
export type PodCondition = t.TypeOf<typeof PodCondition>;
export type ContainerStatus = t.TypeOf<typeof ContainerStatus>;
export type NodeCondition = t.TypeOf<typeof NodeCondition>;
export type Taint = t.TypeOf<typeof Taint>;
export type Toleration = t.TypeOf<typeof Toleration>;
export type ServicePort = t.TypeOf<typeof ServicePort>;
