/**
 * The state at any position, with and without snapshots, equals the live state recorded at that
 * position (the recordings carry the live state's digest after every event); snapshots are
 * disposable (another schema's, or an unreadable one, is ignored); and the hash chain names the
 * first event whose bytes were changed in the SQLite file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteEventStore } from '../core/store/sqlite';
import { MemoryEventStore } from '../core/store/memory';
import type { EventStore } from '../core/store/port';
import { stateDigest } from '../projections/digest';
import { loadSnapshotAt, SNAPSHOT_SCHEMA } from '../projections/snapshot';
import type { ClusterProjection } from '../projections/cluster';
import { KINDS } from '../core/kinds';
import { stateAt } from '../replay/history';
import { checkReplay, importHistory, parseHistory } from '../replay/historyFile';
import { verifyLog } from '../replay/verify';
import { tempDir } from './support/tmp';
import { jsonCaller } from './support/http';
import { useKronicle } from './support/server';

const fixtures = path.join(__dirname, 'fixtures/histories');
const read = (name: string) => fs.readFileSync(path.join(fixtures, `${name}.ndjson`), 'utf8');

describe.each(['rc-scale', 'service-endpoints'])('state at every position of %s', (name) => {
  const text = read(name);
  const { digests, events } = parseHistory(text);

  it('the recording has the live state after every event, and a plain fold matches each', () => {
    const result = checkReplay(text);
    expect(digests.size).toBe(events.length);
    expect(result.positionsChecked).toBe(events.length);
    expect(result.positionMismatches).toEqual([]);
  });

  it.each(['memory', 'sqlite'])('stateAt on %s, from snapshots and without, equals the live state at each position', async (kind) => {
    const tmp = tempDir();
    const store: EventStore = kind === 'memory' ? new MemoryEventStore() : await SqliteEventStore.open({ file: path.join(tmp.dir, 'k.db') });
    try {
      await importHistory(store, text);
      const head = await store.headPosition();
      // A fold over the whole log writes the snapshots that are due (here every 7 events, or as many as there are objects).
      await stateAt(store, head, { snapshotEvery: 7 });
      const snapshots = await store.snapshots!.snapshotPositions(SNAPSHOT_SCHEMA);
      // Due every max(7, objects) events.
      expect(snapshots.length).toBeGreaterThanOrEqual(2);
      const differences: string[] = [];
      for (const e of events) {
        const withSnapshots = stateDigest(await stateAt(store, e.position, { fill: false }));
        const fullFold = stateDigest(await stateAt(store, e.position, { snapshots: false }));
        if (withSnapshots !== digests.get(e.position) || fullFold !== digests.get(e.position)) differences.push(`${e.position} ${e.type}`);
      }
      expect(differences).toEqual([]);
    } finally {
      await store.close();
      tmp.remove();
    }
  });
});

/**
 * What the indexes answer: for every kind, the sorted list and the lists by each namespace, label
 * and node name held by any object. A restored projection builds its indexes from the snapshot's
 * stubs when first asked, before or after folding further events.
 */
function listings(view: ClusterProjection): string[] {
  const out: string[] = [];
  for (const { kind } of KINDS) {
    const store = view.store(kind);
    const names = (objects: ReturnType<typeof store.list>) => objects.map((s) => `${s.object.metadata.namespace ?? ''}/${s.object.metadata.name}@${s.position}`).join(',');
    out.push(`${kind}: ${names(store.list())}`);
    for (const s of store.list()) {
      const o = s.object;
      out.push(`${kind} ns=${o.metadata.namespace}: ${names(store.list({ namespace: o.metadata.namespace ?? '' }))}`);
      for (const [key, value] of Object.entries(o.metadata.labels ?? {})) out.push(`${kind} ${key}=${value}: ${names(store.list({ labels: [{ key, operator: '=', values: [value] }] }))}`);
      const nodeName = (o as { spec?: { nodeName?: string } }).spec?.nodeName;
      if (nodeName) out.push(`${kind} node=${nodeName}: ${names(store.list({ fields: [{ field: 'spec.nodeName', operator: '=', value: nodeName }] }))}`);
      for (const ref of o.metadata.ownerReferences ?? []) out.push(`${kind} owner=${ref.uid}: ${names(store.ownedBy(ref.uid).sort((a, b) => Number(a.position - b.position)))}`);
    }
  }
  return out;
}

