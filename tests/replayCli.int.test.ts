/**
 * The replay debugger's interfaces: `kronicle replay …` against a running server and against a
 * data directory, the HTTP API under replay.kronicle.dev, and `kubectl replay …` through kubectl's
 * plugin mechanism with the user's kubeconfig. Bad input gets one clear line and exit code 1.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { kubeconfigFor, startKronicle, type RunningKronicle } from '../api/kronicle';
import { SqliteEventStore } from '../core/store/sqlite';
import { waitUntil } from './conformance/eventStore.conformance';
import { jsonCaller } from './support/http';
import { tempDir } from './support/tmp';

const root = path.resolve(__dirname, '..');
const tsx = path.join(root, 'node_modules/tsx/dist/cli.mjs');

type Run = { code: number; stdout: string; stderr: string };
const spawn = (file: string, args: string[], env: NodeJS.ProcessEnv = process.env) =>
  new Promise<Run>((resolve) =>
    execFile(file, args, { cwd: root, env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => resolve({ code: (err as { code?: number } | null)?.code ?? 0, stdout, stderr })),
  );
const kronicle = (...args: string[]) => spawn(process.execPath, [tsx, 'tests/fixtures/kronicleCli.ts', ...args]);

describe('the replay debugger from the command line, over HTTP and as a kubectl plugin', () => {
  const tmp = tempDir();
  const dataDir = path.join(tmp.dir, 'data');
  let store: SqliteEventStore;
  let server: RunningKronicle;
  let pod: string;
  let head: bigint;
  const call = jsonCaller(() => server.url);

  beforeAll(async () => {
    store = await SqliteEventStore.open({ file: path.join(dataDir, 'kronicle.db') });
    server = await startKronicle({ store, port: 0, nodes: 2 });
    await call('POST', '/api/v1/namespaces/default/replicationcontrollers', {
      metadata: { name: 'web' },
      spec: { replicas: 2, selector: { app: 'web' }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] } } },
    });
    await waitUntil(async () => (await call('GET', '/api/v1/namespaces/default/pods')).body.items.filter((p: any) => p.status?.phase === 'Running').length === 2);
    await server.controllers!.idle();
    pod = (await call('GET', '/api/v1/namespaces/default/pods')).body.items[0].metadata.name;
    head = await store.headPosition();
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await store?.close();
    tmp.remove();
  });

  it('answers state, rerun, verify and explain over HTTP under replay.kronicle.dev', async () => {
    const base = '/apis/replay.kronicle.dev/v1alpha1';
    expect((await call('GET', base)).body).toMatchObject({ kind: 'APIResourceList', groupVersion: 'replay.kronicle.dev/v1alpha1' });
    const state = await call('GET', `${base}/state?kind=pods&namespace=default&labelSelector=app%3Dweb`);
    expect(state.body.objects.map((o: any) => o.kind)).toEqual(['Pod', 'Pod']);
    const rerun = await call('GET', `${base}/rerun`);
    expect(rerun.body.checked).toBeGreaterThan(4);
    expect(rerun.body.differences).toEqual([]);
    expect((await call('GET', `${base}/verify`)).body).toMatchObject({ ok: true });
    const bound = (await call('GET', `${base}/history/pods/default/${pod}`)).body.entries.find((e: any) => e.type === 'PodBound');
    const explained = await call('GET', `${base}/explain/${bound.eventId}`);
    expect(explained.body).toMatchObject({ kind: 'Decision', controller: 'scheduler', same: true });
    expect((await call('GET', `${base}/state?at=${head + 1000n}`)).body).toMatchObject({ code: 400, reason: 'BadRequest', message: expect.stringContaining("beyond the log's head") });
    expect((await call('GET', `${base}/explain/nope`)).status).toBe(404);
    expect((await call('GET', `${base}/frobnicate`)).status).toBe(404);
    const fixture = fs.readFileSync(path.join(__dirname, 'fixtures/histories/service-endpoints.ndjson'), 'utf8');
    const r = await fetch(`${server.url}${base}/resimulate`, { method: 'POST', body: fixture });
    expect(await r.json()).toMatchObject({ kind: 'ResimulationReport', same: true, inputs: 3 });
    const bad = await fetch(`${server.url}${base}/resimulate`, { method: 'POST', body: 'not a history' });
    expect(bad.status).toBe(400);
  }, 60_000);

  it('prints tables, JSON and YAML from a running server', async () => {
    const state = await kronicle('replay', 'state', '--server', server.url, '--kind', 'pod');
    expect(state.code).toBe(0);
    expect(state.stdout).toMatch(/^KIND\s+NAMESPACE\s+NAME\s+RESOURCEVERSION$/m);
    expect(state.stdout).toContain(`Pod    default     ${pod}`);
    const yaml = await kronicle('replay', 'why', `pod/${pod}`, '--server', server.url, '-o', 'yaml');
    expect(parseYaml(yaml.stdout)).toMatchObject({ kind: 'CausationChain', chain: expect.any(Array) });
    const rerun = await kronicle('replay', 'rerun', '--server', server.url);
    expect(rerun.stdout).toMatch(/^\d+ decisions re-run: all decided as recorded$/m);
    expect(rerun.code).toBe(0);
    const beyond = await kronicle('replay', 'state', '--at', String(head + 1000n), '--server', server.url);
    // (The head moves on as the hollow nodes renew their leases.)
    expect(beyond).toMatchObject({ code: 1, stderr: expect.stringMatching(new RegExp(`^kronicle: position ${head + 1000n} is beyond the log's head \\(\\d+\\)\n$`)) });
  }, 60_000);

  it('runs as `kubectl replay` with the kubeconfig’s server', async () => {
    const bin = path.join(tmp.dir, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, 'kubectl-replay'), `#!/bin/sh\nexec "${process.execPath}" "${tsx}" "${path.join(root, 'tests/fixtures/kubectlReplay.ts')}" "$@"\n`, { mode: 0o755 });
    const kubeconfig = path.join(tmp.dir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, kubeconfigFor(server.url));
    const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` };
    const h = await spawn('kubectl', ['replay', 'history', `pod/${pod}`, '--kubeconfig', kubeconfig], env);
    expect(h.stderr).toBe('');
    expect(h.stdout).toMatch(/PodCreated\s+system:controller:replication-controller/);
    expect(h.stdout).toMatch(/PodBound\s+system:kube-scheduler/);
    const missing = await spawn('kubectl', ['replay', 'why', 'pod/nope', '--kubeconfig', kubeconfig], env);
    expect(missing).toMatchObject({ code: 1, stderr: 'error: the log has no Pod default/nope\n' });
    // The plugin is what npm installs as a bin.
    expect(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).bin['kubectl-replay']).toBe('bin/kubectl-replay.js');
    expect(fs.statSync(path.join(root, 'bin/kubectl-replay.js')).mode & 0o111).not.toBe(0);
  }, 60_000);

  it('reads a data directory directly once the server is gone, and refuses bad input clearly', async () => {
    const locked = await kronicle('replay', 'verify', '--data-dir', dataDir);
    expect(locked.code).toBe(1);
    expect(locked.stderr).toMatch(/in use by another Kronicle process.*--server URL/);
    await server.close();
    await store.close();
    const verify = await kronicle('replay', 'verify', '--data-dir', dataDir);
    expect(verify).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ok: \d+ events verified/) });
    const state = await kronicle('replay', 'state', '--data-dir', dataDir, '--at', '10', '-o', 'json');
    expect(JSON.parse(state.stdout)).toMatchObject({ position: '10' });
    const diff = await kronicle('replay', 'diff', '--data-dir', dataDir, '--from', '4', '--to', String(head));
    expect(diff.stdout).toMatch(/^added\s+ReplicationController-default\/web$/m);
    const file = path.join(tmp.dir, 'bad.ndjson');
    fs.writeFileSync(file, '{"format":"something-else"}\n{}\n');
    for (const args of [
      ['replay', 'resimulate', file],
      ['replay', 'resimulate', path.join(tmp.dir, 'missing.ndjson')],
      ['replay', 'explain', 'nope', '--data-dir', dataDir],
      ['replay', 'history', 'gizmo/x', '--data-dir', dataDir],
      ['replay', 'state', '--time', 'yesterday', '--data-dir', dataDir],
    ]) {
      const r = await kronicle(...args);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^kronicle: /);
    }
  }, 90_000);
});
