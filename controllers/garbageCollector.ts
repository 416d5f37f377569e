/**
 * Garbage collection: dependents whose owners are all gone (no object with the referenced uid)
 * are deleted (Kubernetes' Background propagation; Orphan and Foreground are `ownerFinalizer`,
 * below); and pod GC (pkg/controller/podgc): pods bound to a node that no longer exists
 * are deleted at once, and terminated pods beyond a threshold are deleted oldest first.
 */
import { KINDS } from '../core/kinds';
import type { KubeObject } from '../core/objects/codecs';
import type { ClusterView, Change } from '../projections';
import { keyOf, nothing, parseKey, type Action, type Decision } from './actions';
import type { ReconcileContext, Reconciler } from './runtime';
import { isTerminal, nodeNameOf } from './pods';

interface Ref {
  uid: string;
  kind: string;
  name: string;
}

function ownerExists(view: ClusterView, namespace: string | undefined, ref: Ref): boolean {
  const k = KINDS.find((x) => x.kind === ref.kind);
  if (!k) return true; // a kind this server does not hold: not ours to judge
  const owner = view.store(k.kind).get(k.namespaced ? namespace : undefined, ref.name)?.object as KubeObject | undefined;
  return !!owner && owner.metadata.uid === ref.uid;
}

export const garbageCollector: Reconciler = {
  name: 'garbage-collector',
  keysFor(change: Change, view: ClusterView): string[] {
    const o = change.object as KubeObject;
    const kind = change.kind;
    if (change.type === 'DELETED') {
      // An owner went: its dependents (in its namespace) are checked.
      const uid = o.metadata.uid;
      if (!uid) return [];
      return KINDS.filter((k) => k.namespaced || !o.metadata.namespace)
        .flatMap((k) => view.store(k.kind).ownedBy(uid).map((s) => ({ k, obj: s.object as KubeObject })))
        .filter(({ obj }) => !o.metadata.namespace || obj.metadata.namespace === o.metadata.namespace)
        .map(({ k, obj }) => keyOf(k.kind, obj.metadata.namespace, obj.metadata.name as string));
    }
    return (o.metadata.ownerReferences ?? []).length > 0 ? [keyOf(kind, o.metadata.namespace, o.metadata.name as string)] : [];
  },
  initialKeys: (view) =>
    KINDS.flatMap((k) =>
      view
        .store(k.kind)
        .list()
        .filter((s) => (s.object.metadata.ownerReferences ?? []).length > 0)
        .map((s) => keyOf(k.kind, s.object.metadata.namespace, s.object.metadata.name as string)),
    ),
  reconcile(key: string, { view }: ReconcileContext): Decision {
    const { kind, namespace, name } = parseKey(key);
    const o = view.store(kind).get(namespace, name)?.object as KubeObject | undefined;
    if (!o || o.metadata.deletionTimestamp) return nothing;
    const refs = (o.metadata.ownerReferences ?? []) as unknown as Ref[];
    if (refs.length === 0 || refs.some((r) => ownerExists(view, namespace, r))) return nothing;
    return { actions: [{ verb: 'delete', kind, namespace, name, uid: o.metadata.uid }] };
  },
};

export function podGarbageCollector(options: { terminatedPodThreshold?: number } = {}): Reconciler {
  const threshold = options.terminatedPodThreshold ?? 12_500;
  const KEY = 'PodGC|all';
  return {
    name: 'pod-garbage-collector',
    keysFor: (change: Change) => ((change.kind === 'Node' && change.type === 'DELETED') || (change.kind === 'Pod' && isTerminal(change.object as KubeObject)) ? [KEY] : []),
    initialKeys: () => [KEY],
    reconcile(_key: string, { view }: ReconcileContext): Decision {
      const nodes = new Set(view.store('Node').list().map((s) => s.object.metadata.name));
      const pods = view.store('Pod').list({}, false).map((s) => s.object as KubeObject);
      const actions: Action[] = [];
      for (const p of pods) {
        const node = nodeNameOf(p);
        if (node && !nodes.has(node)) actions.push({ verb: 'delete', kind: 'Pod', namespace: p.metadata.namespace as string, name: p.metadata.name as string, gracePeriodSeconds: 0, uid: p.metadata.uid });
      }
      const terminated = pods.filter((p) => isTerminal(p) && (!nodeNameOf(p) || nodes.has(nodeNameOf(p))));
      if (terminated.length > threshold) {
        terminated.sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)));
        for (const p of terminated.slice(0, terminated.length - threshold)) actions.push({ verb: 'delete', kind: 'Pod', namespace: p.metadata.namespace as string, name: p.metadata.name as string, gracePeriodSeconds: 0, uid: p.metadata.uid });
      }
      return actions.length ? { actions } : nothing;
    },
  };
}

