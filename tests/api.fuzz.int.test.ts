/**
 * Fuzzing the API with 10,000 malformed requests (seeded, so a failure can be replayed): no
 * answer is a 5xx, every answer that is not a success is a Kubernetes Status, nothing is appended
 * for a rejected request, and the server still answers afterwards.
 */
import { useKronicle } from './support/server';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('API fuzzing', () => {
  const server = useKronicle();

  it('answers 10,000 malformed requests without a 5xx, a crash, or an event for a rejected write', async () => {
    const random = rng(20261127);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
    const resources = ['pods', 'services', 'replicationcontrollers', 'nodes', 'namespaces', 'endpoints', 'resourcequotas', 'limitranges', 'secrets', 'serviceaccounts', 'events', 'widgets', '', '..', '%', '%zz', 'pods%2Fx'];
    const names = ['x', 'web-1', '', 'UPPER', 'a'.repeat(300), '..', '%00', '%E0%A4%A', 'name/with', '-bad-', '$', 'ünïcode'];
    const subs = ['', 'status', 'scale', 'binding', 'finalize', 'exec', 'log', 'proxy'];
    const paths = (): string => {
      const r = pick(resources);
      switch (Math.floor(random() * 6)) {
        case 0:
          return `/api/v1/${r}`;
        case 1:
          return `/api/v1/namespaces/${pick(['default', 'kube-system', 'missing', '', 'Bad_NS'])}/${r}`;
        case 2:
          return `/api/v1/namespaces/default/${r}/${pick(names)}${(() => {
            const s = pick(subs);
            return s ? `/${s}` : '';
          })()}`;
        case 3:
          return `/apis/coordination.k8s.io/v1/namespaces/default/leases/${pick(names)}`;
        case 4:
          return `/api/v1/namespaces/default/bindings`;
        default:
          return pick(['/api', '/apis', '/api/v1', '/version', '/healthz', '/openapi/v2', '/apis/nope/v9', '/api/v2', '//api//v1//pods', '/api/v1/namespaces/default/pods/x/y/z/w']);
      }
    };
    const queries = (): string =>
      Array.from({ length: Math.floor(random() * 3) }, () =>
        pick([
          `labelSelector=${encodeURIComponent(pick(['a=b', 'a in (', '!', 'a!=,', 'x==y==z', 'app in (a,b', 'bad key=v', ',,', 'a notin ()']))}`,
          `fieldSelector=${encodeURIComponent(pick(['spec.nodeName=x', 'foo=bar', 'metadata.name', '=', 'status.phase!=', 'a=b=c']))}`,
          `resourceVersion=${pick(['abc', '-1', '1e9', '0x10', ' 5'])}&watch=true`,
          `watch=true&timeoutSeconds=${pick(['x', '-1', '1.5'])}`,
          `gracePeriodSeconds=${pick(['-5', 'abc', '1.5', ''])}`,
          `limit=${pick(['-1', 'x', '500'])}`,
          `timeoutSeconds=${pick(['x', '-1'])}`,
          '%zz=%zz',
          `fieldValidation=${pick(['Strict', 'Warn', 'Ignore', 'strict', ''])}`,
          `fieldManager=${pick(['', 'm', 'a'.repeat(200), '%00', 'x%20y'])}`,
          `force=${pick(['true', 'false', 'yes'])}`,
        ]),
      ).join('&');
    const junk = (depth: number): unknown => {
      const k = Math.floor(random() * (depth > 3 ? 5 : 8));
      switch (k) {
        case 0:
          return null;
        case 1:
          return random() * 1e20 - 1e10;
        case 2:
          return pick(['', 'x', '500m', '1Gi', 'TCP', 'Always', '🙂', '\u0000']);
        case 3:
          return random() < 0.5;
        case 4:
          return Math.floor(random() * 70000) - 100;
        case 5:
          return Array.from({ length: Math.floor(random() * 3) }, () => junk(depth + 1));
        default: {
          const keys = ['metadata', 'spec', 'status', 'name', 'namespace', 'labels', 'containers', 'image', 'ports', 'containerPort', 'replicas', 'selector', 'template', 'target', 'kind', 'apiVersion', 'resourceVersion', 'generateName', 'finalizers', 'type', 'data'];
          return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, () => [pick(keys), junk(depth + 1)]));
        }
      }
    };
    const directives = (): unknown => ({
      metadata: { [pick(['$patch', '$retainKeys', '$deleteFromPrimitiveList/finalizers', '$setElementOrder/finalizers', 'labels'])]: junk(2) },
      spec: {
        [pick(['$setElementOrder/containers', '$retainKeys', 'containers', 'tolerations'])]: junk(2),
        containers: [{ name: pick(['a', 'b']), $patch: pick(['delete', 'replace', 'merge', 'bogus']) }, junk(2)],
      },
    });
    const bodies = (): string | Buffer | undefined => {
      switch (Math.floor(random() * 12)) {
        case 11:
          // The Kubernetes protobuf prefix, then noise or a truncated envelope.
          return Buffer.concat([Buffer.from([0x6b, 0x38, 0x73, 0x00]), Buffer.from(Array.from({ length: Math.floor(random() * 80) }, () => Math.floor(random() * 256)))]);
        case 8:
          return JSON.stringify(directives());
        case 9:
          return pick(['apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n', 'a: [', '- 1\n- 2', '&a [*a, *a]', 'kind: Pod\napiVersion: v1\nspec: {containers: [{name: c}]}']);
        case 10:
          return JSON.stringify({ apiVersion: 'v1', kind: pick(['Pod', 'Service', 'ReplicationController']), metadata: { name: pick(names) }, spec: junk(1) });
        case 0:
          return undefined;
        case 1:
          return '{"metadata":{"name":"x"'; // truncated
        case 2:
          return Buffer.from(Array.from({ length: 64 }, () => Math.floor(random() * 256)));
        case 3:
          return '['.repeat(2000) + ']'.repeat(2000);
        case 4:
          return JSON.stringify({ metadata: { name: pick(names) }, spec: junk(1) });
        case 5:
          return JSON.stringify([{ op: pick(['add', 'remove', 'replace', 'move', 'test', 'bogus']), path: pick(['/spec', '/metadata/name', '', '/a/~2', '/status/x']), value: junk(2) }]);
        default:
          return JSON.stringify(junk(0));
      }
    };
    const contentTypes = [undefined, 'application/json', 'application/merge-patch+json', 'application/json-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml', 'application/vnd.kubernetes.protobuf', 'text/plain', 'application/x-www-form-urlencoded'];

    const head = await server.current.store.headPosition();
    let writesAccepted = 0;
    const failures: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const method = pick(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
      const p = paths();
      const q = queries();
      const body = method === 'GET' || method === 'HEAD' ? undefined : bodies();
      const ct = pick(contentTypes);
      const headers: Record<string, string> = ct ? { 'content-type': ct } : {};
      const r = await fetch(`${server.current.kronicle.url}${p}${q ? `?${q}` : ''}`, { method, body, headers, signal: AbortSignal.timeout(10_000) });
      const text = await r.text();
      const label = `${method} ${p}?${q} (${ct ?? 'no type'})`;
      if (r.status >= 500) failures.push(`${r.status} ${label}: ${text.slice(0, 200)}`);
      else if (r.status >= 400 && method !== 'HEAD') {
        let status: { kind?: string; status?: string; code?: number } = {};
        try {
          status = JSON.parse(text);
        } catch {
          failures.push(`non-JSON ${r.status} ${label}`);
        }
        if (status.kind !== 'Status' || status.status !== 'Failure' || status.code !== r.status) failures.push(`not a Status: ${r.status} ${label}: ${text.slice(0, 200)}`);
      } else if (r.status < 300 && method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS') writesAccepted++;
      if (failures.length > 5) break;
    }
    expect(failures).toEqual([]);
    // Nothing appended for a rejected request: every event belongs to an accepted write.
    const appended = (await server.current.store.readAll({ from: head + 1n, maxCount: 100_000 })).length;
    expect(appended).toBeLessThanOrEqual(writesAccepted * 2);
    if (writesAccepted === 0) expect(appended).toBe(0);
    const ok = await fetch(`${server.current.kronicle.url}/api/v1/namespaces`);
    expect(ok.status).toBe(200);
  }, 300_000);
});
