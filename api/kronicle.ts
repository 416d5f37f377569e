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
import { ApiClient, ControllerManager, type ActionPerformer, ElectedControllers, eventAtFrom, hollowNodes, standardReconcilers, wallClock, type Clock, type ControllerSettings, type HollowKubelet, type LeaderElectionOptions, type Reconciler } from '../controllers';
import { SYSTEM_ACTOR } from '../core/events/envelope';
import { uuidV7Source } from '../core/ids';
import { handleCommand, type IdSource } from '../core/shell';
import type { EventStore } from '../core/store/port';
import type { KubeObject } from '../core/objects/codecs';
import { ClusterProjection } from '../projections';
import { Snapshotter, SNAPSHOT_SCHEMA, loadSnapshotAt } from '../projections/snapshot';
import { createApiApp, listenInsecure, listenSecure } from './server';
import { InProcessActions } from './inProcess';
import { PodServers } from '../controllers/podServers';
import { KubeProxy } from '../controllers/kubeProxy';
import type * as https from 'node:https';
import { ensurePki } from './auth/pki';
import { Authenticator, parseCredentialFile } from './auth/authn';
import { RbacAuthorizer } from './auth/rbac';
import { bootstrapPolicy } from './auth/bootstrap';

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
  /** Run HTTP servers for the Running pods of this process's hollow nodes (controllers/podServers.ts). */
  readonly servePods?: boolean;
  /** The secure port (HTTPS, authenticated, RBAC); none when undefined. */
  readonly secure?: SecurePortOptions;
  /** Start from the latest snapshot and write snapshots as the log grows (default true). */
  readonly snapshots?: boolean;
}

export interface SecurePortOptions {
  readonly host?: string;
  /** 0: any free port. */
  readonly port: number;
  /** Where the generated CA and certificates live (made on first start, kept across restarts). */
  readonly pkiDir: string;
  /** A serving certificate and key of one's own, instead of the generated ones. */
  readonly certFile?: string;
  readonly keyFile?: string;
  /** The CA whose client certificates authenticate (default: the generated CA). */
  readonly clientCAFile?: string;
  readonly tokenAuthFile?: string;
  readonly basicAuthFile?: string;
  /** Where to write the kubeconfig of the secure port (the admin client certificate). */
  readonly kubeconfigPath?: string;
}

export interface RunningKronicle {
  readonly url: string;
  /** The secure port's URL, when it runs. */
  readonly secureUrl?: string;
  /** The CA that signed the secure port's certificate (PEM), when it runs. */
  readonly caCert?: string;
  readonly projection: ClusterProjection;
  /** Performs controllers' actions as the server's own controllers do (api/inProcess.ts). */
  readonly actions: ActionPerformer;
  /** The in-process controller manager, when controllers run here. */
  readonly controllers?: ControllerManager;
  readonly kubelets: readonly HollowKubelet[];
  close(): Promise<void>;
}

/** A kubeconfig for the secure port: the CA to trust and the admin's client certificate, embedded. */
export function secureKubeconfig(url: string, caCert: string, clientCert: string, clientKey: string, user = 'kronicle-admin'): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: kronicle-secure
  cluster:
    server: ${url}
    certificate-authority-data: ${b64(caCert)}
users:
- name: ${user}
  user:
    client-certificate-data: ${b64(clientCert)}
    client-key-data: ${b64(clientKey)}
contexts:
- name: kronicle-secure
  context:
    cluster: kronicle-secure
    user: ${user}
    namespace: default
