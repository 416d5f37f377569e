/**
 * Pods that serve: for every Running pod of this process's hollow nodes whose containers declare
 * a containerPort, a small HTTP server on the pod's IP (a loopback address of its node's range)
 * and that port, answering with the pod's name, namespace and node — or with the body its
 * `kronicle.io/body` annotation gives. Opened when the pod runs, closed when it stops or goes.
 * A side effect of the kubelets' decisions, outside the pure reconcilers, in live mode only.
 */
import * as http from 'node:http';
import type { Subscription } from 'rxjs';
import type { KubeObject } from '../core/objects/codecs';
import type { ClusterView } from '../projections';

interface Open {
  readonly server: http.Server;
  readonly ip: string;
}

export class PodServers {
  private readonly open = new Map<string, Open>();
  private sub: Subscription | undefined;

  constructor(
    private readonly view: ClusterView,
    private readonly nodes: ReadonlySet<string>,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  start(): void {
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

  stop(): void {
    this.sub?.unsubscribe();
    for (const o of this.open.values()) {
      o.server.close();
      o.server.closeAllConnections();
    }
    this.open.clear();
  }
}
