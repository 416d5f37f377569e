/**
 * The control plane reconciling itself: `startKronicle({ nodes: 3 })` — the replication
 * controller, the scheduler and three hollow kubelets — driven through the HTTP API, with the
 * seed's ReplicationController, and the log checked for who caused what.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { startKronicle, type RunningKronicle } from '../api/kronicle';
import { MemoryEventStore } from '../core/store/memory';
import { waitUntil } from './conformance/eventStore.conformance';
import { jsonCaller } from './support/http';

const rcManifest = parse(fs.readFileSync(path.join(__dirname, 'fixtures/examples/replication-controller.yaml'), 'utf8'));

describe('controllers, scheduler and hollow kubelets', () => {
  let store: MemoryEventStore;
  let kronicle: RunningKronicle;
  const call = jsonCaller(() => kronicle.url);
  const pods = async (selector = 'name=teciplsrc') => (await call('GET', `/api/v1/namespaces/default/pods?labelSelector=${encodeURIComponent(selector)}`)).body.items as any[];
  const running = (list: any[]) => list.filter((p) => p.status?.phase === 'Running' && p.spec?.nodeName && !p.metadata.deletionTimestamp);

  beforeAll(async () => {
    store = new MemoryEventStore();
    kronicle = await startKronicle({ store, port: 0, nodes: 3 });
    await waitUntil(async () => (await call('GET', '/api/v1/nodes')).body.items.length === 3);
  });

  afterAll(async () => {
    await kronicle.close();
    await store.close();
  });

  it('registers three Ready nodes with leases in kube-node-lease', async () => {
    const nodes = (await call('GET', '/api/v1/nodes')).body.items;
    expect(nodes.map((n: any) => n.metadata.name).sort()).toEqual(['node-1', 'node-2', 'node-3']);
    for (const n of nodes) {
      expect(n.status.conditions.find((c: any) => c.type === 'Ready').status).toBe('True');
      expect(n.status.allocatable).toMatchObject({ cpu: '4', memory: '16Gi', pods: '110' });
      expect(n.spec.podCIDR).toMatch(/^127\.\d+\.\d+\.0\/24$/);
    }
    await waitUntil(async () => (await call('GET', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases')).body.items.length === 3);
    const lease = (await call('GET', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1')).body;
    expect(lease.spec).toMatchObject({ holderIdentity: 'node-1', leaseDurationSeconds: 40 });
  });

  it('runs the seed’s ReplicationController: 3 Running pods, each on a node, spread, with IPs from the node’s CIDR', async () => {
    expect((await call('POST', '/api/v1/namespaces/default/replicationcontrollers', rcManifest)).status).toBe(201);
    await waitUntil(async () => running(await pods()).length === 3);
    const list = running(await pods());
    expect(new Set(list.map((p) => p.spec.nodeName)).size).toBe(3);
    for (const p of list) {
      const node = p.spec.nodeName.replace('node-', '');
      expect(p.status.podIP).toMatch(new RegExp(`^127\\.2\\.${node}\\.\\d+$`));
      expect(p.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'ReplicationController', name: 'teciplsrc', controller: true })]);
    }
    await waitUntil(async () => (await call('GET', '/api/v1/namespaces/default/replicationcontrollers/teciplsrc')).body.status?.readyReplicas === 3);
    const rc = (await call('GET', '/api/v1/namespaces/default/replicationcontrollers/teciplsrc')).body;
    expect(rc.status).toMatchObject({ replicas: 3, readyReplicas: 3, availableReplicas: 3, observedGeneration: 1 });
  });

  it('scales to 5 and back to 0; the kubelets finish the graceful deletions', async () => {
    await call('PATCH', '/api/v1/namespaces/default/replicationcontrollers/teciplsrc/scale', { spec: { replicas: 5 } }, 'application/merge-patch+json');
    await waitUntil(async () => running(await pods()).length === 5);
    await call('PATCH', '/api/v1/namespaces/default/replicationcontrollers/teciplsrc/scale', { spec: { replicas: 0 } }, 'application/merge-patch+json');
    await waitUntil(async () => (await pods()).length === 0);
    await waitUntil(async () => (await call('GET', '/api/v1/namespaces/default/replicationcontrollers/teciplsrc')).body.status?.replicas === 0);
  });

  it('keeps a pod relabelled out of the selector (released) and replaces it', async () => {
    await call('PATCH', '/api/v1/namespaces/default/replicationcontrollers/teciplsrc/scale', { spec: { replicas: 2 } }, 'application/merge-patch+json');
    await waitUntil(async () => running(await pods()).length === 2);
    const [victim] = running(await pods());
    await call('PATCH', `/api/v1/namespaces/default/pods/${victim.metadata.name}`, { metadata: { labels: { name: 'other' } } }, 'application/merge-patch+json');
    await waitUntil(async () => running(await pods()).length === 2 && !(running(await pods())).some((p) => p.metadata.name === victim.metadata.name));
    const released = (await call('GET', `/api/v1/namespaces/default/pods/${victim.metadata.name}`)).body;
    expect(released.status.phase).toBe('Running');
    await waitUntil(async () => !(await call('GET', `/api/v1/namespaces/default/pods/${victim.metadata.name}`)).body.metadata.ownerReferences);
  });

  it('marks a pod nothing can hold Unschedulable with Kubernetes’ message', async () => {
    await call('POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'huge' }, spec: { containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '64' } } }] } });
    await waitUntil(async () => (await call('GET', '/api/v1/namespaces/default/pods/huge')).body.status.conditions?.some((c: any) => c.type === 'PodScheduled'));
    const pod = (await call('GET', '/api/v1/namespaces/default/pods/huge')).body;
    expect(pod.status.conditions.find((c: any) => c.type === 'PodScheduled')).toMatchObject({ status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient cpu.' });
    await call('DELETE', '/api/v1/namespaces/default/pods/huge');
  });

  it('records every controller, scheduler and kubelet write as its actor, naming a cause earlier in the log', async () => {
    await kronicle.controllers!.idle();
    const events = await store.readAll({ from: 1n, maxCount: 1_000_000 });
    const seen = new Map<string, bigint>();
    const actors = new Set<string>();
    const inProcess = new Set<string>();
    let caused = 0;
    for (const e of events) {
      const m = e.metadata as { actor: { kind: string; name: string; impersonator?: string; authMethod?: string }; causationId?: string; observedPosition?: string; decidedAt?: string };
      if (m.actor.kind === 'controller' || m.actor.kind === 'node') {
        actors.add(m.actor.name);
        // Heartbeats, bindings, status reports and creates are written in-process; the rest through the API, impersonating.
        if (m.actor.authMethod === 'in-process') {
          inProcess.add(e.type);
          expect(m.actor.impersonator).toBeUndefined();
        } else expect(m.actor).toMatchObject({ authMethod: 'insecure-port', impersonator: 'system:unsecured' });
        expect(m.causationId).toBeDefined();
        expect(seen.get(m.causationId as string)).toBeDefined();
        expect(seen.get(m.causationId as string)! < e.position).toBe(true);
        expect(BigInt(m.observedPosition as string) < e.position).toBe(true);
        expect(m.decidedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
        caused++;
      }
      seen.set(e.id, e.position);
    }
    expect(caused).toBeGreaterThan(20);
    expect([...inProcess].sort()).toEqual(expect.arrayContaining(['NodeLeaseRenewed', 'PodBound', 'PodStatusReported']));
    for (const type of inProcess) expect(type).toMatch(/^(NodeLeaseRenewed|PodBound|PodStatusReported|\w+StatusUpdated|\w+Created|\w*Quota(Charged|Refunded))$/);
    expect([...actors].sort()).toEqual(
      expect.arrayContaining(['system:controller:replication-controller', 'system:kube-scheduler', 'system:node:node-1', 'system:node:node-2', 'system:node:node-3']),
    );
    expect(events.some((e) => e.type === 'NodeLeaseRenewed')).toBe(true);
    expect(events.some((e) => e.type === 'PodBound')).toBe(true);
  });
});
