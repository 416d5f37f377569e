/**
 * What every adapter does the same way: checking a proposed append, the expected-revision rule,
 * idempotent retries, and the catch-up-then-live subscription pump.
 * Internal to core/store: not re-exported.
 */
import { Observable, type Subscribable } from 'rxjs';
import { InvalidEventError, StoreCorruptError } from './errors';
import type { EncodedEvent } from './appendRules';
import type { EventToAppend, ExpectedRevision, JsonObject, JsonValue, Position, RawEvent, StoredEvent } from './port';

export { NO_STREAM_REVISION, expectationHolds, resolveRetry, wrongExpectedVersion } from './appendRules';
export type { EncodedEvent, RecordedId } from './appendRules';

/** Kubernetes' etcd request limit is 1.5 MiB; an object event carries one object and its envelope. */
export const DEFAULT_MAX_EVENT_BYTES = 1_572_864;
export const MAX_STREAM_NAME_BYTES = 1024;
export const MAX_EVENT_TYPE_LENGTH = 256;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

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
  // The common case, a valid value, is checked by a lean walk with no paths or allocations;
  // only a value that fails it is walked again to say where and why.
  if (isPlainJson(value, 0)) return JSON.stringify(value);
  describeInvalidJson(value, what);
  throw new InvalidEventError('InvalidJson', `${what} is not JSON`);
}

/** Deeper than this is refused: a cycle, or a payload no Kubernetes object needs. */
const MAX_JSON_DEPTH = 512;

function isPlainJson(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v);
    case 'object': {
      if (v === null) return true;
      if (depth > MAX_JSON_DEPTH) return false;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!isPlainJson(v[i], depth + 1)) return false;
        return true;
      }
      if (!isPlainPrototype(Object.getPrototypeOf(v))) return false;
      for (const k in v) {
        const item = (v as Record<string, unknown>)[k];
        if (item !== undefined && !isPlainJson(item, depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/**
 * A plain object's prototype: this realm's Object.prototype, none, or another realm's
 * Object.prototype (structuredClone and vm contexts, as under jest, make those).
 */
function isPlainPrototype(proto: object | null): boolean {
  return proto === Object.prototype || proto === null || (Object.getPrototypeOf(proto) === null && (proto as { constructor?: { name?: string } }).constructor?.name === 'Object');
}

/** Throws an InvalidEventError naming the first place a value is not JSON. */
function describeInvalidJson(value: unknown, what: string): void {
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
          if (!isPlainPrototype(proto)) {
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
  throw new InvalidEventError('InvalidJson', `${what} is nested more than ${MAX_JSON_DEPTH} levels deep`);
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
  const ids = events.length > 1 ? new Set<string>() : undefined;
  return events.map((e, i) => {
    const id = typeof e?.id === 'string' ? e.id.toLowerCase() : undefined;
    if (id === undefined || !UUID.test(id)) {
      throw new InvalidEventError('InvalidEventId', `event ${i}: id must be a UUID`);
    }
    if (ids) {
      if (ids.has(id)) throw new InvalidEventError('DuplicateEventId', `event ${i}: id ${id} appears twice in one append`);
      ids.add(id);
    }
    if (typeof e.type !== 'string' || e.type.length === 0 || e.type.length > MAX_EVENT_TYPE_LENGTH || CONTROL.test(e.type) || e.type.startsWith('$')) {
      throw new InvalidEventError('InvalidEventType', `event ${i}: type must be 1-${MAX_EVENT_TYPE_LENGTH} printable characters not starting with "$"`);
    }
    if (e.metadata === null || typeof e.metadata !== 'object' || Array.isArray(e.metadata)) {
      throw new InvalidEventError('InvalidJson', `event ${i}: metadata must be a JSON object`);
    }
    if (e.data === undefined) throw new InvalidEventError('InvalidJson', `event ${i}: data is missing`);
    const data = encodeJson(e.data, `event ${i}: data`);
    const metadata = encodeJson(e.metadata, `event ${i}: metadata`);
    // A UTF-16 unit is at most 3 bytes of UTF-8: most events need no count.
    const size = (data.length + metadata.length) * 3 <= maxEventBytes ? 0 : Buffer.byteLength(data, 'utf8') + Buffer.byteLength(metadata, 'utf8');
    if (size > maxEventBytes) {
      throw new InvalidEventError('EventTooLarge', `event ${i}: ${size} bytes is more than the limit of ${maxEventBytes} bytes`);
    }
    return { id, type: e.type, data, metadata };
  });
}

export function checkExpectedRevision(expected: unknown): asserts expected is ExpectedRevision {
  if (expected === 'any' || expected === 'no_stream' || expected === 'stream_exists') return;
  if (typeof expected === 'bigint' && expected >= 0n) return;
  throw new InvalidEventError('InvalidJson', `expected revision must be "any", "no_stream", "stream_exists" or a revision >= 0, not ${String(expected)}`);
}

export const parseMetadata = (text: string): JsonObject => JSON.parse(text) as JsonObject;

/** A stored event's JSON text parsed; text that is not JSON is a StoreCorruptError naming the event. */
export function parseStored(text: string, part: 'data' | 'metadata', id: string, position: Position): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    throw new StoreCorruptError(
      id,
      position,
      `event ${id} at position ${position}: its ${part} is not JSON (${(err as Error).message}); the log was changed outside Kronicle or damaged (kronicle verify finds where)`,
    );
  }
}

/** A raw event decoded: its payload and metadata parsed (a StoreCorruptError if either is not JSON). */
export function decodeRaw(e: RawEvent): StoredEvent {
  return {
    id: e.id,
    type: e.type,
    stream: e.stream,
    revision: e.revision,
    position: e.position,
    recordedAt: new Date(Number(e.recordedAt)),
    data: parseStored(e.data, 'data', e.id, e.position),
    metadata: parseStored(e.metadata, 'metadata', e.id, e.position) as JsonObject,
  };
}

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
