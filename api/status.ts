/**
 * Kubernetes Status objects: every failure the API answers is one of these, with the reason and
 * code kubectl and client-node expect (see shared/reference/kubernetes-wire.md §4).
 */
import type { Response } from 'express';
import type { Rejection, RejectionReason } from '../core/rejection';
import type { FieldError } from '../core/validation';

export type StatusReason =
  | RejectionReason
  | 'Expired'
  | 'Gone'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'NotAcceptable'
  | 'ServiceUnavailable'
  | 'Timeout'
  | 'InternalError'
  | 'Unauthorized';

const CODES: Record<StatusReason, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  AlreadyExists: 409,
  Conflict: 409,
  Gone: 410,
  Expired: 410,
  RequestEntityTooLarge: 413,
  UnsupportedMediaType: 415,
  Invalid: 422,
  InternalError: 500,
  ServiceUnavailable: 503,
  Timeout: 504,
};

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly causes?: ReadonlyArray<{ readonly reason: string; readonly message: string; readonly field: string }>;
}

export interface StatusBody {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Failure' | 'Success';
  readonly message: string;
  readonly reason: StatusReason;
  readonly details?: StatusDetails;
  readonly code: number;
}

export function statusBody(reason: StatusReason, message: string, details?: StatusDetails): StatusBody {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code: CODES[reason] };
}

export function sendStatus(res: Response, reason: StatusReason, message: string, details?: StatusDetails): void {
  const body = statusBody(reason, message, details);
  res.status(body.code).type('application/json').send(JSON.stringify(body));
}

export const causesOf = (errors: readonly FieldError[]) => errors.map((e) => ({ reason: e.type, message: e.message, field: e.field }));

/** A 422 in Kubernetes' words: `Pod "x" is invalid: field: message, field: message`. */
export function invalidStatus(kind: string, name: string, errors: readonly FieldError[]): StatusBody {
  const list = errors.map((e) => `${e.field}: ${e.message}`);
  const message = `${kind} "${name}" is invalid: ${list.length === 1 ? list[0] : `[${list.join(', ')}]`}`;
  return statusBody('Invalid', message, { name, kind, causes: causesOf(errors) });
}

export function rejectionStatus(r: Rejection, kind: string): StatusBody {
  if (r.reason === 'Invalid' && r.causes) {
    return statusBody('Invalid', r.message, { name: r.name, kind, causes: causesOf(r.causes) });
  }
  return statusBody(r.reason, r.message, r.name !== undefined || r.resource !== undefined ? { name: r.name, kind: r.resource } : undefined);
}

export function send(res: Response, body: StatusBody): void {
  res.status(body.code).type('application/json').send(JSON.stringify(body));
}
