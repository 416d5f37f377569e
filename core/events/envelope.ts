/**
 * The event envelope: what every event in the log says about itself beyond its payload.
 *
 * Stored fields (the store's): id (UUID, the idempotency key), type, stream, revision, position,
 * recordedAt. Metadata (ours, JSON in the store): the schema version of the payload, the actor
 * (always from authentication, never from a request body), the request id, causation and
 * correlation ids, and for controller writes the log position the controller had observed and
 * the clock it decided at. Positions travel as decimal strings in JSON (they are 64-bit).
 */
import * as t from 'io-ts';

export const ActorKind = t.keyof({ user: null, controller: null, node: null, system: null }, 'ActorKind');

export const Actor = t.intersection(
  [
    t.type({ kind: ActorKind, name: t.string }),
    t.partial({
      groups: t.array(t.string),
      /** How the actor authenticated: token, basic, x509, insecure-port, in-process. */
      authMethod: t.string,
      /** The authenticated identity that impersonated `name`, when there was one. */
      impersonator: t.string,
    }),
  ],
  'Actor',
);
export type Actor = t.TypeOf<typeof Actor>;

export const DecimalString = new t.Type<string, string, unknown>(
  'DecimalString',
  (u): u is string => typeof u === 'string' && /^\d+$/.test(u),
  (u, c) => (typeof u === 'string' && /^\d+$/.test(u) ? t.success(u) : t.failure(u, c, 'must be a decimal string')),
  t.identity,
);

export const EventMetadata = t.intersection(
  [
    t.type({ schemaVersion: t.number, actor: Actor }),
    t.partial({
      requestId: t.string,
      /** The id of the event that caused this one. */
      causationId: t.string,
      /** The id shared by every event of one chain of causes (the first event's id, or the request's). */
      correlationId: t.string,
      /** For controller writes: the log position whose state the controller decided on. */
      observedPosition: DecimalString,
      /** For controller writes: the controller's clock when it decided (RFC 3339). */
      decidedAt: t.string,
      /**
       * For controller writes: which decision this write carries out — the reconciler, the key
       * it reconciled, and a digest of every action it decided there — so a replay can re-run
       * the decision with today's code and compare (`kronicle replay rerun`).
       */
      decision: t.type({ controller: t.string, key: t.string, digest: t.string }),
      /**
       * For a user's write (an input from outside the control plane): the request as it came —
       * method, URL, content type and body (UTF-8, or base64 for binary bodies) — so a
       * re-simulation can send it again to today's code.
       */
      request: t.intersection([
        t.type({ method: t.string, url: t.string }),
        /**
         * `xRequestId`: the X-Request-Id the client sent (absent: the server made the request id).
         * `redacted`: the body is not kept (a Secret's: its values never go into the log in clear).
         */
        t.partial({ contentType: t.string, body: t.string, encoding: t.literal('base64'), xRequestId: t.string, redacted: t.literal(true) }),
      ]),
    }),
  ],
  'EventMetadata',
);
export type EventMetadata = t.TypeOf<typeof EventMetadata>;

/** A domain event as read from the log, with its envelope. */
export interface Recorded<E> {
  readonly id: string;
  readonly stream: string;
  readonly revision: bigint;
  readonly position: bigint;
  readonly recordedAt: Date;
  readonly event: E;
  readonly metadata: EventMetadata;
}

/** The part of the metadata a writer supplies; the schema version is filled in on encoding. */
export type WriteContext = Omit<EventMetadata, 'schemaVersion'>;

export const SYSTEM_ACTOR: Actor = { kind: 'system', name: 'system:kronicle', authMethod: 'in-process' };
export const controllerActor = (name: string): Actor => ({ kind: 'controller', name: `system:controller:${name}`, authMethod: 'in-process' });
export const nodeActor = (nodeName: string): Actor => ({ kind: 'node', name: `system:node:${nodeName}`, groups: ['system:nodes'], authMethod: 'in-process' });
