/**
 * Given/when/then for every reconciler, in virtual time: given the observed objects, when the
 * key is reconciled at `now`, then these actions (and requeue). No server, no store.
 */
import type { KubeObject } from '../core/objects/codecs';
import { keyOf, type Action, type Decision } from '../controllers/actions';
import { HollowKubelet } from '../controllers/kubelet';
import { replicationController } from '../controllers/replication';
import { NodeUsages, scheduler, usageOf } from '../controllers/scheduler';
import { nodeLifecycle } from '../controllers/nodeLifecycle';
import { endpointsController } from '../controllers/endpoints';
import { serviceController } from '../controllers/service';
import { namespaceController } from '../controllers/namespace';
import { serviceAccountController } from '../controllers/serviceAccount';
import { resourceQuotaController } from '../controllers/resourceQuota';
import { garbageCollector, podGarbageCollector } from '../controllers/garbageCollector';
import type { Reconciler } from '../controllers/runtime';
import { VirtualClock } from '../controllers/clock';
import { WorkQueue } from '../controllers/queue';
import { viewOf } from './support/view';

const NOW = new Date('2026-11-27T10:00:00Z');
const T = (s: number) => new Date(NOW.getTime() + s * 1000).toISOString().replace(/\.000Z$/, 'Z');

const given = (objects: KubeObject[]) => ({
  when: (r: Reconciler, key: string, now = NOW): Decision => r.reconcile(key, { view: viewOf(objects), now }),
});
const verbs = (d: Decision) => d.actions.map((a: Action) => `${a.verb} ${'kind' in a ? a.kind : 'Pod'} ${'name' in a ? a.name : ''}`.trim());

const rc = (replicas: number, extra: Partial<KubeObject> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ReplicationController',
  metadata: { name: 'web', namespace: 'default', uid: 'rc-uid', generation: 2 },
  spec: { replicas, selector: { app: 'web' }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } },
  ...extra,
});
const owner = { apiVersion: 'v1', kind: 'ReplicationController', name: 'web', uid: 'rc-uid', controller: true, blockOwnerDeletion: true };
const pod = (name: string, opts: { labels?: Record<string, string>; owned?: boolean; node?: string; phase?: string; ready?: boolean; created?: string; deleting?: boolean; cpu?: string; ip?: string } = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    namespace: 'default',
    uid: `uid-${name}`,
    labels: opts.labels ?? { app: 'web' },
    creationTimestamp: opts.created ?? T(0),
    ...(opts.owned === false ? {} : { ownerReferences: [owner] }),
    ...(opts.deleting ? { deletionTimestamp: T(30) } : {}),
  },
  spec: { containers: [{ name: 'c', image: 'i', ports: [{ name: 'http', containerPort: 9999 }], ...(opts.cpu ? { resources: { requests: { cpu: opts.cpu } } } : {}) }], ...(opts.node ? { nodeName: opts.node } : {}) },
  status: {
    phase: opts.phase ?? 'Running',
    ...(opts.ip ? { podIP: opts.ip } : {}),
    conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }],
  },
});
const node = (name: string, opts: { cpu?: string; ready?: string; labels?: Record<string, string>; taints?: object[]; heartbeat?: string } = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, uid: `uid-${name}`, labels: { 'kubernetes.io/hostname': name, ...(opts.labels ?? {}) }, creationTimestamp: T(-100) },
  spec: { ...(opts.taints ? { taints: opts.taints } : {}) },
  status: { allocatable: { cpu: opts.cpu ?? '4', memory: '16Gi', pods: '110' }, conditions: [{ type: 'Ready', status: opts.ready ?? 'True', lastHeartbeatTime: opts.heartbeat ?? T(-5) }] },
});

