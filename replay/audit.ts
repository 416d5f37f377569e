/**
 * Any range of the log as Kubernetes audit events (audit.k8s.io/v1 Event, one JSON object per
 * line, level RequestResponse, stage ResponseComplete), so existing audit tooling can read a
 * Kronicle history: the verb and subresource from the event type, the user from the envelope's
 * actor (with the impersonator as the user and the actor as impersonatedUser), the object
 * reference with the position as resourceVersion, the request body as recorded in the event and
 * the object after the change as the response. Secret data is shown redacted.
 */
import { kindSpec } from '../core/kinds';
import type { KubeObject } from '../core/objects/codecs';
import type { EventStore } from '../core/store/port';
import { ReplayError, walkLog } from './history';
import { redactSecret } from './redact';

const VERBS: Record<string, { verb: string; subresource?: string; code?: number }> = {
  Created: { verb: 'create', code: 201 },
  Updated: { verb: 'update' },
  StatusUpdated: { verb: 'update', subresource: 'status' },
  PodStatusReported: { verb: 'update', subresource: 'status' },
  DeletionStarted: { verb: 'delete' },
  Deleted: { verb: 'delete' },
  PodBound: { verb: 'create', subresource: 'binding', code: 201 },
  ReplicasScaled: { verb: 'update', subresource: 'scale' },
  NodeLeaseRenewed: { verb: 'update' },
  NamespaceTerminationStarted: { verb: 'delete' },
  NamespaceFinalized: { verb: 'update', subresource: 'finalize' },
  QuotaCharged: { verb: 'update', subresource: 'status' },
  QuotaRefunded: { verb: 'update', subresource: 'status' },
};

const micro = (d: Date) => d.toISOString().replace(/Z$/, '000Z');

/** Positions `from`…`to` (inclusive) as audit events, one JSON line each. */
export async function auditEvents(store: EventStore, options: { from?: bigint; to?: bigint } = {}): Promise<string[]> {
  const head = await store.headPosition();
  const from = options.from ?? 1n;
  const to = options.to ?? head;
  if (to > head) throw new ReplayError(`position ${to} is beyond the log's head (${head})`);
  const lines: string[] = [];
  await walkLog(store, to, ({ stored, rec, before, after }) => {
    if (stored.position < from) return;
    const kind = kindSpec(rec.event.kind);
    const shown = (after ?? (rec.event as { object?: KubeObject }).object ?? before) as KubeObject | undefined;
    const how = VERBS[rec.event.type] ?? { verb: 'update' };
    const actor = rec.metadata.actor;
    const user = actor.impersonator ? { username: actor.impersonator } : { username: actor.name, ...(actor.groups ? { groups: actor.groups } : {}) };
    const { type: _t, kind: _k, ...payload } = rec.event as unknown as Record<string, unknown>;
    // A user's request as it came, where the envelope kept it (JSON bodies); else the event's payload.
    const request = rec.metadata.request;
    let requestObject: unknown = 'object' in payload ? payload.object : payload;
    if (request?.body !== undefined && request.encoding === undefined) {
      try {
        requestObject = JSON.parse(request.body);
      } catch {
        /* YAML or another text body: the payload stands in */
      }
    }
    const namespace = shown?.metadata.namespace;
    const name = shown?.metadata.name ?? '';
    const base = kind ? `${kind.group ? `/apis/${kind.group}/${kind.version}` : `/api/${kind.version}`}${namespace ? `/namespaces/${namespace}` : ''}/${kind.plural}` : '';
    lines.push(
      JSON.stringify({
        kind: 'Event',
        apiVersion: 'audit.k8s.io/v1',
        level: 'RequestResponse',
        auditID: rec.metadata.requestId ?? rec.id,
        stage: 'ResponseComplete',
        requestURI: request?.url ?? `${base}${how.verb === 'create' && !how.subresource ? '' : `/${name}`}${how.subresource ? `/${how.subresource}` : ''}`,
        verb: how.verb,
        user,
        ...(actor.impersonator ? { impersonatedUser: { username: actor.name, ...(actor.groups ? { groups: actor.groups } : {}) } } : {}),
        objectRef: {
          resource: kind?.plural ?? rec.event.kind,
          ...(namespace ? { namespace } : {}),
          name,
          ...(shown?.metadata.uid ? { uid: shown.metadata.uid } : {}),
          apiVersion: kind ? (kind.group ? `${kind.group}/${kind.version}` : kind.version) : 'v1',
          resourceVersion: stored.position.toString(),
          ...(how.subresource ? { subresource: how.subresource } : {}),
        },
        responseStatus: { metadata: {}, code: how.code ?? 200 },
        requestObject: redactSecret(requestObject),
        responseObject: redactSecret(shown),
        requestReceivedTimestamp: micro(stored.recordedAt),
        stageTimestamp: micro(stored.recordedAt),
        annotations: {
          'kronicle.io/event-id': rec.id,
          'kronicle.io/event-type': stored.type,
          'kronicle.io/position': stored.position.toString(),
          ...(rec.metadata.causationId ? { 'kronicle.io/causation-id': rec.metadata.causationId } : {}),
          ...(actor.authMethod ? { 'kronicle.io/auth-method': actor.authMethod } : {}),
        },
      }),
    );
  });
  return lines;
}
