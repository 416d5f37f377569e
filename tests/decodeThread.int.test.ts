/**
 * Large replays decode on a second thread (projections/decodeThread.ts). What must hold: the
 * projection ends exactly as the fold on one thread leaves it — the same objects, positions,
 * revisions, event and correlation ids, the same events skipped and reported — whatever the log
 * holds, and also when the thread is gone.
 */
import Database from 'better-sqlite3';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { EncryptingEventStore } from '../core/store/encryption';
import { StoreCorruptError } from '../core/store/errors';
import { MemoryEventStore } from '../core/store/memory';
import { SqliteEventStore } from '../core/store/sqlite';
import type { EventStore, EventToAppend, JsonObject, JsonValue } from '../core/store/port';
import { ClusterProjection, type Change, type ProjectionOptions } from '../projections/cluster';
import { DECODE_BATCH, DecodeThread, decodesAsWholeObject } from '../projections/decodeThread';
import { tempDir } from './support/tmp';

const actor = { kind: 'user', name: 'test' };
let n = 0;
const id = () => `00000000-0000-7000-8000-${(++n).toString(16).padStart(12, '0')}`;
const meta = (extra: JsonObject = {}): JsonObject => ({ schemaVersion: 1, actor, correlationId: `c-${n}`, ...extra });
const ev = (type: string, data: JsonValue, metadata: JsonObject = meta()): EventToAppend => ({ id: id(), type, data, metadata });
const pod = (name: string, i: number, extra: JsonObject = {}): JsonObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: { app: name, round: String(i) } },
  spec: { containers: [{ name: 'c', image: `nginx:${i}` }] },
  ...extra,
});

/** A log of every kind of event the fold meets, valid and not, in an interleaving. */
async function writeLog(store: EventStore): Promise<void> {
  for (let i = 0; i < 40; i++) {
    const name = `p${i % 7}`;
    const stream = `Pod-default/${name}`;
    const step = i % 10;
    if (step === 0) await store.append(stream, [ev('PodCreated', { object: pod(name, i) })], 'any');
    else if (step === 1) await store.append(stream, [ev('PodBound', { nodeName: 'n1', boundAt: '2026-11-27T10:00:00Z' })], 'any');
    else if (step === 2) await store.append(stream, [ev('PodStatusUpdated', { status: { phase: 'Running' } })], 'any');
    else if (step === 3) await store.append(stream, [ev('PodUpdated', { object: pod(name, i, { status: { phase: 'Running' } }) })], 'any');
    else if (step === 4) await store.append(stream, [ev('PodUpdated', { object: pod(name, i) }, { actor })], 'any'); // metadata without schemaVersion
    else if (step === 5) await store.append(stream, [ev('PodUpdated', { notAnObject: true })], 'any'); // payload does not match
    else if (step === 6) await store.append(stream, [ev('PodUpdated', { object: pod(name, i) }, meta({ schemaVersion: 0 }))], 'any'); // an old schema
    else if (step === 7) await store.append(stream, [ev('PodFrobnicated', { object: pod(name, i) })], 'any'); // an unknown type
    else if (step === 8) await store.append(stream, [ev('PodDeleted', { object: pod(name, i) })], 'any');
    else await store.append(stream, [ev('PodUpdated', { object: pod(name, i) }, meta({ schemaVersion: 2 }))], 'any'); // newer than this Kronicle
    if (i % 9 === 0) await store.append(`Node-/n${i}`, [ev('NodeCreated', { object: { kind: 'Node', metadata: { name: `n${i}` } } })], 'any');
    if (i % 13 === 0) await store.append(`Secret-default/s${i}`, [ev('SecretCreated', { object: { kind: 'Secret', metadata: { name: `s${i}`, namespace: 'default' }, data: { k: 'dmFsdWU=' } } })], 'any');
  }
  // Last: most pods end on a whole-object event; p1 is deleted, p5 bound and p6 given a status after one.
  for (let p = 0; p < 7; p++) await store.append(`Pod-default/p${p}`, [ev('PodUpdated', { object: pod(`p${p}`, 100 + p) })], 'any');
  await store.append('Pod-default/p1', [ev('PodDeleted', { object: pod('p1', 101) })], 'any');
  await store.append('Pod-default/p5', [ev('PodBound', { nodeName: 'n9', boundAt: '2026-11-27T11:00:00Z' })], 'any');
  await store.append('Pod-default/p6', [ev('PodStatusUpdated', { status: { phase: 'Succeeded' } })], 'any');
}

interface Folded {
  readonly projection: ClusterProjection;
  readonly errors: string[];
  readonly changes: Change[];
}

async function fold(store: EventStore, decodeThread: ProjectionOptions['decodeThread'], watch = false): Promise<Folded> {
  const errors: string[] = [];
  const changes: Change[] = [];
  const projection = new ClusterProjection({ decodeThread, onDecodeError: (e) => errors.push(e.message) });
  const sub = watch ? projection.changes.subscribe((c) => changes.push(c)) : undefined;
  await projection.foldRange(store);
  sub?.unsubscribe();
  return { projection, errors, changes };
}

