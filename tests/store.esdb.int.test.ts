/**
 * The esdb adapter against the in-process EventStoreDB stand-in (always), and against a real
 * EventStoreDB when ESDB_CONNECTION_STRING is set.
 */
import { randomUUID } from 'node:crypto';
import { EsdbEventStore } from '../core/store/esdb';
import { StoreUnavailableError } from '../core/store/errors';
import { eventStoreConformance } from './conformance/eventStore.conformance';
import { EsdbStandIn } from './esdb/standIn';

eventStoreConformance('esdb (in-process stand-in)', async () => {
  const server = new EsdbStandIn();
  await server.start();
  const store = new EsdbEventStore({ connectionString: server.connectionString });
  return {
    store,
    dispose: async () => {
      await store.close();
      await server.stop();
    },
  };
}, { idsUniqueAcrossLog: false });

const real = process.env.ESDB_CONNECTION_STRING;
if (real) {
  eventStoreConformance('esdb (ESDB_CONNECTION_STRING)', async () => {
    const store = new EsdbEventStore({ connectionString: real });
    return { store, dispose: () => store.close() };
  }, { idsUniqueAcrossLog: false });
}

describe('EsdbEventStore availability', () => {
  it('fails fast while the server is down and works again, without duplicates, once it is back', async () => {
    const server = new EsdbStandIn();
    await server.start();
    const port = server.port;
    const store = new EsdbEventStore({ connectionString: server.connectionString });
    await store.append('avail-1', [{ id: randomUUID(), type: 'T', data: { n: 0 }, metadata: {} }], 'no_stream');

    await server.stop();
    const events = [{ id: randomUUID(), type: 'T', data: { n: 1 }, metadata: {} }];
    const started = Date.now();
    const err = await store.append('avail-1', events, 0n).catch((e) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.message).toMatch(/unavailable/);
    expect(Date.now() - started).toBeLessThan(6000);

    // The same log, served again on the same port.
    const again = new EsdbStandIn(server.log);
    await again.start(port);
    let result;
    for (let attempt = 0; attempt < 50 && !result; attempt++) {
      result = await store.append('avail-1', events, 0n).catch(() => undefined);
      if (!result) await new Promise((r) => setTimeout(r, 200));
    }
    expect(result?.nextExpectedRevision).toBe(1n);
    // A retry whose first attempt did land is answered from the log, not written twice.
    expect(await store.append('avail-1', events, 0n)).toEqual(result);
    expect((await store.readStream('avail-1')).map((e) => e.data)).toEqual([{ n: 0 }, { n: 1 }]);
    await store.close();
    await again.stop();
  }, 30_000);

  it('uses BatchAppend when the server offers it, as the client does against a real server', async () => {
    const server = new EsdbStandIn();
    await server.start();
    const store = new EsdbEventStore({ connectionString: server.connectionString });
    await store.append('batch-1', [{ id: randomUUID(), type: 'T', data: {}, metadata: {} }], 'any');
    expect(server.calls.get('batchAppend')).toBe(1);
    expect(server.calls.get('append')).toBeUndefined();
    await store.close();
    await server.stop();
  });
});

describe('EsdbEventStore snapshots', () => {
  it('keeps snapshots in a system stream that no read of the log shows, and stateAt uses them', async () => {
    const { importHistory } = await import('../replay/historyFile');
    const { stateAt } = await import('../replay/history');
    const { stateDigest } = await import('../projections/digest');
    const { SNAPSHOT_SCHEMA } = await import('../projections/snapshot');
    const fs = await import('node:fs');
    const path = await import('node:path');
    const server = new EsdbStandIn();
    await server.start();
    const store = new EsdbEventStore({ connectionString: server.connectionString });
    try {
      await importHistory(store, fs.readFileSync(path.join(__dirname, 'fixtures/histories/service-endpoints.ndjson'), 'utf8'));
      const events = await store.readAll({ maxCount: 1000 });
      const head = await store.headPosition();
      const full = stateDigest(await stateAt(store, head, { snapshots: false }));
      await stateAt(store, head, { snapshotEvery: 10 });
      const positions = await store.snapshots.snapshotPositions(SNAPSHOT_SCHEMA);
      expect(positions.length).toBeGreaterThan(0);
      // The snapshots are not events of the log.
      expect(await store.readAll({ maxCount: 1000 })).toHaveLength(events.length);
      expect(await store.headPosition()).toBe(head);
      expect(stateDigest(await stateAt(store, head, { fill: false }))).toBe(full);
      const middle = events[Math.floor(events.length / 2)].position;
      expect(stateDigest(await stateAt(store, middle, { fill: false }))).toBe(stateDigest(await stateAt(store, middle, { snapshots: false })));
    } finally {
      await store.close();
      await server.stop();
    }
  });
});
