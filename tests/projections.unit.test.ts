import * as E from 'fp-ts/Either';
import { MemoryEventStore } from '../core/store/memory';
import { handleCommand, type CommandContext } from '../core/shell';
import type { KubeObject } from '../core/objects/codecs';
import { ClusterProjection, type Change } from '../projections/cluster';
import { matchesLabels, parseFieldSelector, parseLabelSelector } from '../projections/selectors';
import { sequentialIds } from './support/ids';

const ctx = (): CommandContext => ({ now: new Date('2026-11-27T10:00:00Z'), ids: sequentialIds(Math.floor(Math.random() * 1e6)), write: { actor: { kind: 'user', name: 'test' } } });

const pod = (name: string, labels: Record<string, string>, namespace = 'default'): KubeObject => ({
  metadata: { name, namespace, labels },
  spec: { containers: [{ name: 'c', image: 'nginx' }] },
});

async function run(store: MemoryEventStore, kind: string, namespace: string | undefined, name: string, command: Parameters<typeof handleCommand>[2]) {
  const r = await handleCommand(store, { kind, namespace, name }, command, ctx());
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
}

describe('label selectors', () => {
  const sel = (s: string) => {
    const r = parseLabelSelector(s);
    if (E.isLeft(r)) throw new Error(r.left);
    return r.right;
  };
  const labels = { app: 'web', tier: 'front', env: 'prod' };
  it.each([
    ['app=web', true],
    ['app==web', true],
    ['app!=web', false],
    ['app!=db', true],
    ['missing!=x', true],
    ['app in (web, db)', true],
    ['app notin (web,db)', false],
    ['tier', true],
    ['!tier', false],
    ['!missing', true],
    ['app=web,tier=front,env in (prod)', true],
    ['app=web,tier=back', false],
    ['', true],
  ])('%p matches: %p', (s, expected) => {
    expect(matchesLabels(sel(s), labels)).toBe(expected);
  });

  it.each(['app=(web', 'bad key=x', 'app in ()', 'a=b=c', 'app=bad value'])('refuses %p', (s) => {
    expect(E.isLeft(parseLabelSelector(s))).toBe(true);
  });
});

describe('field selectors', () => {
  it('accepts the fields Kubernetes supports per kind, and refuses others', () => {
    expect(E.isRight(parseFieldSelector('Pod', 'spec.nodeName=n1,status.phase!=Succeeded'))).toBe(true);
    expect(E.isRight(parseFieldSelector('Event', 'involvedObject.namespace=,involvedObject.kind=Node'))).toBe(true);
    expect(parseFieldSelector('Service', 'spec.nodeName=x')).toEqual(E.left('field label not supported: spec.nodeName'));
  });
});

