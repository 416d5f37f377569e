import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { SqliteEventStore } from '../core/store/sqlite';
import { firstValueFrom, toArray } from 'rxjs';
import { StoreCorruptError, StoreIncompatibleError, StoreLockedError } from '../core/store/errors';
import { eventStoreConformance } from './conformance/eventStore.conformance';
import { tempDir } from './support/tmp';
import * as fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { verifyChain } from '../core/store/chain';
import Database from 'better-sqlite3';
import { MemoryEventStore } from '../core/store/memory';
import type { EventStore } from '../core/store/port';

eventStoreConformance('sqlite', async () => {
  const tmp = tempDir();
  const store = await SqliteEventStore.open({ file: path.join(tmp.dir, 'kronicle.db') });
  return {
    store,
    dispose: async () => {
      await store.close();
      tmp.remove();
    },
  };
});

describe('SqliteEventStore', () => {
  it('shows an append to readers only once it is durable (its fsync done)', async () => {
    const tmp = tempDir();
    const store = await SqliteEventStore.open({ file: path.join(tmp.dir, 'kronicle.db') });
    const before = await store.headPosition();
    const seen: bigint[] = [];
    const sub = store.subscribeAll(before).subscribe((e) => seen.push(e.position));
    const acked = store.append('s-1', [{ id: '0b5e8a9c-58f0-4a42-9a4e-0f0b0e0f0a09', type: 'T', data: {}, metadata: {} }], 'no_stream');
    // The commit runs in this turn's check phase; its fsync is still on the thread pool here.
    await new Promise((r) => setImmediate(r));
    expect(await store.headPosition()).toBe(before);
    expect(await store.readStream('s-1')).toEqual([]);
    expect(await store.readAll({ from: before + 1n })).toEqual([]);
    const result = await acked;
    expect(await store.headPosition()).toBe(result.position);
    expect(await store.readStream('s-1')).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual([result.position]);
    sub.unsubscribe();
    await store.close();
    tmp.remove();
  });

  it('keeps what it acknowledged across a close and reopen', async () => {
    const tmp = tempDir();
    const file = path.join(tmp.dir, 'kronicle.db');
    const store = await SqliteEventStore.open({ file });
    const ids = ['0b5e8a9c-58f0-4a42-9a4e-0f0b0e0f0a01', '0b5e8a9c-58f0-4a42-9a4e-0f0b0e0f0a02'];
    const r = await store.append('s-1', ids.map((id) => ({ id, type: 'T', data: { id }, metadata: {} })), 'no_stream');
    await store.close();
    const again = await SqliteEventStore.open({ file });
    expect(await again.headPosition()).toBe(r.position);
    expect((await again.readStream('s-1')).map((e) => e.id)).toEqual(ids);
    await again.close();
    tmp.remove();
  });

  it('refuses a second process on the same file with a clear error', async () => {
    const tmp = tempDir();
    const file = path.join(tmp.dir, 'kronicle.db');
    const store = await SqliteEventStore.open({ file });
    const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures/openStore.ts'), file], {
      encoding: 'utf8',
      cwd: path.resolve(__dirname, '..'),
    });
    expect(child.stderr).toBe('');
    expect(child.stdout).toMatch(/^StoreLocked: .*in use by another Kronicle process/);
    await store.close();
    tmp.remove();
  });

  it('refuses a file that is not a Kronicle log, and one from a newer schema', async () => {
    const tmp = tempDir();
    const junk = path.join(tmp.dir, 'junk.db');
    fs.writeFileSync(junk, 'this is not sqlite at all, just some text that is long enough to be a header......');
    await expect(SqliteEventStore.open({ file: junk })).rejects.toBeInstanceOf(StoreIncompatibleError);
    const file = path.join(tmp.dir, 'newer.db');
    const Database = require('better-sqlite3');
    const db = new Database(file);
    db.pragma('application_id = 1263685196');
    db.pragma('user_version = 99');
    db.close();
    await expect(SqliteEventStore.open({ file })).rejects.toThrow(/schema version 99/);
    tmp.remove();
  });

  it('reads an event whose text was damaged outside Kronicle as a StoreCorruptError naming it, on every read path', async () => {
    const tmp = tempDir();
    const file = path.join(tmp.dir, 'kronicle.db');
    let store = await SqliteEventStore.open({ file });
    const meta = { schemaVersion: 1, actor: { kind: 'user', name: 't' } };
    for (let i = 0; i < 3; i++) await store.append('Pod-d/a', [{ id: randomUUID(), type: 'PodUpdated', data: { i }, metadata: meta }], 'any');
    await store.close();
    const Database = require('better-sqlite3');
    const db = new Database(file);
    db.prepare('UPDATE events SET data = ? WHERE position = 2').run('{"i": ');
    db.close();
    store = await SqliteEventStore.open({ file });
    try {
      const damaged = expect.objectContaining({ code: 'StoreCorrupt', position: 2n, message: expect.stringMatching(/at position 2: its data is not JSON/) });
      await expect(store.readAll()).rejects.toEqual(damaged);
      await expect(store.readAll()).rejects.toBeInstanceOf(StoreCorruptError);
      await expect(store.readStream('Pod-d/a')).rejects.toEqual(damaged);
      await expect(firstValueFrom(store.subscribeAll(0n).pipe(toArray()))).rejects.toEqual(damaged);
      // What is before it reads as before.
      expect((await store.readAll({ to: 1n })).map((e) => e.data)).toEqual([{ i: 0 }]);
    } finally {
      await store.close();
      tmp.remove();
    }
  });

  it('holds the lock only while open: in-process, a second open fails, and succeeds after close', async () => {
    const tmp = tempDir();
    const file = path.join(tmp.dir, 'kronicle.db');
    const first = await SqliteEventStore.open({ file });
    await expect(SqliteEventStore.open({ file })).rejects.toBeInstanceOf(StoreLockedError);
    await first.close();
    const second = await SqliteEventStore.open({ file });
    await second.close();
    tmp.remove();
  });

  it('lets another process open the log once the holder has been killed', async () => {
    const tmp = tempDir();
    const file = path.join(tmp.dir, 'kronicle.db');
    const holder = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures/openStore.ts'), file, '--die'], {
      encoding: 'utf8',
      cwd: path.resolve(__dirname, '..'),
    });
    expect(holder.stdout).toBe('opened\n');
    expect(holder.signal).toBe('SIGKILL');
    const store = await SqliteEventStore.open({ file });
    await store.close();
    tmp.remove();
  });

  it('checkpoints on its own thread and restarts the WAL under a steady load, losing nothing', async () => {
    const tmp = tempDir();
    const file = path.join(tmp.dir, 'kronicle.db');
    // Tiny thresholds: a checkpoint every 50 events, the WAL restarted past 200 pages (~800 KiB).
    const store = await SqliteEventStore.open({ file, checkpointEvents: 50, restartFrames: 200 });
    const pad = 'x'.repeat(1000);
    let maxWal = 0;
    const written: bigint[] = [];
    // 32 appenders, 3,200 events of ~1 KiB: about 20 restarts' worth of WAL.
    await Promise.all(
      Array.from({ length: 32 }, async (_, a) => {
        for (let i = 0; i < 100; i++) {
          const r = await store.append(`s-${a}`, [{ id: randomUUID(), type: 'T', data: { a, i, pad }, metadata: {} }], i === 0 ? 'no_stream' : BigInt(i - 1));
          written.push(r.position);
          maxWal = Math.max(maxWal, fs.statSync(`${file}-wal`).size);
        }
      }),
    );
    // Without restarts the WAL would hold every page written: well over 3 MiB.
    expect(maxWal).toBeLessThan(3 * 1024 * 1024);
    expect(written).toHaveLength(3200);
    expect(await store.headPosition()).toBe(3200n);
    for (let a = 0; a < 32; a++) expect((await store.readStream(`s-${a}`)).map((e) => (e.data as { i: number }).i)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(verifyChain(store).firstBreak).toBeUndefined();
    await store.close();
    const again = await SqliteEventStore.open({ file });
    expect(await again.headPosition()).toBe(3200n);
    expect(verifyChain(again)).toEqual({ checked: 3200, head: 3200n });
    await again.close();
    tmp.remove();
  });

  describe('the per-stream index, written in bulk', () => {
    /** Every read of every stream, forwards and backwards, from each revision, with and without a limit. */
    async function allReads(store: EventStore, streams: readonly string[], revisions: number): Promise<string[]> {
      const out: string[] = [];
      for (const stream of streams) {
        for (const direction of ['forwards', 'backwards'] as const) {
          for (const fromRevision of [undefined, ...Array.from({ length: revisions + 1 }, (_, r) => BigInt(r))]) {
            for (const maxCount of [undefined, 1, 3]) {
              const events = await store.readStream(stream, { direction, fromRevision, maxCount });
              out.push(`${stream} ${direction} ${fromRevision} ${maxCount}: ${events.map((e) => `${e.revision}@${e.id.slice(-4)}`).join(',')}`);
            }
          }
        }
      }
      return out;
    }

    const streams = ['s-a', 's-b', 's-c', 's-d'];
    const id = (n: number) => `0b5e8a9c-58f0-4a42-9a4e-${n.toString(16).padStart(12, '0')}`;
    /** Events 0..count-1 spread over the streams, each appended with its expected revision. */
    async function appendSome(stores: EventStore[], first: number, count: number): Promise<void> {
      for (let n = first; n < first + count; n++) {
        const stream = streams[(n * 7) % streams.length];
        for (const store of stores) {
          const [last] = await store.readStream(stream, { direction: 'backwards', maxCount: 1 });
          await store.append(stream, [{ id: id(n), type: 'T', data: { n }, metadata: {} }], last ? last.revision : 'no_stream');
        }
      }
    }

    it('reads streams across the index and the tail as a store without one does, before and after a reopen', async () => {
      const tmp = tempDir();
      const file = path.join(tmp.dir, 'kronicle.db');
      const memory = new MemoryEventStore();
      let store = await SqliteEventStore.open({ file, indexEvents: 10 });
      try {
        // 0, 7 (tail only), 10 and 23 (index and tail), 30 (index, empty tail) events.
        for (const [first, count] of [[0, 7], [7, 3], [10, 13], [23, 7]]) {
          await appendSome([store, memory], first, count);
          expect(await allReads(store, [...streams, 's-none'], 10)).toEqual(await allReads(memory, [...streams, 's-none'], 10));
        }
        await appendSome([store, memory], 30, 5);
        await store.close();
        // The tail (5 events) is rebuilt from the log at open.
        store = await SqliteEventStore.open({ file, indexEvents: 10 });
        expect(await allReads(store, streams, 10)).toEqual(await allReads(memory, streams, 10));
        await appendSome([store, memory], 35, 12);
        expect(await allReads(store, streams, 14)).toEqual(await allReads(memory, streams, 14));
        await store.close();
        const db = new Database(file, { readonly: true });
        // Bulk inserts at 10, 20 and 30 events, and after the reopen at 40 (the 5 rebuilt + 5 new): 40 indexed, 7 in the tail.
        expect(db.prepare('SELECT position FROM stream_events_upto').pluck().get()).toBe(40);
        expect(db.prepare('SELECT count(*) FROM stream_events').pluck().get()).toBe(40);
        db.close();
      } finally {
        if (!store['closed']) await store.close();
        tmp.remove();
      }
    });

    it('migrates a log of the layout before it (the index inside events), keeping its chain and revisions', async () => {
      const tmp = tempDir();
      const file = path.join(tmp.dir, 'kronicle.db');
      const memory = new MemoryEventStore();
      let store = await SqliteEventStore.open({ file });
      await appendSome([store, memory], 0, 20);
      await store.close();
      // Back to schema version 2: the UNIQUE (stream_id, revision) index in events, no stream_events.
      const db = new Database(file);
      db.exec(`
        CREATE TABLE events_v2 (position INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, stream TEXT NOT NULL, stream_id INTEGER NOT NULL REFERENCES streams (id),
          revision INTEGER NOT NULL, type TEXT NOT NULL, recorded_at INTEGER NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL, hash TEXT, UNIQUE (stream_id, revision));
        INSERT INTO events_v2 SELECT * FROM events;
        DROP TABLE events; ALTER TABLE events_v2 RENAME TO events;
        DROP TABLE stream_events; DROP TABLE stream_events_upto;
      `);
      db.pragma('user_version = 2');
      db.close();
      store = await SqliteEventStore.open({ file });
      expect(verifyChain(store)).toEqual({ checked: 20, head: 20n });
      expect(await allReads(store, streams, 6)).toEqual(await allReads(memory, streams, 6));
      await appendSome([store, memory], 20, 4);
      expect(await allReads(store, streams, 8)).toEqual(await allReads(memory, streams, 8));
      await store.close();
      tmp.remove();
    });
  });
});