const dependentsOf = (view: ClusterView, owner: KubeObject): Array<{ kind: string; object: KubeObject }> =>
  KINDS.filter((k) => k.namespaced || !owner.metadata.namespace)
    .flatMap((k) => view.store(k.kind).list(owner.metadata.namespace ? { namespace: owner.metadata.namespace } : {}).map((s) => ({ kind: k.kind, object: s.object as KubeObject })))
    .filter(({ object }) => (object.metadata.ownerReferences ?? []).some((r) => (r as { uid?: string }).uid === owner.metadata.uid));

/**
 * propagationPolicy Orphan and Foreground: an owner being deleted with the `orphan` finalizer has
 * its dependents released (their owner reference removed), one with `foregroundDeletion` has them
 * deleted; then the finalizer goes and the owner with it.
 */
export const ownerFinalizer: Reconciler = {
  name: 'garbage-collector-finalizer',
  keysFor(change: Change): string[] {
    const o = change.object as KubeObject;
    const keys: string[] = [];
    const finalizers = o.metadata.finalizers ?? [];
    if (o.metadata.deletionTimestamp && (finalizers.includes('orphan') || finalizers.includes('foregroundDeletion'))) keys.push(keyOf(change.kind, o.metadata.namespace, o.metadata.name as string));
    // A dependent changed or went: its owners may be done waiting.
    for (const r of (o.metadata.ownerReferences ?? []) as unknown as Ref[]) keys.push(keyOf(r.kind, o.metadata.namespace, r.name));
    return keys;
  },
  initialKeys: (view) =>
    KINDS.flatMap((k) =>
      view
        .store(k.kind)
        .list()
        .filter((s) => s.object.metadata.deletionTimestamp && (s.object.metadata.finalizers ?? []).some((f) => f === 'orphan' || f === 'foregroundDeletion'))
        .map((s) => keyOf(k.kind, s.object.metadata.namespace, s.object.metadata.name as string)),
    ),
  reconcile(key: string, { view }: ReconcileContext): Decision {
    const { kind, namespace, name } = parseKey(key);
    if (!KINDS.some((k) => k.kind === kind)) return nothing;
    const owner = view.store(kind).get(namespace, name)?.object as KubeObject | undefined;
    if (!owner || !owner.metadata.deletionTimestamp) return nothing;
    const finalizers = owner.metadata.finalizers ?? [];
    const orphan = finalizers.includes('orphan');
    const foreground = finalizers.includes('foregroundDeletion');
    if (!orphan && !foreground) return nothing;
    const dependents = dependentsOf(view, owner);
    const actions: Action[] = [];
    if (orphan) {
      for (const d of dependents) {
        const refs = (d.object.metadata.ownerReferences ?? []).filter((r) => (r as { uid?: string }).uid !== owner.metadata.uid);
        actions.push({ verb: 'patch', kind: d.kind, namespace: d.object.metadata.namespace, name: d.object.metadata.name as string, patch: { metadata: { ownerReferences: refs.length ? refs : null, uid: d.object.metadata.uid } } });
      }
    } else {
      for (const d of dependents) if (!d.object.metadata.deletionTimestamp) actions.push({ verb: 'delete', kind: d.kind, namespace: d.object.metadata.namespace, name: d.object.metadata.name as string, uid: d.object.metadata.uid });
    }
    if (dependents.length === 0) {
      const rest = finalizers.filter((f) => f !== 'orphan' && f !== 'foregroundDeletion');
      actions.push({ verb: 'update', kind, namespace, name, body: { ...owner, metadata: { ...owner.metadata, finalizers: rest } } });
      return { actions };
    }
    // Released dependents no longer point here: look again once these actions are done.
    return { actions, requeueAfter: 1 };
  },
};
