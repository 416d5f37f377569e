/**
 * Resource quota status (pkg/controller/resourcequota): `status.used` recounted from the
 * projections whenever something the quota counts changes in its namespace (the API's admission
 * charges creates as they happen; this gives back what deletions freed and repairs any drift).
 */
import type { KubeObject } from '../core/objects/codecs';
import { deepEqual } from '../core/json';
import { computeQuotaStatus, objectsInNamespace } from '../core/admission/quota';
import type { ClusterView, Change } from '../projections';
import { keyOf, nothing, parseKey, type Decision } from './actions';
import type { ReconcileContext, Reconciler } from './runtime';

const quotaKeys = (view: ClusterView, namespace?: string) =>
  view.store('ResourceQuota').list(namespace ? { namespace } : {}).map((s) => keyOf('ResourceQuota', s.object.metadata.namespace, s.object.metadata.name as string));

export const resourceQuotaController: Reconciler = {
  name: 'resourcequota-controller',
  keysFor(change: Change, view: ClusterView): string[] {
    const o = change.object as KubeObject;
    if (change.kind === 'ResourceQuota') return change.type === 'DELETED' ? [] : [keyOf('ResourceQuota', o.metadata.namespace, o.metadata.name as string)];
    return o.metadata.namespace ? quotaKeys(view, o.metadata.namespace) : [];
  },
  initialKeys: (view) => quotaKeys(view),
  reconcile(key: string, { view }: ReconcileContext): Decision {
    const { namespace, name } = parseKey(key);
    const quota = view.store('ResourceQuota').get(namespace, name)?.object as KubeObject | undefined;
    if (!quota || quota.metadata.deletionTimestamp) return nothing;
    const status = computeQuotaStatus(quota, objectsInNamespace(view, namespace as string));
    if (deepEqual(status, quota.status ?? {})) return nothing;
    return { actions: [{ verb: 'updateStatus', kind: 'ResourceQuota', namespace, name, body: { ...quota, status } }] };
  },
};
