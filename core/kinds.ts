/**
 * The kinds Kronicle stores, with what the rest of the system needs to know about each:
 * its API group and version, resource names, scope, codec and validation. The API server's
 * discovery documents, the projections and the stream names are all derived from this table.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import * as C from './objects/codecs';
import type { KubeObject } from './objects/codecs';
import { decodeWith } from './objects/decode';
import * as V from './objects/validate';
import type { FieldError } from './validation';

export interface KindSpec {
  readonly kind: string;
  readonly group: string;
  readonly version: string;
  /** "v1" or "group/version". */
  readonly apiVersion: string;
  readonly plural: string;
  readonly singular: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  /** Whether the kind has a status subresource. */
  readonly hasStatus: boolean;
  readonly nameRule: V.NameRule;
  readonly codec: t.Type<KubeObject, unknown, unknown>;
  /** Kind-specific rules, beyond metadata. */
  readonly validateSpec: (obj: KubeObject) => FieldError[];
}

const spec = <A extends KubeObject>(
  s: Omit<KindSpec, 'codec' | 'validateSpec' | 'apiVersion'> & { codec: t.Type<A, unknown, unknown>; validateSpec: (obj: A) => FieldError[] },
): KindSpec => ({
  ...s,
  apiVersion: s.group ? `${s.group}/${s.version}` : s.version,
  codec: s.codec as unknown as t.Type<KubeObject, unknown, unknown>,
  validateSpec: s.validateSpec as (obj: KubeObject) => FieldError[],
});

const core = { group: '', version: 'v1' };

export const KINDS: readonly KindSpec[] = [
  spec({ ...core, kind: 'Namespace', plural: 'namespaces', singular: 'namespace', namespaced: false, shortNames: ['ns'], categories: [], hasStatus: true, nameRule: V.NAME_RULES.label, codec: C.Namespace, validateSpec: V.validateNamespace }),
  spec({ ...core, kind: 'Pod', plural: 'pods', singular: 'pod', namespaced: true, shortNames: ['po'], categories: ['all'], hasStatus: true, nameRule: V.NAME_RULES.subdomain, codec: C.Pod, validateSpec: V.validatePod }),
  spec({ ...core, kind: 'Node', plural: 'nodes', singular: 'node', namespaced: false, shortNames: ['no'], categories: [], hasStatus: true, nameRule: V.NAME_RULES.subdomain, codec: C.Node, validateSpec: V.validateNode }),
  spec({ ...core, kind: 'Service', plural: 'services', singular: 'service', namespaced: true, shortNames: ['svc'], categories: ['all'], hasStatus: true, nameRule: V.NAME_RULES.dns1035, codec: C.Service, validateSpec: V.validateService }),
  spec({ ...core, kind: 'Endpoints', plural: 'endpoints', singular: 'endpoints', namespaced: true, shortNames: ['ep'], categories: [], hasStatus: false, nameRule: V.NAME_RULES.subdomain, codec: C.Endpoints, validateSpec: V.validateEndpoints }),
  spec({ ...core, kind: 'ReplicationController', plural: 'replicationcontrollers', singular: 'replicationcontroller', namespaced: true, shortNames: ['rc'], categories: ['all'], hasStatus: true, nameRule: V.NAME_RULES.subdomain, codec: C.ReplicationController, validateSpec: V.validateReplicationController }),
  spec({ ...core, kind: 'ResourceQuota', plural: 'resourcequotas', singular: 'resourcequota', namespaced: true, shortNames: ['quota'], categories: [], hasStatus: true, nameRule: V.NAME_RULES.subdomain, codec: C.ResourceQuota, validateSpec: V.validateResourceQuota }),
  spec({ ...core, kind: 'LimitRange', plural: 'limitranges', singular: 'limitrange', namespaced: true, shortNames: ['limits'], categories: [], hasStatus: false, nameRule: V.NAME_RULES.subdomain, codec: C.LimitRange, validateSpec: V.validateLimitRange }),
  spec({ ...core, kind: 'ServiceAccount', plural: 'serviceaccounts', singular: 'serviceaccount', namespaced: true, shortNames: ['sa'], categories: [], hasStatus: false, nameRule: V.NAME_RULES.subdomain, codec: C.ServiceAccount, validateSpec: V.validateServiceAccount }),
  spec({ ...core, kind: 'Secret', plural: 'secrets', singular: 'secret', namespaced: true, shortNames: [], categories: [], hasStatus: false, nameRule: V.NAME_RULES.subdomain, codec: C.Secret, validateSpec: V.validateSecret }),
  spec({ ...core, kind: 'Event', plural: 'events', singular: 'event', namespaced: true, shortNames: ['ev'], categories: [], hasStatus: false, nameRule: V.NAME_RULES.subdomain, codec: C.Event, validateSpec: V.validateEvent }),
  spec({ group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', singular: 'lease', namespaced: true, shortNames: [], categories: [], hasStatus: false, nameRule: V.NAME_RULES.subdomain, codec: C.Lease, validateSpec: V.validateLease }),
  ...rbacKinds(),
];

function rbacKinds(): KindSpec[] {
  const rbac = { group: 'rbac.authorization.k8s.io', version: 'v1', shortNames: [], categories: [], hasStatus: false, nameRule: V.NAME_RULES.path };
  return [
    spec({ ...rbac, kind: 'Role', plural: 'roles', singular: 'role', namespaced: true, codec: C.Role, validateSpec: V.validateRole }),
    spec({ ...rbac, kind: 'ClusterRole', plural: 'clusterroles', singular: 'clusterrole', namespaced: false, codec: C.ClusterRole, validateSpec: V.validateRole }),
    spec({ ...rbac, kind: 'RoleBinding', plural: 'rolebindings', singular: 'rolebinding', namespaced: true, codec: C.RoleBinding, validateSpec: V.validateBinding(false) }),
    spec({ ...rbac, kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', singular: 'clusterrolebinding', namespaced: false, codec: C.ClusterRoleBinding, validateSpec: V.validateBinding(true) }),
  ];
}

const byKind = new Map(KINDS.map((k) => [k.kind, k]));
const byResource = new Map(KINDS.map((k) => [`${k.group}/${k.plural}`, k]));

export const kindSpec = (kind: string): KindSpec | undefined => byKind.get(kind);
export const kindByResource = (group: string, plural: string): KindSpec | undefined => byResource.get(`${group}/${plural}`);

export function mustKindSpec(kind: string): KindSpec {
  const k = byKind.get(kind);
  if (!k) throw new RangeError(`unknown kind ${kind}`);
  return k;
}

/**
 * Decodes and validates an object of a kind: structural errors from io-ts, then metadata and
 * kind rules. The result carries every problem found, or the normalised object.
 */
export function decodeObject(k: KindSpec, input: unknown): E.Either<FieldError[], KubeObject> {
  return E.chain((obj: KubeObject) => {
    const errors = [...V.validateMeta(obj.metadata, k.namespaced, k.nameRule), ...k.validateSpec(obj)];
    return errors.length > 0 ? E.left(errors) : E.right(obj);
  })(decodeWith(k.codec, input));
}