/** Everything the projection holds, plain. */
function contents(p: ClusterProjection): unknown {
  return Object.entries(p.counts()).map(([kind]) => [
    kind,
    p
      .store(kind)
      .list()
      .map((s) => ({ object: s.object, position: s.position, revision: s.revision, eventId: s.eventId, correlationId: s.correlationId })),
  ]);
}

describe('decoding on a second thread', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: SqliteEventStore;
  beforeEach(async () => {
    tmp = tempDir();
    store = await SqliteEventStore.open({ file: path.join(tmp.dir, 'kronicle.db') });
  });
  afterEach(async () => {
    await store.close();
    tmp.remove();
  });

  it('folds to exactly the state of the fold on one thread, skipping and reporting the same events', async () => {
    await writeLog(store);
    const one = await fold(store, 'never');
    const two = await fold(store, 'always');
    expect(two.projection.position).toBe(await store.headPosition());
    expect(contents(two.projection)).toEqual(contents(one.projection));
    expect(two.projection.decodeErrors).toBe(one.projection.decodeErrors);
    expect(two.errors).toEqual(one.errors);
    expect(two.projection.store('Pod').get('default', 'p1')).toBeUndefined();
    expect(two.projection.store('Pod').get('default', 'p5')?.object.spec).toMatchObject({ nodeName: 'n9' });
    expect(two.projection.store('Pod').get('default', 'p6')?.object.status).toEqual({ phase: 'Succeeded' });
    // The log does hold events of each sort the fold skips.
    expect(one.errors.some((e) => /payload does not match/.test(e))).toBe(true);
    expect(one.errors.some((e) => /unknown event type/.test(e))).toBe(true);
    expect(one.errors.some((e) => /metadata is not an event envelope/.test(e))).toBe(true);
    expect(one.errors.some((e) => /newer than this Kronicle/.test(e))).toBe(true);
    // Objects were left unparsed (the thread accepted them) and read whole.
    expect(two.projection.store('Pod').get('default', 'p3')?.object.spec).toEqual({ containers: [{ name: 'c', image: 'nginx:103' }] });
    expect(two.projection.store('Pod').get('default', 'p3')?.constructor.name).toBe('DeferredObject');
  });

  it('folds a range ending in the past, and goes on from there to the same end', async () => {
    await writeLog(store);
    const head = await store.headPosition();
    const one = new ClusterProjection({ decodeThread: 'never' });
    await one.foldRange(store, head - 9n);
    const two = new ClusterProjection({ decodeThread: 'always' });
    await two.foldRange(store, head - 9n);
    expect(two.position).toBe(head - 9n);
    expect(contents(two)).toEqual(contents(one));
    await one.foldRange(store);
    await two.foldRange(store);
    expect(contents(two)).toEqual(contents(one));
  });

  it('folds on the calling thread until the thread has started, then with it (auto)', async () => {
    // 300 pods × 100 events, so that the fold is still going when the thread has started.
    for (let p = 0; p < 300; p++) {
      const events = [ev('PodCreated', { object: pod(`q${p}`, 0) })];
      for (let i = 1; i < 100; i++) events.push(i % 10 === 5 ? ev('PodStatusUpdated', { status: { phase: `Phase${i}` } }) : ev('PodUpdated', { object: pod(`q${p}`, i) }));
      await store.append(`Pod-default/q${p}`, events, 'no_stream');
    }
    const one = new ClusterProjection({ decodeThread: 'never' });
    await one.foldRange(store);
    // The thread is taken as not started for three batches: those are folded here, the rest with it.
    const thread = DecodeThread.start();
    expect(await thread?.whenStarted).toBe(true);
    const start = jest.spyOn(DecodeThread, 'start').mockReturnValue(thread);
    let asked = 0;
    const ready = jest.spyOn(DecodeThread.prototype, 'ready', 'get').mockImplementation(() => ++asked > 3);
    const check = jest.spyOn(DecodeThread.prototype, 'check');
    try {
      const two = new ClusterProjection({ decodeThread: 'auto', decodeThreadMin: 1000n });
      await two.foldRange(store);
      expect(check).toHaveBeenCalledTimes(Math.ceil(30_000 / DECODE_BATCH) - 3);
      expect(contents(two)).toEqual(contents(one));
      expect([...two.store('Pod').entries()].filter(([, s]) => s.constructor.name === 'DeferredObject').length).toBeGreaterThan(0);
      // Not at all for a range shorter than the least.
      const three = new ClusterProjection({ decodeThread: 'auto', decodeThreadMin: 30_001n });
      await three.foldRange(store);
      expect(start).toHaveBeenCalledTimes(1);
      expect(contents(three)).toEqual(contents(one));
    } finally {
      for (const spy of [start, ready, check]) spy.mockRestore();
    }
  });

  it('emits the same changes when someone watches them', async () => {
    await writeLog(store);
    const one = await fold(store, 'never', true);
    const two = await fold(store, 'always', true);
    expect(two.changes.map((c) => [c.type, c.kind, c.object, c.position])).toEqual(one.changes.map((c) => [c.type, c.kind, c.object, c.position]));
    expect(two.changes.length).toBeGreaterThan(20);
  });

  it('decodes on the calling thread when the thread is gone', async () => {
    await writeLog(store);
    const gone = DecodeThread.start();
    expect(gone).toBeDefined();
    gone?.close();
    expect(await gone?.check([{ id: 'x', type: 'PodCreated', stream: 's', revision: 0n, position: 1n, recordedAt: 0n, data: '{}', metadata: '{}' }])).toBeUndefined();
    const start = jest.spyOn(DecodeThread, 'start').mockReturnValue(gone);
    try {
      const one = await fold(store, 'never');
      const two = await fold(store, 'always');
      expect(start).toHaveBeenCalled();
      expect(contents(two.projection)).toEqual(contents(one.projection));
      expect(two.errors).toEqual(one.errors);
    } finally {
      start.mockRestore();
    }
  });

  it('runs one thread per spare core at most; a fold that finds none free decodes on its own', async () => {
    await writeLog(store);
    const spare = Math.max(1, availableParallelism() - 1);
    const held = Array.from({ length: spare }, () => DecodeThread.start());
    try {
      expect(held.every((t) => t !== undefined)).toBe(true);
      expect(DecodeThread.start()).toBeUndefined();
      const one = await fold(store, 'never');
      const two = await fold(store, 'always');
      expect(contents(two.projection)).toEqual(contents(one.projection));
      expect(two.projection.store('Pod').get('default', 'p3')?.constructor.name).toBe('Object');
    } finally {
      for (const t of held) t?.close();
    }
    const again = DecodeThread.start();
    expect(again).toBeDefined();
    again?.close();
  });

  it('is not started for a short range (auto), nor for a store that cannot hand out raw events', async () => {
    await writeLog(store);
    const start = jest.spyOn(DecodeThread, 'start');
    try {
      await fold(store, 'auto');
      const memory = new MemoryEventStore();
      await writeLog(memory);
      const { projection } = await fold(memory, 'always');
      expect(projection.position).toBe(await memory.headPosition());
      expect(start).not.toHaveBeenCalled();
    } finally {
      start.mockRestore();
    }
  });

  it('stops on an event whose text is not JSON, as the fold on one thread does', async () => {
    await writeLog(store);
    const head = await store.headPosition();
    await store.close();
    const db = new Database(path.join(tmp.dir, 'kronicle.db'));
    db.prepare('UPDATE events SET data = ? WHERE position = ?').run('{"object": {', head - 3n);
    db.close();
    store = await SqliteEventStore.open({ file: path.join(tmp.dir, 'kronicle.db') });
    await expect(fold(store, 'never')).rejects.toThrow(StoreCorruptError);
    await expect(fold(store, 'always')).rejects.toThrow(StoreCorruptError);
  });

  it('reads Secrets opened through the encrypting store', async () => {
    const sealed = new EncryptingEventStore(store, [{ name: 'k', secret: randomBytes(32) }]);
    await writeLog(sealed);
    const one = await fold(sealed, 'never');
    const two = await fold(sealed, 'always');
    expect(contents(two.projection)).toEqual(contents(one.projection));
    expect(two.projection.store('Secret').get('default', 's0')?.object).toMatchObject({ data: { k: 'dmFsdWU=' } });
  });
});

