/**
 * The bootstrap RBAC policy Kronicle writes at first start (as kube-apiserver's
 * rbac/bootstrappolicy does): the user-facing roles cluster-admin, admin, edit and view, discovery
 * and self-review for every authenticated user, and the identities of the control plane — the
 * scheduler, the controllers (system:controller:<name>) and the kubelets (group system:nodes).
 * Written through the same command path as any object, so they are events in the log.
 */
import type { KubeObject, PolicyRule } from '../../core/objects/codecs';

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const rule = (apiGroups: string[], resources: string[], verbs: string[]): PolicyRule => ({ apiGroups, resources, verbs });

const READABLE = ['pods', 'pods/status', 'services', 'services/status', 'endpoints', 'replicationcontrollers', 'replicationcontrollers/scale', 'replicationcontrollers/status', 'serviceaccounts', 'events', 'resourcequotas', 'resourcequotas/status', 'limitranges', 'namespaces', 'namespaces/status', 'bindings'];
const EDITABLE = ['pods', 'pods/eviction', 'services', 'services/proxy', 'pods/proxy', 'endpoints', 'replicationcontrollers', 'replicationcontrollers/scale', 'secrets', 'serviceaccounts', 'events'];

const clusterRole = (name: string, rules: PolicyRule[]): KubeObject =>
  ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name, labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } }, rules }) as KubeObject;

const clusterRoleBinding = (name: string, role: string, subjects: Array<{ kind: string; name: string }>): KubeObject =>
  ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: subjects.map((s) => ({ ...s, apiGroup: 'rbac.authorization.k8s.io' })),
  }) as KubeObject;

/** The policy, in the order it is written: roles before the bindings that name them. */
export function bootstrapPolicy(controllerNames: readonly string[]): KubeObject[] {
  return [
    clusterRole('cluster-admin', [rule(['*'], ['*'], ['*']), { nonResourceURLs: ['*'], verbs: ['*'] }]),
    clusterRole('admin', [rule([''], [...EDITABLE, ...READABLE, 'resourcequotas', 'limitranges'], [...READ, ...WRITE]), rule(['rbac.authorization.k8s.io'], ['roles', 'rolebindings'], [...READ, ...WRITE]), rule(['coordination.k8s.io'], ['leases'], READ)]),
    clusterRole('edit', [rule([''], EDITABLE, [...READ, ...WRITE]), rule([''], READABLE, READ), rule(['coordination.k8s.io'], ['leases'], READ)]),
    clusterRole('view', [rule([''], READABLE, READ), rule(['coordination.k8s.io'], ['leases'], READ)]),
    clusterRole('system:discovery', [{ nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/readyz', '/version', '/version/', '/openapi', '/openapi/*'], verbs: ['get'] }]),
    clusterRole('system:basic-user', [rule(['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], ['create'])]),
    // The replay debugger's queries: granted to no one by default but cluster admins.
    clusterRole('kronicle:replay-viewer', [rule(['replay.kronicle.dev'], ['*'], ['get', 'create']), { nonResourceURLs: ['/kronicle/*'], verbs: ['get', 'post'] }]),
    clusterRole('system:kronicle:control-plane', [rule(['', 'coordination.k8s.io'], ['*'], [...READ, ...WRITE])]),
    clusterRoleBinding('cluster-admin', 'cluster-admin', [{ kind: 'Group', name: 'system:masters' }]),
    clusterRoleBinding('system:discovery', 'system:discovery', [{ kind: 'Group', name: 'system:authenticated' }]),
    clusterRoleBinding('system:basic-user', 'system:basic-user', [{ kind: 'Group', name: 'system:authenticated' }]),
    clusterRoleBinding('system:kronicle:control-plane', 'system:kronicle:control-plane', [
      { kind: 'User', name: 'system:kube-scheduler' },
      { kind: 'User', name: 'system:kube-controller-manager' },
      { kind: 'Group', name: 'system:nodes' },
      ...controllerNames.map((n) => ({ kind: 'User', name: `system:controller:${n}` })),
    ]),
  ];
}