describe('replication controller', () => {
  const key = keyOf('ReplicationController', 'default', 'web');
  it('creates the missing pods from the template, owned by the controller', () => {
    const d = given([rc(3), pod('a')]).when(replicationController, key);
    const creates = d.actions.filter((a) => a.verb === 'create');
    expect(creates).toHaveLength(2);
    expect(creates[0]).toMatchObject({ body: { metadata: { generateName: 'web-', labels: { app: 'web' }, ownerReferences: [owner] } }, event: { reason: 'SuccessfulCreate' } });
  });
  it('scales down unscheduled first, then not ready, then the newest', () => {
    const pods = [pod('old', { node: 'n1', created: T(0) }), pod('new', { node: 'n1', created: T(5) }), pod('notready', { node: 'n1', ready: false }), pod('unscheduled', { phase: 'Pending', ready: false })];
    const deleted = (n: number) => given([rc(n), ...pods]).when(replicationController, key).actions.filter((a) => a.verb === 'delete').map((a) => (a as { name: string }).name);
    expect(deleted(3)).toEqual(['unscheduled']);
    expect(deleted(2)).toEqual(['unscheduled', 'notready']);
    expect(deleted(1)).toEqual(['unscheduled', 'notready', 'new']);
    expect(deleted(0)).toHaveLength(4);
  });
  it('adopts a matching orphan and releases a pod relabelled out of the selector', () => {
    const d = given([rc(2), pod('orphan', { owned: false }), pod('moved', { labels: { app: 'other' } })]).when(replicationController, key);
    expect(verbs(d).sort()).toEqual(['create Pod', 'patch Pod moved', 'patch Pod orphan', 'updateStatus ReplicationController web']);
    const released = d.actions.find((a) => a.verb === 'patch' && a.name === 'moved');
    expect((released as unknown as { patch: { metadata: { ownerReferences: unknown } } }).patch.metadata.ownerReferences).toBeNull();
  });
  it('reports status, and does nothing more when all is as it should be', () => {
    const d = given([rc(2), pod('a'), pod('b', { ready: false })]).when(replicationController, key);
    expect(d.actions).toEqual([expect.objectContaining({ verb: 'updateStatus', body: expect.objectContaining({ status: { replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 1, availableReplicas: 1, observedGeneration: 2 } }) })]);
    const settled = rc(2, { status: { replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 2, observedGeneration: 2 } });
    expect(given([settled, pod('a'), pod('b')]).when(replicationController, key).actions).toEqual([]);
  });
  it('ignores pods being deleted when counting', () => {
    expect(verbs(given([rc(1), pod('going', { deleting: true })]).when(replicationController, key))[0]).toBe('create Pod');
  });
});

describe('scheduler', () => {
  const key = keyOf('Pod', 'default', 'p');
  it('binds to the least allocated node that fits, ties to the name', () => {
    const d = given([node('n1'), node('n2'), pod('busy', { node: 'n1', cpu: '2' }), pod('p', { owned: false, phase: 'Pending', cpu: '1' })]).when(scheduler, key);
    expect(d.actions).toEqual([expect.objectContaining({ verb: 'bind', name: 'p', node: 'n2', event: expect.objectContaining({ reason: 'Scheduled', message: 'Successfully assigned default/p to n2' }) })]);
  });
  it('says why nothing fits, in Kubernetes’ words', () => {
    const nodes = [node('n1', { cpu: '1' }), node('n2', { ready: 'False' }), node('n3', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] })];
    const d = given([...nodes, pod('p', { owned: false, phase: 'Pending', cpu: '2' })]).when(scheduler, key);
    const status = (d.actions[0] as unknown as { body: { status: { conditions: Array<{ type: string; message: string }> } } }).body.status;
    expect(status.conditions.find((c) => c.type === 'PodScheduled')).toMatchObject({
      status: 'False',
      reason: 'Unschedulable',
      message: '0/3 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: db}, 1 node(s) were not ready.',
    });
  });
  it('honours nodeSelector and tolerations', () => {
    const p = pod('p', { owned: false, phase: 'Pending' });
    (p.spec as Record<string, unknown>).nodeSelector = { disk: 'ssd' };
    (p.spec as Record<string, unknown>).tolerations = [{ key: 'dedicated', operator: 'Exists' }];
    const d = given([node('n1'), node('n2', { labels: { disk: 'ssd' }, taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }), p]).when(scheduler, key);
    expect(d.actions[0]).toMatchObject({ verb: 'bind', node: 'n2' });
  });
  it('leaves bound pods alone', () => {
    expect(given([node('n1'), pod('p', { node: 'n1' })]).when(scheduler, key).actions).toEqual([]);
  });
  it('keeps every node’s usage in step with the pods’ changes (the same as summing each node’s pods)', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    const nodes = ['n1', 'n2', 'n3'];
    const owners = [undefined, 'rc-a', 'rc-b'];
    const make = (name: string): KubeObject => {
      const p = pod(name, { owned: false, phase: ['Pending', 'Running', 'Succeeded', 'Failed'][rnd(4)], cpu: `${1 + rnd(3)}00m`, ...(rnd(4) > 0 ? { node: nodes[rnd(3)] } : {}) });
      const o = owners[rnd(3)];
      return o ? { ...p, metadata: { ...p.metadata, ownerReferences: [{ ...owner, uid: o }] } } : p;
    };
    const current = new Map<string, KubeObject>();
    for (let i = 0; i < 10; i++) current.set(`p${i}`, make(`p${i}`));
    const usages = new NodeUsages(viewOf([...current.values()]));
    const mismatches: string[] = [];
    for (let step = 0; step < 500; step++) {
      const name = `p${rnd(14)}`;
      if (current.has(name) && rnd(4) === 0) {
        usages.observe(current.get(name)!, true);
        current.delete(name);
      } else {
        const next = make(name);
        current.set(name, next);
        usages.observe(next, false);
      }
      for (const n of nodes) {
        const expected = usageOf([...current.values()].filter((p) => (p.spec as { nodeName?: string }).nodeName === n));
        const got = usages.of(n);
        if (got.pods !== expected.pods || got.cpu !== expected.cpu || got.memory !== expected.memory || JSON.stringify([...got.owners].sort()) !== JSON.stringify([...expected.owners].sort())) mismatches.push(`step ${step} ${n}`);
      }
    }
    expect(mismatches).toEqual([]);
  });
});

