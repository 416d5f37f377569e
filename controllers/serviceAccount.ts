/**
 * Service accounts (pkg/controller/serviceaccount, and the legacy token controller): every
 * active namespace has a `default` ServiceAccount, and every ServiceAccount a token Secret
 * (type kubernetes.io/service-account-token) that it lists in `secrets`. The token is derived
 * from the account's uid (deterministic); authentication with it comes with the secure port.
 */
import type { KubeObject } from '../core/objects/codecs';
import { createHash } from 'node:crypto';
import type { Change } from '../projections';
import { keyOf, nothing, parseKey, type Action, type Decision } from './actions';
import type { ReconcileContext, Reconciler } from './runtime';

const tokenName = (sa: KubeObject) => `${sa.metadata.name}-token-${createHash('sha256').update(String(sa.metadata.uid)).digest('hex').slice(0, 5)}`;

export const serviceAccountController: Reconciler = {
  name: 'serviceaccount-controller',
  keysFor(change: Change): string[] {
    const o = change.object as KubeObject;
    if (change.kind === 'Namespace') return [keyOf('ServiceAccount', o.metadata.name as string, 'default')];
    if (change.kind === 'ServiceAccount') return [keyOf('ServiceAccount', o.metadata.namespace, o.metadata.name as string)];
    if (change.kind === 'Secret' && change.type === 'DELETED') {
      const owner = o.metadata.annotations?.['kubernetes.io/service-account.name'];
      if (owner) return [keyOf('ServiceAccount', o.metadata.namespace, owner)];
    }
    return [];
  },
  initialKeys: (view) => [
    ...view.store('Namespace').list().map((s) => keyOf('ServiceAccount', s.object.metadata.name as string, 'default')),
    ...view.store('ServiceAccount').list().map((s) => keyOf('ServiceAccount', s.object.metadata.namespace, s.object.metadata.name as string)),
  ],
  reconcile(key: string, { view }: ReconcileContext): Decision {
    const { namespace, name } = parseKey(key);
    const ns = view.store('Namespace').get(undefined, namespace as string)?.object as KubeObject | undefined;
    if (!ns || ns.metadata.deletionTimestamp) return nothing;
    const sa = view.store('ServiceAccount').get(namespace, name)?.object as KubeObject | undefined;
    if (!sa) return name === 'default' ? { actions: [{ verb: 'create', kind: 'ServiceAccount', namespace, body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace } } }] } : nothing;
    if (sa.metadata.deletionTimestamp) return nothing;
    const secretName = tokenName(sa);
    const actions: Action[] = [];
    if (!view.store('Secret').get(namespace, secretName)) {
      const token = Buffer.from(`kronicle:${namespace}:${sa.metadata.name}:${sa.metadata.uid}`).toString('base64');
      actions.push({
        verb: 'create',
        kind: 'Secret',
        namespace,
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: secretName, namespace, annotations: { 'kubernetes.io/service-account.name': sa.metadata.name as string, 'kubernetes.io/service-account.uid': sa.metadata.uid as string } },
          type: 'kubernetes.io/service-account-token',
          data: { token: Buffer.from(token).toString('base64'), namespace: Buffer.from(namespace as string).toString('base64') },
        } as KubeObject,
      });
    }
    const listed = ((sa.secrets ?? []) as Array<{ name?: string }>).some((s) => s.name === secretName);
    if (!listed) actions.push({ verb: 'patch', kind: 'ServiceAccount', namespace, name: sa.metadata.name as string, patch: { secrets: [...((sa.secrets ?? []) as object[]), { name: secretName }] } });
    return { actions };
  },
};
