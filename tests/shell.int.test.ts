import * as E from 'fp-ts/Either';
import * as path from 'node:path';
import { handleCommand, type CommandContext } from '../core/shell';
import { SqliteEventStore } from '../core/store/sqlite';
import { MemoryEventStore } from '../core/store/memory';
import type { EventStore } from '../core/store/port';
import type { KubeObject } from '../core/objects/codecs';
import { sequentialIds } from './support/ids';
import { tempDir } from './support/tmp';

const ctx = (overrides: Partial<CommandContext> = {}): CommandContext => ({
  now: new Date('2026-11-27T10:00:00Z'),
  ids: sequentialIds(),
  write: { actor: { kind: 'user', name: 'alice', authMethod: 'token' }, requestId: 'req-1' },
  ...overrides,
});

const rcKey = { kind: 'ReplicationController', namespace: 'default', name: 'web' };
const rc: KubeObject = {
  metadata: { name: 'web', namespace: 'default' },
  spec: { replicas: 1, selector: { app: 'web' }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } },
};

describe.each([
  ['memory', async () => ({ store: new MemoryEventStore() as EventStore, done: () => undefined })],
  [
    'sqlite',
    async () => {
      const tmp = tempDir();
      return { store: await SqliteEventStore.open({ file: path.join(tmp.dir, 'k.db') }) as EventStore, done: tmp.remove };
    },
  ],
])('the command shell on %s', (_name, open) => {
  let store: EventStore;
  let done: () => void;
  beforeEach(async () => ({ store, done } = await open()));
  afterEach(async () => {
    await store.close();
    done();
  });

  it('appends the decided events with the envelope and returns the object at its new resourceVersion', async () => {
    const r = await handleCommand(store, rcKey, { type: 'Create', object: rc }, ctx());
    if (E.isLeft(r)) throw new Error(r.left.message);
    expect(r.right.events).toHaveLength(1);
    expect(r.right.object?.metadata.resourceVersion).toBe(r.right.position.toString());
    const [stored] = await store.readStream('ReplicationController-default/web');
    expect(stored.type).toBe('ReplicationControllerCreated');
    expect(stored.metadata).toEqual({ actor: { kind: 'user', name: 'alice', authMethod: 'token' }, requestId: 'req-1', schemaVersion: 1 });
    expect(stored.position).toBe(r.right.position);
  });

  it('returns a rejection, appending nothing, when the decider refuses', async () => {
    await handleCommand(store, rcKey, { type: 'Create', object: rc }, ctx());
    const head = await store.headPosition();
    const r = await handleCommand(store, rcKey, { type: 'Create', object: rc }, ctx());
    expect(E.isLeft(r) && r.left.reason).toBe('AlreadyExists');
    expect(await store.headPosition()).toBe(head);
  });

  it('retries concurrent commands without preconditions so that every one lands', async () => {
    await handleCommand(store, rcKey, { type: 'Create', object: rc }, ctx());
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => handleCommand(store, rcKey, { type: 'Scale', replicas: i + 2 }, ctx({ ids: sequentialIds(i + 1) }))));
    expect(results.every(E.isRight)).toBe(true);
    const events = await store.readStream('ReplicationController-default/web');
    expect(events).toHaveLength(17);
    expect(new Set(events.slice(1).map((e) => (e.data as { replicas: number }).replicas)).size).toBe(16);
  });

  it('lets exactly one of several updates with the same resourceVersion win; the rest conflict', async () => {
    const created = await handleCommand(store, rcKey, { type: 'Create', object: rc }, ctx());
    const current = E.isRight(created) ? (created.right.object as KubeObject) : rc;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        handleCommand(store, rcKey, { type: 'Update', object: { ...current, metadata: { ...current.metadata, labels: { n: String(i) } } } }, ctx({ ids: sequentialIds(i + 1) })),
      ),
    );
    expect(results.filter(E.isRight)).toHaveLength(1);
    const rejected = results.filter(E.isLeft);
    expect(rejected).toHaveLength(7);
    for (const r of rejected) expect(r.left.reason).toBe('Conflict');
  });

  it('answers a command that changes nothing without appending', async () => {
    await handleCommand(store, rcKey, { type: 'Create', object: rc }, ctx());
    const head = await store.headPosition();
    const r = await handleCommand(store, rcKey, { type: 'Scale', replicas: 1 }, ctx());
    expect(E.isRight(r) && r.right.events).toEqual([]);
    expect(E.isRight(r) && r.right.position).toBe(head);
    expect(await store.headPosition()).toBe(head);
  });
});
