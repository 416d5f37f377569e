/**
 * The API server with the real kubectl (v1.32), on the memory store, on a free loopback port.
 * Covers what works today; the rest of issue 3 (tables, patches, openapi, admission…) adds to it.
 */
import * as path from 'node:path';
import { startKronicle, type RunningKronicle } from '../api/kronicle';
import { MemoryEventStore } from '../core/store/memory';
import { kubectlFor, type Kubectl } from './support/kubectl';
import { useKronicle } from './support/server';
import { tempDir } from './support/tmp';
import { waitUntil } from './conformance/eventStore.conformance';

// The manifests from the design (shared/examples), kept with the tests so they run anywhere.
const examples = path.resolve(__dirname, 'fixtures/examples');

describe('kubectl against Kronicle', () => {
  let store: MemoryEventStore;
  let kronicle: RunningKronicle;
  let kubectl: Kubectl;
  let tmp: { dir: string; remove: () => void };

  beforeAll(async () => {
    tmp = tempDir();
    store = new MemoryEventStore();
    kronicle = await startKronicle({ store, port: 0 });
    kubectl = kubectlFor(kronicle.url, tmp.dir);
  });

  afterAll(async () => {
    await kronicle.close();
    await store.close();
    tmp.remove();
  });

  it('answers version and discovery', async () => {
    const v = (await kubectl.run(['version']));
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('Server Version: v1.32.0');
    const r = (await kubectl.run(['api-resources']));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^pods\s+po\s+v1\s+true\s+Pod$/m);
    expect(r.stdout).toMatch(/^replicationcontrollers\s+rc\s+v1\s+true\s+ReplicationController$/m);
    expect(r.stdout).toMatch(/^leases\s+coordination\.k8s\.io\/v1\s+true\s+Lease$/m);
  });

  it('starts with the default namespaces', async () => {
    const r = (await kubectl.run(['get', 'namespaces', '-o', 'name']));
    expect(r.stdout.trim().split('\n').sort()).toEqual(['namespace/default', 'namespace/kube-node-lease', 'namespace/kube-public', 'namespace/kube-system']);
  });

  it('creates, reads, lists by label and deletes, with Kubernetes’ error lines', async () => {
    const file = path.join(examples, 'replication-controller.yaml');
    expect((await kubectl.run(['create', '-f', file, '--validate=false'])).stdout).toBe('replicationcontroller/teciplsrc created\n');
    expect((await kubectl.run(['create', '-f', file, '--validate=false'])).stderr).toBe(
      'Error from server (AlreadyExists): error when creating "' + file + '": replicationcontrollers "teciplsrc" already exists\n',
    );
    const rc = JSON.parse((await kubectl.run(['get', 'rc', 'teciplsrc', '-o', 'json'])).stdout);
    expect(rc).toMatchObject({ kind: 'ReplicationController', metadata: { name: 'teciplsrc', namespace: 'default', generation: 1 }, spec: { replicas: 3 } });
    expect(rc.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(rc.metadata.resourceVersion)).toBeGreaterThan(0);
    expect((await kubectl.run(['get', 'rc', '-l', 'name=teciplsrc', '-o', 'name'])).stdout).toBe('replicationcontroller/teciplsrc\n');
    expect((await kubectl.run(['get', 'rc', '-l', 'name=other', '-o', 'name'])).stdout).toBe('');
    expect((await kubectl.run(['get', 'rc', '-A', '--field-selector', 'metadata.name=teciplsrc', '-o', 'name'])).stdout).toBe('replicationcontroller/teciplsrc\n');
    expect((await kubectl.run(['delete', 'rc', 'teciplsrc'])).stdout).toBe('replicationcontroller "teciplsrc" deleted\n');
    expect((await kubectl.run(['get', 'rc', 'teciplsrc'])).stderr).toBe('Error from server (NotFound): replicationcontrollers "teciplsrc" not found\n');
  });

  it('refuses an invalid object with field causes, and a stale update with Conflict', async () => {
    const bad = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bad' }, spec: { containers: [{ name: 'c' }] } });
    expect((await kubectl.run(['create', '-f', '-', '--validate=false'], bad)).stderr).toBe('The Pod "bad" is invalid: spec.containers[0].image: Required value\n');
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p1' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
    expect((await kubectl.run(['create', '-f', '-', '--validate=false'], JSON.stringify(pod))).code).toBe(0);
    const current = JSON.parse((await kubectl.run(['get', 'pod', 'p1', '-o', 'json'])).stdout);
    const edited = { ...current, metadata: { ...current.metadata, labels: { a: 'b' } } };
    expect((await kubectl.run(['replace', '-f', '-', '--validate=false'], JSON.stringify(edited))).stdout).toBe('pod/p1 replaced\n');
    // The same resourceVersion again: someone else (the previous replace) changed it since.
    const stale = { ...current, metadata: { ...current.metadata, labels: { a: 'c' } } };
    expect((await kubectl.run(['replace', '-f', '-', '--validate=false'], JSON.stringify(stale))).stderr).toMatch(
      /^Error from server \(Conflict\): error when replacing "STDIN": Operation cannot be fulfilled on pods "p1": the object has been modified; please apply your changes to the latest version and try again\n$/,
    );
  });

  it('scales, labels, annotates and patches', async () => {
    const file = path.join(examples, 'replication-controller.yaml');
    expect((await kubectl.run(['create', '-f', file, '--validate=false'])).code).toBe(0);
    expect((await kubectl.run(['scale', 'rc', 'teciplsrc', '--replicas=5'])).stdout).toBe('replicationcontroller/teciplsrc scaled\n');
    expect((await kubectl.run(['scale', 'rc', 'teciplsrc', '--current-replicas=5', '--replicas=2'])).stdout).toBe('replicationcontroller/teciplsrc scaled\n');
    expect((await kubectl.run(['scale', 'rc', 'teciplsrc', '--current-replicas=7', '--replicas=1'])).stderr).toBe('error: Expected replicas to be 7, was 2\n');
    expect((await kubectl.run(['get', 'rc', 'teciplsrc', '-o', 'jsonpath={.spec.replicas} {.metadata.generation}'])).stdout).toBe('2 3');
    expect((await kubectl.run(['label', 'rc', 'teciplsrc', 'tier=web'])).stdout).toBe('replicationcontroller/teciplsrc labeled\n');
    expect((await kubectl.run(['label', 'rc', 'teciplsrc', 'tier=db'])).stderr).toBe("error: 'tier' already has a value (web), and --overwrite is false\n");
    expect((await kubectl.run(['label', 'rc', 'teciplsrc', 'tier=db', '--overwrite'])).code).toBe(0);
    expect((await kubectl.run(['annotate', 'rc', 'teciplsrc', 'note=hi'])).stdout).toBe('replicationcontroller/teciplsrc annotated\n');
    expect((await kubectl.run(['patch', 'rc', 'teciplsrc', '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":4}]'])).code).toBe(0);
    const rc = JSON.parse((await kubectl.run(['get', 'rc', 'teciplsrc', '-o', 'json'])).stdout);
    expect(rc.metadata.labels).toEqual({ name: 'teciplsrc', tier: 'db' });
    expect(rc.metadata.annotations).toEqual({ note: 'hi' });
    expect(rc.spec.replicas).toBe(4);
    // kubectl patch sends a strategic merge patch by default.
    expect((await kubectl.run(['patch', 'rc', 'teciplsrc', '-p', '{"spec":{"replicas":1}}'])).stdout).toBe('replicationcontroller/teciplsrc patched\n');
    expect(JSON.parse((await kubectl.run(['get', 'rc', 'teciplsrc', '-o', 'json'])).stdout).spec.replicas).toBe(1);
    expect((await kubectl.run(['delete', 'rc', 'teciplsrc'])).code).toBe(0);
  });

  it('prints Kubernetes’ columns from server-side tables', async () => {
    expect((await kubectl.run(['get', 'ns', 'default'])).stdout).toMatch(/^NAME\s+STATUS\s+AGE\ndefault\s+Active\s+\d+s\n$/);
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 't1', labels: { app: 'myApp' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
    expect((await kubectl.run(['create', '-f', '-', '--validate=false'], JSON.stringify(pod))).code).toBe(0);
    const wide = (await kubectl.run(['get', 'pods', 't1', '-o', 'wide', '--show-labels'])).stdout;
    expect(wide).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES\s+LABELS\n/);
    expect(wide).toMatch(/\nt1\s+0\/1\s+Pending\s+0\s+\d+s\s+<none>\s+<none>\s+<none>\s+<none>\s+app=myApp\n$/);
    expect((await kubectl.run(['get', 'pods', '-A'])).stdout).toMatch(/^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n(.*\n)*default\s+t1\s+0\/1\s+Pending/);
    const file = path.join(examples, 'replication-controller.yaml');
    expect((await kubectl.run(['create', '-f', file, '--validate=false'])).code).toBe(0);
    expect((await kubectl.run(['get', 'rc', '-o', 'wide'])).stdout).toMatch(/^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR\nteciplsrc\s+3\s+0\s+0\s+\d+s\s+teciplsrc-01\s+nginx:1\.27\s+name=teciplsrc\n$/);
    expect((await kubectl.run(['delete', 'rc', 'teciplsrc'])).code).toBe(0);
    expect((await kubectl.run(['delete', 'pod', 't1', '--grace-period=0'])).code).toBe(0);
  });

  it('reads the past through the standard API: get --raw at an exact resourceVersion', async () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'past1', labels: { v: 'one' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
    expect((await kubectl.run(['create', '-f', '-', '--validate=false'], JSON.stringify(pod))).code).toBe(0);
    const rv = JSON.parse((await kubectl.run(['get', 'pod', 'past1', '-o', 'json'])).stdout).metadata.resourceVersion;
    expect((await kubectl.run(['label', 'pod', 'past1', 'v=two', '--overwrite'])).code).toBe(0);
    expect((await kubectl.run(['delete', 'pod', 'past1'])).code).toBe(0);
    const then = JSON.parse((await kubectl.run(['get', '--raw', `/api/v1/namespaces/default/pods?resourceVersion=${rv}&resourceVersionMatch=Exact`])).stdout);
    expect(then.metadata.resourceVersion).toBe(rv);
    expect(then.items.find((p: { metadata: { name: string } }) => p.metadata.name === 'past1')?.metadata.labels).toEqual({ v: 'one' });
    const one = JSON.parse((await kubectl.run(['get', '--raw', `/api/v1/namespaces/default/pods/past1?resourceVersion=${rv}&resourceVersionMatch=Exact`])).stdout);
    expect(one.metadata).toMatchObject({ name: 'past1', resourceVersion: rv, labels: { v: 'one' } });
    expect((await kubectl.run(['get', 'pod', 'past1'])).stderr).toBe('Error from server (NotFound): pods "past1" not found\n');
    const future = await kubectl.run(['get', '--raw', '/api/v1/pods?resourceVersion=999999999&resourceVersionMatch=Exact']);
    expect(future.stderr).toMatch(/Too large resource version: 999999999/);
  });

  it('refuses creates in missing or terminating namespaces, and deleting system namespaces', async () => {
    const pod = (ns: string) => JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: ns }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
    expect((await kubectl.run(['create', '-f', '-', '--validate=false'], pod('nowhere'))).stderr).toBe('Error from server (NotFound): error when creating "STDIN": namespaces "nowhere" not found\n');
    const ns = JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
    expect((await kubectl.run(['create', '-f', '-', '--validate=false'], ns)).stdout).toBe('namespace/team-a created\n');
    expect((await kubectl.run(['delete', 'namespace', 'team-a', '--wait=false'])).stdout).toBe('namespace "team-a" deleted\n');
    expect((await kubectl.run(['get', 'ns', 'team-a'])).stdout).toMatch(/team-a\s+Terminating/);
    expect((await kubectl.run(['create', '-f', '-', '--validate=false'], pod('team-a'))).stderr).toBe(
      'Error from server (Forbidden): error when creating "STDIN": pods "p" is forbidden: unable to create new content in namespace team-a because it is being terminated\n',
    );
    expect((await kubectl.run(['delete', 'namespace', 'default'])).stderr).toBe('Error from server (Forbidden): namespaces "default" is forbidden: this namespace may not be deleted\n');
  });

  it('watches ADDED and DELETED live', async () => {
    const watch = kubectl.start(['get', 'pods', '--watch', '--output-watch-events', '-l', 'w=1']);
    await new Promise((r) => setTimeout(r, 1500));
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'w1', labels: { w: '1' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
    expect((await kubectl.run(['create', '-f', '-', '--validate=false'], JSON.stringify(pod))).code).toBe(0);
    expect((await kubectl.run(['delete', 'pod', 'w1'])).code).toBe(0);
    await waitUntil(() => /DELETED\s+w1/.test(watch.output()), 15_000);
    await watch.stop();
    expect(watch.output()).toMatch(/ADDED\s+w1/);
  });

  const rcManifest = (image: string, replicas: number) => `apiVersion: v1
kind: ReplicationController
metadata:
  name: applied
spec:
  replicas: ${replicas}
  selector: {app: applied}
  template:
    metadata:
      labels: {app: applied}
    spec:
      containers:
      - name: nginx
        image: ${image}
        ports:
        - containerPort: 80
`;

  it('validates on the server by default: openapi v3 says so, and Strict refuses unknown fields', async () => {
    const ok = await kubectl.run(['create', '-f', '-'], 'apiVersion: v1\nkind: Pod\nmetadata: {name: strict-ok}\nspec:\n  containers: [{name: c, image: i}]\n');
    expect(ok.stdout).toBe('pod/strict-ok created\n');
    const bad = await kubectl.run(['create', '-f', '-'], 'apiVersion: v1\nkind: Pod\nmetadata: {name: strict-bad}\nspec:\n  containers: [{name: c, image: i, imagePullPolice: Always}]\n  bogus: 1\n');
    expect(bad.stderr).toBe(
      'Error from server (BadRequest): error when creating "STDIN": Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.bogus", unknown field "spec.containers[0].imagePullPolice"\n',
    );
    // --validate=warn: accepted, the unknown field named and dropped.
    const warned = await kubectl.run(['create', '--validate=warn', '-f', '-'], 'apiVersion: v1\nkind: Pod\nmetadata: {name: strict-warn}\nspec:\n  containers: [{name: c, image: i}]\n  bogus: 1\n');
    expect(warned.stderr).toContain('Warning: unknown field "spec.bogus"');
    expect(JSON.parse((await kubectl.run(['get', 'pod', 'strict-warn', '-o', 'json'])).stdout).spec.bogus).toBeUndefined();
    const explained = await kubectl.run(['explain', 'pods.spec.containers.ports']);
    expect(explained.stdout).toContain('FIELD: ports <[]ContainerPort>');
    await kubectl.run(['delete', 'pod', 'strict-ok', 'strict-warn']);
  });

  it('applies: created, unchanged, configured with the strategic merge keeping what the edit did not touch', async () => {
    expect((await kubectl.run(['apply', '-f', '-'], rcManifest('nginx:1.26', 2))).stdout).toBe('replicationcontroller/applied created\n');
    expect((await kubectl.run(['apply', '-f', '-'], rcManifest('nginx:1.26', 2))).stdout).toBe('replicationcontroller/applied unchanged\n');
    // Someone else adds an env var; the next apply must keep it (and the ports it sends unchanged).
    expect((await kubectl.run(['patch', 'rc', 'applied', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","env":[{"name":"X","value":"1"}]}]}}}}'])).code).toBe(0);
    expect((await kubectl.run(['apply', '-f', '-'], rcManifest('nginx:1.27', 3))).stdout).toBe('replicationcontroller/applied configured\n');
    const rc = JSON.parse((await kubectl.run(['get', 'rc', 'applied', '-o', 'json', '--show-managed-fields'])).stdout);
    expect(rc.spec.replicas).toBe(3);
    expect(rc.spec.template.spec.containers).toEqual([
      expect.objectContaining({ name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 80, protocol: 'TCP' }], env: [{ name: 'X', value: '1' }] }),
    ]);
    expect(rc.metadata.managedFields.map((m: { manager: string }) => m.manager).sort()).toEqual(['kubectl-client-side-apply', 'kubectl-patch']);
    expect((await kubectl.run(['delete', 'rc', 'applied'])).code).toBe(0);
  });

  it('applies server-side: creates, merges, reports conflicts with other managers, and forces', async () => {
    expect((await kubectl.run(['apply', '--server-side', '-f', '-'], rcManifest('nginx:1.26', 2))).stdout).toBe('replicationcontroller/applied serverside-applied\n');
    expect((await kubectl.run(['apply', '--server-side', '-f', '-'], rcManifest('nginx:1.27', 2))).stdout).toBe('replicationcontroller/applied serverside-applied\n');
    expect((await kubectl.run(['patch', 'rc', 'applied', '--type=merge', '-p', '{"spec":{"replicas":4}}'])).code).toBe(0);
    const conflict = await kubectl.run(['apply', '--server-side', '-f', '-'], rcManifest('nginx:1.27', 2));
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toContain('error: Apply failed with 1 conflict: conflict with "kubectl-patch" using v1: .spec.replicas');
    expect((await kubectl.run(['apply', '--server-side', '--force-conflicts', '-f', '-'], rcManifest('nginx:1.27', 2))).code).toBe(0);
    const rc = JSON.parse((await kubectl.run(['get', 'rc', 'applied', '-o', 'json', '--show-managed-fields'])).stdout);
    expect(rc.spec.replicas).toBe(2);
    expect(rc.spec.template.spec.containers[0].image).toBe('nginx:1.27');
    expect(rc.metadata.managedFields.find((m: { manager: string }) => m.manager === 'kubectl')).toMatchObject({ operation: 'Apply' });
    expect((await kubectl.run(['delete', 'rc', 'applied'])).code).toBe(0);
  });

  it('prints the Forbidden line of an exceeded quota, and describes pods, rcs, namespaces and nodes', async () => {
    expect((await kubectl.run(['create', '-f', '-'], 'apiVersion: v1\nkind: Namespace\nmetadata: {name: quota-e2e}\n')).code).toBe(0);
    expect((await kubectl.run(['create', '-f', '-'], 'apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: two-pods, namespace: quota-e2e}\nspec: {hard: {pods: "1"}}\n')).code).toBe(0);
    const podYaml = (name: string) => `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: quota-e2e, labels: {app: q}}\nspec:\n  containers: [{name: c, image: i, ports: [{containerPort: 80}]}]\n`;
    expect((await kubectl.run(['create', '-f', '-'], podYaml('q1'))).code).toBe(0);
    const refused = await kubectl.run(['create', '-f', '-'], podYaml('q2'));
    expect(refused.stderr).toBe('Error from server (Forbidden): error when creating "STDIN": pods "q2" is forbidden: exceeded quota: two-pods, requested: pods=1, used: pods=1, limited: pods=1\n');
    const pod = await kubectl.run(['describe', 'pod', 'q1', '-n', 'quota-e2e']);
    expect(pod.code).toBe(0);
    expect(pod.stdout).toMatch(/^Name:\s+q1$/m);
    expect(pod.stdout).toMatch(/^Service Account:\s+default$/m);
    expect(pod.stdout).toMatch(/Port:\s+80\/TCP/);
    const ns = await kubectl.run(['describe', 'namespace', 'quota-e2e']);
    expect(ns.stdout).toMatch(/Resource Quotas\n\s+Name:\s+two-pods\n\s+Resource\s+Used\s+Hard\n\s+-+\s+-+\s+-+\n\s+pods\s+1\s+1/);
    expect((await kubectl.run(['describe', 'node', 'nowhere'])).stderr).toContain('Error from server (NotFound): nodes "nowhere" not found');
    expect((await kubectl.run(['create', '-f', path.join(examples, 'replication-controller.yaml'), '-n', 'quota-e2e', '--validate=false'])).code).toBe(0);
    const rc = await kubectl.run(['describe', 'rc', 'teciplsrc', '-n', 'quota-e2e']);
    expect(rc.stdout).toMatch(/^Replicas:\s+0 current \/ 3 desired$/m);
  });

  it('accepts the protobuf bodies of kubectl’s typed create commands', async () => {
    expect((await kubectl.run(['create', 'namespace', 'typed'])).stdout).toBe('namespace/typed created\n');
    expect((await kubectl.run(['create', 'secret', 'generic', 's1', '--from-literal=user=admin', '-n', 'typed'])).stdout).toBe('secret/s1 created\n');
    expect((await kubectl.run(['create', 'quota', 'q1', '--hard=pods=3,requests.cpu=2', '-n', 'typed'])).stdout).toBe('resourcequota/q1 created\n');
    expect((await kubectl.run(['create', 'serviceaccount', 'robot', '-n', 'typed'])).stdout).toBe('serviceaccount/robot created\n');
    expect((await kubectl.run(['create', 'service', 'clusterip', 'web', '--tcp=80:8080', '-n', 'typed'])).stdout).toBe('service/web created\n');
    const secret = JSON.parse((await kubectl.run(['get', 'secret', 's1', '-n', 'typed', '-o', 'json'])).stdout);
    expect(Buffer.from(secret.data.user, 'base64').toString()).toBe('admin');
    const quota = JSON.parse((await kubectl.run(['get', 'quota', 'q1', '-n', 'typed', '-o', 'json'])).stdout);
    expect(quota.spec.hard).toEqual({ pods: '3', 'requests.cpu': '2' });
    const svc = JSON.parse((await kubectl.run(['get', 'service', 'web', '-n', 'typed', '-o', 'json'])).stdout);
    expect(svc.spec).toMatchObject({ type: 'ClusterIP', selector: { app: 'web' }, ports: [{ name: '80-8080', port: 80, protocol: 'TCP', targetPort: 8080 }] });
    expect(svc.metadata.creationTimestamp).toMatch(/^20\d\d-/);
    expect((await kubectl.run(['create', 'namespace', 'typed'])).stderr).toBe('Error from server (AlreadyExists): namespaces "typed" already exists\n');
  });
});

describe('the HTTP API', () => {
  const server = useKronicle();

  const call = (method: string, p: string, body?: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(`${server.current.kronicle.url}${p}`, { method, body, headers }).then(async (r) => ({ status: r.status, type: r.headers.get('content-type'), body: await r.text() }));

  it('serves aggregated discovery only to clients that ask for v2', async () => {
    const agg = await call('GET', '/api', undefined, { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' });
    expect(agg.type).toBe('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    const legacy = await call('GET', '/api', undefined, { accept: 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json' });
    expect(JSON.parse(legacy.body)).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
  });

  it('answers bad input with a Status, never a 500, and appends nothing', async () => {
    const head = await server.current.store.headPosition();
    const cases: Array<[string, string, string | Buffer | undefined, number, string]> = [
      ['POST', '/api/v1/namespaces/default/pods', '{not json', 400, 'BadRequest'],
      ['POST', '/api/v1/namespaces/default/pods', '[]', 400, 'BadRequest'],
      ['POST', '/api/v1/namespaces/default/pods', Buffer.alloc(3 * 1024 * 1024 + 10, 32), 413, 'RequestEntityTooLarge'],
      ['POST', '/api/v1/namespaces/default/pods', '{"metadata":{"name":"x","namespace":"other"},"spec":{"containers":[{"name":"c","image":"i"}]}}', 400, 'BadRequest'],
      ['GET', '/api/v1/widgets', undefined, 404, 'NotFound'],
      ['GET', '/api/v1/namespaces/default/pods?labelSelector=a%20in%20(', undefined, 400, 'BadRequest'],
      ['GET', '/api/v1/namespaces/default/services?fieldSelector=spec.nodeName%3Dx', undefined, 400, 'BadRequest'],
      ['PATCH', '/api/v1/namespaces/default/pods/x', '{}', 415, 'UnsupportedMediaType'],
      ['PUT', '/api/v1/namespaces/default/pods', '{}', 405, 'MethodNotAllowed'],
      ['POST', '/api/v1/namespaces/default/pods/x/binding', '{"target":{}}', 422, 'Invalid'],
      ['GET', '/api/v1/namespaces/default/pods/x/exec', undefined, 404, 'NotFound'],
    ];
    for (const [method, p, body, status, reason] of cases) {
      const r = await call(method, p, body);
      expect({ p, status: r.status }).toEqual({ p, status });
      expect(JSON.parse(r.body)).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, code: status });
    }
    expect(await server.current.store.headPosition()).toBe(head);
  });

  it('replays a watch from any past resourceVersion in the log', async () => {
    const create = await call('POST', '/api/v1/namespaces/default/pods', JSON.stringify({ metadata: { name: 'h1' }, spec: { containers: [{ name: 'c', image: 'i' }] } }));
    const rv = JSON.parse(create.body).metadata.resourceVersion;
    await call('DELETE', '/api/v1/namespaces/default/pods/h1');
    const r = await call('GET', `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${Number(rv) - 1}&timeoutSeconds=1`);
    const events = r.body.trim().split('\n').map((l) => JSON.parse(l));
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED h1', 'DELETED h1']);
  });

  it('binds pods through pods/{name}/binding and /bindings, once', async () => {
    await call('POST', '/api/v1/namespaces/default/pods', JSON.stringify({ metadata: { name: 'b1' }, spec: { containers: [{ name: 'c', image: 'i' }] } }));
    const bound = await call('POST', '/api/v1/namespaces/default/pods/b1/binding', JSON.stringify({ metadata: { name: 'b1' }, target: { kind: 'Node', name: 'n1' } }));
    expect(bound.status).toBe(201);
    const again = await call('POST', '/api/v1/namespaces/default/bindings', JSON.stringify({ metadata: { name: 'b1' }, target: { name: 'n2' } }));
    expect(JSON.parse(again.body)).toMatchObject({ reason: 'Conflict', message: 'Operation cannot be fulfilled on pods/binding "b1": pod b1 is already assigned to node "n1"' });
    const pod = JSON.parse((await call('GET', '/api/v1/namespaces/default/pods/b1')).body);
    expect(pod.spec.nodeName).toBe('n1');
    const status = await call('PATCH', '/api/v1/namespaces/default/pods/b1/status', JSON.stringify({ status: { phase: 'Running' } }), { 'content-type': 'application/merge-patch+json' });
    expect(JSON.parse(status.body).status).toMatchObject({ phase: 'Running', conditions: [{ type: 'PodScheduled', status: 'True' }] });
    const events = await server.current.store.readStream('Pod-default/b1');
    expect(events.map((e) => e.type)).toEqual(['PodCreated', 'PodBound', 'PodStatusReported']);
    expect(events[1].metadata).toMatchObject({ actor: { name: 'system:unsecured', authMethod: 'insecure-port' } });
    // Node n1 has no kubelet (no Node object): the graceful deletion is finished at once.
    expect((await call('DELETE', '/api/v1/namespaces/default/pods/b1')).status).toBe(200);
    expect((await call('GET', '/api/v1/namespaces/default/pods/b1')).status).toBe(404);
  });

  it('deletes a collection by label selector', async () => {
    for (const [name, tier] of [['c1', 'a'], ['c2', 'a'], ['c3', 'b']]) {
      await call('POST', '/api/v1/namespaces/default/pods', JSON.stringify({ metadata: { name, labels: { tier } }, spec: { containers: [{ name: 'c', image: 'i' }] } }));
    }
    const r = await call('DELETE', '/api/v1/namespaces/default/pods?labelSelector=tier%3Da');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['c1', 'c2']);
    const left = JSON.parse((await call('GET', '/api/v1/namespaces/default/pods?labelSelector=tier')).body);
    expect(left.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['c3']);
  });

  it('refuses to bind the insecure port to a non-loopback address', async () => {
    await expect(startKronicle({ store: server.current.store, host: '0.0.0.0', port: 0 })).rejects.toThrow(/binds only to loopback/);
  });
});

