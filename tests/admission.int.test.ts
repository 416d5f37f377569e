/**
 * Admission through the HTTP API: ServiceAccount, LimitRanger and ResourceQuota, with
 * Kubernetes' messages; quota decisions serialised on the quota's stream and recorded as events.
 */
import { useKronicle } from './support/server';

const server = useKronicle();
const call = async (method: string, p: string, body?: unknown) => {
  const r = await fetch(`${server.current.kronicle.url}${p}`, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return { status: r.status, body: JSON.parse(await r.text()) };
};
const ns = (name: string) => call('POST', '/api/v1/namespaces', { metadata: { name } });
const pod = (name: string, resources?: object, extra: object = {}) => ({ metadata: { name }, spec: { containers: [{ name: 'c', image: 'i', ...(resources ? { resources } : {}) }], ...extra } });

describe('admission', () => {
  it('assigns the default service account and refuses a named one that does not exist', async () => {
    await ns('sa');
    const created = await call('POST', '/api/v1/namespaces/sa/pods', pod('p'));
    expect(created.status).toBe(201);
    expect(created.body.spec).toMatchObject({ serviceAccountName: 'default', serviceAccount: 'default' });
    const refused = await call('POST', '/api/v1/namespaces/sa/pods', pod('q', undefined, { serviceAccountName: 'robot' }));
    expect(refused.status).toBe(403);
    expect(refused.body.message).toBe('pods "q" is forbidden: error looking up service account sa/robot: serviceaccount "robot" not found');
    await call('POST', '/api/v1/namespaces/sa/serviceaccounts', { metadata: { name: 'robot' } });
    expect((await call('POST', '/api/v1/namespaces/sa/pods', pod('q', undefined, { serviceAccountName: 'robot' }))).status).toBe(201);
  });

  it('applies LimitRange defaults and enforces min and max per container', async () => {
    await ns('lr');
    const lr = await call('POST', '/api/v1/namespaces/lr/limitranges', {
      metadata: { name: 'limits' },
      spec: { limits: [{ type: 'Container', default: { cpu: '500m', memory: '128Mi' }, defaultRequest: { cpu: '100m' }, min: { cpu: '50m' }, max: { memory: '1Gi' } }] },
    });
    expect(lr.status).toBe(201);
    const defaulted = await call('POST', '/api/v1/namespaces/lr/pods', pod('d'));
    expect(defaulted.status).toBe(201);
    expect(defaulted.body.spec.containers[0].resources).toEqual({ limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '100m', memory: '128Mi' } });
    expect(defaulted.body.metadata.annotations['kubernetes.io/limit-ranger']).toBe('LimitRanger plugin set: cpu, memory request for container c; cpu, memory limit for container c');
    const tooSmall = await call('POST', '/api/v1/namespaces/lr/pods', pod('s', { requests: { cpu: '10m' } }));
    expect(tooSmall.status).toBe(403);
    expect(tooSmall.body.message).toBe('pods "s" is forbidden: minimum cpu usage per Container is 50m, but request is 10m');
    const both = await call('POST', '/api/v1/namespaces/lr/pods', pod('b', { requests: { cpu: '10m' }, limits: { memory: '2Gi' } }));
    expect(both.body.message).toBe('pods "b" is forbidden: [minimum cpu usage per Container is 50m, but request is 10m, maximum memory usage per Container is 1Gi, but limit is 2Gi]');
  });

  it('enforces quota with Kubernetes’ message, counts from the namespace, and requires requests it tracks', async () => {
    await ns('rq');
    await call('POST', '/api/v1/namespaces/rq/pods', pod('before', { requests: { cpu: '1', memory: '1Gi' } }));
    const quota = await call('POST', '/api/v1/namespaces/rq/resourcequotas', { metadata: { name: 'compute' }, spec: { hard: { pods: '2', 'requests.cpu': '1500m', 'requests.memory': '4Gi' } } });
    expect(quota.status).toBe(201);
    expect(quota.body.status).toEqual({ hard: { pods: '2', 'requests.cpu': '1500m', 'requests.memory': '4Gi' }, used: { pods: '1', 'requests.cpu': '1', 'requests.memory': '1Gi' } });
    const missing = await call('POST', '/api/v1/namespaces/rq/pods', pod('m'));
    expect(missing.status).toBe(403);
    expect(missing.body.message).toBe('pods "m" is forbidden: failed quota: compute: must specify requests.cpu for: c; requests.memory for: c');
    const over = await call('POST', '/api/v1/namespaces/rq/pods', pod('big', { requests: { cpu: '1', memory: '1Gi' } }));
    expect(over.status).toBe(403);
    expect(over.body).toMatchObject({ reason: 'Forbidden', message: 'pods "big" is forbidden: exceeded quota: compute, requested: requests.cpu=1, used: requests.cpu=1, limited: requests.cpu=1500m' });
    expect((await call('POST', '/api/v1/namespaces/rq/pods', pod('fits', { requests: { cpu: '500m', memory: '1Gi' } }))).status).toBe(201);
    const after = await call('GET', '/api/v1/namespaces/rq/resourcequotas/compute');
    expect(after.body.status.used).toEqual({ pods: '2', 'requests.cpu': '1500m', 'requests.memory': '2Gi' });
    // An AlreadyExists after the charge gives the charge back.
    expect((await call('POST', '/api/v1/namespaces/rq/pods', pod('fits', { requests: { cpu: '0', memory: '0' } }))).status).toBe(403);
    const raised = await call('PUT', '/api/v1/namespaces/rq/resourcequotas/compute', { ...after.body, spec: { hard: { pods: '3', 'requests.cpu': '2', 'requests.memory': '4Gi', secrets: '1' } } });
    expect(raised.status).toBe(200);
    expect(raised.body.status.hard).toEqual({ pods: '3', 'requests.cpu': '2', 'requests.memory': '4Gi', secrets: '1' });
    expect(raised.body.status.used).toEqual({ pods: '2', 'requests.cpu': '1500m', 'requests.memory': '2Gi', secrets: '0' });
    expect((await call('POST', '/api/v1/namespaces/rq/pods', pod('fits', { requests: { cpu: '0', memory: '0' } }))).body.reason).toBe('AlreadyExists');
    const unchanged = await call('GET', '/api/v1/namespaces/rq/resourcequotas/compute');
    expect(unchanged.body.status.used.pods).toBe('2');
  });

  it('serialises concurrent admissions on the quota’s stream: exactly `hard` succeed, no 409 storm, each charge an event', async () => {
    await ns('race');
    await call('POST', '/api/v1/namespaces/race/resourcequotas', { metadata: { name: 'count' }, spec: { hard: { pods: '5' } } });
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => call('POST', '/api/v1/namespaces/race/pods', pod(`p${i}`))));
    const codes = results.map((r) => r.status);
    expect(codes.filter((c) => c === 201)).toHaveLength(5);
    expect(codes.filter((c) => c === 403)).toHaveLength(19);
    for (const r of results.filter((x) => x.status === 403)) expect(r.body.message).toMatch(/exceeded quota: count, requested: pods=1, used: pods=5, limited: pods=5$/);
    const events = await server.current.store.readStream('ResourceQuota-race/count');
    expect(events.filter((e) => e.type === 'QuotaCharged')).toHaveLength(5);
    expect(events.filter((e) => e.type === 'QuotaCharged').map((e) => (e.data as { used: { pods: string } }).used.pods)).toEqual(['1', '2', '3', '4', '5']);
  });
});