describe('hollow kubelet', () => {
  const kubelet = new HollowKubelet({ name: 'n1', index: 1 });
  it('registers its node and renews its lease every 10 s', () => {
    const d = given([]).when(kubelet, kubelet.nodeKey);
    expect(verbs(d)).toEqual(['create Node', 'renewLease Pod n1']);
    expect(d.requeueAfter).toBe(10_000);
    expect((d.actions[0] as unknown as { body: KubeObject }).body.spec).toEqual({ podCIDR: '127.2.1.0/24', podCIDRs: ['127.2.1.0/24'] });
  });
  it('runs a bound pod after its startup delay, with an IP from its CIDR', () => {
    const p = pod('p', { node: 'n1', phase: 'Pending' });
    p.metadata.annotations = { 'kronicle.io/startup-delay': '5' };
    (p.status as { conditions: object[] }).conditions = [{ type: 'PodScheduled', status: 'True', lastTransitionTime: T(0) }];
    const early = given([node('n1'), p]).when(kubelet, keyOf('Pod', 'default', 'p'), new Date(T(2)));
    expect(early.requeueAfter).toBe(3000);
    const later = given([node('n1'), p, pod('other', { node: 'n1', ip: '127.2.1.2' })]).when(kubelet, keyOf('Pod', 'default', 'p'), new Date(T(5)));
    const status = (later.actions[0] as unknown as { body: { status: Record<string, unknown> } }).body.status;
    expect(status).toMatchObject({ phase: 'Running', podIP: '127.2.1.3', hostIP: '127.1.0.1' });
    expect(later.actions[0].event).toMatchObject({ reason: 'Started' });
  });
  it('finishes a graceful deletion, and ends a pod that exits per its restart policy', () => {
    expect(given([pod('p', { node: 'n1', deleting: true })]).when(kubelet, keyOf('Pod', 'default', 'p')).actions).toEqual([expect.objectContaining({ verb: 'delete', gracePeriodSeconds: 0 })]);
    const p = pod('p', { node: 'n1' });
    p.metadata.annotations = { 'kronicle.io/exit-after': '10', 'kronicle.io/exit-code': '3' };
    (p.spec as Record<string, unknown>).restartPolicy = 'Never';
    (p.status as Record<string, unknown>).containerStatuses = [{ name: 'c', restartCount: 0, state: { running: { startedAt: T(0) } } }];
    expect(given([p]).when(kubelet, keyOf('Pod', 'default', 'p'), new Date(T(4))).requeueAfter).toBe(6000);
    const done = given([p]).when(kubelet, keyOf('Pod', 'default', 'p'), new Date(T(10)));
    expect((done.actions[0] as unknown as { body: { status: { phase: string } } }).body.status.phase).toBe('Failed');
  });
  it('stops heartbeating when told to (fault injection)', () => {
    const silent = new HollowKubelet({ name: 'n2', index: 2 });
    silent.heartbeats = false;
    expect(given([]).when(silent, silent.nodeKey).actions).toEqual([]);
  });
});

