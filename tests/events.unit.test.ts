import * as E from 'fp-ts/Either';
import { decodeEvent, encodeEvent, parseStoredType, upcast, type ObjectEvent, type Upcasters } from '../core/events/types';
import { parseStream, streamOf } from '../core/events/streams';
import type { StoredEvent } from '../core/store/port';

const stored = (type: string, data: unknown, metadata: unknown = { schemaVersion: 1, actor: { kind: 'user', name: 'alice' } }): StoredEvent => ({
  id: 'e1',
  type,
  stream: 'Pod-default/web',
  revision: 0n,
  position: 7n,
  recordedAt: new Date(0),
  data: data as never,
  metadata: metadata as never,
});

describe('streams', () => {
  it('names one stream per object, with the kind as its category', () => {
    expect(streamOf({ kind: 'Pod', namespace: 'default', name: 'web-1' })).toBe('Pod-default/web-1');
    expect(streamOf({ kind: 'Node', name: 'node-1' })).toBe('Node-node-1');
    expect(parseStream('Pod-default/web-1')).toEqual({ kind: 'Pod', namespace: 'default', name: 'web-1' });
    expect(parseStream('Node-node-1')).toEqual({ kind: 'Node', name: 'node-1' });
    expect(parseStream('Lease-kube-node-lease/n1')).toEqual({ kind: 'Lease', namespace: 'kube-node-lease', name: 'n1' });
    expect(parseStream('nodash')).toBeUndefined();
  });
});

describe('event types', () => {
  it('stores generic events as <Kind><Verb> and specific ones by name', () => {
    const created: ObjectEvent = { type: 'Created', kind: 'Pod', object: { metadata: { name: 'web' } } };
    const bound: ObjectEvent = { type: 'PodBound', kind: 'Pod', nodeName: 'n1', boundAt: 't' };
    expect(encodeEvent(created, 'id-1', { actor: { kind: 'user', name: 'alice' } })).toEqual({
      id: 'id-1',
      type: 'PodCreated',
      data: { object: { metadata: { name: 'web' } } },
      metadata: { actor: { kind: 'user', name: 'alice' }, schemaVersion: 1 },
    });
    expect(encodeEvent(bound, 'id-2', { actor: { kind: 'controller', name: 'scheduler' } }).type).toBe('PodBound');
    expect(parseStoredType('ReplicationControllerUpdated')).toEqual({ kind: 'ReplicationController', verb: 'Updated' });
    expect(parseStoredType('ResourceQuotaStatusUpdated')).toEqual({ kind: 'ResourceQuota', verb: 'StatusUpdated' });
    expect(parseStoredType('NamespaceTerminationStarted')).toEqual({ kind: 'Namespace', verb: 'NamespaceTerminationStarted' });
    expect(parseStoredType('WidgetCreated')).toBeUndefined();
  });

  it('decodes what it encodes, with the envelope', () => {
    const e: ObjectEvent = { type: 'ReplicasScaled', kind: 'ReplicationController', replicas: 5 };
    const enc = encodeEvent(e, 'id', { actor: { kind: 'user', name: 'alice' }, requestId: 'r1', correlationId: 'c1' });
    const dec = decodeEvent(stored(enc.type, enc.data, enc.metadata));
    expect(E.isRight(dec) && dec.right.event).toEqual(e);
    expect(E.isRight(dec) && dec.right.metadata).toEqual({ actor: { kind: 'user', name: 'alice' }, requestId: 'r1', correlationId: 'c1', schemaVersion: 1 });
  });

  it('refuses unknown types, missing envelopes and payloads of the wrong shape', () => {
    expect(E.isLeft(decodeEvent(stored('WidgetCreated', {})))).toBe(true);
    expect(E.isLeft(decodeEvent(stored('PodCreated', { object: { metadata: {} } }, { actor: 'x' })))).toBe(true);
    const bad = decodeEvent(stored('PodBound', { node: 'n1' }));
    expect(E.isLeft(bad) && bad.left.message).toBe('event e1 at position 7: payload does not match PodBound');
  });

  describe('schema versions', () => {
    // A history in which PodBound's payload was once { node } and is now { nodeName, boundAt }.
    const upcasters: Upcasters = {
      PodBound: {
        1: (d) => ({ nodeName: d.node as string, boundAt: (d.at as string) ?? '1970-01-01T00:00:00Z' }),
        2: (d) => ({ ...d, boundAt: String(d.boundAt) }),
      },
    };

    it('upcasts an old payload step by step to the current version before decoding', () => {
      const old = stored('PodBound', { node: 'n1', at: '2020-01-01T00:00:00Z' }, { schemaVersion: 1, actor: { kind: 'user', name: 'a' } });
      const dec = decodeEvent(old, { upcasters, currentVersion: 3 });
      expect(E.isRight(dec) && dec.right.event).toEqual({ type: 'PodBound', kind: 'Pod', nodeName: 'n1', boundAt: '2020-01-01T00:00:00Z' });
    });

    it('leaves a current payload alone', () => {
      expect(upcast('PodBound', 3, { nodeName: 'n' }, { upcasters, currentVersion: 3 })).toEqual(E.right({ nodeName: 'n' }));
    });

    it('refuses a payload from a newer schema than this code knows', () => {
      const newer = stored('PodBound', { nodeName: 'n1', boundAt: 't' }, { schemaVersion: 9, actor: { kind: 'user', name: 'a' } });
      const dec = decodeEvent(newer);
      expect(E.isLeft(dec) && dec.left.message).toMatch(/schema version 9 is newer/);
    });
  });
});
