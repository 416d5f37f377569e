/**
 * Admission, in the write path before any event is appended. This first plugin is
 * NamespaceLifecycle (plugin/pkg/admission/namespace/lifecycle): no new objects in a namespace
 * that does not exist or is terminating, and the system namespaces cannot be deleted. It reads
 * the projections, as Kubernetes' plugin reads its informer cache.
 */
import type { KindSpec } from '../core/kinds';
import { rejection, type Rejection } from '../core/rejection';
import type { ClusterProjection } from '../projections';

export const IMMORTAL_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

const resourceOf = (k: KindSpec): string => (k.group ? `${k.plural}.${k.group}` : k.plural);

export function admitCreate(projection: ClusterProjection, kind: KindSpec, namespace: string | undefined, name: string): Rejection | undefined {
  if (!kind.namespaced || namespace === undefined) return undefined;
  const ns = projection.store('Namespace').get(undefined, namespace);
  if (!ns) return rejection('NotFound', `namespaces "${namespace}" not found`, { resource: 'namespaces', name: namespace });
  if (ns.object.metadata.deletionTimestamp || (ns.object.status as { phase?: string } | undefined)?.phase === 'Terminating') {
    return rejection('Forbidden', `${resourceOf(kind)} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`, {
      resource: resourceOf(kind),
      name,
    });
  }
  return undefined;
}

export function admitDelete(kind: KindSpec, name: string): Rejection | undefined {
  if (kind.kind === 'Namespace' && IMMORTAL_NAMESPACES.has(name)) {
    return rejection('Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, { resource: 'namespaces', name });
  }
  return undefined;
}
