/**
 * The object decider: what any Kubernetes object can undergo, in data-flow order —
 * state and `evolve` (how an event changes an object), then commands and `decide` (which
 * events a command produces, or why it is refused).
 *
 * Pure: time and ids are inputs (`DecideContext`), never read from the environment. `evolve` is
 * the fold both the live projections and replay use, so it must stay total and deterministic.
 */
import * as E from 'fp-ts/Either';
import type { Recorded } from '../events/envelope';
import type { ObjectEvent } from '../events/types';
import { deepEqual, omit, rfc3339, rfc3339Micro, withFields } from '../json';
import { mustKindSpec, type KindSpec } from '../kinds';
import type { KubeObject, ObjectMeta, PodCondition } from '../objects/codecs';
import { applyDefaults, newPodStatus } from '../objects/defaults';
import { addQuantities, compareQuantities, formatQuantity, mustParseQuantity, subtractQuantities } from '../quantity';
import { rejection, type Rejection } from '../rejection';
import type { JsonValue } from '../store/port';

// ---------------------------------------------------------------------------------------------
// State and evolve

/** The state of one object stream: the object (undefined when absent or deleted) and revision. */
export interface ObjectState {
  readonly object: KubeObject | undefined;
  /** The stream revision of the last event folded; -1n for an empty stream. */
  readonly revision: bigint;
}

export const initialState = (): ObjectState => ({ object: undefined, revision: -1n });

const withMeta = (o: KubeObject, meta: Partial<ObjectMeta>): KubeObject => withFields(o, { metadata: withFields(o.metadata, meta) });

const assertNever = (x: never): never => {
  throw new TypeError(`unhandled event ${JSON.stringify(x)}`);
};

/** Applies one event to an object. The object's resourceVersion becomes the event's position. */
export function evolveObject(object: KubeObject | undefined, rec: Pick<Recorded<ObjectEvent>, 'event' | 'position' | 'id'>): KubeObject | undefined {
  const rv = { resourceVersion: rec.position.toString() };
  const e = rec.event;
  switch (e.type) {
    case 'Created':
    case 'Updated':
      return withMeta(e.object, rv);
    case 'Deleted':
      return undefined;
    case 'NodeLeaseRenewed': {
      // A lease is created by its first renewal; its uid is that event's id.
      const base: KubeObject = object ?? {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: e.name, namespace: e.namespace, uid: rec.id, creationTimestamp: e.renewTime.replace(/\.\d+Z$/, 'Z') },
      };
      const spec = (base.spec ?? {}) as Record<string, unknown>;
      return withMeta(
        { ...base, spec: { ...spec, holderIdentity: e.holderIdentity, renewTime: e.renewTime, leaseDurationSeconds: e.leaseDurationSeconds } },
        rv,
      );
    }
    default:
      break;
  }
  // The remaining events change an existing object; on an absent one they are ignored, which
  // only a log edited by hand can produce (`kronicle verify` reports such logs).
  if (!object) return undefined;
  switch (e.type) {
    case 'StatusUpdated':
    case 'PodStatusReported':
      return withMeta(withFields(object, { status: e.status }), rv);
    case 'DeletionStarted':
      return withMeta(object, {
        ...rv,
        deletionTimestamp: e.deletionTimestamp,
        deletionGracePeriodSeconds: e.gracePeriodSeconds,
        ...(e.finalizers ? { finalizers: [...e.finalizers] } : {}),
      });
    case 'PodBound': {
      const status = (object.status ?? {}) as { conditions?: PodCondition[] };
      const conditions = (status.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
      conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: e.boundAt });
      return withMeta({ ...object, spec: { ...(object.spec as object), nodeName: e.nodeName }, status: { ...status, conditions } }, rv);
    }
    case 'ReplicasScaled':
      return withMeta(
        { ...object, spec: { ...(object.spec as object), replicas: e.replicas } },
        { ...rv, generation: (object.metadata.generation ?? 1) + 1 },
      );
    case 'NamespaceTerminationStarted':
      return withMeta(
        { ...object, status: { ...(object.status as object), phase: 'Terminating' } },
        { ...rv, deletionTimestamp: e.deletionTimestamp, deletionGracePeriodSeconds: 0 },
      );
    case 'NamespaceFinalized':
      return withMeta({ ...object, spec: { ...(object.spec as object), finalizers: [...e.finalizers] } }, rv);
    case 'QuotaCharged':
    case 'QuotaRefunded':
      return withMeta({ ...object, status: { ...(object.status as object), used: { ...e.used } } }, rv);
    default:
      return assertNever(e);
  }
}

