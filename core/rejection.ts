/**
 * Domain rejections: a command the decider refuses, with a Kubernetes reason. These are data
 * (returned in an Either), never thrown; `api/` maps them to Status objects and HTTP codes.
 */
import type { FieldError } from './validation';

export type RejectionReason =
  | 'AlreadyExists'
  | 'NotFound'
  | 'Conflict'
  | 'Invalid'
  | 'Forbidden'
  | 'BadRequest'
  | 'MethodNotAllowed';

export interface Rejection {
  readonly reason: RejectionReason;
  readonly message: string;
  /** The resource ("pods", "leases.coordination.k8s.io") and name the rejection is about. */
  readonly resource?: string;
  readonly name?: string;
  readonly causes?: readonly FieldError[];
}

export const rejection = (reason: RejectionReason, message: string, details: Omit<Rejection, 'reason' | 'message'> = {}): Rejection => ({
  reason,
  message,
  ...details,
});
