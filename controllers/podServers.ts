/**
 * Pods that serve: for every Running pod of this process's hollow nodes whose containers declare
 * a containerPort, a small HTTP server on the pod's IP (a loopback address of its node's range)
 * and that port, answering with the pod's name, namespace and node — or with the body its
 * `kronicle.io/body` annotation gives. Opened when the pod runs, closed when it stops or goes.
 * And each hollow node's kubelet endpoint, on the node's address and port 10250: `/pods` (its pods,
 * a PodList), `/spec` (the Node's spec and capacity), `/stats/summary` (what its pods request),
 * `/healthz` — what the API server's node proxy reaches.
 * A side effect of the kubelets' decisions, outside the pure reconcilers, in live mode only.
 */
import * as http from 'node:http';
import type { Subscription } from 'rxjs';
import type { KubeObject } from '../core/objects/codecs';
import type { ClusterView } from '../projections';
import { KUBELET_PORT } from './kubelet';
import { podsOnNode } from './pods';

interface Open {
  readonly server: http.Server;
  readonly ip: string;
}

export class PodServers {
  private readonly open = new Map<string, Open>();
  private readonly kubeletServers: http.Server[] = [];
  private readonly nodes: ReadonlySet<string>;
  private sub: Subscription | undefined;

  constructor(
    private readonly view: ClusterView,
    private readonly kubelets: ReadonlyArray<{ readonly node: string; readonly address: string }>,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    this.nodes = new Set(kubelets.map((k) => k.node));
  }

  start(): void {
    for (const k of this.kubelets) this.serveKubelet(k.node, k.address);
    this.sub = this.view.changes.subscribe((c) => {
      if (c.kind === 'Pod') this.sync(c.object as KubeObject, c.type === 'DELETED');
    });
    for (const s of this.view.store('Pod').list({}, false)) this.sync(s.object as KubeObject, false);
  }

  /** The servers open now, as `namespace/name:port` → ip. */
  get serving(): ReadonlyMap<string, string> {
    return new Map([...this.open].map(([k, o]) => [k, o.ip]));
  }

  private sync(pod: KubeObject, deleted: boolean): void {
    const node = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
    const status = pod.status as { phase?: string; podIP?: string } | undefined;
    const prefix = `${pod.metadata.namespace}/${pod.metadata.name}:`;
    const wanted = new Map<string, number>();
    if (!deleted && node && this.nodes.has(node) && status?.phase === 'Running' && status.podIP && !pod.metadata.deletionTimestamp) {
      for (const c of (pod.spec as { containers?: Array<{ ports?: Array<{ containerPort: number; protocol?: string }> }> }).containers ?? []) {
        for (const p of c.ports ?? []) if ((p.protocol ?? 'TCP') === 'TCP') wanted.set(`${prefix}${p.containerPort}`, p.containerPort);
      }
    }
    for (const [key, o] of this.open) {
      if (key.startsWith(prefix) && (!wanted.has(key) || o.ip !== status?.podIP)) {
        o.server.close();
        o.server.closeAllConnections();
        this.open.delete(key);
      }
    }
    for (const [key, port] of wanted) if (!this.open.has(key)) this.serve(key, pod, status!.podIP!, port, node!);
  }

  private serve(key: string, pod: KubeObject, ip: string, port: number, node: string): void {
    const body = pod.metadata.annotations?.['kronicle.io/body'];
    const server = http.createServer((req, res) => {
      if (body !== undefined) {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ pod: pod.metadata.name, namespace: pod.metadata.namespace, node, path: req.url }));
    });
    server.on('error', (err) => {
      this.log(`pod ${key}: cannot serve on ${ip}:${port}: ${err.message}`);
      this.open.delete(key);
    });
    server.listen(port, ip);
    this.open.set(key, { server, ip });
  }

  /** The kubelet endpoint of one hollow node. */
  private serveKubelet(node: string, address: string): void {
    const server = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      const pods = () => podsOnNode(this.view, node);
      if (path === '/pods' || path === '/pods/') return json({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: pods() });
      if (path === '/spec' || path === '/spec/') {
        const n = this.view.store('Node').get(undefined, node)?.object as KubeObject | undefined;
        return json({ node, spec: n?.spec ?? {}, capacity: (n?.status as { capacity?: unknown } | undefined)?.capacity ?? {} });
      }
      if (path === '/stats/summary') {
        return json({ node: { nodeName: node, startTime: this.view.store('Node').get(undefined, node)?.object.metadata.creationTimestamp }, pods: pods().map((p) => ({ podRef: { name: p.metadata.name, namespace: p.metadata.namespace, uid: p.metadata.uid }, containers: ((p.spec as { containers?: Array<{ name: string; resources?: { requests?: Record<string, string> } }> }).containers ?? []).map((c) => ({ name: c.name, requests: c.resources?.requests ?? {} })) })) });
      }
      if (path === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
    });
    server.on('error', (err) => this.log(`kubelet ${node}: cannot serve on ${address}:${KUBELET_PORT}: ${err.message}`));
    server.listen(KUBELET_PORT, address);
    this.kubeletServers.push(server);
  }

  stop(): void {
    for (const s of this.kubeletServers.splice(0)) {
      s.close();
      s.closeAllConnections();
    }
    this.sub?.unsubscribe();
    for (const o of this.open.values()) {
      o.server.close();
      o.server.closeAllConnections();
    }
    this.open.clear();
  }
}