describe('node lifecycle', () => {
  const lease = (renew: string): KubeObject => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'n1', namespace: 'kube-node-lease' }, spec: { renewTime: renew } });
  const lc = nodeLifecycle({ gracePeriodSeconds: 40, evictionTimeoutSeconds: 300 });
  // Started long before the cases below (its startup grace is over).
  lc.reconcile(keyOf('Node', undefined, 'none'), { view: viewOf([]), now: new Date(T(-1000)) });
  it('gives every node a full grace period after the controller starts (leases are as old as the downtime)', () => {
    const fresh = nodeLifecycle({ gracePeriodSeconds: 40 });
    const d = fresh.reconcile(keyOf('Node', undefined, 'n1'), { view: viewOf([node('n1'), lease(T(-3600))]), now: NOW });
    expect(d.actions).toEqual([]);
    expect(d.requeueAfter).toBe(40_001);
  });
  it('waits until the lease expires', () => {
    const d = given([node('n1'), lease(T(-10))]).when(lc, keyOf('Node', undefined, 'n1'));
    expect(d.actions).toEqual([]);
    expect(d.requeueAfter).toBe(30_001);
  });
  it('marks an expired node Unknown and taints it unreachable', () => {
    const d = given([node('n1'), lease(T(-41))]).when(lc, keyOf('Node', undefined, 'n1'));
    expect(verbs(d)).toEqual(['updateStatus Node n1', 'patch Node n1']);
    expect((d.actions[1] as unknown as { patch: { spec: { taints: Array<{ key: string; effect: string }> } } }).patch.spec.taints.map((t) => t.effect)).toEqual(['NoSchedule', 'NoExecute']);
  });
  it('evicts the pods of a node unreachable for longer than the eviction timeout', () => {
    const tainted = node('n1', { ready: 'Unknown', taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }, { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: T(-301) }] });
    const d = given([tainted, lease(T(-400)), pod('p', { node: 'n1' })]).when(lc, keyOf('Node', undefined, 'n1'));
    expect(verbs(d)).toEqual(['delete Pod p']);
  });
});

