/**
 * The seed's scenarios against `startKronicle({ nodes: 3 })` with short timeouts: a node that
 * stops heartbeating, the Service and its Endpoints, quota, namespace deletion, service
 * accounts, garbage collection, and the Events `kubectl describe` shows.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startKronicle, type RunningKronicle } from '../api/kronicle';
import { MemoryEventStore } from '../core/store/memory';
import { waitUntil } from './conformance/eventStore.conformance';
import { jsonCaller } from './support/http';

const examples = path.join(__dirname, 'fixtures/examples');
const docs = (file: string) => parseAllDocuments(fs.readFileSync(path.join(examples, file), 'utf8')).map((d) => d.toJSON());

describe('the seed’s scenarios', () => {
  let store: MemoryEventStore;
  let kronicle: RunningKronicle;
  const call = jsonCaller(() => kronicle.url);
  const list = async (p: string) => (await call('GET', p)).body.items as any[];
  const podsOf = (ns: string, selector: string) => list(`/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`);
  const running = (pods: any[]) => pods.filter((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp);
  const rc = (name: string, replicas: number, labels: Record<string, string>, ports: object[] = []) => ({
    metadata: { name },
    spec: { replicas, selector: labels, template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'nginx', ports }] } } },
  });

  beforeAll(async () => {
    store = new MemoryEventStore();
    kronicle = await startKronicle({ store, port: 0, nodes: 3, controllerSettings: { leaseRenewMs: 300, gracePeriodSeconds: 2, evictionTimeoutSeconds: 1 } });
    await waitUntil(async () => (await list('/api/v1/nodes')).length === 3);
  });

  afterAll(async () => {
    await kronicle.close();
    await store.close();
  });

  it('gives every namespace a default ServiceAccount with its token Secret', async () => {
    await call('POST', '/api/v1/namespaces', { metadata: { name: 'sa-ns' } });
    await waitUntil(async () => (await call('GET', '/api/v1/namespaces/sa-ns/serviceaccounts/default')).body.secrets?.length === 1);
    const sa = (await call('GET', '/api/v1/namespaces/sa-ns/serviceaccounts/default')).body;
    const secret = (await call('GET', `/api/v1/namespaces/sa-ns/secrets/${sa.secrets[0].name}`)).body;
    expect(secret.type).toBe('kubernetes.io/service-account-token');
    expect(secret.metadata.annotations['kubernetes.io/service-account.name']).toBe('default');
  });

  it('gives the seed’s Service a ClusterIP and Endpoints listing the matching pods with port 9999', async () => {
    const [service] = docs('service.yaml');
    expect((await call('POST', '/api/v1/namespaces/default/services', service)).status).toBe(201);
    await call('POST', '/api/v1/namespaces/default/replicationcontrollers', rc('my-app', 2, { app: 'myApp' }, [{ containerPort: 9999 }]));
    await waitUntil(async () => (await call('GET', '/api/v1/namespaces/default/endpoints/my-service')).body.subsets?.[0]?.addresses?.length === 2);
    const svc = (await call('GET', '/api/v1/namespaces/default/services/my-service')).body;
    expect(svc.spec.clusterIP).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/);
    const ep = (await call('GET', '/api/v1/namespaces/default/endpoints/my-service')).body;
    expect(ep.subsets[0].ports).toEqual([{ port: 9999, protocol: 'TCP' }]);
    const ips = running(await podsOf('default', 'app=myApp')).map((p) => p.status.podIP).sort();
    expect(ep.subsets[0].addresses.map((a: any) => a.ip).sort()).toEqual(ips);
    // A second service never gets the same address; a NodePort service gets a port in range.
    await call('POST', '/api/v1/namespaces/default/services', { metadata: { name: 'np' }, spec: { type: 'NodePort', selector: { app: 'x' }, ports: [{ port: 80 }] } });
    await waitUntil(async () => !!(await call('GET', '/api/v1/namespaces/default/services/np')).body.spec.clusterIP);
    const np = (await call('GET', '/api/v1/namespaces/default/services/np')).body;
    expect(np.spec.clusterIP).not.toBe(svc.spec.clusterIP);
    await waitUntil(async () => !!(await call('GET', '/api/v1/namespaces/default/services/np')).body.spec.ports[0].nodePort);
    expect((await call('GET', '/api/v1/namespaces/default/services/np')).body.spec.ports[0].nodePort).toBe(30000);
    // Deleted with its Service.
    await call('DELETE', '/api/v1/namespaces/default/services/my-service');
    await waitUntil(async () => (await call('GET', '/api/v1/namespaces/default/endpoints/my-service')).status === 404);
  });

  it('evicts the pods of a node that stops heartbeating, and recreates them on the others', async () => {
    await call('POST', '/api/v1/namespaces/default/replicationcontrollers', rc('spread', 3, { app: 'spread' }));
    await waitUntil(async () => running(await podsOf('default', 'app=spread')).length === 3);
    const victim = kronicle.kubelets[0];
    const before = running(await podsOf('default', 'app=spread')).filter((p) => p.spec.nodeName === victim.options.name);
    expect(before.length).toBeGreaterThan(0);
    victim.heartbeats = false;
    await waitUntil(async () => (await call('GET', `/api/v1/nodes/${victim.options.name}`)).body.status.conditions.find((c: any) => c.type === 'Ready').status === 'Unknown', 15_000);
    await waitUntil(async () => (await call('GET', `/api/v1/nodes/${victim.options.name}`)).body.spec.taints?.length === 2);
    const node = (await call('GET', `/api/v1/nodes/${victim.options.name}`)).body;
    expect(node.spec.taints.map((t: any) => `${t.key}:${t.effect}`).sort()).toEqual(['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
    await waitUntil(async () => {
      const pods = running(await podsOf('default', 'app=spread'));
      return pods.length === 3 && pods.every((p) => p.spec.nodeName !== victim.options.name);
    }, 15_000);
    // Back: Ready again, untainted.
    victim.heartbeats = true;
    kronicle.controllers!.enqueue(`${victim.name}#${victim.nodeKey}`);
    await waitUntil(async () => (await call('GET', `/api/v1/nodes/${victim.options.name}`)).body.status.conditions.find((c: any) => c.type === 'Ready').status === 'True', 15_000);
    await waitUntil(async () => !(await call('GET', `/api/v1/nodes/${victim.options.name}`)).body.spec.taints, 15_000);
  });

  it('rejects the fifth pod under the seed’s quota, and keeps status.used right as pods come and go', async () => {
    for (const d of docs('quota.yaml')) {
      const plural = { Namespace: 'namespaces', ResourceQuota: 'resourcequotas', LimitRange: 'limitranges' }[d.kind as string] as string;
      const base = d.kind === 'Namespace' ? '/api/v1' : `/api/v1/namespaces/${d.metadata.namespace}`;
      expect((await call('POST', `${base}/${plural}`, d)).status).toBe(201);
    }
    const pod = (name: string) => ({ metadata: { name }, spec: { containers: [{ name: 'c', image: 'i' }] } });
    for (let i = 1; i <= 4; i++) expect((await call('POST', '/api/v1/namespaces/team-a/pods', pod(`p${i}`))).status).toBe(201);
    const fifth = await call('POST', '/api/v1/namespaces/team-a/pods', pod('p5'));
    expect(fifth.status).toBe(403);
    expect(fifth.body.message).toBe('pods "p5" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=4, limited: pods=4');
    const used = (await call('GET', '/api/v1/namespaces/team-a/resourcequotas/compute')).body.status.used;
    expect(used).toMatchObject({ pods: '4', 'requests.cpu': '1', 'requests.memory': '512Mi', 'limits.cpu': '2', 'limits.memory': '1Gi' });
    await call('DELETE', '/api/v1/namespaces/team-a/pods/p1');
    await waitUntil(async () => (await call('GET', '/api/v1/namespaces/team-a/resourcequotas/compute')).body.status.used.pods === '3', 15_000);
    expect((await call('POST', '/api/v1/namespaces/team-a/pods', pod('p5'))).status).toBe(201);
  });

  it('deletes everything in a deleted namespace, then the namespace; creates in it are refused meanwhile', async () => {
    await call('POST', '/api/v1/namespaces', { metadata: { name: 'doomed' } });
    await call('POST', '/api/v1/namespaces/doomed/replicationcontrollers', rc('web', 2, { app: 'web' }));
    await call('POST', '/api/v1/namespaces/doomed/services', { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
    await waitUntil(async () => running(await podsOf('doomed', 'app=web')).length === 2);
    expect((await call('DELETE', '/api/v1/namespaces/doomed')).status).toBe(200);
    const refused = await call('POST', '/api/v1/namespaces/doomed/pods', { metadata: { name: 'late' }, spec: { containers: [{ name: 'c', image: 'i' }] } });
    expect(refused.status).toBe(403);
    await waitUntil(async () => (await call('GET', '/api/v1/namespaces/doomed')).status === 404, 15_000);
    expect(await list('/api/v1/namespaces/doomed/pods')).toEqual([]);
  });

  it('garbage-collects the pods of a deleted ReplicationController', async () => {
    await call('POST', '/api/v1/namespaces/default/replicationcontrollers', rc('owner', 2, { app: 'owned' }));
    await waitUntil(async () => running(await podsOf('default', 'app=owned')).length === 2);
    await call('DELETE', '/api/v1/namespaces/default/replicationcontrollers/owner');
    await waitUntil(async () => (await podsOf('default', 'app=owned')).length === 0, 15_000);
  });

  it('honours propagationPolicy Orphan (pods released, kept) and Foreground (pods first, then the owner)', async () => {
    await call('POST', '/api/v1/namespaces/default/replicationcontrollers', rc('orphaner', 2, { app: 'orphaned' }));
    await waitUntil(async () => running(await podsOf('default', 'app=orphaned')).length === 2);
    expect((await call('DELETE', '/api/v1/namespaces/default/replicationcontrollers/orphaner', { propagationPolicy: 'Orphan' })).status).toBe(200);
    await waitUntil(async () => (await call('GET', '/api/v1/namespaces/default/replicationcontrollers/orphaner')).status === 404, 15_000);
    const kept = await podsOf('default', 'app=orphaned');
    expect(kept).toHaveLength(2);
    for (const p of kept) expect(p.metadata.ownerReferences).toBeUndefined();

    await call('POST', '/api/v1/namespaces/default/replicationcontrollers', rc('fg', 2, { app: 'fg' }));
    await waitUntil(async () => running(await podsOf('default', 'app=fg')).length === 2);
    const deleting = await call('DELETE', '/api/v1/namespaces/default/replicationcontrollers/fg', { propagationPolicy: 'Foreground' });
    expect(deleting.body.metadata.finalizers).toEqual(['foregroundDeletion']);
    await waitUntil(async () => (await call('GET', '/api/v1/namespaces/default/replicationcontrollers/fg')).status === 404, 15_000);
    expect(await podsOf('default', 'app=fg')).toEqual([]);
    expect((await call('DELETE', '/api/v1/namespaces/default/pods/x', { propagationPolicy: 'Sideways' })).status).toBe(400);
  });

  it('records Events for what the controllers did', async () => {
    const events = await list('/api/v1/namespaces/default/events');
    const reasons = new Set(events.map((e) => e.reason));
    for (const r of ['SuccessfulCreate', 'Scheduled', 'Started', 'NodeNotReady', 'TaintManagerEviction']) expect(reasons).toContain(r);
    const scheduled = events.find((e) => e.reason === 'Scheduled');
    expect(scheduled.message).toMatch(/^Successfully assigned default\/spread-\w+ to node-\d$|^Successfully assigned default\/\S+ to node-\d$/);
    expect(scheduled.source).toEqual({ component: 'scheduler' });
  });
});