describe('ClusterProjection', () => {
  it('folds the log into objects, served by namespace, labels and fields, sorted', async () => {
    const store = new MemoryEventStore();
    const projection = new ClusterProjection();
    const live = projection.follow(store);
    await run(store, 'Namespace', undefined, 'team-a', { type: 'Create', object: { metadata: { name: 'team-a' } } });
    await run(store, 'Pod', 'default', 'web-2', { type: 'Create', object: pod('web-2', { app: 'web' }) });
    await run(store, 'Pod', 'default', 'web-1', { type: 'Create', object: pod('web-1', { app: 'web' }) });
    await run(store, 'Pod', 'team-a', 'db-1', { type: 'Create', object: pod('db-1', { app: 'db' }, 'team-a') });
    const bound = await run(store, 'Pod', 'default', 'web-1', { type: 'Bind', nodeName: 'n1' });
    await projection.waitFor(bound.position);

    const pods = projection.store('Pod');
    expect(pods.list().map((p) => p.object.metadata.name)).toEqual(['web-1', 'web-2', 'db-1']);
    expect(pods.list({ namespace: 'team-a' }).map((p) => p.object.metadata.name)).toEqual(['db-1']);
    const app = (s: string) => (parseLabelSelector(s) as E.Right<any>).right;
    const fields = (s: string) => (parseFieldSelector('Pod', s) as E.Right<any>).right;
    expect(pods.list({ labels: app('app=web') }).map((p) => p.object.metadata.name)).toEqual(['web-1', 'web-2']);
    expect(pods.list({ labels: app('app in (db)') }).map((p) => p.object.metadata.name)).toEqual(['db-1']);
    expect(pods.list({ fields: fields('spec.nodeName=n1') }).map((p) => p.object.metadata.name)).toEqual(['web-1']);
    expect(pods.list({ fields: fields('spec.nodeName=') }).map((p) => p.object.metadata.name)).toEqual(['web-2', 'db-1']);
    expect(pods.list({ namespace: 'default', fields: fields('metadata.name!=web-1') }).map((p) => p.object.metadata.name)).toEqual(['web-2']);
    const web1 = pods.get('default', 'web-1');
    expect(web1?.object.metadata.resourceVersion).toBe(bound.position.toString());
    expect(web1?.position).toBe(bound.position);
    expect(projection.counts()).toMatchObject({ Pod: 3, Namespace: 1 });
    live.unsubscribe();
    await store.close();
  });

  it('emits ADDED, MODIFIED and DELETED in log order, DELETED with the last state', async () => {
    const store = new MemoryEventStore();
    const projection = new ClusterProjection();
    const changes: Change[] = [];
    projection.changes.subscribe((c) => changes.push(c));
    const live = projection.follow(store);
    await run(store, 'Pod', 'default', 'p', { type: 'Create', object: pod('p', { a: '1' }) });
    await run(store, 'Pod', 'default', 'p', { type: 'UpdateStatus', status: { phase: 'Running' } });
    const del = await run(store, 'Pod', 'default', 'p', { type: 'Delete' });
    await projection.waitFor(del.position);
    expect(changes.map((c) => c.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    expect(changes[2].object.metadata.resourceVersion).toBe(del.position.toString());
    expect(changes[2].object.status).toEqual({ phase: 'Running' });
    expect(changes.map((c) => c.event.event.type)).toEqual(['Created', 'PodStatusReported', 'Deleted']);
    expect(projection.store('Pod').get('default', 'p')).toBeUndefined();
    // Label indexes forget deleted objects.
    expect(projection.store('Pod').list({ labels: (parseLabelSelector('a=1') as E.Right<any>).right })).toEqual([]);
    live.unsubscribe();
  });

  it('replays a finite range with the same fold and reaches the same state as live', async () => {
    const store = new MemoryEventStore();
    const live = new ClusterProjection();
    const sub = live.follow(store);
    const positions: bigint[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await run(store, 'Pod', 'default', `p${i % 7}`, i < 7 ? { type: 'Create', object: pod(`p${i}`, { i: String(i) }) } : { type: 'UpdateStatus', status: { phase: `Phase${i}` } });
      positions.push(r.position);
    }
    await run(store, 'Pod', 'default', 'p3', { type: 'Delete' });
    await live.waitFor(await store.headPosition());
    const replayed = new ClusterProjection();
    await replayed.foldRange(store, undefined, 7);
    expect(replayed.position).toBe(live.position);
    expect(replayed.store('Pod').list()).toEqual(live.store('Pod').list());
    // And to a point in the past.
    const past = new ClusterProjection();
    await past.foldRange(store, positions[9]);
    expect(past.position).toBe(positions[9]);
    expect(past.store('Pod').get('default', 'p2')?.object.status).toEqual({ phase: 'Phase9' });
    expect(past.store('Pod').get('default', 'p3')?.object.status).toEqual({ phase: 'Pending', qosClass: 'BestEffort' });
    sub.unsubscribe();
  });

  it('waitFor resolves only when the position is reached', async () => {
    const projection = new ClusterProjection();
    let done = false;
    const p = projection.waitFor(5n).then(() => (done = true));
    projection.apply({ id: 'x', type: 'PodCreated', stream: 'Pod-d/a', revision: 0n, position: 3n, recordedAt: new Date(), data: { object: { metadata: { name: 'a', namespace: 'd' } } }, metadata: { schemaVersion: 1, actor: { kind: 'user', name: 'u' } } });
    await Promise.resolve();
    expect(done).toBe(false);
    projection.apply({ id: 'y', type: 'PodCreated', stream: 'Pod-d/b', revision: 0n, position: 6n, recordedAt: new Date(), data: { object: { metadata: { name: 'b', namespace: 'd' } } }, metadata: { schemaVersion: 1, actor: { kind: 'user', name: 'u' } } });
    await p;
    expect(done).toBe(true);
  });

  it('counts and skips an event it cannot decode, and goes on', async () => {
    const errors: string[] = [];
    const projection = new ClusterProjection({ onDecodeError: (e) => errors.push(e.message) });
    projection.apply({ id: 'bad', type: 'PodBound', stream: 'Pod-d/a', revision: 0n, position: 1n, recordedAt: new Date(), data: { wrong: true }, metadata: { schemaVersion: 1, actor: { kind: 'user', name: 'u' } } });
    expect(projection.position).toBe(1n);
    expect(projection.decodeErrors).toBe(1);
    expect(errors[0]).toMatch(/payload does not match PodBound/);
  });

  it('resubscribes from its last position when the live feed fails', async () => {
    const store = new MemoryEventStore();
    let failNext = true;
    const flaky = Object.create(store) as MemoryEventStore;
    flaky.subscribeAll = (from: bigint) => {
      if (failNext) {
        failNext = false;
        return new (require('rxjs').Observable)((s: any) => s.error(new Error('connection lost')));
      }
      return store.subscribeAll(from);
    };
    const errors: unknown[] = [];
    const projection = new ClusterProjection({ onStoreError: (e) => errors.push(e) });
    const sub = projection.follow(flaky);
    const r = await run(store, 'Pod', 'default', 'p', { type: 'Create', object: pod('p', {}) });
    await projection.waitFor(r.position);
    expect(errors).toHaveLength(1);
    expect(projection.store('Pod').size).toBe(1);
    sub.unsubscribe();
  });
});