describe('dryRun=All', () => {
  it('answers with the outcome of every write, appends nothing, and still refuses what admission refuses', async () => {
    await ns('dry');
    await call('POST', '/api/v1/namespaces/dry/resourcequotas', { metadata: { name: 'one' }, spec: { hard: { pods: '1' } } });
    const head = await server.current.store.headPosition();
    const created = await call('POST', '/api/v1/namespaces/dry/pods?dryRun=All', pod('ghost'));
    expect(created.status).toBe(201);
    expect(created.body.metadata).toMatchObject({ name: 'ghost', namespace: 'dry' });
    expect(created.body.status.phase).toBe('Pending');
    expect((await call('GET', '/api/v1/namespaces/dry/pods/ghost')).status).toBe(404);
    expect(await server.current.store.headPosition()).toBe(head);
    await call('POST', '/api/v1/namespaces/dry/pods', pod('real'));
    const after = await server.current.store.headPosition();
    const over = await call('POST', '/api/v1/namespaces/dry/pods?dryRun=All', pod('second'));
    expect(over.status).toBe(403);
    const deleted = await call('DELETE', '/api/v1/namespaces/dry/pods/real?dryRun=All');
    expect(deleted.status).toBe(200);
    expect((await call('GET', '/api/v1/namespaces/dry/pods/real')).status).toBe(200);
    expect(await server.current.store.headPosition()).toBe(after);
    expect((await call('POST', '/api/v1/namespaces/dry/pods?dryRun=Some', pod('x'))).status).toBe(400);
  });
});
