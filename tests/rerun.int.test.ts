/**
 * Controller time travel over the recorded scenarios: every controller write names its decision;
 * re-running today's controllers at every recorded decision point reproduces every decision, and
 * a deliberately changed controller is caught at the first decision it takes differently.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { standardReconcilers } from '../controllers';
import type { Reconciler } from '../controllers/runtime';
import { MemoryEventStore } from '../core/store/memory';
import { importHistory, parseHistory } from '../replay/historyFile';
import { decisionPoints, explainDecision, rerun } from '../replay/rerun';

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, 'fixtures/histories', `${name}.ndjson`), 'utf8');

async function storeOf(name: string): Promise<MemoryEventStore> {
  const store = new MemoryEventStore();
  await importHistory(store, fixture(name));
  return store;
}

/** Today's controllers, but the replication controller creates one pod fewer than it should. */
function withChangedReplication(): Reconciler[] {
  return standardReconcilers().map((r) =>
    r.name !== 'replication-controller'
      ? r
      : {
          ...r,
          reconcile: (key, ctx) => {
            const d = r.reconcile(key, ctx);
            const creates = d.actions.filter((a) => a.verb === 'create' && a.kind === 'Pod');
            return creates.length > 1 ? { ...d, actions: d.actions.filter((a) => a !== creates[creates.length - 1]) } : d;
          },
        },
  );
}

describe('controller time travel', () => {
  it.each(['rc-scale', 'service-endpoints'])('every controller event of %s belongs to a decision that names what it observed', async (name) => {
    const { events } = parseHistory(fixture(name));
    const byControllers = events.filter((e) => ['controller', 'node'].includes((e.metadata as { actor: { kind: string } }).actor.kind));
    expect(byControllers.length).toBeGreaterThan(10);
    for (const e of byControllers) {
      const m = e.metadata as { observedPosition?: string; decision?: { controller: string; key: string; digest: string } };
      expect(m.decision).toBeDefined();
      expect(BigInt(m.observedPosition!)).toBeLessThan(e.position);
    }
  });

  it.each(['rc-scale', 'service-endpoints'])('re-running unchanged controllers over %s reports 0 differences', async (name) => {
    const store = await storeOf(name);
    const points = await decisionPoints(store);
    const report = await rerun(store);
    expect(report.checked).toBe(points.length);
    expect(report.skipped).toBe(0);
    expect(report.differences).toEqual([]);
    const controllers = new Set(points.map((p) => p.controller));
    expect([...controllers]).toEqual(expect.arrayContaining(['replication-controller', 'scheduler', 'kubelet-node-1']));
  });

  it('catches a changed controller at the first decision it takes differently', async () => {
    const store = await storeOf('rc-scale');
    const report = await rerun(store, { reconcilers: withChangedReplication() });
    expect(report.differences.length).toBeGreaterThan(0);
    const first = report.differences[0];
    // The first decision that created more than one pod: the controller's first look at the new RC.
    const rcCreates = (await decisionPoints(store, { controller: 'replication-controller' })).find((p) => p.events.filter((e) => e.type === 'PodCreated').length > 1)!;
    expect(first.point.controller).toBe('replication-controller');
    expect(first.point.events[0].position).toBe(rcCreates.events[0].position);
    expect(first.input?.kind).toBe('ReplicationController');
    expect(first.actions.filter((a) => a.verb === 'create')).toHaveLength(rcCreates.events.filter((e) => e.type === 'PodCreated').length - 1);
    // Every other controller still decides as recorded.
    expect(report.differences.every((d) => d.point.controller === 'replication-controller')).toBe(true);
  });

  it('explains one decision: what the controller saw, what it did then and what the code does now', async () => {
    const store = await storeOf('rc-scale');
    const bound = (await store.readAll({ maxCount: 1000 })).find((e) => e.type === 'PodBound')!;
    const explained = await explainDecision(store, bound.id);
    expect(explained.point.controller).toBe('scheduler');
    expect(explained.input?.metadata.name).toBe(bound.stream.split('/')[1]);
    expect((explained.input?.spec as { nodeName?: string }).nodeName).toBeUndefined();
    expect(explained.same).toBe(true);
    expect(explained.actions[0]).toMatchObject({ verb: 'bind', node: (bound.data as { nodeName: string }).nodeName });
    await expect(explainDecision(store, (await store.readAll({ maxCount: 1 }))[0].id)).rejects.toThrow(/was not written by a controller's decision/);
    await expect(explainDecision(store, 'nope')).rejects.toThrow('the log has no event nope');
    // A store without an index by id (EventStoreDB) is searched instead, to the same answer.
    const unindexed = new Proxy(store, { get: (target, key) => (key === 'positionOfEvent' ? undefined : Reflect.get(target, key, target)) });
    expect(unindexed.positionOfEvent).toBeUndefined();
    const searched = await explainDecision(unindexed, bound.id);
    expect(searched.event.position).toBe(explained.event.position);
    expect(searched.actions).toEqual(explained.actions);
    await expect(explainDecision(unindexed, 'nope')).rejects.toThrow('the log has no event nope');
  });
});