current-context: kronicle-secure
`;
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

  // The system's own cluster-scoped objects, written once: the default namespaces, then the
  // bootstrap RBAC policy (roles and bindings of the built-in identities).
  const system = [
    ...DEFAULT_NAMESPACES.map((name): KubeObject => ({ kind: 'Namespace', metadata: { name }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } })),
    ...bootstrapPolicy(standardReconcilers().map((r) => r.name)),
  ];
  for (const object of system) {
    const kind = object.kind as string;
    const name = object.metadata.name as string;
    if (projection.store(kind).get(undefined, name)) continue;
    const r = await handleCommand(store, { kind, name }, { type: 'Create', object }, { now: clock(), ids, write: { actor: SYSTEM_ACTOR } });
    if (E.isRight(r)) await projection.waitFor(r.right.position);
  }

  const shutdown = new Subject<void>();
  const authorizer = new RbacAuthorizer(projection);
  const apiContext = { store, projection, ids, clock, shutdown, authorizer };
  const app = createApiApp(apiContext);
  const server: http.Server = await listenInsecure(app, options.host ?? '127.0.0.1', options.port ?? 8080);
  let secureServer: https.Server | undefined;
  let secureUrl: string | undefined;
  let caCert: string | undefined;
  if (options.secure) {
    const s = options.secure;
    const host = s.host ?? '127.0.0.1';
    const pki = ensurePki(s.pkiDir, [...new Set([host, '127.0.0.1', 'localhost'])].filter((h) => h !== '0.0.0.0' && h !== '::'));
    const read = (file: string | undefined, fallback: string) => (file ? fs.readFileSync(file, 'utf8') : fallback);
    const tls = { cert: read(s.certFile, pki.serverCert), key: read(s.keyFile, pki.serverKey), clientCA: read(s.clientCAFile, pki.caCert) };
    const authenticator = new Authenticator(
      s.tokenAuthFile ? parseCredentialFile(fs.readFileSync(s.tokenAuthFile, 'utf8'), s.tokenAuthFile) : new Map(),
      s.basicAuthFile ? parseCredentialFile(fs.readFileSync(s.basicAuthFile, 'utf8'), s.basicAuthFile) : new Map(),
    );
    secureServer = await listenSecure(app, host, s.port, tls, authenticator);
    const a = secureServer.address() as AddressInfo;
    secureUrl = `https://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
    caCert = s.certFile ? undefined : pki.caCert;
    if (s.kubeconfigPath) {
      fs.mkdirSync(path.dirname(s.kubeconfigPath), { recursive: true });
      fs.writeFileSync(s.kubeconfigPath, secureKubeconfig(secureUrl, pki.caCert, pki.adminCert, pki.adminKey), { mode: 0o600 });
    }
  }
  const address = server.address() as AddressInfo;
  const url = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
  if (options.kubeconfigPath) {
    fs.mkdirSync(path.dirname(options.kubeconfigPath), { recursive: true });
    fs.writeFileSync(options.kubeconfigPath, kubeconfigFor(url));
  }
  const kubelets = hollowNodes(options.nodes ?? 0, options.controllerSettings);
  let controllers: ControllerManager | undefined;
  let elected: ElectedControllers | undefined;
  const client = new ApiClient(url);
  // Heartbeats, bindings, status reports and creates in-process; every other action over the API.
  const api = new InProcessActions(apiContext, client);
  if (options.controllers ?? kubelets.length > 0) {
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
  const podServers = options.servePods && kubelets.length > 0 ? new PodServers(projection, kubelets.map((k) => ({ node: k.options.name, address: k.address })), log) : undefined;
  podServers?.start();
  // A kube-proxy per hollow node, on the node's address (with the pods that serve).
  const kubeProxies = podServers ? kubelets.map((k) => new KubeProxy(projection, k.address, log)) : [];
  for (const p of kubeProxies) p.start();

  return {
    url,
    ...(secureUrl ? { secureUrl } : {}),
    ...(caCert ? { caCert } : {}),
    projection,
    actions: api,
    controllers,
    kubelets,
    async close() {
      podServers?.stop();
      for (const p of kubeProxies) p.stop();
      await elected?.stop();
      await controllers?.stop();
      client.close();
      // Watches end cleanly first (a client re-watches from its last resourceVersion); then the
      // idle keep-alive connections go, and whatever is still open after a moment.
      shutdown.next();
      shutdown.complete();
      const servers: Array<http.Server | https.Server> = [server, ...(secureServer ? [secureServer] : [])];
      const closed = Promise.all(servers.map((sv) => new Promise<void>((resolve) => sv.close(() => resolve()))));
      for (const sv of servers) sv.closeIdleConnections();
      const force = setTimeout(() => servers.forEach((sv) => sv.closeAllConnections()), 1000);
      await closed;
      clearTimeout(force);
      live.unsubscribe();
      snapshotter?.stop();
    },
  };
}
