/**
 * The EventStore contract, run against every adapter (memory, sqlite, esdb). An adapter that
 * passes this suite can back Kronicle; see core/store/port.ts for the contract in prose.
 */
import { randomUUID } from 'node:crypto';
import { firstValueFrom, take, toArray } from 'rxjs';
import type { EventStore, EventToAppend, JsonValue, StoredEvent } from '../../core/store/port';
import { InvalidEventError, WrongExpectedVersionError } from '../../core/store/errors';

export interface StoreHarness {
  readonly store: EventStore;
  /** Closes the store and removes what it left behind. */
  readonly dispose: () => Promise<void>;
}

const ev = (type = 'Tested', data: JsonValue = { n: 1 }, id: string = randomUUID()): EventToAppend => ({
  id,
  type,
  data,
  metadata: { actor: 'conformance' },
});

let counter = 0;
const uniqueStream = (prefix = 'test') => `${prefix}-${Date.now().toString(36)}-${++counter}`;

export interface ConformanceOptions {
  /** Appends racing the switch to live (the gRPC path is slower, so esdb runs fewer). */
  readonly raceAppends?: number;
  /**
   * Whether an event id already used in another write is refused. The embedded stores keep ids
   * unique across the whole log; EventStoreDB checks idempotency per stream only, so the esdb
   * adapter inherits its rule (Kronicle's ids are random UUIDs, so only a bug reuses one).
   */
  readonly idsUniqueAcrossLog?: boolean;
}

