/**
 * Records the scenarios shipped as regression fixtures under tests/fixtures/histories, in the
 * simulator (virtual time, seeded ids: a re-recording with unchanged code is byte-identical):
 *
 *   npx tsx scripts/record-histories.ts
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { recordScenario, type Simulation } from '../api/simulation';

const rc = (name: string, replicas: number) => ({
  metadata: { name },
  spec: { replicas, selector: { app: name }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx:1.27', ports: [{ containerPort: 9999 }] }] } } },
});

/** Every request must succeed: a fixture records what was meant to happen. */
const ok = async (answer: Promise<{ status: number; body: string }>) => {
  const r = await answer;
  if (r.status >= 400) throw new Error(`${r.status} ${r.body}`);
};

const SCENARIOS: Record<string, (sim: Simulation) => Promise<void>> = {
  'rc-scale': async (sim) => {
    await ok(sim.call('POST', '/api/v1/namespaces/default/replicationcontrollers', rc('web', 3)));
    await sim.advance(11_000);
    await ok(sim.call('PATCH', '/api/v1/namespaces/default/replicationcontrollers/web/scale', { spec: { replicas: 5 } }, 'application/merge-patch+json'));
    await sim.advance(11_000);
    await ok(sim.call('PATCH', '/api/v1/namespaces/default/replicationcontrollers/web/scale', { spec: { replicas: 1 } }, 'application/merge-patch+json'));
    await sim.advance(11_000);
  },
  'service-endpoints': async (sim) => {
    await ok(sim.call('POST', '/api/v1/namespaces/default/services', { metadata: { name: 'my-service' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 9999 }] } }));
    await ok(sim.call('POST', '/api/v1/namespaces/default/replicationcontrollers', rc('web', 2)));
    await sim.advance(11_000);
    await ok(sim.call('DELETE', '/api/v1/namespaces/default/services/my-service'));
    await sim.advance(11_000);
  },
};

async function main(): Promise<void> {
  const dir = path.join(__dirname, '..', 'tests', 'fixtures', 'histories');
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    const lines = await recordScenario(scenario);
    fs.writeFileSync(path.join(dir, `${name}.ndjson`), `${lines.join('\n')}\n`);
    console.log(`${name}: ${lines.length - 2} events`);
  }
}

void main();