describe('decodesAsWholeObject', () => {
  const m = JSON.stringify({ schemaVersion: 1, actor });
  it.each([
    ['a Created pod', 'PodCreated', JSON.stringify({ object: pod('a', 1) }), m, true],
    ['an Updated pod', 'PodUpdated', JSON.stringify({ object: pod('a', 1) }), m, true],
    ['a Deleted pod (not whole-object)', 'PodDeleted', JSON.stringify({ object: pod('a', 1) }), m, false],
    ['a binding', 'PodBound', JSON.stringify({ nodeName: 'n', boundAt: '2026-11-27T10:00:00Z' }), m, false],
    ['a payload that does not match', 'PodUpdated', JSON.stringify({ object: 'no' }), m, false],
    ['a payload that is not JSON', 'PodUpdated', '{"object": {', m, false],
    ['metadata that is not JSON', 'PodUpdated', JSON.stringify({ object: pod('a', 1) }), '{', false],
    ['an old schema version', 'PodUpdated', JSON.stringify({ object: pod('a', 1) }), JSON.stringify({ schemaVersion: 0, actor }), false],
    ['an unknown type', 'Nonsense', JSON.stringify({ object: pod('a', 1) }), m, false],
  ])('%s', (_what, type, data, metadata, expected) => {
    expect(decodesAsWholeObject(type, data, metadata)).toBe(expected);
  });
});