export function eventStoreConformance(name: string, open: () => Promise<StoreHarness>, options: ConformanceOptions = {}): void {
  describe(`EventStore conformance: ${name}`, () => {
    let h: StoreHarness;
    let store: EventStore;
    beforeEach(async () => {
      h = await open();
      store = h.store;
    });
    afterEach(async () => {
      await h.dispose();
    });

    describe('append and read back', () => {
      it('writes the first event of a new stream at revision 0 and reads it back unchanged', async () => {
        const s = uniqueStream();
        const data = { text: 'héllo ✓ 𝄞', nested: { list: [1, 2.5, -3, true, null, 'x'] }, empty: {}, big: 9007199254740991 };
        const e = { id: randomUUID(), type: 'PodCreated', data, metadata: { actor: 'alice', correlationId: 'c-1' } };
        const result = await store.append(s, [e], 'no_stream');
        expect(result.nextExpectedRevision).toBe(0n);
        expect(result.position).toBeGreaterThan(0n);
        const read = await store.readStream(s);
        expect(read).toHaveLength(1);
        expect(read[0]).toMatchObject({ id: e.id, type: 'PodCreated', stream: s, revision: 0n, position: result.position, data, metadata: e.metadata });
        expect(read[0].recordedAt).toBeInstanceOf(Date);
        expect(Number.isNaN(read[0].recordedAt.getTime())).toBe(false);
      });

      it('gives the events of one append consecutive revisions and increasing positions', async () => {
        const s = uniqueStream();
        await store.append(s, [ev()], 'no_stream');
        const result = await store.append(s, [ev('A'), ev('B'), ev('C')], 0n);
        expect(result.nextExpectedRevision).toBe(3n);
        const read = await store.readStream(s);
        expect(read.map((e) => e.revision)).toEqual([0n, 1n, 2n, 3n]);
        expect(read.map((e) => e.type)).toEqual(['Tested', 'A', 'B', 'C']);
        for (let i = 1; i < read.length; i++) expect(read[i].position).toBeGreaterThan(read[i - 1].position);
        expect(read[3].position).toBe(result.position);
      });

      it('reads an absent stream as empty', async () => {
        expect(await store.readStream(uniqueStream('absent'))).toEqual([]);
      });

      it('orders positions across streams in append order', async () => {
        const a = uniqueStream('a');
        const b = uniqueStream('b');
        const r1 = await store.append(a, [ev()], 'any');
        const r2 = await store.append(b, [ev()], 'any');
        const r3 = await store.append(a, [ev()], 'any');
        expect(r2.position).toBeGreaterThan(r1.position);
        expect(r3.position).toBeGreaterThan(r2.position);
        expect(await store.headPosition()).toBe(r3.position);
      });
    });

    describe('expected revision', () => {
      it('accepts "any" on a new and on an existing stream', async () => {
        const s = uniqueStream();
        expect((await store.append(s, [ev()], 'any')).nextExpectedRevision).toBe(0n);
        expect((await store.append(s, [ev()], 'any')).nextExpectedRevision).toBe(1n);
      });

      it('rejects "no_stream" on an existing stream with the actual revision', async () => {
        const s = uniqueStream();
        await store.append(s, [ev()], 'no_stream');
        const err = await store.append(s, [ev()], 'no_stream').catch((e) => e);
        expect(err).toBeInstanceOf(WrongExpectedVersionError);
        expect(err).toMatchObject({ code: 'WrongExpectedVersion', stream: s, expected: 'no_stream', actual: 0n });
      });

      it('rejects "stream_exists" on a new stream and accepts it on an existing one', async () => {
        const s = uniqueStream();
        const err = await store.append(s, [ev()], 'stream_exists').catch((e) => e);
        expect(err).toBeInstanceOf(WrongExpectedVersionError);
        expect(err.actual).toBe('no_stream');
        await store.append(s, [ev()], 'any');
        expect((await store.append(s, [ev()], 'stream_exists')).nextExpectedRevision).toBe(1n);
      });

      it('accepts an exact revision only when it is the current one', async () => {
        const s = uniqueStream();
        await store.append(s, [ev(), ev()], 'no_stream');
        await expect(store.append(s, [ev()], 0n)).rejects.toMatchObject({ code: 'WrongExpectedVersion', actual: 1n });
        await expect(store.append(s, [ev()], 2n)).rejects.toBeInstanceOf(WrongExpectedVersionError);
        expect((await store.append(s, [ev()], 1n)).nextExpectedRevision).toBe(2n);
        const err = await store.append(uniqueStream(), [ev()], 0n).catch((e) => e);
        expect(err).toMatchObject({ code: 'WrongExpectedVersion', actual: 'no_stream' });
      });

      it('writes nothing when the expectation fails', async () => {
        const s = uniqueStream();
        await store.append(s, [ev()], 'no_stream');
        const head = await store.headPosition();
        await expect(store.append(s, [ev(), ev()], 5n)).rejects.toBeInstanceOf(WrongExpectedVersionError);
        expect(await store.headPosition()).toBe(head);
        expect(await store.readStream(s)).toHaveLength(1);
      });

      it('lets exactly one of 32 concurrent appenders win each revision', async () => {
        const s = uniqueStream('race');
        await store.append(s, [ev()], 'no_stream');
        for (let round = 0; round < 5; round++) {
          const current = BigInt(round);
          const outcomes = await Promise.allSettled(
            Array.from({ length: 32 }, (_, i) => store.append(s, [ev('Raced', { round, i })], current)),
          );
          const won = outcomes.filter((o) => o.status === 'fulfilled');
          const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
          expect(won).toHaveLength(1);
          expect(lost).toHaveLength(31);
          for (const l of lost) expect(l.reason).toBeInstanceOf(WrongExpectedVersionError);
        }
        const read = await store.readStream(s);
        expect(read.map((e) => e.revision)).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
      });
    });

    describe('idempotent retries', () => {
      it('answers a retry with the same ids and expectation with the original result, writing nothing', async () => {
        const s = uniqueStream();
        const events = [ev('A'), ev('B')];
        const first = await store.append(s, events, 'no_stream');
        const head = await store.headPosition();
        const again = await store.append(s, events, 'no_stream');
        expect(again).toEqual(first);
        expect(await store.headPosition()).toBe(head);
        expect(await store.readStream(s)).toHaveLength(2);
      });

      it('treats a retried exact-revision and "any" append as the same write', async () => {
        const s = uniqueStream();
        await store.append(s, [ev()], 'no_stream');
        const e = [ev('Next')];
        const first = await store.append(s, e, 0n);
        await store.append(s, [ev('Later')], 1n);
        expect(await store.append(s, e, 0n)).toEqual(first);
        expect(await store.append(s, e, 'any')).toEqual(first);
        expect(await store.readStream(s)).toHaveLength(3);
      });

      if (options.idsUniqueAcrossLog === false) {
        it('checks event ids per stream, as EventStoreDB does', async () => {
          const used = ev();
          await store.append(uniqueStream(), [used], 'no_stream');
          const other = uniqueStream();
          expect((await store.append(other, [used], 'any')).nextExpectedRevision).toBe(0n);
          expect(await store.readStream(other)).toHaveLength(1);
        });
        return;
      }
      it('refuses an event id that is already in the log in another write', async () => {
        const s = uniqueStream();
        const used = ev();
        await store.append(s, [used], 'no_stream');
        const existing = uniqueStream();
        await store.append(existing, [ev()], 'no_stream');
        const head = await store.headPosition();
        await expect(store.append(uniqueStream(), [used], 'any')).rejects.toMatchObject({ code: 'InvalidEvent', reason: 'DuplicateEventId' });
        // One event to a stream that exists (the sqlite store's quick path: no lookup before the insert).
        await expect(store.append(existing, [used], 'any')).rejects.toMatchObject({ code: 'InvalidEvent', reason: 'DuplicateEventId' });
        await expect(store.append(existing, [used], 0n)).rejects.toMatchObject({ code: 'InvalidEvent', reason: 'DuplicateEventId' });
        await expect(store.append(s, [ev(), used], 'any')).rejects.toMatchObject({ code: 'InvalidEvent', reason: 'DuplicateEventId' });
        expect(await store.headPosition()).toBe(head);
      });

      it('sees ids written by appends made at the same moment (one group commit)', async () => {
        const [a, b] = [uniqueStream(), uniqueStream()];
        await store.append(a, [ev()], 'no_stream');
        await store.append(b, [ev()], 'no_stream');
        const twice = ev();
        const [first, retry, elsewhere] = await Promise.allSettled([store.append(a, [twice], 'any'), store.append(a, [twice], 'any'), store.append(b, [twice], 'any')]);
        expect(first).toMatchObject({ status: 'fulfilled', value: { nextExpectedRevision: 1n } });
        expect(retry).toEqual(first);
        expect(elsewhere).toMatchObject({ status: 'rejected', reason: { code: 'InvalidEvent', reason: 'DuplicateEventId' } });
        expect(await store.readStream(a)).toHaveLength(2);
      });
    });

    describe('reading the log', () => {
      const seed = async (n: number) => {
        const s = uniqueStream('log');
        const positions: bigint[] = [];
        for (let i = 0; i < n; i++) positions.push((await store.append(s, [ev('Seq', { i })], 'any')).position);
        return positions;
      };

      it('reads forwards inclusive of "from" and of "to"', async () => {
        const p = await seed(6);
        const read = await store.readAll({ from: p[1], to: p[4] });
        expect(read.map((e) => e.position)).toEqual(p.slice(1, 5));
      });

      it('reads backwards exclusive of "from", inclusive of "to"', async () => {
        const p = await seed(6);
        const read = await store.readAll({ direction: 'backwards', from: p[4], to: p[1] });
        expect(read.map((e) => e.position)).toEqual([p[3], p[2], p[1]]);
        const fromEnd = await store.readAll({ direction: 'backwards', maxCount: 2 });
        expect(fromEnd.map((e) => e.position)).toEqual([p[5], p[4]]);
      });

      it('honours maxCount and reads from the start by default', async () => {
        const p = await seed(5);
        const all = await store.readAll({ maxCount: 100000 });
        expect(all.slice(-5).map((e) => e.position)).toEqual(p);
        expect(await store.readAll({ from: p[0], maxCount: 2 })).toHaveLength(2);
      });

      it('reads one stream from a revision, forwards and backwards', async () => {
        const s = uniqueStream();
        await store.append(s, [ev('A'), ev('B'), ev('C'), ev('D')], 'no_stream');
        expect((await store.readStream(s, { fromRevision: 2n })).map((e) => e.type)).toEqual(['C', 'D']);
        expect((await store.readStream(s, { direction: 'backwards' })).map((e) => e.type)).toEqual(['D', 'C', 'B', 'A']);
        expect((await store.readStream(s, { direction: 'backwards', fromRevision: 2n, maxCount: 2 })).map((e) => e.type)).toEqual(['C', 'B']);
        expect((await store.readStream(s, { maxCount: 1 })).map((e) => e.type)).toEqual(['A']);
      });

      it('finds an event by its id, where the store indexes ids', async () => {
        if (!store.positionOfEvent) return expect(store.description).toMatch(/^esdb/);
        const s = uniqueStream();
        const [a, b] = [ev('A'), ev('B')];
        const r = await store.append(s, [a, b], 'no_stream');
        expect(await store.positionOfEvent(b.id)).toBe(r.position);
        expect(await store.positionOfEvent(a.id.toUpperCase())).toBe(r.position - 1n);
        expect(await store.positionOfEvent(randomUUID())).toBeUndefined();
      });
    });

    describe('subscribeAll', () => {
      it('delivers events after "from" (exclusive), then live ones', async () => {
        const s = uniqueStream('sub');
        const r1 = await store.append(s, [ev('One')], 'any');
        const r2 = await store.append(s, [ev('Two')], 'any');
        const got = firstValueFrom(store.subscribeAll(r1.position).pipe(take(2), toArray()));
        const r3 = await store.append(s, [ev('Three')], 'any');
        const events = await got;
        expect(events.map((e) => e.position)).toEqual([r2.position, r3.position]);
        expect(events.map((e) => e.type)).toEqual(['Two', 'Three']);
      });

      const race = options.raceAppends ?? 10_000;
      it(`has no gap and no duplicate while ${race} appends race the switch to live`, async () => {
        const start = await store.headPosition();
        // Some history to catch up on first.
        const s = uniqueStream('race');
        for (let i = 0; i < 200; i++) await store.append(s, [ev('Before', { i })], 'any');
        const seen: StoredEvent[] = [];
        let resolveDone: () => void = () => undefined;
        const done = new Promise<void>((r) => (resolveDone = r));
        const expected = 200 + race;
        const sub = store.subscribeAll(start).subscribe({
          next: (e) => {
            seen.push(e);
            if (seen.length === expected) resolveDone();
          },
          error: (e) => {
            throw e;
          },
        });
        // Appends issued concurrently while the subscription is catching up and switching to live.
        const writers = 16;
        const perWriter = Math.ceil(race / writers);
        await Promise.all(
          Array.from({ length: writers }, async (_, w) => {
            for (let i = 0; i < perWriter && w * perWriter + i < race; i++) {
              await store.append(uniqueStream(`w${w}`), [ev('Raced', { w, i })], 'no_stream');
            }
          }),
        );
        await done;
        // A short grace period: nothing more may arrive.
        await new Promise((r) => setTimeout(r, 100));
        sub.unsubscribe();
        expect(seen).toHaveLength(expected);
        for (let i = 1; i < seen.length; i++) expect(seen[i].position > seen[i - 1].position).toBe(true);
        expect(new Set(seen.map((e) => e.id)).size).toBe(expected);
        const logged = [];
        let from = start + 1n;
        for (;;) {
          const page = await store.readAll({ from, maxCount: 4096 });
          logged.push(...page);
          if (page.length < 4096) break;
          from = page[page.length - 1].position + 1n;
        }
        expect(seen.map((e) => e.position)).toEqual(logged.map((e) => e.position));
      }, 120_000);

      it('stops delivering after unsubscribe', async () => {
        const seen: StoredEvent[] = [];
        const start = await store.headPosition();
        const sub = store.subscribeAll(start).subscribe((e) => seen.push(e));
        await store.append(uniqueStream(), [ev()], 'any');
        await waitUntil(() => seen.length === 1);
        sub.unsubscribe();
        await store.append(uniqueStream(), [ev()], 'any');
        await new Promise((r) => setTimeout(r, 100));
        expect(seen).toHaveLength(1);
      });
    });

    describe('bad input is a typed error and writes nothing', () => {
      const cases: Array<[string, () => [string, EventToAppend[]], string]> = [
        ['an empty stream name', () => ['', [ev()]], 'InvalidStreamName'],
        ['a system stream name', () => ['$all', [ev()]], 'InvalidStreamName'],
        ['a stream name with control characters', () => ['bad\nname', [ev()]], 'InvalidStreamName'],
        ['a stream name over 1 KiB', () => ['x'.repeat(1025), [ev()]], 'InvalidStreamName'],
        ['an event id that is not a UUID', () => [uniqueStream(), [{ ...ev(), id: 'not-a-uuid' }]], 'InvalidEventId'],
        ['an empty event type', () => [uniqueStream(), [ev('')]], 'InvalidEventType'],
        ['no events', () => [uniqueStream(), []], 'EmptyAppend'],
        ['a function in the data', () => [uniqueStream(), [ev('T', { f: (() => 1) as unknown as JsonValue })]], 'InvalidJson'],
        ['NaN in the data', () => [uniqueStream(), [ev('T', { n: NaN })]], 'InvalidJson'],
        ['a Date in the data', () => [uniqueStream(), [ev('T', { d: new Date() as unknown as JsonValue })]], 'InvalidJson'],
        ['a bigint in the data', () => [uniqueStream(), [ev('T', { b: 1n as unknown as JsonValue })]], 'InvalidJson'],
        ['undefined data', () => [uniqueStream(), [{ ...ev(), data: undefined as unknown as JsonValue }]], 'InvalidJson'],
        ['metadata that is not an object', () => [uniqueStream(), [{ ...ev(), metadata: [] as never }]], 'InvalidJson'],
        ['an event over the size limit', () => [uniqueStream(), [ev('T', { blob: 'x'.repeat(2 * 1024 * 1024) })]], 'EventTooLarge'],
        ['the same id twice in one append', () => { const e = ev(); return [uniqueStream(), [e, e]]; }, 'DuplicateEventId'],
      ];
      it.each(cases)('rejects %s', async (_label, make, reason) => {
        const head = await store.headPosition();
        const [stream, events] = make();
        const err = await store.append(stream, events, 'any').catch((e) => e);
        expect(err).toBeInstanceOf(InvalidEventError);
        expect(err.reason).toBe(reason);
        expect(await store.headPosition()).toBe(head);
      });

      it('writes nothing of an append whose last event is bad', async () => {
        const s = uniqueStream();
        const head = await store.headPosition();
        await expect(store.append(s, [ev(), ev(), ev('T', { n: Infinity })], 'any')).rejects.toBeInstanceOf(InvalidEventError);
        expect(await store.headPosition()).toBe(head);
        expect(await store.readStream(s)).toEqual([]);
      });

      it('rejects a circular payload', async () => {
        const data: Record<string, unknown> = {};
        data.self = data;
        await expect(store.append(uniqueStream(), [ev('T', data as JsonValue)], 'any')).rejects.toMatchObject({ reason: 'InvalidJson' });
      });
    });
  });
}

export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
