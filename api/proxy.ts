/**
 * The API server's proxies to pods and services (`kubectl proxy`'s paths, `kubectl get --raw`):
 *
 *   /api/v1/namespaces/{ns}/pods/{name[:port]}/proxy/{path}       to the pod's IP and port
 *   /api/v1/namespaces/{ns}/services/{name[:port]}/proxy/{path}   to a ready endpoint, round robin
 *   /api/v1/nodes/{name}/proxy/{path}                              to the node's kubelet endpoint
 *
 * RBAC sees them as the `pods/proxy`, `services/proxy` and `nodes/proxy` subresources. A target that cannot be
 * reached is 503, in Kubernetes' words.
 */
import * as http from 'node:http';
import type { Request, Response } from 'express';
import type { KubeObject } from '../core/objects/codecs';
import type { ApiContext } from './resources';
import { sendStatus } from './status';

export const PROXY_ROUTE = /^\/api\/v1\/namespaces\/([^/]+)\/(pods|services)\/([^/]+)\/proxy(\/.*)?$/;
export const NODE_PROXY_ROUTE = /^\/api\/v1\/nodes\/([^/]+)\/proxy(\/.*)?$/;

const roundRobin = new Map<string, number>();

/** Where a proxied request goes, or why it cannot. */
type Target = { host: string; port: number } | { status: 'NotFound' | 'ServiceUnavailable'; message: string };

/** Where a proxied request goes: the pod's IP and port, or a ready endpoint's; or a Status. */
function target(ctx: ApiContext, ns: string, resource: string, nameAndPort: string): Target {
  const [name, portName] = nameAndPort.split(':');
  if (resource === 'pods') {
    const pod = ctx.projection.store('Pod').get(ns, name)?.object as KubeObject | undefined;
    if (!pod) return { status: 'NotFound', message: `pods "${name}" not found` };
    const ip = (pod.status as { podIP?: string } | undefined)?.podIP;
    if (!ip) return { status: 'ServiceUnavailable', message: `error trying to reach service: pod ${name} has no IP` };
    const ports = ((pod.spec as { containers?: Array<{ ports?: Array<{ containerPort: number; name?: string }> }> }).containers ?? []).flatMap((c) => c.ports ?? []);
    const port = portName === undefined ? (ports[0]?.containerPort ?? 80) : /^\d+$/.test(portName) ? Number(portName) : ports.find((p) => p.name === portName)?.containerPort;
    if (port === undefined) return { status: 'ServiceUnavailable', message: `error trying to reach service: no port "${portName}" on pod ${name}` };
    return { host: ip, port };
  }
  const service = ctx.projection.store('Service').get(ns, name)?.object as KubeObject | undefined;
  if (!service) return { status: 'NotFound', message: `services "${name}" not found` };
  const endpoints = ctx.projection.store('Endpoints').get(ns, name)?.object as { subsets?: Array<{ addresses?: Array<{ ip: string }>; ports?: Array<{ port: number; name?: string }> }> } | undefined;
  const servicePorts = (service.spec as { ports?: Array<{ name?: string; port: number }> }).ports ?? [];
  const wantedName = portName === undefined ? servicePorts[0]?.name : /^\d+$/.test(portName) ? servicePorts.find((p) => p.port === Number(portName))?.name : portName;
  const candidates = (endpoints?.subsets ?? []).flatMap((s) => {
    const port = (s.ports ?? []).find((p) => wantedName === undefined || p.name === wantedName) ?? s.ports?.[0];
    return port ? (s.addresses ?? []).map((a) => ({ host: a.ip, port: port.port })) : [];
  });
  if (candidates.length === 0) return { status: 'ServiceUnavailable', message: `no endpoints available for service "${name}"` };
  const key = `${ns}/${name}`;
  const n = roundRobin.get(key) ?? 0;
  roundRobin.set(key, n + 1);
  return candidates[n % candidates.length];
}

/** A node's kubelet endpoint: its InternalIP and the kubelet port its status names. */
function nodeTarget(ctx: ApiContext, nameAndPort: string): Target {
  const [name, portName] = nameAndPort.split(':');
  const node = ctx.projection.store('Node').get(undefined, name)?.object as KubeObject | undefined;
  if (!node) return { status: 'NotFound', message: `nodes "${name}" not found` };
  const status = node.status as { addresses?: Array<{ type: string; address: string }>; daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } } | undefined;
  const ip = status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  if (!ip) return { status: 'ServiceUnavailable', message: `error trying to reach service: node ${name} has no InternalIP` };
  return { host: ip, port: portName && /^\d+$/.test(portName) ? Number(portName) : (status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 10250) };
}

export function proxyRoute(ctx: ApiContext) {
  return (req: Request, res: Response): void => {
    const node = NODE_PROXY_ROUTE.exec(req.path);
    const m = PROXY_ROUTE.exec(req.path);
    if (!m && !node) return sendStatus(res, 'NotFound', 'the server could not find the requested resource');
    const t = node ? nodeTarget(ctx, decodeURIComponent(node[1])) : target(ctx, decodeURIComponent(m![1]), m![2], decodeURIComponent(m![3]));
    const rest = (node ? node[2] : m![4]) ?? '/';
    if ('status' in t) return sendStatus(res, t.status, t.message);
    const query = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : '';
    const headers = { ...req.headers };
    for (const h of ['host', 'authorization', 'impersonate-user', 'impersonate-group', 'connection']) delete headers[h];
    const body = Buffer.isBuffer(req.body) && req.body.length > 0 ? req.body : undefined;
    if (body) headers['content-length'] = String(body.length);
    const upstream = http.request({ host: t.host, port: t.port, method: req.method, path: `${rest}${query}`, headers, timeout: 10_000 }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    upstream.on('timeout', () => upstream.destroy(new Error('timed out')));
    upstream.on('error', (err) => {
      if (!res.headersSent) sendStatus(res, 'ServiceUnavailable', `error trying to reach service: ${err.message}`);
      else res.destroy();
    });
    upstream.end(body);
  };
}
