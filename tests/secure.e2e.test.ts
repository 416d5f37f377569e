/**
 * The secure port with the real kubectl over HTTPS: client certificates, tokens and basic auth;
 * RBAC allowing and refusing with Kubernetes' messages; `kubectl auth can-i`; 401 on every route
 * without credentials and 403 on every write for a view-only identity; and the actor of every
 * event is who authenticated.
 */
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { startKronicle, type RunningKronicle } from '../api/kronicle';
import { issueClientCertificate } from '../api/auth/pki';
import { KINDS } from '../core/kinds';
import { MemoryEventStore } from '../core/store/memory';
import { jsonCaller } from './support/http';
import { kubectlFor, type Kubectl } from './support/kubectl';
import { tempDir } from './support/tmp';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function userKubeconfig(url: string, ca: string, user: Record<string, string>): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: k
  cluster:
    server: ${url}
    certificate-authority-data: ${b64(ca)}
users:
- name: u
  user:
${Object.entries(user)
  .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
  .join('\n')}
contexts:
- name: k
  context: { cluster: k, user: u, namespace: default }
current-context: k
`;
}

/** A raw HTTPS request to the secure port (the CA trusted), with optional headers. */
function request(url: string, ca: string, method: string, p: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${url}${p}`, { method, ca, headers: { ...headers, ...(body ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', (e) => reject(new Error(`${method} ${p}: ${e.message}`)));
    req.end(body);
  });
}

