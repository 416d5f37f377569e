/** The controller manager's reconcilers, as `kronicle serve` and `kronicle controllers` run them. */
import { endpointsController } from './endpoints';
import { garbageCollector, ownerFinalizer, podGarbageCollector } from './garbageCollector';
import { HollowKubelet } from './kubelet';
import { namespaceController } from './namespace';
import { nodeLifecycle, type NodeLifecycleOptions } from './nodeLifecycle';
import { replicationController } from './replication';
import { resourceQuotaController } from './resourceQuota';
import type { Reconciler } from './runtime';
import { makeScheduler } from './scheduler';
import { serviceAccountController } from './serviceAccount';
import { serviceController, type ServiceAllocationOptions } from './service';

export type ControllerSettings = NodeLifecycleOptions & ServiceAllocationOptions & { readonly terminatedPodThreshold?: number; readonly leaseRenewMs?: number };

export function standardReconcilers(settings: ControllerSettings = {}): Reconciler[] {
  return [
    replicationController,
    makeScheduler(),
    nodeLifecycle(settings),
    endpointsController,
    serviceController(settings),
    namespaceController,
    serviceAccountController,
    resourceQuotaController,
    garbageCollector,
    ownerFinalizer,
    podGarbageCollector(settings),
  ];
}

/** Hollow nodes `first`…`first+count-1`, named node-<i>. */
export function hollowNodes(count: number, settings: ControllerSettings = {}, first = 1): HollowKubelet[] {
  return Array.from({ length: count }, (_, i) => new HollowKubelet({ name: `node-${first + i}`, index: first + i, ...(settings.leaseRenewMs ? { leaseRenewMs: settings.leaseRenewMs } : {}) }));
}

export { ControllerManager, eventAtFrom, type Reconciler } from './runtime';
export { ApiClient, type ActionPerformer } from './client';
export { RemoteView } from './remoteView';
export { HollowKubelet } from './kubelet';
export { VirtualClock, wallClock, type Clock } from './clock';
export { ElectedControllers, LeaderElector, type LeaderElectionOptions } from './leaderElection';
