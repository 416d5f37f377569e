/**
 * Records the scenarios shipped as regression fixtures under tests/fixtures/histories, in
 * virtual time with seeded ids (so a re-recording with unchanged code is byte-identical but for
 * the export time):
 *
 *   npx tsx scripts/record-histories.ts
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startKronicle } from '../api/kronicle';
import { MemoryEventStore } from '../core/store/memory';
import { VirtualClock } from '../controllers/clock';
import { exportHistory } from '../replay/historyFile';
import { stateDigest } from '../projections/digest';
import type { ClusterProjection } from '../projections';
import type { Subscription } from 'rxjs';
import { sequentialIds } from '../tests/support/ids';

type Step = (call: (method: string, p: string, body?: unknown, type?: string) => Promise<void>, clock: VirtualClock, settle: () => Promise<void>) => Promise<void>;

const rc = (name: string, replicas: number) => ({
  metadata: { name },
  spec: { replicas, selector: { app: name }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx:1.27', ports: [{ containerPort: 9999 }] }] } } },
});

const SCENARIOS: Record<string, Step> = {
  'rc-scale': async (call, clock, settle) => {
    await call('POST', '/api/v1/namespaces/default/replicationcontrollers', rc('web', 3));
    await clock.advance(11_000, settle);
    await call('PATCH', '/api/v1/namespaces/default/replicationcontrollers/web/scale', { spec: { replicas: 5 } }, 'application/merge-patch+json');
    await clock.advance(11_000, settle);
    await call('PATCH', '/api/v1/namespaces/default/replicationcontrollers/web/scale', { spec: { replicas: 1 } }, 'application/merge-patch+json');
    await clock.advance(11_000, settle);
  },
  'service-endpoints': async (call, clock, settle) => {
    await call('POST', '/api/v1/namespaces/default/services', { metadata: { name: 'my-service' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 9999 }] } });
    await call('POST', '/api/v1/namespaces/default/replicationcontrollers', rc('web', 2));
    await clock.advance(11_000, settle);
    await call('DELETE', '/api/v1/namespaces/default/services/my-service');
    await clock.advance(11_000, settle);
  },
};

async function record(name: string, step: Step): Promise<string[]> {
  const clock = new VirtualClock('2026-11-27T10:00:00Z');
  // The store records in virtual time too: a re-recording is identical, recorded times included.
  const store = new MemoryEventStore({ clock: () => clock.now() });
  // The live state after every event, as the server saw it: a replay is checked against each one.
  const digests = new Map<bigint, string>();
  const watching: Subscription[] = [];
  const observeProjection = (live: ClusterProjection) => watching.push(live.applied.subscribe((position) => digests.set(position, stateDigest(live))));
  const kronicle = await startKronicle({ store, port: 0, nodes: 3, ids: sequentialIds(3), clock: () => clock.now(), controllerClock: clock, observeProjection });
  const settle = () => kronicle.controllers!.idle();
  const call = async (method: string, p: string, body?: unknown, type = 'application/json') => {
    const r = await fetch(`${kronicle.url}${p}`, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': type } });
    if (r.status >= 400) throw new Error(`${name}: ${method} ${p}: ${r.status} ${await r.text()}`);
    await r.text();
    await settle();
  };
  try {
    await settle();
    await step(call, clock, settle);
    return await exportHistory(store, { digests });
  } finally {
    for (const w of watching) w.unsubscribe();
    await kronicle.close();
    await store.close();
  }
}

async function main(): Promise<void> {
  const dir = path.join(__dirname, '..', 'tests', 'fixtures', 'histories');
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, step] of Object.entries(SCENARIOS)) {
    const lines = await record(name, step);
    fs.writeFileSync(path.join(dir, `${name}.ndjson`), `${lines.join('\n')}\n`);
    console.log(`${name}: ${lines.length - 2} events`);
  }
}

void main();
