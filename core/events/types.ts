/**
 * Kronicle's event types: what can happen to an object.
 *
 * Where the Kubernetes API has a verb for a change the event is specific (PodBound,
 * PodStatusReported, ReplicasScaled, NodeLeaseRenewed, NamespaceTerminationStarted,
 * NamespaceFinalized), and so are the ResourceQuota admission decisions (QuotaCharged,
 * QuotaRefunded). Other writes are generic — `<Kind>Created`, `<Kind>Updated`,
 * `<Kind>StatusUpdated`, `<Kind>DeletionStarted`, `<Kind>Deleted` — and carry the full object.
 * Diffs are not stored; replay computes them when asked.
 *
 * Every payload has a schema version in the envelope. Readers upcast older payloads step by
 * step to the current version before decoding, so a log written today still replays after the
 * types evolve; a payload newer than this code knows is refused, not guessed at.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import { withFields } from '../json';
import { kindSpec } from '../kinds';
import type { KubeObject, PodStatus } from '../objects/codecs';
import type { EventToAppend, JsonObject, JsonValue, StoredEvent } from '../store/port';
import { EventMetadata, type Recorded, type WriteContext } from './envelope';

export type GenericVerb = 'Created' | 'Updated' | 'StatusUpdated' | 'DeletionStarted' | 'Deleted';
export const GENERIC_VERBS: readonly GenericVerb[] = ['Created', 'Updated', 'StatusUpdated', 'DeletionStarted', 'Deleted'];

export type ObjectEvent =
  | { readonly type: 'Created'; readonly kind: string; readonly object: KubeObject }
  | { readonly type: 'Updated'; readonly kind: string; readonly object: KubeObject }
  | { readonly type: 'StatusUpdated'; readonly kind: string; readonly status: JsonValue }
  | {
      readonly type: 'DeletionStarted';
      readonly kind: string;
      readonly deletionTimestamp: string;
      readonly gracePeriodSeconds: number;
      /** The object's finalizers from now on, when the deletion adds one (propagationPolicy Orphan or Foreground). */
      readonly finalizers?: readonly string[];
    }
  | { readonly type: 'Deleted'; readonly kind: string; readonly object: KubeObject }
  | { readonly type: 'PodBound'; readonly kind: 'Pod'; readonly nodeName: string; readonly boundAt: string }
  | { readonly type: 'PodStatusReported'; readonly kind: 'Pod'; readonly status: PodStatus }
  | { readonly type: 'ReplicasScaled'; readonly kind: 'ReplicationController'; readonly replicas: number }
  | {
      readonly type: 'NodeLeaseRenewed';
      readonly kind: 'Lease';
      readonly namespace: string;
      readonly name: string;
      readonly holderIdentity: string;
      readonly renewTime: string;
      readonly leaseDurationSeconds: number;
    }
  | { readonly type: 'NamespaceTerminationStarted'; readonly kind: 'Namespace'; readonly deletionTimestamp: string }
  | { readonly type: 'NamespaceFinalized'; readonly kind: 'Namespace'; readonly finalizers: readonly string[] }
  | QuotaEvent<'QuotaCharged'>
  | QuotaEvent<'QuotaRefunded'>;

/**
 * An admission decision of a ResourceQuota: `delta` charged (or given back, when the admitted
 * write failed after all) for the object named in `admitted`, and the quota's resulting `status.used`.
 */
export interface QuotaEvent<T extends 'QuotaCharged' | 'QuotaRefunded'> {
  readonly type: T;
  readonly kind: 'ResourceQuota';
  readonly used: Readonly<Record<string, string>>;
  readonly delta: Readonly<Record<string, string>>;
  readonly admitted: { readonly resource: string; readonly namespace: string; readonly name: string };
}

export type ObjectEventType = ObjectEvent['type'];
type SpecificType = Exclude<ObjectEventType, GenericVerb>;

/** The kind each specific event belongs to. */
const SPECIFIC_KIND: Record<SpecificType, string> = {
  PodBound: 'Pod',
  PodStatusReported: 'Pod',
  ReplicasScaled: 'ReplicationController',
  NodeLeaseRenewed: 'Lease',
  NamespaceTerminationStarted: 'Namespace',
  NamespaceFinalized: 'Namespace',
  QuotaCharged: 'ResourceQuota',
  QuotaRefunded: 'ResourceQuota',
};

/** The type name as stored in the log. */
export const storedTypeOf = (e: ObjectEvent): string =>
  (GENERIC_VERBS as readonly string[]).includes(e.type) ? `${e.kind}${e.type}` : e.type;

const parsedTypes = new Map<string, { kind: string; verb: ObjectEventType } | undefined>();

export function parseStoredType(type: string): { kind: string; verb: ObjectEventType } | undefined {
  const cached = parsedTypes.get(type);
  if (cached) return cached;
  const parsed = parseTypeName(type);
  // Only known kinds and verbs are remembered, so the cache stays as small as the type list.
  if (parsed) parsedTypes.set(type, parsed);
  return parsed;
}

function parseTypeName(type: string): { kind: string; verb: ObjectEventType } | undefined {
  if (type in SPECIFIC_KIND) return { kind: SPECIFIC_KIND[type as SpecificType], verb: type as SpecificType };
  for (const verb of GENERIC_VERBS) {
    if (type.endsWith(verb)) {
      const kind = type.slice(0, -verb.length);
      if (kindSpec(kind)) return { kind, verb };
    }
  }
  return undefined;
}

