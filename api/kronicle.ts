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
import { SYSTEM_ACTOR } from '../core/events/envelope';
import { uuidV7Source } from '../core/ids';
import { handleCommand } from '../core/shell';
import type { EventStore } from '../core/store/port';
import { ClusterProjection } from '../projections';
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
}

export interface RunningKronicle {
  readonly url: string;
  readonly projection: ClusterProjection;
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
  const ids = uuidV7Source();
  const projection = new ClusterProjection({ onDecodeError: (e) => log(`warning: ${e.message}`) });
  await projection.foldRange(store, await store.headPosition());
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
  return {
    url,
    projection,
    async close() {
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
    },
  };
}
