/**
 * The server's own writes without HTTP (api/inProcess.ts): the same outcomes as the API gives —
 * admission and quota, validation, Kubernetes' errors — and the envelope a controller's request
 * would get, recorded as in-process.
 */
import { ApiError, type Cause } from '../controllers/client';
import type { KubeObject } from '../core/objects/codecs';
import { useKronicle } from './support/server';

const server = useKronicle();
const call = async (method: string, p: string, body?: unknown) => {
  const r = await fetch(`${server.current.kronicle.url}${p}`, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return { status: r.status, body: JSON.parse(await r.text()) };
};
const cause = (causationId?: string): Cause => ({ causationId, correlationId: causationId, observedPosition: 3n, decidedAt: new Date('2026-11-27T10:00:00Z'), decision: { controller: 'replication-controller', key: 'ReplicationController|q/web', digest: '0123456789abcdef' } });
const pod = (name: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'i', ...extra }] } }) as unknown as KubeObject;
const perform = (action: Parameters<typeof server.current.kronicle.actions.perform>[0], actor = 'system:controller:replication-controller', id?: string) =>
  server.current.kronicle.actions.perform(action, actor, 'replication-controller', cause(id));
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (err: unknown) => (err instanceof ApiError ? { code: err.code, reason: err.reason, message: err.message } : { code: 0, reason: 'not an ApiError', message: String(err) }),
  );

describe('in-process actions', () => {
  beforeAll(async () => {
    await call('POST', '/api/v1/namespaces', { metadata: { name: 'q' } });
    await call('POST', '/api/v1/namespaces/q/resourcequotas', { metadata: { name: 'count' }, spec: { hard: { pods: '1' } } });
  });

  it('creates through admission and quota, with defaults and the namespace’s service account, and refuses as the API does', async () => {
    const created = (await perform({ verb: 'create', kind: 'Pod', namespace: 'q', body: pod('one', { bogus: true }) })) as KubeObject;
    expect(created.metadata).toMatchObject({ name: 'one', namespace: 'q' });
    expect(created.spec).toMatchObject({ serviceAccountName: 'default', restartPolicy: 'Always' });
    // Unknown fields are dropped, as the API's default (Warn) validation drops them.
    expect((created.spec as { containers: Array<Record<string, unknown>> }).containers[0].bogus).toBeUndefined();
    expect(created.metadata.managedFields?.[0]).toMatchObject({ manager: 'replication-controller', operation: 'Update' });
    expect((await call('GET', '/api/v1/namespaces/q/pods/one')).body.metadata.uid).toBe(created.metadata.uid);

    expect(await refusal(perform({ verb: 'create', kind: 'Pod', namespace: 'q', body: pod('two') }))).toEqual({
      code: 403,
      reason: 'Forbidden',
      message: 'pods "two" is forbidden: exceeded quota: count, requested: pods=1, used: pods=1, limited: pods=1',
    });
    expect(await refusal(perform({ verb: 'create', kind: 'Pod', namespace: 'nowhere', body: pod('x') }))).toMatchObject({ code: 404, reason: 'NotFound', message: 'namespaces "nowhere" not found' });
    expect(await refusal(perform({ verb: 'create', kind: 'Pod', namespace: 'q', body: pod('Bad_Name') }))).toMatchObject({ code: 422, reason: 'Invalid' });
    expect((await call('GET', '/api/v1/namespaces/q/pods')).body.items.map((p: KubeObject) => p.metadata.name)).toEqual(['one']);
  });

  it('binds, reports status and renews a lease with the API’s preconditions and answers', async () => {
    await call('POST', '/api/v1/nodes', { metadata: { name: 'n1' } });
    expect(await refusal(perform({ verb: 'bind', namespace: 'q', name: 'one', node: 'n1', uid: 'not-its-uid' }, 'system:kube-scheduler'))).toMatchObject({ code: 409, reason: 'Conflict' });
    const uid = (await call('GET', '/api/v1/namespaces/q/pods/one')).body.metadata.uid;
    expect(await perform({ verb: 'bind', namespace: 'q', name: 'one', node: 'n1', uid }, 'system:kube-scheduler')).toMatchObject({ kind: 'Status', status: 'Success', code: 201 });
    const bound = (await call('GET', '/api/v1/namespaces/q/pods/one')).body;
    expect(bound.spec.nodeName).toBe('n1');
    const stale = { ...bound, metadata: { ...bound.metadata, resourceVersion: '1' }, status: { phase: 'Running' } };
    expect(await refusal(perform({ verb: 'updateStatus', kind: 'Pod', namespace: 'q', name: 'one', body: stale }, 'system:node:n1'))).toMatchObject({ code: 409, reason: 'Conflict' });
    const running = (await perform({ verb: 'updateStatus', kind: 'Pod', namespace: 'q', name: 'one', body: { ...bound, status: { phase: 'Running' } } }, 'system:node:n1')) as KubeObject;
    expect(running.status).toMatchObject({ phase: 'Running' });
    const lease = (await perform({ verb: 'renewLease', name: 'n1', holder: 'n1', durationSeconds: 40 }, 'system:node:n1')) as KubeObject;
    expect(lease.spec).toMatchObject({ holderIdentity: 'n1', leaseDurationSeconds: 40 });
    expect(await refusal(perform({ verb: 'renewLease', name: 'n1', holder: 'n1', durationSeconds: 0 }, 'system:node:n1'))).toMatchObject({ code: 422, reason: 'Invalid' });
  });

  it('records the actor as in-process, the cause and the decision, and one request id for a create and its quota charge', async () => {
    const trigger = '00000000-0000-4000-8000-00000000abcd';
    await call('POST', '/api/v1/namespaces/q/resourcequotas', { metadata: { name: 'more' }, spec: { hard: { pods: '10' } } });
    await call('DELETE', '/api/v1/namespaces/q/resourcequotas/count');
    await perform({ verb: 'create', kind: 'Pod', namespace: 'q', body: pod('three') }, 'system:controller:replication-controller', trigger);
    const { store } = server.current;
    const events = (await store.readAll({ from: 1n, maxCount: 100_000 })).filter((e) => (e.metadata as { causationId?: string }).causationId === trigger);
    expect(events.map((e) => e.type).sort()).toEqual(['PodCreated', 'QuotaCharged']);
    for (const e of events) {
      expect(e.metadata).toMatchObject({
        actor: { kind: 'controller', name: 'system:controller:replication-controller', authMethod: 'in-process' },
        causationId: trigger,
        correlationId: trigger,
        observedPosition: '3',
        decidedAt: '2026-11-27T10:00:00.000Z',
        decision: { controller: 'replication-controller', key: 'ReplicationController|q/web', digest: '0123456789abcdef' },
      });
      expect((e.metadata as { actor: { impersonator?: string } }).actor.impersonator).toBeUndefined();
    }
    expect(new Set(events.map((e) => (e.metadata as { requestId: string }).requestId)).size).toBe(1);
    // The same through the API: one request, one request id.
    expect((await call('POST', '/api/v1/namespaces/q/pods', pod('four'))).status).toBe(201);
    const last = (await store.readAll({ from: 1n, maxCount: 100_000 })).slice(-2);
    expect(last.map((e) => e.type)).toEqual(['QuotaCharged', 'PodCreated']);
    expect((last[0].metadata as { requestId: string }).requestId).toBe((last[1].metadata as { requestId: string }).requestId);
  });
});