// Payload codecs, for reading. Objects were fully validated when written; reading checks the
// shape the folds rely on (a metadata object), not every field again: replay speed matters.
const StoredObject = new t.Type<KubeObject, KubeObject, unknown>(
  'StoredObject',
  (u): u is KubeObject => typeof u === 'object' && u !== null && typeof (u as { metadata?: unknown }).metadata === 'object',
  (u, c) =>
    typeof u === 'object' && u !== null && typeof (u as { metadata?: unknown }).metadata === 'object' && (u as { metadata?: unknown }).metadata !== null
      ? t.success(u as KubeObject)
      : t.failure(u, c, 'must be an object with metadata'),
  t.identity,
);

const QuotaPayload = t.type({ used: t.record(t.string, t.string), delta: t.record(t.string, t.string), admitted: t.type({ resource: t.string, namespace: t.string, name: t.string }) });

const PAYLOADS: Record<ObjectEventType, t.Mixed> = {
  Created: t.type({ object: StoredObject }),
  Updated: t.type({ object: StoredObject }),
  StatusUpdated: t.type({ status: t.unknown }),
  DeletionStarted: t.intersection([t.type({ deletionTimestamp: t.string, gracePeriodSeconds: t.number }), t.partial({ finalizers: t.array(t.string) })]),
  Deleted: t.type({ object: StoredObject }),
  PodBound: t.type({ nodeName: t.string, boundAt: t.string }),
  PodStatusReported: t.type({ status: t.UnknownRecord }),
  ReplicasScaled: t.type({ replicas: t.number }),
  NodeLeaseRenewed: t.type({ namespace: t.string, name: t.string, holderIdentity: t.string, renewTime: t.string, leaseDurationSeconds: t.number }),
  NamespaceTerminationStarted: t.type({ deletionTimestamp: t.string }),
  NamespaceFinalized: t.type({ finalizers: t.array(t.string) }),
  QuotaCharged: QuotaPayload,
  QuotaRefunded: QuotaPayload,
};

/** Upcasters: for an event type, the function that lifts a payload from version v to v+1. */
export type Upcasters = Readonly<Record<string, Readonly<Record<number, (data: JsonObject) => JsonObject>>>>;

/** The current schema version of every event type's payload. */
export const CURRENT_SCHEMA_VERSION = 1;

/**
 * The upcasters of the log's history. Empty while every payload is at version 1; when a payload
 * changes, bump CURRENT_SCHEMA_VERSION and add the step from the old version here.
 */
export const UPCASTERS: Upcasters = {};

export class EventDecodeError extends Error {
  constructor(
    readonly eventId: string,
    readonly position: bigint,
    message: string,
  ) {
    super(`event ${eventId} at position ${position}: ${message}`);
    this.name = 'EventDecodeError';
  }
}

export interface UpcastOptions {
  readonly upcasters?: Upcasters;
  readonly currentVersion?: number;
}

/** Lifts a payload to the current schema version. */
export function upcast(type: string, version: number, data: JsonObject, options: UpcastOptions = {}): E.Either<string, JsonObject> {
  const current = options.currentVersion ?? CURRENT_SCHEMA_VERSION;
  const steps = (options.upcasters ?? UPCASTERS)[type] ?? {};
  if (version > current) return E.left(`schema version ${version} is newer than this Kronicle reads (${current})`);
  let out = data;
  for (let v = version; v < current; v++) {
    const step = steps[v];
    // No step registered means the payload did not change between these versions.
    if (step) out = step(out);
  }
  return E.right(out);
}

/**
 * A stored event as a domain event with its envelope. This is the replay hot path: valid events
 * pass io-ts type guards (`is`, no allocation); only an invalid one is decoded again to say why.
 */
export function decodeEvent(stored: StoredEvent, options: UpcastOptions = {}): E.Either<EventDecodeError, Recorded<ObjectEvent>> {
  const fail = (m: string) => E.left(new EventDecodeError(stored.id, stored.position, m));
  const parsed = parseStoredType(stored.type);
  if (!parsed) return fail(`unknown event type ${stored.type}`);
  const metadata = stored.metadata;
  if (!EventMetadata.is(metadata)) return fail('metadata is not an event envelope');
  const data = stored.data;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return fail('payload is not an object');
  let payload = data as JsonObject;
  if (metadata.schemaVersion !== (options.currentVersion ?? CURRENT_SCHEMA_VERSION)) {
    const lifted = upcast(stored.type, metadata.schemaVersion, payload, options);
    if (E.isLeft(lifted)) return fail(lifted.left);
    payload = lifted.right;
  }
  if (!PAYLOADS[parsed.verb].is(payload)) return fail(`payload does not match ${stored.type}`);
  return E.right({
    id: stored.id,
    stream: stored.stream,
    revision: stored.revision,
    position: stored.position,
    recordedAt: stored.recordedAt,
    event: withFields(payload, { type: parsed.verb, kind: parsed.kind }) as unknown as ObjectEvent,
    metadata,
  });
}

/** A domain event as an append request, with its id and envelope metadata. */
export function encodeEvent(event: ObjectEvent, id: string, context: WriteContext): EventToAppend {
  const { type: _type, kind: _kind, ...payload } = event;
  return {
    id,
    type: storedTypeOf(event),
    data: payload as unknown as JsonValue,
    metadata: withFields(context as unknown as JsonObject, { schemaVersion: CURRENT_SCHEMA_VERSION }),
  };
}