export const evolve = (state: ObjectState, rec: Recorded<ObjectEvent>): ObjectState => ({
  object: evolveObject(state.object, rec),
  revision: rec.revision,
});

// ---------------------------------------------------------------------------------------------
// Commands and decide

export interface Preconditions {
  readonly uid?: string;
  readonly resourceVersion?: string;
}

export type ObjectCommand =
  /** The object is decoded and validated; its name is final (generateName already resolved). */
  | { readonly type: 'Create'; readonly object: KubeObject }
  /** A full replacement. A resourceVersion in the object is a precondition. */
  | { readonly type: 'Update'; readonly object: KubeObject }
  | { readonly type: 'UpdateStatus'; readonly status: JsonValue; readonly preconditions?: Preconditions }
  | {
      readonly type: 'Delete';
      readonly gracePeriodSeconds?: number;
      readonly preconditions?: Preconditions;
      /** Background (default): dependents are collected after; Foreground: before; Orphan: they are released. */
      readonly propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
    }
  /** The end of a graceful deletion (the kubelet has stopped the pod, or a force delete). */
  | { readonly type: 'FinishDeletion' }
  | { readonly type: 'Bind'; readonly nodeName: string; readonly preconditions?: Preconditions }
  | { readonly type: 'Scale'; readonly replicas: number; readonly preconditions?: Preconditions }
  | { readonly type: 'RenewLease'; readonly namespace: string; readonly name: string; readonly holderIdentity: string; readonly leaseDurationSeconds: number }
  | { readonly type: 'FinalizeNamespace'; readonly finalizers: readonly string[] }
  /**
   * ResourceQuota admission: charge (or refund) an object's usage. Refused, with Kubernetes'
   * "exceeded quota" message, when used + charge would pass hard for a resource it increases.
   */
  | { readonly type: 'ChargeQuota' | 'RefundQuota'; readonly charge: Readonly<Record<string, string>>; readonly admitted: { readonly resource: string; readonly namespace: string; readonly name: string } };

export interface DecideContext {
  /** The decider's clock: the request's arrival, or the controller's virtual or wall clock. */
  readonly now: Date;
  /** A fresh uid, used when the command creates an object. */
  readonly uid: string;
}

export type Decision = E.Either<Rejection, readonly ObjectEvent[]>;

const resourceName = (k: KindSpec): string => (k.group ? `${k.plural}.${k.group}` : k.plural);

const notFound = (k: KindSpec, name: string): Rejection =>
  rejection('NotFound', `${resourceName(k)} "${name}" not found`, { resource: resourceName(k), name });

const conflict = (k: KindSpec, name: string, detail = 'the object has been modified; please apply your changes to the latest version and try again'): Rejection =>
  rejection('Conflict', `Operation cannot be fulfilled on ${resourceName(k)} "${name}": ${detail}`, { resource: resourceName(k), name });

function checkPreconditions(k: KindSpec, current: KubeObject, p: Preconditions | undefined): Rejection | undefined {
  const name = current.metadata.name ?? '';
  if (p?.uid && p.uid !== current.metadata.uid) {
    return conflict(k, name, `Precondition failed: UID in precondition: ${p.uid}, UID in object meta: ${current.metadata.uid ?? ''}`);
  }
  if (p?.resourceVersion && p.resourceVersion !== current.metadata.resourceVersion) {
    return conflict(k, name);
  }
  return undefined;
}

/** Everything but metadata and status: a change here bumps metadata.generation. */
const specOf = (o: KubeObject): Record<string, unknown> => omit(o as Record<string, unknown>, 'metadata', 'status', 'apiVersion', 'kind');

