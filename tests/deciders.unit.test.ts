import type { KubeObject } from '../core/objects/codecs';
import type { ObjectEvent } from '../core/events/types';
import { DeciderSpecification, NOW, UID, foldGiven } from './support/deciderSpec';
import { applyDefaults } from '../core/objects/defaults';

const podSpec = { containers: [{ name: 'c', image: 'nginx' }] };
const pod = (extra: Partial<KubeObject> = {}): KubeObject => ({ metadata: { name: 'web', namespace: 'default' }, spec: podSpec, ...extra });
/** A Created event as the decider writes it: with Kubernetes' defaults applied. */
const created = (o: KubeObject, kind = 'Pod'): ObjectEvent => ({
  type: 'Created',
  kind,
  object: { apiVersion: kind === 'Lease' ? 'coordination.k8s.io/v1' : 'v1', kind, ...applyDefaults(kind, o), metadata: { ...o.metadata, uid: UID, creationTimestamp: '2026-11-27T09:00:00Z', generation: 1 } },
});

describe('object decider', () => {
  const Pod = DeciderSpecification.for('Pod');

  describe('Create', () => {
    it('records the object with uid, creation time, generation 1 and Kubernetes’ defaults', () => {
      Pod.given([]).when({ type: 'Create', object: pod() }).then([
        {
          type: 'Created',
          kind: 'Pod',
          object: {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'web', namespace: 'default', uid: UID, creationTimestamp: '2026-11-27T10:00:00Z', generation: 1 },
            spec: {
              containers: [{ name: 'c', image: 'nginx', imagePullPolicy: 'Always', terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', resources: {} }],
              restartPolicy: 'Always',
              terminationGracePeriodSeconds: 30,
              dnsPolicy: 'ClusterFirst',
              schedulerName: 'default-scheduler',
              securityContext: {},
              enableServiceLinks: true,
              priority: 0,
              preemptionPolicy: 'PreemptLowerPriority',
            },
            status: { phase: 'Pending', qosClass: 'BestEffort' },
          },
        },
      ]);
    });

    it('starts a pod Pending with its QoS class, whatever status the request carried', () => {
      const withResources = (resources: object) => pod({ spec: { containers: [{ name: 'c', image: 'i', resources }] }, status: { phase: 'Running' } });
      const statusOf = (o: KubeObject) => ((Pod.given([]).when({ type: 'Create', object: o }).events()[0] as { object: KubeObject }).object.status);
      expect(statusOf(withResources({ limits: { cpu: '1', memory: '1Gi' } }))).toEqual({ phase: 'Pending', qosClass: 'Guaranteed' });
      expect(statusOf(withResources({ requests: { cpu: '1' } }))).toEqual({ phase: 'Pending', qosClass: 'Burstable' });
      expect(statusOf(withResources({}))).toEqual({ phase: 'Pending', qosClass: 'BestEffort' });
    });

    it('drops a client-supplied resourceVersion and deletionTimestamp', () => {
      const [e] = Pod.given([]).when({ type: 'Create', object: pod({ metadata: { name: 'web', resourceVersion: '5', deletionTimestamp: 'x' } }) }).events();
      expect((e as { object: KubeObject }).object.metadata).not.toHaveProperty('resourceVersion');
      expect((e as { object: KubeObject }).object.metadata).not.toHaveProperty('deletionTimestamp');
    });

    it('refuses a name that exists', () => {
      Pod.given([created(pod())]).when({ type: 'Create', object: pod() }).thenRejects('AlreadyExists', 'pods "web" already exists');
    });

    it('creates again after a delete', () => {
      const [e] = Pod.given([created(pod()), { type: 'Deleted', kind: 'Pod', object: pod() }]).when({ type: 'Create', object: pod() }).events();
      expect(e.type).toBe('Created');
    });
  });

  describe('Update', () => {
    it('refuses a stale resourceVersion with Kubernetes’ conflict message', () => {
      Pod.given([created(pod())])
        .when({ type: 'Update', object: pod({ metadata: { name: 'web', namespace: 'default', resourceVersion: '1' } }) })
        .thenRejects('Conflict', 'Operation cannot be fulfilled on pods "web": the object has been modified; please apply your changes to the latest version and try again');
    });

    it('bumps generation on a spec change but not on a label change, keeping uid and status', () => {
      const given = [created(pod()), { type: 'PodStatusReported', kind: 'Pod', status: { phase: 'Running' } } as ObjectEvent];
      const current = foldGiven(given).object as KubeObject;
      const [labelled] = Pod.given(given).when({ type: 'Update', object: { ...current, metadata: { ...current.metadata, labels: { a: 'b' } }, status: { phase: 'Lies' } } }).events();
      expect((labelled as { object: KubeObject }).object.metadata).toMatchObject({ generation: 1, uid: UID, labels: { a: 'b' } });
      expect((labelled as { object: KubeObject }).object.status).toEqual({ phase: 'Running' });
      const [changed] = Pod.given(given).when({ type: 'Update', object: { ...current, spec: { ...podSpec, restartPolicy: 'Never' } } }).events();
      expect((changed as { object: KubeObject }).object.metadata.generation).toBe(2);
    });

    it('changes nothing when the object is unchanged', () => {
      const current = foldGiven([created(pod())]).object as KubeObject;
      Pod.given([created(pod())]).when({ type: 'Update', object: current }).then([]);
    });

    it('completes a deletion when the last finalizer is removed', () => {
      const given = [created(pod({ metadata: { name: 'web', namespace: 'default', finalizers: ['example.com/f'] } })), { type: 'DeletionStarted', kind: 'Pod', deletionTimestamp: '2026-11-27T09:30:00Z', gracePeriodSeconds: 0 } as ObjectEvent];
      const current = foldGiven(given).object as KubeObject;
      const events = Pod.given(given).when({ type: 'Update', object: { ...current, metadata: { ...current.metadata, finalizers: [] } } }).events();
      expect(events.map((e) => e.type)).toEqual(['Updated', 'Deleted']);
    });

    it('refuses an object that does not exist', () => {
      Pod.given([]).when({ type: 'Update', object: pod() }).thenRejects('NotFound', 'pods "web" not found');
    });
  });

  describe('Delete', () => {
    it('deletes an unscheduled pod at once', () => {
      Pod.given([created(pod())]).when({ type: 'Delete' }).events().forEach((e) => expect(e.type).toBe('Deleted'));
    });

    it('deletes a pod bound to a node gracefully, for its grace period', () => {
      const given = [created(pod()), { type: 'PodBound', kind: 'Pod', nodeName: 'n1', boundAt: '2026-11-27T09:00:01Z' } as ObjectEvent];
      Pod.given(given).when({ type: 'Delete' }).then([{ type: 'DeletionStarted', kind: 'Pod', deletionTimestamp: '2026-11-27T10:00:30Z', gracePeriodSeconds: 30 }]);
      Pod.given(given).when({ type: 'Delete', gracePeriodSeconds: 0 }).events().forEach((e) => expect(e.type).toBe('Deleted'));
    });

    it('lets a second delete with grace 0 finish a graceful deletion', () => {
      const given = [created(pod()), { type: 'PodBound', kind: 'Pod', nodeName: 'n1', boundAt: 'x' } as ObjectEvent, { type: 'DeletionStarted', kind: 'Pod', deletionTimestamp: 'x', gracePeriodSeconds: 30 } as ObjectEvent];
      expect(Pod.given(given).when({ type: 'Delete' }).events()).toEqual([]);
      expect(Pod.given(given).when({ type: 'Delete', gracePeriodSeconds: 0 }).events().map((e) => e.type)).toEqual(['Deleted']);
      expect(Pod.given(given).when({ type: 'FinishDeletion' }).events().map((e) => e.type)).toEqual(['Deleted']);
    });

    it('puts a namespace into Terminating instead of deleting it', () => {
      DeciderSpecification.for('Namespace')
        .given([created({ metadata: { name: 'team-a' }, spec: { finalizers: ['kubernetes'] } }, 'Namespace')])
        .when({ type: 'Delete' })
        .then([{ type: 'NamespaceTerminationStarted', kind: 'Namespace', deletionTimestamp: '2026-11-27T10:00:00Z' }]);
    });

    it('removes a namespace once finalized', () => {
      const given: ObjectEvent[] = [
        created({ metadata: { name: 'team-a' }, spec: { finalizers: ['kubernetes'] } }, 'Namespace'),
        { type: 'NamespaceTerminationStarted', kind: 'Namespace', deletionTimestamp: 'x' },
      ];
      const events = DeciderSpecification.for('Namespace').given(given).when({ type: 'FinalizeNamespace', finalizers: [] }).events();
      expect(events.map((e) => e.type)).toEqual(['NamespaceFinalized', 'Deleted']);
      expect(foldGiven([...given, ...events]).object).toBeUndefined();
    });

    it('refuses a uid precondition that does not match', () => {
      Pod.given([created(pod())]).when({ type: 'Delete', preconditions: { uid: 'other' } }).thenRejects('Conflict', /Precondition failed: UID in precondition: other/);
    });
  });

  describe('Bind, Scale, status and leases', () => {
    it('binds once, recording the scheduled condition', () => {
      const bound = Pod.given([created(pod())]).when({ type: 'Bind', nodeName: 'n1' }).events();
      expect(bound).toEqual([{ type: 'PodBound', kind: 'Pod', nodeName: 'n1', boundAt: '2026-11-27T10:00:00Z' }]);
      const after = foldGiven([created(pod()), ...bound]).object as KubeObject;
      expect((after.spec as { nodeName: string }).nodeName).toBe('n1');
      expect((after.status as { conditions: unknown[] }).conditions).toEqual([{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: '2026-11-27T10:00:00Z' }]);
      Pod.given([created(pod()), ...bound]).when({ type: 'Bind', nodeName: 'n2' }).thenRejects('Conflict', 'pod web is already assigned to node "n1"');
    });

    it('scales a replication controller, bumping its generation', () => {
      const RC = DeciderSpecification.for('ReplicationController');
      const rc = created({ metadata: { name: 'rc', namespace: 'default' }, spec: { replicas: 3 } }, 'ReplicationController');
      RC.given([rc]).when({ type: 'Scale', replicas: 5 }).then([{ type: 'ReplicasScaled', kind: 'ReplicationController', replicas: 5 }]);
      RC.given([rc]).when({ type: 'Scale', replicas: 3 }).then([]);
      RC.given([rc]).when({ type: 'Scale', replicas: -1 }).thenRejects('Invalid', /must be greater than or equal to 0/);
      const after = foldGiven([rc, { type: 'ReplicasScaled', kind: 'ReplicationController', replicas: 5 }]).object as KubeObject;
      expect(after.metadata.generation).toBe(2);
      expect(after.metadata.resourceVersion).toBe('101');
    });

    it('records pod status as PodStatusReported and other kinds’ status generically', () => {
      Pod.given([created(pod())]).when({ type: 'UpdateStatus', status: { phase: 'Running' } }).then([{ type: 'PodStatusReported', kind: 'Pod', status: { phase: 'Running' } }]);
      DeciderSpecification.for('Node')
        .given([created({ metadata: { name: 'n1' } }, 'Node')])
        .when({ type: 'UpdateStatus', status: { phase: 'Running' } })
        .then([{ type: 'StatusUpdated', kind: 'Node', status: { phase: 'Running' } }]);
      DeciderSpecification.for('Secret').given([created({ metadata: { name: 's', namespace: 'd' } }, 'Secret')]).when({ type: 'UpdateStatus', status: {} }).thenRejects('MethodNotAllowed');
    });

    it('creates a node lease on its first renewal and renews it after', () => {
      const Lease = DeciderSpecification.for('Lease');
      const cmd = { type: 'RenewLease', namespace: 'kube-node-lease', name: 'n1', holderIdentity: 'n1', leaseDurationSeconds: 40 } as const;
      const first = Lease.given([]).when(cmd).events();
      const lease = foldGiven(first).object as KubeObject;
      expect(lease).toMatchObject({ kind: 'Lease', metadata: { name: 'n1', namespace: 'kube-node-lease', creationTimestamp: '2026-11-27T10:00:00Z' }, spec: { holderIdentity: 'n1', leaseDurationSeconds: 40, renewTime: '2026-11-27T10:00:00.000000Z' } });
      const later = Lease.given(first).when(cmd, new Date(NOW.getTime() + 10_000)).events();
      const renewed = foldGiven([...first, ...later]).object as KubeObject;
      expect(renewed.metadata.uid).toBe(lease.metadata.uid);
      expect((renewed.spec as { renewTime: string }).renewTime).toBe('2026-11-27T10:00:10.000000Z');
    });
  });
});