describe.each(['rc-scale', 'service-endpoints'])('indexes of a projection restored from a snapshot in %s', (name) => {
  it('answer lists as a full fold does, built before or after folding on', async () => {
    const store = new MemoryEventStore();
    try {
      const { events } = parseHistory(read(name));
      await importHistory(store, read(name));
      const head = await store.headPosition();
      await stateAt(store, head, { snapshotEvery: 7 });
      const positions = await store.snapshots.snapshotPositions(SNAPSHOT_SCHEMA);
      const differences: string[] = [];
      for (const p of positions) {
        const next = events.find((e) => e.position > p)?.position ?? head;
        const expected = listings(await stateAt(store, next, { snapshots: false }));
        // Folded on first, then asked.
        if (listings(await stateAt(store, next, { fill: false })).join('\n') !== expected.join('\n')) differences.push(`${next} (folded, then indexed)`);
        // Asked first (the indexes built from the stubs), then folded on.
        const view = (await loadSnapshotAt(store, p))!;
        expect(view.position).toBe(p);
        listings(view);
        for (const e of await store.readAll({ from: p + 1n, to: next })) view.apply(e);
        if (listings(view).join('\n') !== expected.join('\n')) differences.push(`${next} (indexed, then folded)`);
      }
      expect(positions.length).toBeGreaterThanOrEqual(2);
      expect(differences).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('are built from the objects when the stubs section is damaged', async () => {
    const store = new MemoryEventStore();
    try {
      await importHistory(store, read(name));
      const head = await store.headPosition();
      await stateAt(store, head, { snapshotEvery: 7 });
      const [, p] = await store.snapshots.snapshotPositions(SNAPSHOT_SCHEMA);
      const snapshot = (await store.snapshots.loadSnapshot(p, SNAPSHOT_SCHEMA))!;
      const data = Buffer.from(snapshot.data);
      const newline = data.indexOf(0x0a);
      const stubs = (JSON.parse(data.toString('utf8', 0, newline)) as { stubs: number }).stubs;
      data.fill('#', newline + 1, newline + 1 + stubs);
      await store.snapshots.saveSnapshot({ ...snapshot, data });
      const view = (await loadSnapshotAt(store, p))!;
      expect(view.position).toBe(p);
      expect(listings(view)).toEqual(listings(await stateAt(store, p, { snapshots: false })));
    } finally {
      await store.close();
    }
  });
});

describe('snapshots are disposable', () => {
  it('ignores a snapshot of another schema and one that cannot be read, and drops the old ones', async () => {
    const store = new MemoryEventStore();
    const text = read('rc-scale');
    const { digests } = parseHistory(text);
    await importHistory(store, text);
    await store.snapshots.saveSnapshot({ position: 40n, schema: SNAPSHOT_SCHEMA - 1, data: Buffer.from('{"position":"40","kinds":{},"stubs":2}\n{}') });
    expect(stateDigest(await stateAt(store, 50n, { fill: false }))).toBe(digests.get(50n));
    await store.snapshots.saveSnapshot({ position: 45n, schema: SNAPSHOT_SCHEMA, data: Buffer.from('{not json') });
    expect(stateDigest(await stateAt(store, 50n, { fill: false }))).toBe(digests.get(50n));
    expect(await store.snapshots.dropSnapshotsExcept(SNAPSHOT_SCHEMA)).toBe(1);
    await store.close();
  });
});

describe('tamper evidence', () => {
  it('verifies an untouched log and names the first event whose bytes were changed in the file', async () => {
    const tmp = tempDir();
    const file = path.join(tmp.dir, 'k.db');
    try {
      let store = await SqliteEventStore.open({ file });
      await importHistory(store, read('service-endpoints'));
      const report = verifyLog(store);
      expect(report.firstBreak).toBeUndefined();
      expect(report.checked).toBe(Number(await store.headPosition()));
      const target = (await store.readAll({ maxCount: 100 })).find((e) => e.type === 'ServiceCreated')!;
      await store.close();

      // One byte of the stored service's name, edited in the database file itself.
      const bytes = fs.readFileSync(file);
      const stored = JSON.stringify(target.data);
      const at = bytes.indexOf(Buffer.from(stored));
      expect(at).toBeGreaterThan(0);
      bytes[at + stored.indexOf('"name":"my-service"') + 9] = 'M'.charCodeAt(0);
      fs.writeFileSync(file, bytes);

      store = await SqliteEventStore.open({ file });
      const broken = verifyLog(store);
      expect(broken.firstBreak).toMatchObject({ position: target.position, id: target.id, type: 'ServiceCreated' });
      expect(broken.checked).toBe(Number(target.position) - 1);
      await store.close();
    } finally {
      tmp.remove();
    }
  });

  it('chains the events of a log written before the chain existed when it is opened', async () => {
    const tmp = tempDir();
    const file = path.join(tmp.dir, 'k.db');
    try {
      let store = await SqliteEventStore.open({ file });
      await importHistory(store, read('rc-scale'));
      await store.close();
      // Back to the first layout: no hash column, no snapshots table, no stream_events, schema version 1.
      const db = new Database(file);
      db.exec('DROP TABLE snapshots; DROP TABLE stream_events; DROP TABLE stream_events_upto; ALTER TABLE events DROP COLUMN hash');
      db.pragma('user_version = 1');
      db.close();
      store = await SqliteEventStore.open({ file });
      expect(verifyLog(store).firstBreak).toBeUndefined();
      await store.append('Namespace-x', [{ id: '00000000-0000-4000-8000-00000000ffff', type: 'Noted', data: {}, metadata: {} }], 'any');
      expect(verifyLog(store)).toMatchObject({ checked: Number(await store.headPosition()) });
      await store.close();
    } finally {
      tmp.remove();
    }
  });

  it('says which stores keep no chain', () => {
    expect(() => verifyLog(new MemoryEventStore())).toThrow('memory keeps no hash chain to verify');
  });
});

describe('the API reads the past from the nearest snapshot', () => {
  const server = useKronicle();
  const call = jsonCaller(() => server.current.kronicle.url);
  const pod = (name: string, v: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { v } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
  const names = (list: { items: Array<{ metadata: { name: string; labels?: Record<string, string> } }> }) => list.items.map((p) => `${p.metadata.name}:${p.metadata.labels?.v}`).sort();

  it('answers a list at an exact past resourceVersion, and a watch from one, as a full fold does', async () => {
    const { store } = server.current;
    const rvs: string[] = [];
    for (let i = 0; i < 6; i++) {
      const created = await call('POST', '/api/v1/namespaces/default/pods', pod(`s${i}`, 'one'));
      expect(created.status).toBe(201);
      const labelled = await call('PATCH', `/api/v1/namespaces/default/pods/s${i}`, { metadata: { labels: { v: `two-${i}` } } }, 'application/merge-patch+json');
      rvs.push(labelled.body.metadata.resourceVersion);
      if (i === 2) await call('DELETE', '/api/v1/namespaces/default/pods/s0?gracePeriodSeconds=0');
    }
    expect((await call('POST', '/api/v1/namespaces/default/pods', pod('last', 'one'))).status).toBe(201);
    // Snapshots along the log, every 5 events.
    await stateAt(store, await store.headPosition(), { snapshotEvery: 5 });
    expect((await store.snapshots.snapshotPositions(SNAPSHOT_SCHEMA)).length).toBeGreaterThanOrEqual(2);
    const load = jest.spyOn(store.snapshots, 'loadSnapshot');
    try {
      for (const rv of rvs) {
        const past = await call('GET', `/api/v1/namespaces/default/pods?resourceVersion=${rv}&resourceVersionMatch=Exact`);
        expect(past.status).toBe(200);
        expect(past.body.metadata.resourceVersion).toBe(rv);
        const expected = (await stateAt(store, BigInt(rv), { snapshots: false })).store('Pod').list({ namespace: 'default' });
        expect(names(past.body)).toEqual(expected.map((s) => `${s.object.metadata.name}:${s.object.metadata.labels?.v}`).sort());
      }
      expect(load).toHaveBeenCalledTimes(rvs.length);
      expect(await Promise.all(load.mock.results.map((r) => r.value))).toContainEqual(expect.objectContaining({ schema: SNAPSHOT_SCHEMA }));
      // A watch from the third pod's relabelling sees what came after it, from a snapshot.
      const res = await fetch(`${server.current.kronicle.url}/api/v1/namespaces/default/pods?watch=true&resourceVersion=${rvs[2]}&timeoutSeconds=1`);
      const events = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { type: string; object: { metadata: { name: string; resourceVersion: string } } });
      expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['DELETED s0', 'ADDED s3', 'MODIFIED s3', 'ADDED s4', 'MODIFIED s4', 'ADDED s5', 'MODIFIED s5', 'ADDED last']);
      expect(load).toHaveBeenCalledTimes(rvs.length + 1);
    } finally {
      load.mockRestore();
    }
  });
});
