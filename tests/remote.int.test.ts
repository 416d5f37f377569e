/**
 * Controllers in their own "process" (a RemoteView over HTTP, as `kronicle controllers --server`
 * runs them), two of them, elected by a lease: only the leader acts; when it goes, the other
 * takes over. Hollow nodes run remotely too (`kronicle node --server`).
 */
import { startKronicle, type RunningKronicle } from '../api/kronicle';
import { MemoryEventStore } from '../core/store/memory';
import { ApiClient, ControllerManager, ElectedControllers, RemoteView, hollowNodes, standardReconcilers, wallClock, type Reconciler } from '../controllers';
import { waitUntil } from './conformance/eventStore.conformance';
import { jsonCaller } from './support/http';

interface Remote {
  view: RemoteView;
  client: ApiClient;
  managers: ControllerManager[];
  election?: ElectedControllers;
  stop(): Promise<void>;
}

async function remote(url: string, reconcilers: Reconciler[], elect?: string): Promise<Remote> {
  const view = new RemoteView(url);
  await view.start();
  const client = new ApiClient(url);
  const managers: ControllerManager[] = [];
  const make = (list: Reconciler[]) => {
    const m = new ControllerManager({ projection: view, eventAt: (p) => view.eventAt(p), client, clock: wallClock, reconcilers: list });
    managers.push(m);
    return m;
  };
  const base = make(reconcilers);
  base.start();
  const election = elect ? new ElectedControllers(view, client, wallClock, { identity: elect, leaseDurationSeconds: 2, retryPeriodMs: 200 }, () => make(standardReconcilers())) : undefined;
  election?.start();
  return {
    view,
    client,
    managers,
    election,
    async stop() {
      await election?.stop();
      await base.stop();
      view.stop();
      client.close();
    },
  };
}

describe('controllers and nodes through the API, with leader election', () => {
  let store: MemoryEventStore;
  let kronicle: RunningKronicle;
  let nodes: Remote;
  let a: Remote;
  let b: Remote;
  const call = jsonCaller(() => kronicle.url);
  const running = async () => ((await call('GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb')).body.items as any[]).filter((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp);

  beforeAll(async () => {
    store = new MemoryEventStore();
    kronicle = await startKronicle({ store, port: 0 });
    nodes = await remote(kronicle.url, hollowNodes(2));
    a = await remote(kronicle.url, [], 'manager-a');
    await waitUntil(() => a.election!.isLeader);
    b = await remote(kronicle.url, [], 'manager-b');
  });

  afterAll(async () => {
    await b.stop();
    await a.stop();
    await nodes.stop();
    await kronicle.close();
    await store.close();
  });

  it('runs a ReplicationController with the leader only, on remote hollow nodes', async () => {
    await call('POST', '/api/v1/namespaces/default/replicationcontrollers', {
      metadata: { name: 'web' },
      spec: { replicas: 3, selector: { app: 'web' }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } },
    });
    await waitUntil(async () => (await running()).length === 3);
    expect(a.election!.isLeader).toBe(true);
    expect(b.election!.isLeader).toBe(false);
    const created = (await store.readAll({ from: 1n, maxCount: 100_000 })).filter((e) => e.type === 'PodCreated');
    expect(created).toHaveLength(3);
    const lease = (await call('GET', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kronicle-controller-manager')).body;
    expect(lease.spec.holderIdentity).toBe('manager-a');
  });

  it('hands over when the leader goes', async () => {
    await a.stop();
    await waitUntil(() => b.election!.isLeader, 10_000);
    await call('PATCH', '/api/v1/namespaces/default/replicationcontrollers/web/scale', { spec: { replicas: 4 } }, 'application/merge-patch+json');
    await waitUntil(async () => (await running()).length === 4, 10_000);
    const lease = (await call('GET', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kronicle-controller-manager')).body;
    expect(lease.spec).toMatchObject({ holderIdentity: 'manager-b', leaseTransitions: 1 });
  });

  it('names the cause of every remote decision, as in-process controllers do', async () => {
    const events = await store.readAll({ from: 1n, maxCount: 100_000 });
    const seen = new Set<string>();
    let caused = 0;
    for (const e of events) {
      const m = e.metadata as { actor: { kind: string; name: string }; causationId?: string };
      if ((m.actor.kind === 'controller' || m.actor.kind === 'node') && m.actor.name !== 'system:kube-controller-manager') {
        expect(m.causationId && seen.has(m.causationId)).toBe(true);
        caused++;
      }
      seen.add(e.id);
    }
    expect(caused).toBeGreaterThan(10);
  });
});
