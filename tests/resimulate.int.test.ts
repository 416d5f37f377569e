/**
 * Deterministic re-simulation: a recorded scenario's user requests, sent again at their recorded
 * times to today's control plane, reproduce its history event for event; a changed controller
 * shows up as the first event that comes out differently.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { standardReconcilers } from '../controllers';
import { inputsOf, recordScenario, resimulate } from '../api/simulation';
import { parseHistory } from '../replay/historyFile';
import { expectResimulationToMatch } from './support/replay';

const fixtures = path.join(__dirname, 'fixtures/histories');
const read = (name: string) => fs.readFileSync(path.join(fixtures, `${name}.ndjson`), 'utf8');

describe('re-simulation', () => {
  it.each(['rc-scale', 'service-endpoints'])('re-simulates %s event for event', async (name) => {
    const report = await expectResimulationToMatch(path.join(fixtures, `${name}.ndjson`));
    expect(report.inputs).toBe(3);
    expect(report.resimulatedEvents).toBe(parseHistory(read(name)).events.length);
  }, 60_000);

  it('takes only the users’ requests as inputs, each once', () => {
    const { events } = parseHistory(read('rc-scale'));
    const inputs = inputsOf(events);
    expect(inputs.map((i) => `${i.request.method} ${i.request.url}`)).toEqual([
      'POST /api/v1/namespaces/default/replicationcontrollers',
      'PATCH /api/v1/namespaces/default/replicationcontrollers/web/scale',
      'PATCH /api/v1/namespaces/default/replicationcontrollers/web/scale',
    ]);
  });

  it('reports the first event a changed controller writes differently', async () => {
    // The scheduler, changed: it binds to the last feasible node instead of the best one.
    const reconcilers = standardReconcilers().map((r) =>
      r.name !== 'scheduler'
        ? r
        : {
            ...r,
            reconcile: (key: string, ctx: Parameters<typeof r.reconcile>[1]) => {
              const d = r.reconcile(key, ctx);
              return { ...d, actions: d.actions.map((a) => (a.verb === 'bind' ? { ...a, node: 'node-3' } : a)) };
            },
          },
    );
    const report = await resimulate(read('rc-scale'), { reconcilers });
    expect(report.differences.length).toBeGreaterThan(0);
    const first = report.differences[0];
    const recordedFirstBind = parseHistory(read('rc-scale')).events.find((e) => e.type === 'PodBound' && (e.data as { nodeName: string }).nodeName !== 'node-3')!;
    expect(first.recorded?.type).toBe('PodBound');
    expect(BigInt(first.recorded!.position)).toBeLessThanOrEqual(recordedFirstBind.position);
    expect(first.changes).toEqual(expect.arrayContaining([expect.objectContaining({ path: '/data/nodeName', to: 'node-3' })]));
    await expect(expectResimulationToMatch(path.join(fixtures, 'rc-scale.ndjson'), { reconcilers })).rejects.toThrow(/event \d+: recorded PodBound/);
  }, 60_000);

  it('records a scenario of its own and re-simulates it', async () => {
    const lines = await recordScenario(async (sim) => {
      await sim.call('POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'solo' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
      await sim.advance(5_000);
      await sim.call('DELETE', '/api/v1/namespaces/default/pods/solo');
      await sim.advance(35_000);
    });
    const report = await resimulate(lines.join('\n'));
    expect(report.differences).toEqual([]);
    expect(report.finalDifferences).toEqual([]);
    expect(report.inputs).toBe(2);
  }, 60_000);

  it('takes a node fault written through the API as an input, and re-simulates its consequences', async () => {
    const lines = await recordScenario(async (sim) => {
      await sim.call('POST', '/api/v1/namespaces/default/replicationcontrollers', {
        metadata: { name: 'web' },
        spec: { replicas: 3, selector: { app: 'web' }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] } } },
      });
      await sim.advance(11_000);
      // node-1 stops heartbeating: the node lifecycle controller marks it NotReady after its grace period.
      await sim.call('PATCH', '/api/v1/nodes/node-1', { metadata: { annotations: { 'kronicle.io/fault': 'heartbeats-stopped' } } }, 'application/merge-patch+json');
      await sim.advance(60_000);
    });
    const { events } = parseHistory(lines.join('\n'));
    const notReady = events.find((e) => e.stream === 'Node-node-1' && JSON.stringify(e.data).includes('"NodeStatusUnknown"'));
    expect(notReady).toBeDefined();
    const report = await resimulate(lines.join('\n'));
    expect(report.inputs).toBe(2);
    expect(report.differences).toEqual([]);
    expect(report.finalDifferences).toEqual([]);
  }, 60_000);

  it('refuses a history that was not recorded in the simulator', async () => {
    const lines = read('rc-scale').split('\n');
    const header = JSON.parse(lines[0]);
    delete header.simulation;
    lines[0] = JSON.stringify(header);
    await expect(resimulate(lines.join('\n'))).rejects.toThrow(/not recorded in the simulator/);
  });
});