describe('endpoints, services, namespaces, service accounts, quota, garbage', () => {
  const service = (spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: 'default', uid: 'svc-uid' }, spec });
  it('lists ready and not-ready pods with the named target port resolved', () => {
    const d = given([service({ selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] }), pod('a', { ip: '10.244.1.2' }), pod('b', { ip: '10.244.1.3', ready: false })]).when(
      endpointsController,
      keyOf('Service', 'default', 'svc'),
    );
    const body = (d.actions[0] as unknown as { body: { subsets: Array<Record<string, Array<{ ip?: string; port?: number }>>> } }).body;
    expect(body.subsets).toEqual([
      { addresses: [expect.objectContaining({ ip: '10.244.1.2' })], notReadyAddresses: [expect.objectContaining({ ip: '10.244.1.3' })], ports: [{ port: 9999, protocol: 'TCP' }] },
    ]);
  });
  it('allocates the lowest free ClusterIP and node port', () => {
    const taken: KubeObject = { ...service({ clusterIP: '10.96.0.2', type: 'NodePort', ports: [{ port: 1, nodePort: 30000 }] }), metadata: { name: 'taken', namespace: 'default', uid: 'x' } };
    const d = given([taken, service({ type: 'NodePort', ports: [{ port: 80 }] })]).when(serviceController(), keyOf('Service', 'default', 'svc'));
    expect((d.actions[0] as unknown as { body: { spec: Record<string, unknown> } }).body.spec).toMatchObject({ clusterIP: '10.96.0.3', ports: [{ port: 80, nodePort: 30001 }] });
  });
  it('empties a terminating namespace, then finalizes it', () => {
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', deletionTimestamp: T(0) }, spec: { finalizers: ['kubernetes'] } };
    expect(verbs(given([ns, pod('a')]).when(namespaceController, keyOf('Namespace', undefined, 'default')))).toEqual(['delete Pod a']);
    expect(given([ns]).when(namespaceController, keyOf('Namespace', undefined, 'default')).actions).toEqual([
      expect.objectContaining({ verb: 'update', name: 'default/finalize', body: expect.objectContaining({ spec: { finalizers: [] } }) }),
    ]);
  });
  it('creates the default ServiceAccount and its token', () => {
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } };
    expect(verbs(given([ns]).when(serviceAccountController, keyOf('ServiceAccount', 'team', 'default')))).toEqual(['create ServiceAccount']);
    const sa: KubeObject = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'team', uid: 'sa' } };
    expect(verbs(given([ns, sa]).when(serviceAccountController, keyOf('ServiceAccount', 'team', 'default')))).toEqual(['create Secret', 'patch ServiceAccount default']);
  });
  it('recounts quota usage', () => {
    const q: KubeObject = { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q', namespace: 'default' }, spec: { hard: { pods: '5' } }, status: { hard: { pods: '5' }, used: { pods: '4' } } };
    const d = given([q, pod('a')]).when(resourceQuotaController, keyOf('ResourceQuota', 'default', 'q'));
    expect((d.actions[0] as unknown as { body: { status: unknown } }).body.status).toEqual({ hard: { pods: '5' }, used: { pods: '1' } });
  });
  it('deletes dependents whose owner is gone, and pods of nodes that are gone', () => {
    expect(verbs(given([pod('a')]).when(garbageCollector, keyOf('Pod', 'default', 'a')))).toEqual(['delete Pod a']);
    expect(given([rc(1), pod('a')]).when(garbageCollector, keyOf('Pod', 'default', 'a')).actions).toEqual([]);
    expect(verbs(given([node('n1'), pod('a', { node: 'n1' }), pod('b', { node: 'gone' })]).when(podGarbageCollector(), 'PodGC|all'))).toEqual(['delete Pod b']);
  });
});

describe('work queue and virtual clock', () => {
  it('takes ranked keys lowest rank first, then in arrival order (the scheduler: priority, then age)', () => {
    const ranks: Record<string, readonly [number, string]> = { low: [0, '2026-01-01T00:00:02Z'], old: [0, '2026-01-01T00:00:01Z'], high: [-1000, '2026-01-01T00:00:09Z'], tie: [0, '2026-01-01T00:00:01Z'] };
    const q = new WorkQueue(new VirtualClock(), 5, 60_000, (k) => ranks[k]);
    for (const k of ['low', 'old', 'high', 'tie']) q.add(k);
    const out: string[] = [];
    for (let k = q.take(); k !== undefined; k = q.take()) out.push(k);
    expect(out).toEqual(['high', 'old', 'tie', 'low']);
    const p = pod('urgent', { owned: false, phase: 'Pending' });
    (p.spec as Record<string, unknown>).priority = 2000;
    expect(scheduler.rank!(keyOf('Pod', 'default', 'urgent'), viewOf([p]))).toEqual([-2000, T(0)]);
  });

  it('coalesces, serialises a key, and retries with backoff on the clock', async () => {
    const clock = new VirtualClock();
    const q = new WorkQueue(clock, 100);
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.length).toBe(2);
    expect(q.take()).toBe('a');
    q.add('a'); // while processing: queued again when done
    expect(q.length).toBe(1);
    q.done('a');
    expect(q.length).toBe(2);
    expect(q.take()).toBe('b');
    q.done('b');
    expect(q.take()).toBe('a');
    q.done('a');
    q.addRateLimited('c');
    q.addRateLimited('d');
    await clock.advance(99);
    expect(q.length).toBe(0);
    await clock.advance(1);
    expect(q.length).toBe(2);
  });
});
