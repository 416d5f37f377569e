/**
 * `kronicle serve --nodes 3` as a process, with the real kubectl: the seed's ReplicationController
 * reaches 3 Running pods on the hollow nodes; describe shows the controllers' Events; the Service
 * gets its Endpoints; scale; a namespace goes with everything in it; SIGTERM stops it cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import { kubectlFor, type Kubectl } from './support/kubectl';
import { tempDir } from './support/tmp';
import { waitUntil } from './conformance/eventStore.conformance';

const root = path.resolve(__dirname, '..');
const examples = path.join(__dirname, 'fixtures/examples');

describe('kronicle serve --nodes 3, with kubectl', () => {
  let child: ChildProcess;
  let output = '';
  let kubectl: Kubectl;
  let tmp: { dir: string; remove: () => void };

  beforeAll(async () => {
    tmp = tempDir();
    child = spawn(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'tests/fixtures/kronicleCli.ts', 'serve', '--store', 'memory', '--port', '0', '--secure-port', '0', '--nodes', '3', '--data-dir', tmp.dir], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await waitUntil(() => /serving the Kubernetes API at (\S+)/.test(output), 30_000);
    const url = /serving the Kubernetes API at (\S+)/.exec(output)![1];
    kubectl = kubectlFor(url, tmp.dir);
    await waitUntil(async () => (await kubectl.run(['get', 'nodes', '-o', 'name'])).stdout.trim().split('\n').length === 3, 15_000);
  }, 60_000);

  afterAll(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    tmp.remove();
  });

  it('shows three Ready hollow nodes', async () => {
    const r = await kubectl.run(['get', 'nodes']);
    expect(r.stdout).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\n/);
    expect(r.stdout.match(/^node-\d\s+Ready\s+<none>\s+\S+\s+v1\.32\.0$/gm)).toHaveLength(3);
    const described = await kubectl.run(['describe', 'node', 'node-1']);
    expect(described.code).toBe(0);
    expect(described.stdout).toMatch(/^Name:\s+node-1$/m);
    expect(described.stdout).toMatch(/^\s+HolderIdentity:\s+node-1$/m);
    expect(described.stdout).toMatch(/^PodCIDR:\s+127\.2\.1\.0\/24$/m);
    expect(described.stdout).toMatch(/Ready\s+True\s+.*KubeletReady\s+kubelet is posting ready status/);
  });

  it('runs the seed’s ReplicationController to 3 Running pods, each on a node, and describes them with Events', async () => {
    expect((await kubectl.run(['create', '-f', path.join(examples, 'replication-controller.yaml')])).stdout).toBe('replicationcontroller/teciplsrc created\n');
    await waitUntil(async () => ((await kubectl.run(['get', 'pods', '--no-headers'])).stdout.match(/\s1\/1\s+Running\s/g) ?? []).length === 3, 15_000);
    const wide = (await kubectl.run(['get', 'pods', '-o', 'wide', '--no-headers'])).stdout.trim().split('\n');
    expect(new Set(wide.map((l) => l.split(/\s+/)[6]))).toEqual(new Set(['node-1', 'node-2', 'node-3']));
    expect((await kubectl.run(['get', 'rc', 'teciplsrc', '--no-headers'])).stdout).toMatch(/^teciplsrc\s+3\s+3\s+3\s/);
    const pod = wide[0].split(/\s+/)[0];
    const described = (await kubectl.run(['describe', 'pod', pod])).stdout;
    expect(described).toMatch(/^Status:\s+Running$/m);
    expect(described).toMatch(/^Node:\s+node-\d\/127\.1\.0\.\d+$/m);
    expect(described).toMatch(/^Controlled By:\s+ReplicationController\/teciplsrc$/m);
    expect(described).toMatch(/Normal\s+Scheduled\s+\S+\s+scheduler\s+Successfully assigned default\/\S+ to node-\d/);
    const rc = (await kubectl.run(['describe', 'rc', 'teciplsrc'])).stdout;
    expect(rc).toMatch(/^Pods Status:\s+3 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed$/m);
    expect(rc).toMatch(/Normal\s+SuccessfulCreate\s+\S+\s+replication-controller\s+Created pod: teciplsrc-\w+/);
  });

  it('scales to 5 and back to 0', async () => {
    expect((await kubectl.run(['scale', 'rc', 'teciplsrc', '--replicas=5'])).code).toBe(0);
    await waitUntil(async () => ((await kubectl.run(['get', 'pods', '--no-headers'])).stdout.match(/Running/g) ?? []).length === 5, 15_000);
    expect((await kubectl.run(['scale', 'rc', 'teciplsrc', '--replicas=0'])).code).toBe(0);
    await waitUntil(async () => (await kubectl.run(['get', 'pods', '--no-headers'])).stdout.trim() === '', 15_000);
  });

  it('gives the seed’s Service a ClusterIP and Endpoints on port 9999', async () => {
    expect((await kubectl.run(['create', '-f', path.join(examples, 'service.yaml')])).code).toBe(0);
    expect((await kubectl.run(['run', 'app', '--image=nginx', '--labels=app=myApp', '--port=9999'])).code).toBe(0);
    await waitUntil(async () => /127\.\d+\.\d+\.\d+:9999/.test((await kubectl.run(['get', 'endpoints', 'my-service', '--no-headers'])).stdout), 15_000);
    expect((await kubectl.run(['get', 'svc', 'my-service', '--no-headers'])).stdout).toMatch(/^my-service\s+ClusterIP\s+10\.\d+\.\d+\.\d+\s+<none>\s+80\/TCP\s/);
  });

  it('serves the Service’s pods through the API server’s service and pod proxies, and moves traffic off a deleted pod', async () => {
    expect((await kubectl.run(['run', 'app2', '--image=nginx', '--labels=app=myApp', '--port=9999'])).code).toBe(0);
    const endpoints = async () => (await kubectl.run(['get', 'endpoints', 'my-service', '-o', 'jsonpath={.subsets[*].addresses[*].targetRef.name}'])).stdout.trim().split(/\s+/).filter(Boolean).sort();
    await waitUntil(async () => (await endpoints()).join(' ') === 'app app2', 15_000);
    const viaService = async () => JSON.parse((await kubectl.run(['get', '--raw', '/api/v1/namespaces/default/services/my-service/proxy/hello?x=1'])).stdout) as { pod: string; namespace: string; node: string; path: string };
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = await viaService();
      expect(r).toMatchObject({ namespace: 'default', path: '/hello?x=1', node: expect.stringMatching(/^node-\d$/) });
      seen.add(r.pod);
    }
    expect([...seen].sort()).toEqual(['app', 'app2']);
    expect(JSON.parse((await kubectl.run(['get', '--raw', '/api/v1/namespaces/default/pods/app2:9999/proxy/x'])).stdout)).toMatchObject({ pod: 'app2', path: '/x' });
    expect((await kubectl.run(['get', '--raw', '/api/v1/namespaces/default/pods/nope/proxy/'])).stderr).toMatch(/NotFound/);
    expect((await kubectl.run(['delete', 'pod', 'app'])).code).toBe(0);
    await waitUntil(async () => (await endpoints()).join(' ') === 'app2', 15_000);
    for (let i = 0; i < 4; i++) expect((await viaService()).pod).toBe('app2');
  });

  it('reaches a node’s kubelet endpoint through the node proxy: its pods, spec and stats', async () => {
    const node = (await kubectl.run(['get', 'pod', 'app2', '-o', 'jsonpath={.spec.nodeName}'])).stdout.trim();
    const pods = JSON.parse((await kubectl.run(['get', '--raw', `/api/v1/nodes/${node}/proxy/pods`])).stdout) as { kind: string; items: Array<{ metadata: { name: string } }> };
    expect(pods.kind).toBe('PodList');
    expect(pods.items.map((p) => p.metadata.name)).toContain('app2');
    expect(JSON.parse((await kubectl.run(['get', '--raw', `/api/v1/nodes/${node}/proxy/spec`])).stdout)).toMatchObject({ node, spec: { podCIDR: expect.stringMatching(/^127\./) } });
    expect(JSON.parse((await kubectl.run(['get', '--raw', `/api/v1/nodes/${node}/proxy/stats/summary`])).stdout).pods.map((p: { podRef: { name: string } }) => p.podRef.name)).toContain('app2');
  });

  it('forwards through kube-proxy on every node’s address, at the service port and the NodePort', async () => {
    // A fresh connection per request (no keep-alive), so that each one is balanced anew.
    const get = (url: string) =>
      new Promise<{ pod: string }>((resolve, reject) => {
        http.get(url, { agent: false }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve(JSON.parse(body)));
        }).on('error', reject);
      });
    // The service's own port (80) needs the privilege to bind below 1024: root here, and in CI.
    if (process.getuid?.() === 0) {
      for (const n of ['127.1.0.1', '127.1.0.2', '127.1.0.3']) await waitUntil(async () => (await get(`http://${n}:80/kp`).catch(() => ({ pod: '' }))).pod === 'app2', 15_000);
    }
    expect((await kubectl.run(['run', 'app3', '--image=nginx', '--labels=app=myApp', '--port=9999'])).code).toBe(0);
    expect((await kubectl.run(['create', 'service', 'nodeport', 'web-np', '--tcp=8080:9999'])).code).toBe(0);
    expect((await kubectl.run(['patch', 'service', 'web-np', '-p', '{"spec":{"selector":{"app":"myApp"}}}'])).code).toBe(0);
    const nodePort = (await kubectl.run(['get', 'service', 'web-np', '-o', 'jsonpath={.spec.ports[0].nodePort}'])).stdout.trim();
    expect(nodePort).toMatch(/^3\d{4}$/);
    for (const n of ['127.1.0.1', '127.1.0.2', '127.1.0.3']) {
      await waitUntil(async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 6; i++) seen.add((await get(`http://${n}:${nodePort}/`).catch(() => ({ pod: '' }))).pod);
        return seen.has('app2') && seen.has('app3');
      }, 15_000);
    }
    // A deleted pod's traffic moves to the others, through kube-proxy too.
    expect((await kubectl.run(['delete', 'pod', 'app3'])).code).toBe(0);
    await waitUntil(async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) seen.add((await get(`http://127.1.0.3:${nodePort}/`).catch(() => ({ pod: '' }))).pod);
      return seen.size === 1 && seen.has('app2');
    }, 15_000);
    expect((await kubectl.run(['delete', 'service', 'web-np'])).code).toBe(0);
  });

  it('works behind `kubectl proxy`, as Kubernetes does', async () => {
    const proxy = kubectl.start(['proxy', '--port=0']);
    try {
      await waitUntil(async () => /Starting to serve on 127\.0\.0\.1:\d+/.test(proxy.output()), 15_000);
      const port = /127\.0\.0\.1:(\d+)/.exec(proxy.output())![1];
      const r = await fetch(`http://127.0.0.1:${port}/api/v1/namespaces/default/services/my-service/proxy/via-kubectl-proxy`);
      expect(await r.json()).toMatchObject({ pod: 'app2', path: '/via-kubectl-proxy' });
      expect(((await (await fetch(`http://127.0.0.1:${port}/api/v1/nodes`)).json()) as { items: unknown[] }).items).toHaveLength(3);
    } finally {
      await proxy.stop();
    }
  });

  it('deletes a namespace with everything in it', async () => {
    expect((await kubectl.run(['create', '-f', '-'], 'apiVersion: v1\nkind: Namespace\nmetadata: {name: scratch}\n')).code).toBe(0);
    expect((await kubectl.run(['create', '-f', path.join(examples, 'replication-controller.yaml'), '-n', 'scratch'])).code).toBe(0);
    await waitUntil(async () => ((await kubectl.run(['get', 'pods', '-n', 'scratch', '--no-headers'])).stdout.match(/Running/g) ?? []).length === 3, 15_000);
    const r = await kubectl.run(['delete', 'namespace', 'scratch']);
    expect(r.stdout).toBe('namespace "scratch" deleted\n');
    expect((await kubectl.run(['get', 'namespace', 'scratch'])).stderr).toBe('Error from server (NotFound): namespaces "scratch" not found\n');
  });

  it('stops cleanly on SIGTERM', async () => {
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(output).toMatch(/kronicle: stopped at position \d+/);
  });
});