describe('the secure port, with kubectl over HTTPS', () => {
  const tmp = tempDir();
  const store = new MemoryEventStore();
  let kronicle: RunningKronicle;
  let url: string;
  let ca: string;
  const insecure = jsonCaller(() => kronicle.url);
  const as = (config: string, name: string): Kubectl => kubectlFor(url, tmp.dir, config, name);

  beforeAll(async () => {
    fs.writeFileSync(path.join(tmp.dir, 'tokens.csv'), 'tok-alice,alice,1001,"devs,qa"\ntok-viewer,viewer,1002\ntok-carol,carol,1003\n');
    fs.writeFileSync(path.join(tmp.dir, 'basic.csv'), 's3cret,bob,1004,"devs"\n');
    kronicle = await startKronicle({
      store,
      port: 0,
      secure: { port: 0, pkiDir: path.join(tmp.dir, 'pki'), tokenAuthFile: path.join(tmp.dir, 'tokens.csv'), basicAuthFile: path.join(tmp.dir, 'basic.csv'), kubeconfigPath: path.join(tmp.dir, 'admin.kubeconfig') },
    });
    url = kronicle.secureUrl!;
    ca = kronicle.caCert!;
    const binding = (kind: string, name: string, role: string, subject: Record<string, string>, namespace?: string) => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind,
      metadata: { name, ...(namespace ? { namespace } : {}) },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', ...subject }],
    });
    const rbac = '/apis/rbac.authorization.k8s.io/v1';
    expect((await insecure('POST', `${rbac}/namespaces/default/rolebindings`, binding('RoleBinding', 'devs-edit', 'edit', { kind: 'Group', name: 'devs' }, 'default'))).status).toBe(201);
    expect((await insecure('POST', `${rbac}/clusterrolebindings`, binding('ClusterRoleBinding', 'viewer-view', 'view', { kind: 'User', name: 'viewer' }))).status).toBe(201);
    await insecure('POST', `${rbac}/clusterroles`, { metadata: { name: 'impersonator' }, rules: [{ apiGroups: [''], resources: ['users'], verbs: ['impersonate'] }] });
    await insecure('POST', `${rbac}/clusterrolebindings`, binding('ClusterRoleBinding', 'carol-impersonates', 'impersonator', { kind: 'User', name: 'carol' }));
    await insecure('POST', `${rbac}/clusterrolebindings`, binding('ClusterRoleBinding', 'dave-edit', 'edit', { kind: 'User', name: 'dave' }));
  }, 60_000);

  afterAll(async () => {
    await kronicle.close();
    await store.close();
    tmp.remove();
  });

  it('writes a kubeconfig with the generated CA and an admin client certificate that kubectl uses', async () => {
    const admin = as(fs.readFileSync(path.join(tmp.dir, 'admin.kubeconfig'), 'utf8'), 'admin.kubeconfig');
    const r = await admin.run(['create', 'namespace', 'team-a']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('namespace/team-a created\n');
    expect((await admin.run(['auth', 'can-i', 'delete', 'nodes'])).stdout).toBe('yes\n');
    const created = (await store.readAll({ maxCount: 10_000 })).find((e) => e.type === 'NamespaceCreated' && e.stream === 'Namespace-team-a')!;
    expect(created.metadata.actor).toEqual({ kind: 'user', name: 'kronicle-admin', groups: ['system:masters', 'system:authenticated'], authMethod: 'x509' });
  }, 30_000);

  it('authenticates a token and applies RBAC: allowed where a binding allows, Forbidden in Kubernetes’ words elsewhere', async () => {
    const alice = as(userKubeconfig(url, ca, { token: 'tok-alice' }), 'alice');
    const created = await alice.run(['run', 'web', '--image', 'nginx:1.27', '-n', 'default']);
    expect(created.stdout).toBe('pod/web created\n');
    expect((await alice.run(['get', 'pods', '-n', 'default', '-o', 'name'])).stdout).toBe('pod/web\n');
    const refused = await alice.run(['get', 'pods', '-n', 'kube-system']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "kube-system"');
    expect((await alice.run(['delete', 'node', 'x'])).stderr).toContain('nodes "x" is forbidden: User "alice" cannot delete resource "nodes" in API group "" at the cluster scope');
    expect((await alice.run(['auth', 'can-i', 'create', 'pods', '-n', 'default'])).stdout).toBe('yes\n');
    const no = await alice.run(['auth', 'can-i', 'create', 'pods', '-n', 'kube-system']);
    expect(no).toMatchObject({ code: 1, stdout: 'no\n' });
    const list = await alice.run(['auth', 'can-i', '--list', '-n', 'default']);
    expect(list.stderr).toBe('');
    expect(list.stdout).toMatch(/^Resources\s+Non-Resource URLs\s+Resource Names\s+Verbs$/m);
    expect(list.stdout).toMatch(/^pods\s+\[\]\s+\[\]\s+\[get list watch create delete deletecollection patch update\]$/m);
    expect(list.stdout).toMatch(/^selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]$/m);
    const pod = (await store.readAll({ maxCount: 10_000 })).find((e) => e.type === 'PodCreated' && e.stream === 'Pod-default/web')!;
    expect(pod.metadata.actor).toMatchObject({ kind: 'user', name: 'alice', groups: ['devs', 'qa', 'system:authenticated'], authMethod: 'token' });
  }, 30_000);

  it('authenticates basic auth and client certificates signed by the CA', async () => {
    const bob = as(userKubeconfig(url, ca, { username: 'bob', password: 's3cret' }), 'bob');
    expect((await bob.run(['get', 'pods', '-n', 'default', '-o', 'name'])).stdout).toBe('pod/web\n');
    const wrong = as(userKubeconfig(url, ca, { username: 'bob', password: 'nope' }), 'bob-wrong');
    expect((await wrong.run(['get', 'pods'])).stderr).toMatch(/Unauthorized/);
    const pki = path.join(tmp.dir, 'pki');
    const erin = issueClientCertificate(fs.readFileSync(path.join(pki, 'ca.crt'), 'utf8'), fs.readFileSync(path.join(pki, 'ca.key'), 'utf8'), 'erin', ['devs']);
    const cert = as(userKubeconfig(url, ca, { 'client-certificate-data': b64(erin.cert), 'client-key-data': b64(erin.key) }), 'erin');
    expect((await cert.run(['get', 'pods', '-n', 'default', '-o', 'name'])).stdout).toBe('pod/web\n');
    expect((await cert.run(['get', 'nodes'])).stderr).toContain('User "erin" cannot list resource "nodes"');
    const bad = as(userKubeconfig(url, ca, { token: 'tok-nobody' }), 'nobody');
    expect((await bad.run(['get', 'pods'])).stderr).toMatch(/error: You must be logged in to the server \(Unauthorized\)/);
  }, 30_000);

  it('answers 401 on every route without credentials, and 403 on every write for a view-only identity', async () => {
    const routes = ['/api', '/apis', '/api/v1', '/version', '/openapi/v3', '/apis/replay.kronicle.dev/v1alpha1/state', '/kronicle/v1/changes'];
    for (const k of KINDS) routes.push(`${k.group ? `/apis/${k.group}/${k.version}` : '/api/v1'}${k.namespaced ? '/namespaces/default' : ''}/${k.plural}`);
    for (const r of routes) expect([r, (await request(url, ca, 'GET', r)).status]).toEqual([r, 401]);
    expect((await request(url, ca, 'GET', '/api/v1/pods')).body).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    const viewer = { authorization: 'Bearer tok-viewer' };
    expect((await request(url, ca, 'GET', '/api/v1/namespaces/default/pods', viewer)).status).toBe(200);
    // The replay debugger is not opened by discovery's grant: it takes a role of its own.
    expect((await request(url, ca, 'GET', '/apis/replay.kronicle.dev/v1alpha1/state', viewer)).body).toMatchObject({ code: 403, message: 'state is forbidden: User "viewer" cannot get resource "state" in API group "replay.kronicle.dev" at the cluster scope' });
    expect((await request(url, ca, 'GET', '/kronicle/v1/changes', viewer)).status).toBe(403);
    expect((await request(url, ca, 'GET', '/apis/replay.kronicle.dev/v1alpha1/state', { authorization: 'Bearer tok-alice' })).status).toBe(403);
    for (const k of KINDS) {
      const collection = `${k.group ? `/apis/${k.group}/${k.version}` : '/api/v1'}${k.namespaced ? '/namespaces/default' : ''}/${k.plural}`;
      for (const [method, p] of [
        ['POST', collection],
        ['PUT', `${collection}/x`],
        ['PATCH', `${collection}/x`],
        ['DELETE', `${collection}/x`],
        ['DELETE', collection],
      ] as const) {
        const r = await request(url, ca, method, p, viewer, JSON.stringify({ metadata: { name: 'x' } }));
        expect([method, p, r.status]).toEqual([method, p, 403]);
      }
    }
  }, 60_000);

  it('records the authenticated user whatever the request says, and impersonation only with the permission', async () => {
    const body = JSON.stringify({ metadata: { name: 'forged', annotations: { actor: 'admin' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    const alice = { authorization: 'Bearer tok-alice' };
    expect((await request(url, ca, 'POST', '/api/v1/namespaces/default/pods', { ...alice, 'x-kronicle-actor': 'admin' }, body)).status).toBe(201);
    const forged = (await store.readAll({ maxCount: 10_000 })).find((e) => e.stream === 'Pod-default/forged')!;
    expect(forged.metadata.actor).toMatchObject({ name: 'alice', authMethod: 'token' });
    const refused = await request(url, ca, 'GET', '/api/v1/namespaces/default/pods', { ...alice, 'impersonate-user': 'kronicle-admin' });
    expect(refused).toMatchObject({ status: 403, body: { message: 'users "kronicle-admin" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope' } });
    const carol = { authorization: 'Bearer tok-carol', 'impersonate-user': 'dave' };
    expect((await request(url, ca, 'POST', '/api/v1/namespaces/default/pods', carol, body.replace('forged', 'by-dave'))).status).toBe(201);
    const byDave = (await store.readAll({ maxCount: 10_000 })).find((e) => e.stream === 'Pod-default/by-dave')!;
    expect(byDave.metadata.actor).toMatchObject({ name: 'dave', impersonator: 'carol', authMethod: 'token' });
  }, 30_000);

  it('runs `kubectl replay` over HTTPS with the kubeconfig’s CA and client certificate, within RBAC', async () => {
    const root = path.resolve(__dirname, '..');
    const bin = path.join(tmp.dir, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, 'kubectl-replay'), `#!/bin/sh\nexec "${process.execPath}" "${path.join(root, 'node_modules/tsx/dist/cli.mjs')}" "${path.join(root, 'tests/fixtures/kubectlReplay.ts')}" "$@"\n`, { mode: 0o755 });
    const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` };
    const { execFile } = await import('node:child_process');
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile('kubectl', args, { env }, (err, stdout, stderr) => resolve({ code: (err as { code?: number } | null)?.code ?? 0, stdout, stderr })),
      );
    const admin = await run(['replay', 'history', 'pod/web', '--kubeconfig', path.join(tmp.dir, 'admin.kubeconfig')]);
    expect(admin.stderr).toBe('');
    expect(admin.stdout).toMatch(/PodCreated\s+alice/);
    fs.writeFileSync(path.join(tmp.dir, 'alice-replay'), userKubeconfig(url, ca, { token: 'tok-alice' }));
    const alice = await run(['replay', 'history', 'pod/web', '--kubeconfig', path.join(tmp.dir, 'alice-replay')]);
    expect(alice).toMatchObject({ code: 1, stderr: 'error: history is forbidden: User "alice" cannot get resource "history" in API group "replay.kronicle.dev" at the cluster scope\n' });
  }, 30_000);

  it('writes RBAC objects as events, listed by kubectl', async () => {
    const admin = as(fs.readFileSync(path.join(tmp.dir, 'admin.kubeconfig'), 'utf8'), 'admin2.kubeconfig');
    const r = await admin.run(['get', 'clusterrolebindings', 'viewer-view']);
    expect(r.stdout).toMatch(/^NAME\s+ROLE\s+AGE\nviewer-view\s+ClusterRole\/view\s+/);
    const roles = (await store.readAll({ maxCount: 10_000 })).filter((e) => e.type === 'ClusterRoleCreated').map((e) => e.stream);
    expect(roles).toEqual(expect.arrayContaining(['ClusterRole-cluster-admin', 'ClusterRole-admin', 'ClusterRole-edit', 'ClusterRole-view']));
  }, 30_000);
});