const finalizersOf = (o: KubeObject): readonly string[] => o.metadata.finalizers ?? [];

const deleted = (kind: string, object: KubeObject): ObjectEvent => ({ type: 'Deleted', kind, object });

/**
 * Decides the events for a command on an object of `kind`, given the object's current state.
 * An empty list means the command changes nothing (Kubernetes answers such writes without a
 * new resourceVersion).
 */
export function decide(kind: string, command: ObjectCommand, state: ObjectState, ctx: DecideContext): Decision {
  const k = mustKindSpec(kind);
  const current = state.object;

  if (command.type === 'Create') {
    const name = command.object.metadata.name ?? '';
    if (current) return E.left(rejection('AlreadyExists', `${resourceName(k)} "${name}" already exists`, { resource: resourceName(k), name }));
    const meta = omit(command.object.metadata, 'resourceVersion', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink');
    const defaulted = applyDefaults(kind, command.object);
    const object: KubeObject = {
      ...defaulted,
      // A new pod starts Pending, whatever status the request carried.
      ...(kind === 'Pod' ? { status: newPodStatus(defaulted) } : {}),
      apiVersion: k.apiVersion,
      kind: k.kind,
      metadata: { ...meta, uid: ctx.uid, creationTimestamp: rfc3339(ctx.now), generation: 1 },
    };
    return E.right([{ type: 'Created', kind, object }]);
  }

  if (command.type === 'RenewLease') {
    return E.right([
      {
        type: 'NodeLeaseRenewed',
        kind: 'Lease',
        namespace: command.namespace,
        name: command.name,
        holderIdentity: command.holderIdentity,
        renewTime: rfc3339Micro(ctx.now),
        leaseDurationSeconds: command.leaseDurationSeconds,
      },
    ]);
  }

  if (!current) {
    const name = command.type === 'Update' ? command.object.metadata.name ?? '' : '';
    return E.left(notFound(k, name));
  }
  const name = current.metadata.name ?? '';

  switch (command.type) {
    case 'Update': {
      const failed = checkPreconditions(k, current, {
        uid: command.object.metadata.uid,
        resourceVersion: command.object.metadata.resourceVersion,
      });
      if (failed) return E.left(failed);
      const defaulted = applyDefaults(kind, command.object);
      const next: KubeObject = {
        ...(k.hasStatus ? omit(defaulted, 'status') : defaulted),
        apiVersion: k.apiVersion,
        kind: k.kind,
        // Status has its own subresource: an update of the object keeps the current status.
        ...(k.hasStatus && current.status !== undefined ? { status: current.status } : {}),
        metadata: {
          ...omit(command.object.metadata, 'resourceVersion', 'selfLink'),
          uid: current.metadata.uid,
          creationTimestamp: current.metadata.creationTimestamp,
          deletionTimestamp: current.metadata.deletionTimestamp,
          deletionGracePeriodSeconds: current.metadata.deletionGracePeriodSeconds,
          generation: current.metadata.generation ?? 1,
        },
      };
      const cleaned = dropUndefinedMeta(next);
      const bumped = deepEqual(specOf(cleaned), specOf(current))
        ? cleaned
        : { ...cleaned, metadata: { ...cleaned.metadata, generation: (current.metadata.generation ?? 1) + 1 } };
      if (deepEqual(omit(bumped.metadata, 'resourceVersion'), omit(current.metadata, 'resourceVersion')) && deepEqual(omit(bumped, 'metadata'), omit(current, 'metadata'))) {
        return E.right([]);
      }
      const events: ObjectEvent[] = [{ type: 'Updated', kind, object: bumped }];
      // The last finalizer removed from an object being deleted completes its deletion.
      if (bumped.metadata.deletionTimestamp && finalizersOf(bumped).length === 0 && !namespaceFinalizersPending(bumped)) {
        events.push(deleted(kind, bumped));
      }
      return E.right(events);
    }

    case 'UpdateStatus': {
      const failed = checkPreconditions(k, current, command.preconditions);
      if (failed) return E.left(failed);
      if (!k.hasStatus) return E.left(rejection('MethodNotAllowed', `${resourceName(k)} have no status subresource`));
      if (deepEqual(command.status, current.status)) return E.right([]);
      if (kind === 'Pod') {
        return E.right([{ type: 'PodStatusReported', kind: 'Pod', status: command.status as Record<string, never> }]);
      }
      return E.right([{ type: 'StatusUpdated', kind, status: command.status }]);
    }

    case 'Delete': {
      const failed = checkPreconditions(k, current, command.preconditions);
      if (failed) return E.left(failed);
      if (kind === 'Namespace') {
        if (current.metadata.deletionTimestamp) return E.right([]);
        return E.right([{ type: 'NamespaceTerminationStarted', kind: 'Namespace', deletionTimestamp: rfc3339(ctx.now) }]);
      }
      const grace = kind === 'Pod' ? podGracePeriod(current, command.gracePeriodSeconds) : 0;
      // Orphan and Foreground hold the object with a finalizer until the garbage collector has
      // released or deleted its dependents.
      const policyFinalizer = command.propagationPolicy === 'Orphan' ? 'orphan' : command.propagationPolicy === 'Foreground' ? 'foregroundDeletion' : undefined;
      if (policyFinalizer && !current.metadata.deletionTimestamp && !finalizersOf(current).includes(policyFinalizer)) {
        const at = new Date(ctx.now.getTime() + grace * 1000);
        return E.right([{ type: 'DeletionStarted', kind, deletionTimestamp: rfc3339(at), gracePeriodSeconds: grace, finalizers: [...finalizersOf(current), policyFinalizer] }]);
      }
      if (current.metadata.deletionTimestamp) {
        // Already being deleted: a second delete may shorten the grace period to zero.
        if (finalizersOf(current).length === 0 && grace === 0) return E.right([deleted(kind, current)]);
        return E.right([]);
      }
      if (grace > 0 || finalizersOf(current).length > 0) {
        const at = new Date(ctx.now.getTime() + grace * 1000);
        return E.right([{ type: 'DeletionStarted', kind, deletionTimestamp: rfc3339(at), gracePeriodSeconds: grace }]);
      }
      return E.right([deleted(kind, current)]);
    }

    case 'FinishDeletion': {
      if (!current.metadata.deletionTimestamp || finalizersOf(current).length > 0) return E.right([]);
      return E.right([deleted(kind, current)]);
    }

    case 'Bind': {
      if (kind !== 'Pod') return E.left(rejection('MethodNotAllowed', `${resourceName(k)} cannot be bound`));
      const failed = checkPreconditions(k, current, command.preconditions);
      if (failed) return E.left(failed);
      const bound = (current.spec as { nodeName?: string } | undefined)?.nodeName;
      if (bound) return E.left(rejection('Conflict', `Operation cannot be fulfilled on pods/binding "${name}": pod ${name} is already assigned to node "${bound}"`, { resource: 'pods/binding', name }));
      if (current.metadata.deletionTimestamp) return E.left(rejection('Conflict', `Operation cannot be fulfilled on pods/binding "${name}": pod ${name} is being deleted, cannot be assigned to a host`, { resource: 'pods/binding', name }));
      return E.right([{ type: 'PodBound', kind: 'Pod', nodeName: command.nodeName, boundAt: rfc3339(ctx.now) }]);
    }

    case 'Scale': {
      if (kind !== 'ReplicationController') return E.left(rejection('MethodNotAllowed', `${resourceName(k)} cannot be scaled`));
      const failed = checkPreconditions(k, current, command.preconditions);
      if (failed) return E.left(failed);
      if (!Number.isInteger(command.replicas) || command.replicas < 0) {
        return E.left(
          rejection('Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${command.replicas}: must be greater than or equal to 0`, {
            resource: 'replicationcontrollers',
            name,
            causes: [{ type: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${command.replicas}: must be greater than or equal to 0` }],
          }),
        );
      }
      if ((current.spec as { replicas?: number } | undefined)?.replicas === command.replicas) return E.right([]);
      return E.right([{ type: 'ReplicasScaled', kind: 'ReplicationController', replicas: command.replicas }]);
    }

    case 'FinalizeNamespace': {
      if (kind !== 'Namespace') return E.left(rejection('MethodNotAllowed', `${resourceName(k)} cannot be finalized`));
      const events: ObjectEvent[] = [{ type: 'NamespaceFinalized', kind: 'Namespace', finalizers: [...command.finalizers] }];
      if (current.metadata.deletionTimestamp && command.finalizers.length === 0 && finalizersOf(current).length === 0) {
        events.push(deleted(kind, { ...current, spec: { ...(current.spec as object), finalizers: [] } }));
      }
      return E.right(events);
    }

    case 'ChargeQuota':
    case 'RefundQuota':
      return decideQuota(current, command);

    default:
      return assertNever(command);
  }
}

function decideQuota(quota: KubeObject, command: Extract<ObjectCommand, { type: 'ChargeQuota' | 'RefundQuota' }>): Decision {
  if (quota.kind !== 'ResourceQuota') return E.left(rejection('MethodNotAllowed', 'only a ResourceQuota is charged'));
  const status = (quota.status ?? {}) as { hard?: Record<string, string>; used?: Record<string, string> };
  const hard = status.hard ?? ((quota.spec as { hard?: Record<string, string> } | undefined)?.hard ?? {});
  const used = { ...(status.used ?? {}) };
  const delta: Record<string, string> = {};
  const exceeded: string[] = [];
  const refund = command.type === 'RefundQuota';
  const target = command.admitted;
  const forbidden = (message: string) => rejection('Forbidden', `${target.resource} "${target.name}" is forbidden: ${message}`, { resource: target.resource, name: target.name });
  for (const [r, amount] of Object.entries(command.charge)) {
    if (!(r in hard)) continue;
    if (!(r in used)) return E.left(forbidden(`status unknown for quota: ${quota.metadata.name}, resource: ${r}`));
    const q = mustParseQuantity(amount);
    const next = refund ? subtractQuantities(mustParseQuantity(used[r]), q) : addQuantities(mustParseQuantity(used[r]), q);
    if (!refund && q.nanos > 0n && compareQuantities(next, mustParseQuantity(hard[r])) > 0) exceeded.push(r);
    used[r] = formatQuantity(next.nanos < 0n ? { ...next, nanos: 0n } : next);
    delta[r] = amount;
  }
  if (exceeded.length > 0) {
    const pick = (list: Record<string, string>) => Object.fromEntries(exceeded.map((r) => [r, list[r]]));
    const pretty = (list: Record<string, string>) => Object.keys(list).sort().map((k) => `${k}=${list[k]}`).join(',');
    return E.left(
      forbidden(`exceeded quota: ${quota.metadata.name}, requested: ${pretty(pick(command.charge))}, used: ${pretty(pick(status.used ?? {}))}, limited: ${pretty(pick(hard))}`),
    );
  }
  if (Object.keys(delta).length === 0) return E.right([]);
  return E.right([{ type: refund ? 'QuotaRefunded' : 'QuotaCharged', kind: 'ResourceQuota', used, delta, admitted: { ...target } }]);
}

function namespaceFinalizersPending(o: KubeObject): boolean {
  return o.kind === 'Namespace' && ((o.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []).length > 0;
}

/**
 * How long a pod being deleted is given to stop. Pods that never ran on a node, and pods that
 * have finished, need no grace: there is nothing for a kubelet to stop.
 */
function podGracePeriod(pod: KubeObject, requested: number | undefined): number {
  const spec = (pod.spec ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  if (!spec.nodeName || phase === 'Succeeded' || phase === 'Failed') return 0;
  return Math.max(0, requested ?? spec.terminationGracePeriodSeconds ?? 30);
}

function dropUndefinedMeta(o: KubeObject): KubeObject {
  const metadata = Object.fromEntries(Object.entries(o.metadata).filter(([, v]) => v !== undefined && v !== null)) as ObjectMeta;
  return { ...o, metadata };
}
