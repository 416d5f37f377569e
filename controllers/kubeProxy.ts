/**
 * A hollow kube-proxy per node: for every Service it listens on the node's address at each
 * service port (and at the nodePort of NodePort services) and forwards each TCP connection to a
 * ready endpoint of the Service, round robin. It follows Services and Endpoints through the
 * projection's change feed (the same watch a remote view would make): a listener opens or closes
 * as a Service comes or goes, and each connection picks among the endpoints ready at that moment.
 */
import * as net from 'node:net';
import type { Subscription } from 'rxjs';
import type { KubeObject } from '../core/objects/codecs';
import type { ClusterView } from '../projections';

interface ServicePort {
  readonly name?: string;
  readonly port: number;
  readonly nodePort?: number;
  readonly protocol?: string;
}

export class KubeProxy {
  private readonly listeners = new Map<string, net.Server>();
  private readonly turn = new Map<string, number>();
  private sub: Subscription | undefined;

  constructor(
    private readonly view: ClusterView,
    private readonly address: string,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  start(): void {
    this.sub = this.view.changes.subscribe((c) => {
      if (c.kind === 'Service') this.sync(c.object as KubeObject, c.type === 'DELETED');
    });
    for (const s of this.view.store('Service').list({}, false)) this.sync(s.object as KubeObject, false);
  }

  private sync(service: KubeObject, deleted: boolean): void {
    const ns = service.metadata.namespace as string;
    const name = service.metadata.name as string;
    const prefix = `${ns}/${name}#`;
    const spec = service.spec as { type?: string; ports?: ServicePort[] } | undefined;
    const wanted = new Map<string, ServicePort>();
    if (!deleted) {
      for (const p of spec?.ports ?? []) {
        if ((p.protocol ?? 'TCP') !== 'TCP') continue;
        wanted.set(`${prefix}${p.port}`, p);
        if (spec?.type === 'NodePort' && p.nodePort) wanted.set(`${prefix}node:${p.nodePort}`, p);
      }
    }
    for (const [key, server] of this.listeners) {
      if (key.startsWith(prefix) && !wanted.has(key)) {
        server.close();
        this.listeners.delete(key);
      }
    }
    for (const [key, p] of wanted) {
      if (this.listeners.has(key)) continue;
      const listenPort = key.includes('#node:') ? (p.nodePort as number) : p.port;
      const server = net.createServer((client) => this.forward(client, ns, name, p));
      server.on('error', (err) => {
        this.log(`kube-proxy ${this.address}: cannot listen on ${listenPort} for ${ns}/${name}: ${err.message}`);
        this.listeners.delete(key);
      });
      server.listen(listenPort, this.address);
      this.listeners.set(key, server);
    }
  }

  /** One connection to a ready endpoint of the Service, chosen when it arrives. */
  private forward(client: net.Socket, ns: string, name: string, port: ServicePort): void {
    const endpoints = this.view.store('Endpoints').get(ns, name)?.object as { subsets?: Array<{ addresses?: Array<{ ip: string }>; ports?: Array<{ name?: string; port: number }> }> } | undefined;
    const targets = (endpoints?.subsets ?? []).flatMap((s) => {
      const p = (s.ports ?? []).find((x) => (x.name ?? '') === (port.name ?? '')) ?? s.ports?.[0];
      return p ? (s.addresses ?? []).map((a) => ({ host: a.ip, port: p.port })) : [];
    });
    if (targets.length === 0) {
      client.destroy();
      return;
    }
    const key = `${ns}/${name}`;
    const n = this.turn.get(key) ?? 0;
    this.turn.set(key, n + 1);
    const t = targets[n % targets.length];
    const upstream = net.connect(t.port, t.host);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
  }

  stop(): void {
    this.sub?.unsubscribe();
    for (const s of this.listeners.values()) s.close();
    this.listeners.clear();
  }
}
