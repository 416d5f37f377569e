/**
 * Admission, in the write path before any event is appended, in Kubernetes' order: mutating
 * plugins (ServiceAccount, LimitRanger defaults), then validating ones (NamespaceLifecycle,
 * LimitRanger limits, ResourceQuota). The plugins read the projections, as Kubernetes' read
 * their informer caches; the pure rules live in core/admission. ResourceQuota's decision is a
 * command on each quota's stream (see chargeQuotas in resources.ts' write path), so it is
 * serialised per quota and recorded as a QuotaCharged event.
 */
import * as E from 'fp-ts/Either';
import type { KindSpec } from '../core/kinds';
import type { KubeObject } from '../core/objects/codecs';
import { rejection, type Rejection } from '../core/rejection';
import { aggregate, checkPodLimits, defaultPodResources } from '../core/admission/limitRanger';
import { assignServiceAccount } from '../core/admission/serviceAccount';
import { chargeAgainst, computeQuotaStatus, objectsInNamespace, usageOf } from '../core/admission/quota';
import type { ClusterProjection } from '../projections';

export const IMMORTAL_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

export const resourceOf = (k: KindSpec): string => (k.group ? `${k.plural}.${k.group}` : k.plural);

/** NamespaceLifecycle: nothing new in a namespace that is missing or terminating. */
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

/** NamespaceLifecycle: the system namespaces cannot be deleted. */
export function admitDelete(kind: KindSpec, name: string): Rejection | undefined {
  if (kind.kind === 'Namespace' && IMMORTAL_NAMESPACES.has(name)) {
    return rejection('Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, { resource: 'namespaces', name });
  }
  return undefined;
}

/**
 * The mutating and object-validating plugins for a new object: ServiceAccount and LimitRanger
 * for pods; a new ResourceQuota gets its status (hard, and used counted from the namespace).
 */
export function admitNewObject(projection: ClusterProjection, kind: KindSpec, object: KubeObject): E.Either<Rejection, KubeObject> {
  const namespace = object.metadata.namespace;
  if (namespace === undefined) return E.right(object);
  const name = object.metadata.name ?? '';
  const forbidden = (message: string) => E.left(rejection('Forbidden', `${resourceOf(kind)} "${name}" is forbidden: ${message}`, { resource: resourceOf(kind), name }));
  if (kind.kind === 'Pod') {
    const sa = assignServiceAccount(object, (n) => !!projection.store('ServiceAccount').get(namespace, n));
    if ('refused' in sa) return forbidden(sa.refused);
    const limitRanges = projection.store('LimitRange').list({ namespace }).map((s) => s.object as KubeObject);
    const pod = defaultPodResources(sa.pod, limitRanges);
    const errors = checkPodLimits(pod, limitRanges);
    if (errors.length > 0) return forbidden(aggregate(errors));
    return E.right(pod);
  }
  if (kind.kind === 'ResourceQuota') {
    return E.right({ ...object, status: computeQuotaStatus(object, objectsInNamespace(projection, namespace)) });
  }
  return E.right(object);
}

export interface QuotaCharge {
  readonly quota: string;
  readonly charge: Readonly<Record<string, string>>;
}

/** What each quota of the namespace must be charged for a new object (or why it cannot be). */
export function quotaCharges(projection: ClusterProjection, kind: KindSpec, object: KubeObject): E.Either<Rejection, QuotaCharge[]> {
  const namespace = object.metadata.namespace;
  if (namespace === undefined) return E.right([]);
  const quotas = projection.store('ResourceQuota').list({ namespace }).map((s) => s.object as KubeObject);
  if (quotas.length === 0) return E.right([]);
  const usage = usageOf(kind.kind, kind.plural, kind.group, object);
  const out: QuotaCharge[] = [];
  for (const quota of quotas.sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))) {
    if (quota.metadata.deletionTimestamp) continue;
    const c = chargeAgainst(quota, kind.kind, usage, object);
    const name = object.metadata.name ?? '';
    if ('missing' in c) return E.left(rejection('Forbidden', `${resourceOf(kind)} "${name}" is forbidden: ${c.missing}`, { resource: resourceOf(kind), name }));
    if (Object.keys(c.charge).length > 0) out.push({ quota: quota.metadata.name as string, charge: c.charge });
  }
  return E.right(out);
}
