/**
 * What every adapter does the same way: checking a proposed append, the expected-revision rule,
 * idempotent retries, and the catch-up-then-live subscription pump.
 * Internal to core/store: not re-exported.
 */
import { Observable, type Subscribable } from 'rxjs';
import { InvalidEventError, WrongExpectedVersionError } from './errors';
import type { AppendResult, EventToAppend, ExpectedRevision, JsonObject, Position, Revision, StoredEvent } from './port';

/** Kubernetes' etcd request limit is 1.5 MiB; an object event carries one object and its envelope. */
export const DEFAULT_MAX_EVENT_BYTES = 1_572_864;
export const MAX_STREAM_NAME_BYTES = 1024;
export const MAX_EVENT_TYPE_LENGTH = 256;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A proposed event after checking: ids normalised, JSON serialised once. */
export interface EncodedEvent {
  readonly id: string;
  readonly type: string;
  readonly data: string;
  readonly metadata: string;
}

export function checkStreamName(stream: unknown): asserts stream is string {
  if (typeof stream !== 'string' || stream.length === 0) {
    throw new InvalidEventError('InvalidStreamName', 'stream name must be a non-empty string');
  }
  if (stream.startsWith('$')) {
    throw new InvalidEventError('InvalidStreamName', `stream name "${stream}" is reserved: names starting with "$" are system streams`);
  }
  if (CONTROL.test(stream)) {
    throw new InvalidEventError('InvalidStreamName', 'stream name must not contain control characters');
  }
  if (Buffer.byteLength(stream, 'utf8') > MAX_STREAM_NAME_BYTES) {
    throw new InvalidEventError('InvalidStreamName', `stream name is longer than ${MAX_STREAM_NAME_BYTES} bytes`);
  }
}

/**
 * Serialises a value that must be JSON, rejecting what JSON.stringify would silently change
 * (undefined values other than absent properties, functions, symbols, bigints, NaN and
 * Infinity, class instances such as Date, cycles), so that what is read back is exactly what
 * was appended.
 */
export function encodeJson(value: unknown, what: string): string {
  const seen = new Set<object>();
  const check = (v: unknown, path: string): void => {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return;
      case 'number':
        if (!Number.isFinite(v)) throw new InvalidEventError('InvalidJson', `${what}${path} is ${v}, which JSON cannot carry`);
        return;
      case 'object': {
        if (v === null) return;
        if (seen.has(v)) throw new InvalidEventError('InvalidJson', `${what}${path} is circular`);
        seen.add(v);
        if (Array.isArray(v)) {
          v.forEach((item, i) => check(item, `${path}[${i}]`));
        } else {
          const proto = Object.getPrototypeOf(v);
          if (proto !== Object.prototype && proto !== null) {
            throw new InvalidEventError('InvalidJson', `${what}${path} is a ${proto?.constructor?.name ?? 'non-plain'} object, not JSON`);
          }
          // An undefined property is an absent one, in JSON and when read back: allowed.
          for (const [k, item] of Object.entries(v)) if (item !== undefined) check(item, `${path}.${k}`);
        }
        seen.delete(v);
        return;
      }
      default:
        throw new InvalidEventError('InvalidJson', `${what}${path} is ${typeof v}, not JSON`);
    }
  };
  check(value, '');
  return JSON.stringify(value);
}

/** Checks and serialises an append request; throws InvalidEventError and writes nothing. */
export function encodeAppend(
  stream: string,
  events: readonly EventToAppend[],
  maxEventBytes: number,
): EncodedEvent[] {
  checkStreamName(stream);
  if (!Array.isArray(events) || events.length === 0) {
    throw new InvalidEventError('EmptyAppend', 'an append needs at least one event');
  }
  const ids = new Set<string>();
  return events.map((e, i) => {
    if (typeof e?.id !== 'string' || !UUID.test(e.id.toLowerCase())) {
      throw new InvalidEventError('InvalidEventId', `event ${i}: id must be a UUID`);
    }
    const id = e.id.toLowerCase();
    if (ids.has(id)) throw new InvalidEventError('DuplicateEventId', `event ${i}: id ${id} appears twice in one append`);
    ids.add(id);
    if (typeof e.type !== 'string' || e.type.length === 0 || e.type.length > MAX_EVENT_TYPE_LENGTH || CONTROL.test(e.type) || e.type.startsWith('$')) {
      throw new InvalidEventError('InvalidEventType', `event ${i}: type must be 1-${MAX_EVENT_TYPE_LENGTH} printable characters not starting with "$"`);
    }
    if (e.metadata === null || typeof e.metadata !== 'object' || Array.isArray(e.metadata)) {
      throw new InvalidEventError('InvalidJson', `event ${i}: metadata must be a JSON object`);
    }
    if (e.data === undefined) throw new InvalidEventError('InvalidJson', `event ${i}: data is missing`);
    const data = encodeJson(e.data, `event ${i}: data`);
    const metadata = encodeJson(e.metadata, `event ${i}: metadata`);
    const size = Buffer.byteLength(data, 'utf8') + Buffer.byteLength(metadata, 'utf8');
    if (size > maxEventBytes) {
      throw new InvalidEventError('EventTooLarge', `event ${i}: ${size} bytes is more than the limit of ${maxEventBytes} bytes`);
    }
    return { id, type: e.type, data, metadata };
  });
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

export function checkExpectedRevision(expected: unknown): asserts expected is ExpectedRevision {
  if (expected === 'any' || expected === 'no_stream' || expected === 'stream_exists') return;
  if (typeof expected === 'bigint' && expected >= 0n) return;
  throw new InvalidEventError('InvalidJson', `expected revision must be "any", "no_stream", "stream_exists" or a revision >= 0, not ${String(expected)}`);
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

export const parseMetadata = (text: string): JsonObject => JSON.parse(text) as JsonObject;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * The catch-up-then-live subscription for stores that can read "the next events after P".
 * The pump pulls a page after its cursor, hands it to the subscriber and repeats; once a short
 * page shows it has caught up it sleeps until `appended` signals a new head. Because every read
 * starts after the last position delivered, there is no gap and no duplicate however appends
 * race the switch to live, and at most one page is held whatever the consumer's speed.
 */
export function pullSubscription(
  from: Position,
  readAfter: (after: Position, limit: number) => readonly StoredEvent[] | Promise<readonly StoredEvent[]>,
  appended: Subscribable<unknown>,
  pageSize = 512,
): Observable<StoredEvent> {
  return new Observable<StoredEvent>((subscriber) => {
    let cursor = from;
    let running = false;
    let again = false;
    const pump = async (): Promise<void> => {
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        for (;;) {
          again = false;
          const page = await readAfter(cursor, pageSize);
          for (const event of page) {
            if (subscriber.closed) return;
            subscriber.next(event);
            cursor = event.position;
          }
          if (subscriber.closed) return;
          if (page.length < pageSize && !again) return;
          await yieldToEventLoop();
        }
      } catch (err) {
        subscriber.error(err);
      } finally {
        running = false;
      }
    };
    // The store closing ends the subscription cleanly.
    const live = appended.subscribe({ next: () => void pump(), complete: () => subscriber.complete() });
    void pump();
    return () => live.unsubscribe();
  });
}
