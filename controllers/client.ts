/**
 * Performs actions through the Kubernetes API over HTTP, as the seed's controllers do (controllers
 * in another process always; in `serve`'s own process, the actions api/inProcess.ts does not
 * perform itself): the same
 * validation, admission and command path as any client. Each request names the controller
 * (Impersonate-User, which the insecure port's system:masters may do) and the cause of the
 * decision (X-Kronicle-Causation-Id, -Correlation-Id, -Observed-Position, -Decided-At), which the
 * API writes into the envelope of every event the request appends.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { kindSpec } from '../core/kinds';
import type { Action } from './actions';

export interface Cause {
  readonly causationId?: string;
  readonly correlationId?: string;
  readonly observedPosition: bigint;
  readonly decidedAt: Date;
  /** The decision the write carries out: reconciler, key and the digest of its actions. */
  readonly decision?: { readonly controller: string; readonly key: string; readonly digest: string };
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** What carries out controllers' actions: the API over HTTP (ApiClient), or in-process (api/inProcess.ts). */
export interface ActionPerformer {
  /** Performs one action as `actor`; resolves with the answered object, rejects with an ApiError. */
  perform(action: Action, actor: string, manager: string, cause: Cause): Promise<unknown>;
}

export class ApiClient implements ActionPerformer {
  private readonly agent: http.Agent;

  constructor(private readonly baseUrl: string) {
    this.agent = baseUrl.startsWith('https:') ? new https.Agent({ keepAlive: true, maxSockets: 16 }) : new http.Agent({ keepAlive: true, maxSockets: 16 });
  }

  close(): void {
    this.agent.destroy();
  }

  /** Performs one action as `actor`; resolves with the answered object, rejects with an ApiError. */
  async perform(action: Action, actor: string, manager: string, cause: Cause): Promise<unknown> {
    const { method, path, body } = this.request(action, manager);
    const headers: Record<string, string> = {
      'content-type': action.verb === 'patch' ? 'application/merge-patch+json' : 'application/json',
      'user-agent': `kronicle/${manager}`,
      'impersonate-user': actor,
      'x-kronicle-observed-position': cause.observedPosition.toString(),
      'x-kronicle-decided-at': cause.decidedAt.toISOString(),
    };
    if (cause.causationId) headers['x-kronicle-causation-id'] = cause.causationId;
    if (cause.correlationId) headers['x-kronicle-correlation-id'] = cause.correlationId;
    if (cause.decision) headers['x-kronicle-decision'] = `${cause.decision.controller} ${cause.decision.digest} ${encodeURIComponent(cause.decision.key)}`;
    // Node frames no body for DELETE unless told its length.
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const r = await this.send(method, path, headers, body);
    if (r.status >= 400) {
      let status: { reason?: string; message?: string } = {};
      try {
        status = JSON.parse(r.body);
      } catch {
        /* not a Status */
      }
      throw new ApiError(r.status, status.reason ?? 'Unknown', status.message ?? r.body.slice(0, 200));
    }
    return r.body ? JSON.parse(r.body) : undefined;
  }

  private request(action: Action, manager: string): { method: string; path: string; body?: string } {
    const fm = `fieldManager=${encodeURIComponent(manager)}`;
    if (action.verb === 'bind') {
      return {
        method: 'POST',
        path: `/api/v1/namespaces/${action.namespace}/pods/${action.name}/binding?${fm}`,
        body: JSON.stringify({ apiVersion: 'v1', kind: 'Binding', metadata: { name: action.name, ...(action.uid ? { uid: action.uid } : {}) }, target: { apiVersion: 'v1', kind: 'Node', name: action.node } }),
      };
    }
    if (action.verb === 'renewLease') {
      return {
        method: 'PUT',
        path: `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${action.name}?${fm}`,
        body: JSON.stringify({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: action.name, namespace: 'kube-node-lease' }, spec: { holderIdentity: action.holder, leaseDurationSeconds: action.durationSeconds } }),
      };
    }
    const k = kindSpec(action.kind);
    if (!k) throw new Error(`unknown kind ${action.kind}`);
    const base = `${k.group ? `/apis/${k.group}/${k.version}` : `/api/${k.version}`}${k.namespaced ? `/namespaces/${action.namespace}` : ''}/${k.plural}`;
    switch (action.verb) {
      case 'create':
        return { method: 'POST', path: `${base}?${fm}`, body: JSON.stringify(action.body) };
      case 'update':
        return { method: 'PUT', path: `${base}/${action.name}?${fm}`, body: JSON.stringify(action.body) };
      case 'updateStatus':
        return { method: 'PUT', path: `${base}/${action.name}/status?${fm}`, body: JSON.stringify(action.body) };
      case 'patch':
        return { method: 'PATCH', path: `${base}/${action.name}?${fm}`, body: JSON.stringify(action.patch) };
      case 'delete': {
        const options = { apiVersion: 'v1', kind: 'DeleteOptions', ...(action.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: action.gracePeriodSeconds } : {}), ...(action.uid ? { preconditions: { uid: action.uid } } : {}) };
        return { method: 'DELETE', path: `${base}/${action.name}`, body: JSON.stringify(options) };
      }
    }
  }

  private send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
    const mod = this.baseUrl.startsWith('https:') ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(`${this.baseUrl}${path}`, { method, headers, agent: this.agent, rejectUnauthorized: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }
}
