/**
 * The rules every adapter applies to an append: the expected-revision check and idempotent
 * retries. Pure: no I/O, no RxJS.
 */
import { InvalidEventError, WrongExpectedVersionError } from './errors';
import type { AppendResult, ExpectedRevision, Position, Revision } from './port';

/** A proposed event after checking: ids normalised, JSON serialised once. */
export interface EncodedEvent {
  readonly id: string;
  readonly type: string;
  readonly data: string;
  readonly metadata: string;
}

/** -1n stands for "no stream". */
export const NO_STREAM_REVISION = -1n;

export function expectationHolds(expected: ExpectedRevision, current: Revision): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return current === NO_STREAM_REVISION;
    case 'stream_exists':
      return current > NO_STREAM_REVISION;
    default:
      return current === expected;
  }
}

export function wrongExpectedVersion(stream: string, expected: ExpectedRevision, current: Revision): WrongExpectedVersionError {
  return new WrongExpectedVersionError(stream, expected, current === NO_STREAM_REVISION ? 'no_stream' : current);
}

export interface RecordedId {
  readonly stream: string;
  readonly revision: Revision;
  readonly position: Position;
}

/**
 * Idempotent retries: when the first event id of an append is already in the log, the append is
 * a retry of a request that was written. It is answered with the original result if every id
 * matches, in order, in the same stream, and the expectation held for the original write;
 * otherwise it is an error and nothing is written. Returns undefined for a new append.
 */
export function resolveRetry(
  stream: string,
  events: readonly EncodedEvent[],
  expected: ExpectedRevision,
  lookup: (id: string) => RecordedId | undefined,
): AppendResult | undefined {
  const recorded = events.map((e) => lookup(e.id));
  const first = recorded[0];
  if (first === undefined) {
    const clash = recorded.findIndex((r) => r !== undefined);
    if (clash >= 0) throw new InvalidEventError('DuplicateEventId', `event ${clash}: id ${events[clash].id} is already in the log`);
    return undefined;
  }
  recorded.forEach((r, i) => {
    if (r === undefined || r.stream !== stream || r.revision !== first.revision + BigInt(i)) {
      throw new InvalidEventError('DuplicateEventId', `event ${i}: id ${events[i].id} is already in the log, in another write`);
    }
  });
  const before = first.revision - 1n;
  if (!expectationHolds(expected, before)) throw wrongExpectedVersion(stream, expected, before);
  const last = recorded[recorded.length - 1] as RecordedId;
  return { nextExpectedRevision: last.revision, position: last.position };
}

