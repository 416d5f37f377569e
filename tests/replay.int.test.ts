/**
 * The replay debugger's first part: an object's history with who, when, why and field diffs;
 * the causation chain behind a pod (kubelet ← scheduler ← replication controller ← the user);
 * the cluster at a past position; all over HTTP and from the `kronicle` command.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { startKronicle, type RunningKronicle } from '../api/kronicle';
import { MemoryEventStore } from '../core/store/memory';
import { changes, diff, diffBetween, history, positionAt, stateAt, why } from '../replay/history';
import { auditEvents } from '../replay/audit';
import { waitUntil } from './conformance/eventStore.conformance';
import { jsonCaller } from './support/http';

const root = path.resolve(__dirname, '..');

describe('history, why and the past', () => {
  let store: MemoryEventStore;
  let kronicle: RunningKronicle;
  let pod: string;
  const call = jsonCaller(() => kronicle.url);

  beforeAll(async () => {
    store = new MemoryEventStore();
    kronicle = await startKronicle({ store, port: 0, nodes: 2 });
    await call('POST', '/api/v1/namespaces/default/replicationcontrollers', {
      metadata: { name: 'web' },
      spec: { replicas: 1, selector: { app: 'web' }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.26' }] } } },
    });
    await waitUntil(async () => (await call('GET', '/api/v1/namespaces/default/pods')).body.items.some((p: any) => p.status?.phase === 'Running'));
    pod = (await call('GET', '/api/v1/namespaces/default/pods')).body.items[0].metadata.name;
    await kronicle.controllers!.idle();
  });

  afterAll(async () => {
    await kronicle.close();
    await store.close();
  });

  it('diffs JSON field by field, leaving out bookkeeping', () => {
    expect(diff({ metadata: { resourceVersion: '1', labels: { a: '1' } }, spec: { x: 1 } }, { metadata: { resourceVersion: '2', labels: { a: '2', b: '3' } }, spec: {} })).toEqual([
      { op: 'replace', path: '/metadata/labels/a', from: '1', to: '2' },
      { op: 'add', path: '/metadata/labels/b', to: '3' },
      { op: 'remove', path: '/spec/x', from: 1 },
    ]);
  });

  it('tells a pod’s history: created by the controller, bound by the scheduler, run by its kubelet', async () => {
    const entries = await history(store, { kind: 'Pod', namespace: 'default', name: pod });
    expect(entries.map((e) => `${e.type} ${e.actor}`).slice(0, 3)).toEqual([
      'PodCreated system:controller:replication-controller',
      'PodBound system:kube-scheduler',
      expect.stringMatching(/^PodStatusReported system:node:node-\d$/),
    ]);
    expect(entries[1].changes).toContainEqual({ op: 'add', path: '/spec/nodeName', to: expect.stringMatching(/^node-\d$/) });
    expect(entries[2].changes).toContainEqual({ op: 'replace', path: '/status/phase', from: 'Pending', to: 'Running' });
    for (const e of entries.slice(0, 3)) expect(e.causationId).toBeDefined();
  });

  it('answers why: kubelet ← scheduler ← replication controller ← the user’s create', async () => {
    const chain = await why(store, { kind: 'Pod', namespace: 'default', name: pod });
    expect(chain.map((c) => `${c.type} ${c.actor}`)).toEqual([
      expect.stringMatching(/^PodStatusReported system:node:node-\d$/),
      'PodBound system:kube-scheduler',
      'PodCreated system:controller:replication-controller',
      'ReplicationControllerCreated system:unsecured',
    ]);
    for (let i = 1; i < chain.length; i++) expect(chain[i].position < chain[i - 1].position).toBe(true);
    const http = await call('GET', `/kronicle/v1/why/pods/default/${pod}`);
    expect(http.body.chain.map((c: any) => c.eventId)).toEqual(chain.map((c) => c.eventId));
    expect((await call('GET', '/kronicle/v1/why/pods/default/nope')).body).toMatchObject({ reason: 'NotFound', message: 'the log has no Pod default/nope' });
    expect((await call('GET', '/kronicle/v1/history/gizmos/x')).status).toBe(404);
  });

  it('rebuilds the cluster as it was at a past position or time', async () => {
    const [created] = await history(store, { kind: 'Pod', namespace: 'default', name: pod });
    const then = await stateAt(store, created.position);
    expect((then.store('Pod').get('default', pod)?.object.status as { phase: string }).phase).toBe('Pending');
    expect(await positionAt(store, created.time)).toBeGreaterThanOrEqual(created.position);
    await expect(stateAt(store, (await store.headPosition()) + 10n)).rejects.toThrow(/beyond the log's head/);
  });

  it('diffs the cluster between two positions', async () => {
    const [created, bound] = await history(store, { kind: 'Pod', namespace: 'default', name: pod });
    const d = await diffBetween(store, created.position - 1n, bound.position);
    expect(d).toContainEqual({ object: `Pod-default/${pod}`, change: 'added', changes: [] });
    const later = await diffBetween(store, created.position, bound.position);
    expect(later.find((o) => o.object === `Pod-default/${pod}`)).toMatchObject({ change: 'changed', changes: expect.arrayContaining([expect.objectContaining({ path: '/spec/nodeName' })]) });
    const http = await call('GET', `/kronicle/v1/diff?from=${created.position}&to=${bound.position}`);
    expect(http.body.objects).toEqual(JSON.parse(JSON.stringify(later)));
    expect((await call('GET', '/kronicle/v1/diff?from=9&to=2')).body.message).toBe('from (9) is after to (2)');
  });

  it('lists who changed what, filtered by actor, kind, namespace and time', async () => {
    const byScheduler = await changes(store, { actor: 'system:kube-scheduler' });
    expect(byScheduler.length).toBeGreaterThan(0);
    expect(byScheduler.every((e) => e.actor === 'system:kube-scheduler')).toBe(true);
    expect(new Set(byScheduler.map((e) => e.type))).toEqual(new Set(['PodBound', 'EventCreated']));
    const rcs = await changes(store, { kind: 'ReplicationController', namespace: 'default' });
    expect(rcs[0]).toMatchObject({ type: 'ReplicationControllerCreated', actor: 'system:unsecured', stream: 'ReplicationController-default/web' });
    expect(await changes(store, { since: new Date(Date.now() + 60_000) })).toEqual([]);
    expect((await changes(store, { limit: 3 })).length).toBe(3);
    const http = await call('GET', '/kronicle/v1/changes?actor=system%3Akube-scheduler&kind=pods');
    expect(http.body.entries.length).toBe(byScheduler.filter((e) => e.type === 'PodBound').length);
    expect((await call('GET', '/kronicle/v1/changes?since=yesterday')).status).toBe(400);
    expect((await call('GET', '/kronicle/v1/changes?kind=gizmos')).body.message).toBe('no resource type "gizmos"');
  });

  it('exports the log as Kubernetes audit events, with who, what and the object after', async () => {
    await call('POST', '/api/v1/namespaces/default/secrets', { metadata: { name: 'token' }, data: { password: Buffer.from('hunter2').toString('base64') } });
    const lines = (await auditEvents(store)).map((l) => JSON.parse(l));
    expect(lines.every((e) => e.apiVersion === 'audit.k8s.io/v1' && e.kind === 'Event' && e.stage === 'ResponseComplete')).toBe(true);
    const bind = lines.find((e) => e.objectRef.name === pod && e.objectRef.subresource === 'binding');
    // The binding was written in the server's process, as the scheduler.
    expect(bind).toMatchObject({ verb: 'create', user: { username: 'system:kube-scheduler' }, requestURI: `/api/v1/namespaces/default/pods/${pod}/binding` });
    expect(bind.impersonatedUser).toBeUndefined();
    // A request that impersonates is shown as Kubernetes' audit log shows one: the user and the impersonated user.
    const r = await fetch(`${kronicle.url}/api/v1/namespaces/default/secrets`, { method: 'POST', body: JSON.stringify({ metadata: { name: 'janes' } }), headers: { 'content-type': 'application/json', 'impersonate-user': 'jane' } });
    expect(r.status).toBe(201);
    const byJane = (await auditEvents(store)).map((l) => JSON.parse(l)).find((e) => e.objectRef.name === 'janes');
    expect(byJane).toMatchObject({ verb: 'create', user: { username: 'system:unsecured' }, impersonatedUser: { username: 'jane' } });
    const rcCreate = lines.find((e) => e.objectRef.resource === 'replicationcontrollers' && e.verb === 'create');
    expect(rcCreate).toMatchObject({ user: { username: 'system:unsecured', groups: ['system:masters'] }, requestURI: '/api/v1/namespaces/default/replicationcontrollers', responseStatus: { code: 201 } });
    const secret = lines.find((e) => e.objectRef.resource === 'secrets' && e.objectRef.name === 'token');
    expect(secret.responseObject.data).toEqual({ password: '<redacted>' });
    expect(JSON.stringify(secret)).not.toContain(Buffer.from('hunter2').toString('base64'));
    const http = await fetch(`${kronicle.url}/kronicle/v1/audit?from=1&to=3`);
    expect((await http.text()).trim().split('\n')).toHaveLength(3);
  });

  it('prints history and why from the command line, and a clear error for an unknown object', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'tests/fixtures/kronicleCli.ts', ...args], { cwd: root }, (err, stdout, stderr) =>
          resolve({ code: (err as { code?: number } | null)?.code ?? 0, stdout, stderr }),
        ),
      );
    const w = await run(['why', 'pod', pod, '--server', kronicle.url]);
    expect(w.code).toBe(0);
    expect(w.stdout).toMatch(/PodBound\s+Pod-default\/\S+\s+by system:kube-scheduler/);
    expect(w.stdout).toMatch(/<-\s+\d+\s+\S+\s+ReplicationControllerCreated/);
    const h = await run(['history', 'po', pod, '-n', 'default', '--server', kronicle.url]);
    expect(h.stdout).toMatch(/^\s+created$/m);
    const missing = await run(['why', 'pod', 'nope', '--server', kronicle.url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('kronicle: the log has no Pod default/nope\n');
  }, 30_000);
});
