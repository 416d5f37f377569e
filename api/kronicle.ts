/**
 * Kronicle in one process: the store, the projections, the default namespaces and the insecure
 * API port. The `serve` command and the end-to-end tests start it the same way.
 */
import * as E from 'fp-ts/Either';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import type * as http from 'node:http';
import { Subject } from 'rxjs';
import { ApiClient, ControllerManager, ElectedControllers, eventAtFrom, hollowNodes, standardReconcilers, wallClock, type Clock, type ControllerSettings, type HollowKubelet, type LeaderElectionOptions, type Reconciler } from '../controllers';
import { SYSTEM_ACTOR } from '../core/events/envelope';
import { uuidV7Source } from '../core/ids';
import { handleCommand, type IdSource } from '../core/shell';
import type { EventStore } from '../core/store/port';
import { ClusterProjection } from '../projections';
import { Snapshotter, SNAPSHOT_SCHEMA, loadSnapshotAt } from '../projections/snapshot';
import { createApiApp, listenInsecure } from './server';

export const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export interface KronicleOptions {
  readonly store: EventStore;
  readonly host?: string;
  readonly port?: number;
  /** Where to write the kubeconfig; none is written when undefined. */
  readonly kubeconfigPath?: string;
  readonly clock?: () => Date;
  readonly log?: (line: string) => void;
  /** Run the controllers and the scheduler in this process (default: only when `nodes` is given). */
  readonly controllers?: boolean;
  /** Hollow nodes to run in this process. */
  readonly nodes?: number;
  /** The controllers' clock (default: the wall clock). */
  readonly controllerClock?: Clock;
  /** Where uids and event ids come from (default: UUIDv7; seeded in determinism tests). */
  readonly ids?: IdSource;
  /** Run the controllers only while this server holds the leader lease (several servers on one store). */
  readonly leaderElection?: LeaderElectionOptions;
  /** Settings of the controllers (Kubernetes' defaults otherwise). */
  readonly controllerSettings?: ControllerSettings;
  /** The controllers to run instead of today's standard set (a changed controller, in re-simulation). */
  readonly reconcilers?: readonly Reconciler[];
  /** Called with the live projection once it is made, before the first event reaches it (recorders). */
  readonly observeProjection?: (projection: ClusterProjection) => void;
  /** Start from the latest snapshot and write snapshots as the log grows (default true). */
  readonly snapshots?: boolean;
}

export interface RunningKronicle {
  readonly url: string;
  readonly projection: ClusterProjection;
  /** The in-process controller manager, when controllers run here. */
  readonly controllers?: ControllerManager;
  readonly kubelets: readonly HollowKubelet[];
  close(): Promise<void>;
}

export function kubeconfigFor(url: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: kronicle
  cluster:
    server: ${url}
    insecure-skip-tls-verify: true
users:
- name: kronicle
  user: {}
contexts:
- name: kronicle
  context:
    cluster: kronicle
    user: kronicle
    namespace: default
current-context: kronicle
`;
}

export async function startKronicle(options: KronicleOptions): Promise<RunningKronicle> {
  const { store } = options;
  const clock = options.clock ?? (() => new Date());
  const log = options.log ?? (() => undefined);
  const ids = options.ids ?? uuidV7Source();
  const projectionOptions = { onDecodeError: (e: Error) => log(`warning: ${e.message}`) };
  const head = await store.headPosition();
  let projection = new ClusterProjection(projectionOptions);
  let snapshotter: Snapshotter | undefined;
  if (options.snapshots !== false && store.snapshots) {
    // Start from the latest snapshot; one that cannot be read is ignored (the log is the truth).
    try {
      const dropped = await store.snapshots.dropSnapshotsExcept(SNAPSHOT_SCHEMA);
      if (dropped > 0) log(`dropped ${dropped} snapshots of an older schema; they are rebuilt as the log grows`);
      projection = (await loadSnapshotAt(store, head, projectionOptions)) ?? projection;
    } catch (err) {
      log(`warning: ignoring an unreadable snapshot: ${(err as Error).message}`);
      projection = new ClusterProjection(projectionOptions);
    }
  }
  options.observeProjection?.(projection);
  await projection.foldRange(store, head);
  if (options.snapshots !== false && store.snapshots) {
    snapshotter = new Snapshotter(projection, store, { onError: (err) => log(`warning: snapshot not saved: ${(err as Error).message}`) });
  }
  const live = projection.follow(store);

  for (const name of DEFAULT_NAMESPACES) {
    if (projection.store('Namespace').get(undefined, name)) continue;
    const r = await handleCommand(store, { kind: 'Namespace', name }, { type: 'Create', object: { metadata: { name }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } } }, {
      now: clock(),
      ids,
      write: { actor: SYSTEM_ACTOR },
    });
    if (E.isRight(r)) await projection.waitFor(r.right.position);
  }

  const shutdown = new Subject<void>();
  const app = createApiApp({ store, projection, ids, clock, shutdown });
  const server: http.Server = await listenInsecure(app, options.host ?? '127.0.0.1', options.port ?? 8080);
  const address = server.address() as AddressInfo;
  const url = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
  if (options.kubeconfigPath) {
    fs.mkdirSync(path.dirname(options.kubeconfigPath), { recursive: true });
    fs.writeFileSync(options.kubeconfigPath, kubeconfigFor(url));
  }
  const kubelets = hollowNodes(options.nodes ?? 0, options.controllerSettings);
  let controllers: ControllerManager | undefined;
  let elected: ElectedControllers | undefined;
  let client: ApiClient | undefined;
  if (options.controllers ?? kubelets.length > 0) {
    const api = (client = new ApiClient(url));
    const clock = options.controllerClock ?? wallClock;
    // On the wall clock each reconciler has its own worker; in virtual time one worker for all,
    // so that a run is reproducible event for event.
    const concurrent = !options.controllerClock;
    const manager = (reconcilers: Reconciler[]) => new ControllerManager({ projection, eventAt: eventAtFrom(store), client: api, clock, reconcilers, log, concurrent });
    if (options.leaderElection) {
      // Several servers on one store: the kubelets always run, the controllers only in the leader.
      controllers = manager(kubelets);
      elected = new ElectedControllers(projection, api, clock, options.leaderElection, () => manager(options.reconcilers ? [...options.reconcilers] : standardReconcilers(options.controllerSettings)), log);
      elected.start();
    } else {
      controllers = manager([...(options.reconcilers ?? standardReconcilers(options.controllerSettings)), ...kubelets]);
    }
    controllers.start();
  }

  return {
    url,
    projection,
    controllers,
    kubelets,
    async close() {
      await elected?.stop();
      await controllers?.stop();
      client?.close();
      // Watches end cleanly first (a client re-watches from its last resourceVersion); then the
      // idle keep-alive connections go, and whatever is still open after a moment.
      shutdown.next();
      shutdown.complete();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), 1000);
      await closed;
      clearTimeout(force);
      live.unsubscribe();
      snapshotter?.stop();
    },
  };
}
