/**
 * Namespace deletion (pkg/controller/namespace): a Terminating namespace has every object in it
 * deleted; once none is left, its `kubernetes` finalizer is removed (the finalize subresource),
 * and the namespace is gone.
 */
import { KINDS } from '../core/kinds';
import type { KubeObject } from '../core/objects/codecs';
import type { ClusterView, Change } from '../projections';
import { keyOf, nothing, parseKey, type Action, type Decision } from './actions';
import type { ReconcileContext, Reconciler } from './runtime';

const namespaced = KINDS.filter((k) => k.namespaced);

const contents = (view: ClusterView, namespace: string): Array<{ kind: string; object: KubeObject }> =>
  namespaced.flatMap((k) => view.store(k.kind).list({ namespace }).map((s) => ({ kind: k.kind, object: s.object as KubeObject })));

export const namespaceController: Reconciler = {
  name: 'namespace-controller',
  keysFor(change: Change): string[] {
    const o = change.object as KubeObject;
    if (change.kind === 'Namespace') return o.metadata.deletionTimestamp ? [keyOf('Namespace', undefined, o.metadata.name as string)] : [];
    // Something in a namespace went away: a terminating namespace may be empty now.
    if (change.type === 'DELETED' && o.metadata.namespace) return [keyOf('Namespace', undefined, o.metadata.namespace)];
    return [];
  },
  initialKeys: (view) => view.store('Namespace').list().filter((s) => s.object.metadata.deletionTimestamp).map((s) => keyOf('Namespace', undefined, s.object.metadata.name as string)),
  reconcile(key: string, { view }: ReconcileContext): Decision {
    const { name } = parseKey(key);
    const ns = view.store('Namespace').get(undefined, name)?.object as KubeObject | undefined;
    if (!ns || !ns.metadata.deletionTimestamp) return nothing;
    const left = contents(view, name);
    const actions: Action[] = left
      .filter((o) => !o.object.metadata.deletionTimestamp)
      .map((o) => ({ verb: 'delete' as const, kind: o.kind, namespace: name, name: o.object.metadata.name as string, uid: o.object.metadata.uid }));
    if (left.length > 0) return { actions };
    const finalizers = ((ns.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []).filter((f) => f !== 'kubernetes');
    return { actions: [{ verb: 'update', kind: 'Namespace', name: `${name}/finalize`, body: { ...ns, spec: { ...(ns.spec as object), finalizers } } }] };
  },
};
