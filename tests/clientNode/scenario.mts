/**
 * @kubernetes/client-node 2.x against Kronicle. client-node is ESM-only, so this runs as its own
 * process (tests/clientNode.e2e.test.ts starts it with tsx) and prints one JSON report line; the
 * jest test asserts on the report.
 *
 * Kronicle runs behind a small counting proxy, so the report shows every request the client made
 * (the informer's 30-second idle re-watch among them) and the proxy can move the client from one
 * server to another: the second one, on a fresh log, cannot serve the informer's resourceVersion
 * and answers 410, after which the informer must relist.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { startKronicle, type RunningKronicle } from '../../api/kronicle';
import { MemoryEventStore } from '../../core/store/memory';

const IDLE_WAIT_MS = Number(process.env.IDLE_WAIT_MS ?? 35_000);

interface Backend {
  kronicle: RunningKronicle;
  store: MemoryEventStore;
}

async function backend(): Promise<Backend> {
  const store = new MemoryEventStore();
  const kronicle = await startKronicle({ store, port: 0, log: () => undefined });
  return { store, kronicle };
}

/** Forwards every request to the current backend, recording method and URL. */
function countingProxy(target: () => string, requests: string[]): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const upstream = http.request(`${target()}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function expectError(p: Promise<unknown>): Promise<{ code: number; reason?: string; message?: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { code?: number; body?: string };
    const body = typeof e.body === 'string' ? (JSON.parse(e.body) as { reason?: string; message?: string }) : {};
    return { code: e.code ?? -1, reason: body.reason, message: body.message };
  }
  return { code: 0 };
}

async function main(): Promise<void> {
  const requests: string[] = [];
  let current = await backend();
  const proxy = await countingProxy(() => current.kronicle.url, requests);
  const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'kronicle', server: url, skipTLSVerify: true }],
    users: [{ name: 'user' }],
    contexts: [{ name: 'kronicle', cluster: 'kronicle', user: 'user' }],
    currentContext: 'kronicle',
  });
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const namespace = 'default';
  const podBody = (name: string, labels: Record<string, string> = {}): k8s.V1Pod => ({ metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });

  // --- CRUD ---
  const crud: Record<string, unknown> = {};
  const created = await core.createNamespacedPod({ namespace, body: podBody('crud', { app: 'x' }) });
  crud.created = { name: created.metadata?.name, uid: created.metadata?.uid, phase: created.status?.phase };
  const read = await core.readNamespacedPod({ namespace, name: 'crud' });
  crud.readUidMatches = read.metadata?.uid === created.metadata?.uid;
  crud.listed = (await core.listNamespacedPod({ namespace, labelSelector: 'app=x' })).items.map((p) => p.metadata?.name);
  const replaced = await core.replaceNamespacedPod({ namespace, name: 'crud', body: { ...read, metadata: { ...read.metadata, labels: { app: 'x', tier: 'web' } } } });
  crud.replacedLabels = replaced.metadata?.labels;
  crud.staleReplace = await expectError(core.replaceNamespacedPod({ namespace, name: 'crud', body: read }));
  const jsonPatched = await core.patchNamespacedPod({ namespace, name: 'crud', body: [{ op: 'add', path: '/metadata/annotations', value: { by: 'json-patch' } }] });
  crud.jsonPatchAnnotations = jsonPatched.metadata?.annotations;
  const mergePatched = await core.patchNamespacedPod(
    { namespace, name: 'crud', body: { metadata: { labels: { merged: 'yes' } } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  crud.mergePatchLabels = mergePatched.metadata?.labels;
  await core.createNamespacedBinding({ namespace, body: { metadata: { name: 'crud' }, target: { kind: 'Node', name: 'n1' } } });
  crud.boundTo = (await core.readNamespacedPod({ namespace, name: 'crud' })).spec?.nodeName;
  crud.alreadyExists = await expectError(core.createNamespacedPod({ namespace, body: podBody('crud') }));
  crud.invalid = await expectError(core.createNamespacedPod({ namespace, body: { metadata: { name: 'bad' }, spec: { containers: [{ name: 'c' } as k8s.V1Container] } } }));
  await core.createNamespacedReplicationController({
    namespace,
    body: { metadata: { name: 'rc' }, spec: { replicas: 1, selector: { app: 'rc' }, template: { metadata: { labels: { app: 'rc' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } },
  });
  const scale = await core.readNamespacedReplicationControllerScale({ namespace, name: 'rc' });
  const rescaled = await core.replaceNamespacedReplicationControllerScale({ namespace, name: 'rc', body: { ...scale, spec: { replicas: 4 } } });
  crud.scale = { before: scale.spec?.replicas, after: rescaled.spec?.replicas, kind: rescaled.kind, rc: (await core.readNamespacedReplicationController({ namespace, name: 'rc' })).spec?.replicas };
  await core.deleteNamespacedPod({ namespace, name: 'crud', gracePeriodSeconds: 0 });
  crud.afterDelete = await expectError(core.readNamespacedPod({ namespace, name: 'crud' }));

  // --- Informer ---
  const events: string[] = [];
  const errors: string[] = [];
  const informer = k8s.makeInformer(kc, `/api/v1/namespaces/${namespace}/pods`, () => core.listNamespacedPod({ namespace }));
  informer.on('add', (p) => events.push(`add ${p.metadata?.name}`));
  informer.on('update', (p) => events.push(`update ${p.metadata?.name} ${p.metadata?.labels?.step ?? ''}`.trim()));
  informer.on('delete', (p) => events.push(`delete ${p.metadata?.name}`));
  informer.on('error', (e) => errors.push(String((e as Error)?.message ?? e)));
  await informer.start();
  await core.createNamespacedPod({ namespace, body: podBody('a1') });
  await core.createNamespacedPod({ namespace, body: podBody('a2') });
  await until('a1 and a2', () => events.includes('add a2'));
  const beforeIdle = events.length;
  const watchesBeforeIdle = requests.filter((r) => r.includes('watch=true')).length;
  await sleep(IDLE_WAIT_MS);
  const watchesAfterIdle = requests.filter((r) => r.includes('watch=true')).length;
  await core.createNamespacedPod({ namespace, body: podBody('a3') });
  await core.patchNamespacedPod({ namespace, name: 'a1', body: { metadata: { labels: { step: 'one' } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  await core.deleteNamespacedPod({ namespace, name: 'a2', gracePeriodSeconds: 0 });
  await until('the changes after the idle reconnect', () => events.includes('delete a2'));
  await sleep(300);
  const afterIdle = events.slice(beforeIdle);

  // --- 410: the client moves to a server whose log cannot serve its resourceVersion ---
  const old = current;
  const fresh = await backend();
  await fresh.kronicle.projection.waitFor(await fresh.store.headPosition());
  const freshCore = new k8s.KubeConfig();
  freshCore.loadFromOptions({ clusters: [{ name: 'f', server: fresh.kronicle.url, skipTLSVerify: true }], users: [{ name: 'u' }], contexts: [{ name: 'f', cluster: 'f', user: 'u' }], currentContext: 'f' });
  await freshCore.makeApiClient(k8s.CoreV1Api).createNamespacedPod({ namespace, body: podBody('b1') });
  const marker = events.length;
  const watchesBefore = requests.length;
  current = fresh;
  await old.kronicle.close();
  await until('the relist on the fresh server', () => events.includes('add b1'), 15_000);
  await sleep(300);
  const afterMove = events.slice(marker);
  const movedRequests = requests.slice(watchesBefore);

  await informer.stop();
  await fresh.kronicle.close();
  await fresh.store.close();
  await old.store.close();
  await new Promise<void>((r) => proxy.close(() => r()));
  process.stdout.write(`${JSON.stringify({ crud, events, afterIdle, watchesBeforeIdle, watchesAfterIdle, afterMove, movedRequests, errors, requests })}\n`);
}

main().catch((err) => {
  process.stdout.write(`${JSON.stringify({ failed: String((err as Error)?.stack ?? err) })}\n`);
  process.exit(1);
});
