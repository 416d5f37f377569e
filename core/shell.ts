/**
 * The command shell: the one place that turns a command into appended events.
 *
 *   load the object's state  ->  decide(command, state, now)  ->  append with the expected revision
 *
 * Nothing else in Kronicle appends object events. A concurrent writer that appended first makes
 * the append fail with WrongExpectedVersion; the shell then reloads and decides again (the
 * decider re-checks any precondition the caller gave, such as a resourceVersion, so a stale
 * PUT still ends in Conflict, while a patch or a kubelet's status report simply goes through).
 */
import * as E from 'fp-ts/Either';
import { decide, evolveObject, initialState, type ObjectCommand, type ObjectState } from './deciders/object';
import type { Recorded, WriteContext } from './events/envelope';
import { streamOf, type ObjectKey } from './events/streams';
import { decodeEvent, encodeEvent, type ObjectEvent } from './events/types';
import type { Rejection } from './rejection';
import { WrongExpectedVersionError } from './store/errors';
import type { EventStore, EventToAppend, Position } from './store/port';

/** Where fresh ids come from: random in production, seeded in tests and simulations. */
export interface IdSource {
  uuid(): string;
}

export interface CommandContext {
  readonly now: Date;
  readonly ids: IdSource;
  /** Actor, request id, causation and correlation ids; observedPosition and decidedAt for controllers. */
  readonly write: WriteContext;
  /** Decide on the stream's state and answer with the outcome, appending nothing (`dryRun=All`). */
  readonly dryRun?: boolean;
}

export interface CommandResult {
  /** The events appended (empty when the command changed nothing). */
  readonly events: readonly Recorded<ObjectEvent>[];
  /** The object after the command (undefined once deleted). */
  readonly object: ObjectState['object'];
  /** The log position of the last event appended, or of the state read when nothing was appended. */
  readonly position: Position;
}

/** Loads an object's state; the default reads its stream. Projections may supply a cheaper one. */
export type StateLoader = (store: EventStore, key: ObjectKey) => Promise<ObjectState & { readonly position: Position }>;

const MAX_ATTEMPTS = 8;

/**
 * Commands on one stream from this process run one at a time, so writers in the same process
 * never race each other into WrongExpectedVersion retries (the retry storms of kubernetes#67761).
 * Writers in other processes (several API servers on one EventStoreDB) are still arbitrated by
 * the expected revision, with the retries below.
 */
const streamLocks = new WeakMap<EventStore, Map<string, Promise<unknown>>>();

async function serialised<T>(store: EventStore, stream: string, work: () => Promise<T>): Promise<T> {
  let locks = streamLocks.get(store);
  if (!locks) streamLocks.set(store, (locks = new Map()));
  const previous = locks.get(stream) ?? Promise.resolve();
  const run = previous.then(work, work);
  const tail = run.catch(() => undefined);
  locks.set(stream, tail);
  try {
    return await run;
  } finally {
    if (locks.get(stream) === tail) locks.delete(stream);
  }
}

export async function loadFromStream(store: EventStore, key: ObjectKey): Promise<ObjectState & { position: Position }> {
  const stream = streamOf(key);
  let state = initialState();
  let position = 0n;
  let from = 0n;
  for (;;) {
    const page = await store.readStream(stream, { fromRevision: from, maxCount: 1024 });
    for (const stored of page) {
      const decoded = decodeEvent(stored);
      if (E.isLeft(decoded)) throw decoded.left;
      state = { object: evolveObject(state.object, decoded.right), revision: stored.revision };
      position = stored.position;
    }
    if (page.length < 1024) return { ...state, position };
    from = page[page.length - 1].revision + 1n;
  }
}

export async function handleCommand(
  store: EventStore,
  key: ObjectKey,
  command: ObjectCommand,
  ctx: CommandContext,
  load: StateLoader = loadFromStream,
): Promise<E.Either<Rejection, CommandResult>> {
  const stream = streamOf(key);
  return serialised(store, stream, () => decideAndAppend(store, key, stream, command, ctx, load));
}

async function decideAndAppend(
  store: EventStore,
  key: ObjectKey,
  stream: string,
  command: ObjectCommand,
  ctx: CommandContext,
  load: StateLoader,
): Promise<E.Either<Rejection, CommandResult>> {
  const uid = ctx.ids.uuid();
  // A loader other than the stream's (a projection) is a hint: a decision that appends is
  // checked by the expected revision, but a refusal or a no-op is only trusted from the stream.
  let loader = load;
  for (let attempt = 1; ; attempt++) {
    const state = await loader(store, key);
    const decision = decide(key.kind, command, state, { now: ctx.now, uid });
    const appends = E.isRight(decision) && decision.right.length > 0;
    if (!appends && loader !== loadFromStream) {
      loader = loadFromStream;
      continue;
    }
    if (E.isLeft(decision)) return decision;
    const events = decision.right;
    if (events.length === 0) return E.right({ events: [], object: state.object, position: state.position });
    const proposed: EventToAppend[] = events.map((e) => encodeEvent(e, ctx.ids.uuid(), ctx.write));
    if (ctx.dryRun) {
      if (loader !== loadFromStream) {
        loader = loadFromStream;
        continue;
      }
      const { object } = recordResult(stream, state, proposed, events, state.revision + BigInt(events.length), state.position, ctx);
      return E.right({ events: [], object, position: state.position });
    }
    try {
      const result = await store.append(stream, proposed, state.revision < 0n ? 'no_stream' : state.revision);
      return E.right(recordResult(stream, state, proposed, events, result.nextExpectedRevision, result.position, ctx));
    } catch (err) {
      if (err instanceof WrongExpectedVersionError && attempt < MAX_ATTEMPTS) {
        loader = loadFromStream;
        continue;
      }
      throw err;
    }
  }
}

/**
 * The recorded form of what was just appended. Positions are known for the last event; earlier
 * events of the same append get positions counted back from it, which holds for the embedded
 * stores (consecutive row ids). Callers that need exact positions of multi-event appends on
 * EventStoreDB read the stream back.
 */
function recordResult(
  stream: string,
  state: ObjectState,
  proposed: readonly EventToAppend[],
  events: readonly ObjectEvent[],
  lastRevision: bigint,
  lastPosition: Position,
  ctx: CommandContext,
): CommandResult {
  const n = events.length;
  let object = state.object;
  const recorded: Recorded<ObjectEvent>[] = events.map((event, i) => {
    const rec: Recorded<ObjectEvent> = {
      id: proposed[i].id,
      stream,
      revision: lastRevision - BigInt(n - 1 - i),
      position: lastPosition - BigInt(n - 1 - i),
      recordedAt: ctx.now,
      event,
      metadata: proposed[i].metadata as unknown as Recorded<ObjectEvent>['metadata'],
    };
    object = evolveObject(object, rec);
    return rec;
  });
  return { events: recorded, object, position: lastPosition };
}

