/**
 * Determinism: the same scenario, seed and clock, run twice on fresh stores, gives the same log —
 * the same event types, streams, payloads, actors and causation — with the controllers, the
 * scheduler and three hollow kubelets deciding in virtual time.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { startKronicle } from '../api/kronicle';
import { MemoryEventStore } from '../core/store/memory';
import { VirtualClock } from '../controllers/clock';
import { sequentialIds } from './support/ids';

const rcManifest = parse(fs.readFileSync(path.join(__dirname, 'fixtures/examples/replication-controller.yaml'), 'utf8'));

async function runScenario(): Promise<string[]> {
  const store = new MemoryEventStore();
  const clock = new VirtualClock('2026-11-27T10:00:00Z');
  const kronicle = await startKronicle({ store, port: 0, nodes: 3, ids: sequentialIds(7), clock: () => clock.now(), controllerClock: clock });
  const manager = kronicle.controllers!;
  const settle = () => manager.idle();
  const call = async (method: string, p: string, body?: unknown, type = 'application/json') => {
    const r = await fetch(`${kronicle.url}${p}`, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': type } });
    await r.text();
    await settle();
  };
  try {
    await settle();
    await call('POST', '/api/v1/namespaces/default/replicationcontrollers', rcManifest);
    await clock.advance(11_000, settle);
    await call('PATCH', '/api/v1/namespaces/default/replicationcontrollers/teciplsrc/scale', { spec: { replicas: 5 } }, 'application/merge-patch+json');
    await clock.advance(11_000, settle);
    await call('PATCH', '/api/v1/namespaces/default/replicationcontrollers/teciplsrc/scale', { spec: { replicas: 1 } }, 'application/merge-patch+json');
    await call('POST', '/api/v1/namespaces/default/services', { metadata: { name: 'web' }, spec: { selector: { name: 'teciplsrc' }, ports: [{ port: 80 }] } });
    await clock.advance(11_000, settle);
    const events = await store.readAll({ from: 1n, maxCount: 100_000 });
    return events.map((e) => {
      const m = e.metadata as { actor: { name: string }; causationId?: string; correlationId?: string; observedPosition?: string; decidedAt?: string };
      return JSON.stringify([e.id, e.type, e.stream, e.data, m.actor.name, m.causationId ?? null, m.correlationId ?? null, m.observedPosition ?? null, m.decidedAt ?? null]);
    });
  } finally {
    await kronicle.close();
    await store.close();
  }
}

describe('determinism', () => {
  it('runs the same scenario with the same seed and clock to the same log, twice', async () => {
    const first = await runScenario();
    const second = await runScenario();
    expect(first.length).toBeGreaterThan(60);
    expect(first.some((l) => l.includes('"PodBound"'))).toBe(true);
    expect(first.some((l) => l.includes('NodeLeaseRenewed'))).toBe(true);
    expect(second).toEqual(first);
  }, 60_000);
});
