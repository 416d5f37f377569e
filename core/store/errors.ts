/**
 * Typed store errors. Every adapter translates its vendor's errors (SQLite, gRPC) into these,
 * so callers can branch on `code` without knowing which store they talk to.
 */
import type { ExpectedRevision, Revision } from './port';

export type StoreErrorCode =
  | 'WrongExpectedVersion'
  | 'InvalidEvent'
  | 'StoreUnavailable'
  | 'StoreLocked'
  | 'StoreIncompatible'
  | 'StoreCorrupt'
  | 'StoreClosed';

export abstract class StoreError extends Error {
  abstract readonly code: StoreErrorCode;
}

export class WrongExpectedVersionError extends StoreError {
  readonly code = 'WrongExpectedVersion' as const;
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    readonly actual: Revision | 'no_stream',
  ) {
    super(`wrong expected version for stream "${stream}": expected ${String(expected)}, actual ${String(actual)}`);
    this.name = 'WrongExpectedVersionError';
  }
}

export type InvalidEventReason =
  | 'InvalidStreamName'
  | 'InvalidEventId'
  | 'InvalidEventType'
  | 'InvalidJson'
  | 'EventTooLarge'
  | 'EmptyAppend'
  | 'DuplicateEventId';

/** The request itself is wrong; retrying it unchanged fails the same way. Nothing was written. */
export class InvalidEventError extends StoreError {
  readonly code = 'InvalidEvent' as const;
  constructor(
    readonly reason: InvalidEventReason,
    message: string,
  ) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

/** The store cannot be reached or failed transiently; the same call may succeed later. */
export class StoreUnavailableError extends StoreError {
  readonly code = 'StoreUnavailable' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** Another process holds the data directory. */
export class StoreLockedError extends StoreError {
  readonly code = 'StoreLocked' as const;
  constructor(message: string) {
    super(message);
    this.name = 'StoreLockedError';
  }
}

/** The stored log was written by an incompatible (newer) schema, or is not a Kronicle log. */
export class StoreIncompatibleError extends StoreError {
  readonly code = 'StoreIncompatible' as const;
  constructor(message: string) {
    super(message);
    this.name = 'StoreIncompatibleError';
  }
}

/**
 * A stored event cannot be read back: its text is not JSON. Only a log changed outside Kronicle
 * (or a damaged disk) has one; `kronicle verify` says where the log stops matching its chain.
 */
export class StoreCorruptError extends StoreError {
  readonly code = 'StoreCorrupt' as const;
  constructor(
    readonly eventId: string,
    readonly position: bigint,
    message: string,
  ) {
    super(message);
    this.name = 'StoreCorruptError';
  }
}

export class StoreClosedError extends StoreError {
  readonly code = 'StoreClosed' as const;
  constructor(description: string) {
    super(`store ${description} is closed`);
    this.name = 'StoreClosedError';
  }
}

export const isStoreError = (e: unknown): e is StoreError => e instanceof StoreError;
