/**
 * Issue 4's benchmarks, on the durable SQLite store, everything in one process as
 * `kronicle serve --nodes N` runs it:
 *  scheduler  N nodes and P pending pods written straight into the log; the time for the
 *             scheduler to bind them all through the API (pods/s), beside kube-scheduler's CI
 *             floor for SchedulingBasic at 5,000 nodes (680 pods/s).
 *  density    N hollow nodes, pods created through ReplicationControllers (30 per node):
 *             create → Running latency as seen on the change feed, p50/p99.
 *  nodes      N hollow nodes renewing leases every 10 s: CPU over a steady minute, events/hour.
 *
 * Run: node dist-bench/bench/controllers.bench.js scheduler [nodes] [pods]
 *      node dist-bench/bench/controllers.bench.js density [nodes] [podsPerNode]
 *      node dist-bench/bench/controllers.bench.js nodes [nodes] [seconds]
 */
import * as path from 'node:path';
import * as E from 'fp-ts/Either';
import { startKronicle } from '../api/kronicle';
import { SqliteEventStore } from '../core/store/sqlite';
import { handleCommand } from '../core/shell';
import { SYSTEM_ACTOR } from '../core/events/envelope';
import { uuidV7Source } from '../core/ids';
import { ControllerManager, HollowKubelet, eventAtFrom, wallClock } from '../controllers';
import { makeScheduler } from '../controllers/scheduler';
import type { KubeObject } from '../core/objects/codecs';
import { fmt, report, tmpDir } from './support';

const [mode, a1, a2] = process.argv.slice(2);
const date = new Date().toISOString().slice(0, 10);
const ids = uuidV7Source();
const write = { actor: SYSTEM_ACTOR };
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function schedulerBench(nodes: number, pods: number): Promise<void> {
  const tmp = tmpDir();
  const store = await SqliteEventStore.open({ file: path.join(tmp.dir, 'sched.db') });
  const now = new Date();
  // The cluster, written straight into the log (setup is not what is measured).
  const setup = async (kind: string, name: string, namespace: string | undefined, object: KubeObject) => {
    const r = await handleCommand(store, { kind, namespace, name }, { type: 'Create', object }, { now, ids, write });
    if (E.isLeft(r)) throw new Error(r.left.message);
  };
  const kubelet = new HollowKubelet({ name: 'template', index: 0 });
  const batch = 256;
  for (let i = 0; i < nodes; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, nodes - i) }, (_, j) => {
        const n = kubelet.nodeObject(now);
        const name = `node-${i + j + 1}`;
        return setup('Node', name, undefined, { ...n, metadata: { ...n.metadata, name, labels: { ...n.metadata.labels, 'kubernetes.io/hostname': name } } });
      }),
    );
  }
  for (let i = 0; i < pods; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, pods - i) }, (_, j) =>
        setup('Pod', `p-${i + j}`, 'default', {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: `p-${i + j}`, namespace: 'default' },
          spec: { containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '100m', memory: '100Mi' } } }] },
        } as KubeObject),
      ),
    );
  }
  const kronicle = await startKronicle({ store, port: 0 });
  let bound = 0;
  const sub = kronicle.projection.changes.subscribe((c) => {
    if (c.kind === 'Pod' && c.event.event.type === 'PodBound') bound++;
  });
  const manager = new ControllerManager({ projection: kronicle.projection, eventAt: eventAtFrom(store), client: kronicle.actions, clock: wallClock, reconcilers: [makeScheduler()], concurrent: true });
  const started = process.hrtime.bigint();
  manager.start();
  while (bound < pods) await new Promise((r) => setTimeout(r, 50));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await manager.stop();
  sub.unsubscribe();
  await kronicle.close();
  await store.close();
  tmp.remove();
  report(`Scheduler throughput: ${fmt(nodes)} nodes, ${fmt(pods)} pending pods (${date})`, [
    ['pods bound', `${fmt(bound)} in ${seconds.toFixed(1)} s`],
    ['Kronicle scheduler (filter, score, bind and its Event in-process, durable)', `**${fmt(pods / seconds)} pods/s**`],
    ["kube-scheduler's CI floor, SchedulingBasic at 5,000 nodes", '680 pods/s'],
    ['target', '≥ 1,000 pods/s'],
  ]);
}

async function densityBench(nodes: number, perNode: number): Promise<void> {
  const tmp = tmpDir();
  const store = await SqliteEventStore.open({ file: path.join(tmp.dir, 'density.db') });
  const kronicle = await startKronicle({ store, port: 0, nodes });
  while (kronicle.projection.store('Node').list().length < nodes) await new Promise((r) => setTimeout(r, 100));
  const createdAt = new Map<string, number>();
  const latencies: number[] = [];
  const sub = kronicle.projection.changes.subscribe((c) => {
    if (c.kind !== 'Pod') return;
    const uid = c.object.metadata.uid as string;
    if (c.type === 'ADDED') createdAt.set(uid, performance.now());
    else if ((c.object.status as { phase?: string } | undefined)?.phase === 'Running' && createdAt.has(uid)) {
      latencies.push(performance.now() - (createdAt.get(uid) as number));
      createdAt.delete(uid);
    }
  });
  const total = nodes * perNode;
  const rcs = Math.max(1, Math.round(total / 300));
  const started = performance.now();
  for (let i = 0; i < rcs; i++) {
    const replicas = Math.floor(total / rcs) + (i < total % rcs ? 1 : 0);
    await fetch(`${kronicle.url}/api/v1/namespaces/default/replicationcontrollers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ metadata: { name: `rc-${i}` }, spec: { replicas, selector: { rc: `rc-${i}` }, template: { metadata: { labels: { rc: `rc-${i}` } }, spec: { containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '10m', memory: '10Mi' } } }] } } } }),
    });
  }
  while (latencies.length < total) await new Promise((r) => setTimeout(r, 200));
  const seconds = (performance.now() - started) / 1000;
  sub.unsubscribe();
  await kronicle.close();
  await store.close();
  tmp.remove();
  latencies.sort((x, y) => x - y);
  report(`Density: ${fmt(nodes)} hollow nodes, ${fmt(total)} pods through ${rcs} ReplicationControllers (${date})`, [
    ['all pods Running after', `${seconds.toFixed(1)} s (${fmt(total / seconds)} pods/s end to end)`],
    ['pod startup latency (created → Running, on the change feed), p50', `${(percentile(latencies, 50) / 1000).toFixed(2)} s`],
    ['p99', `**${(percentile(latencies, 99) / 1000).toFixed(2)} s** (target ≤ 1 s; Kubernetes' SLO 5 s)`],
  ]);
}

async function nodesBench(nodes: number, seconds: number): Promise<void> {
  const tmp = tmpDir();
  const store = await SqliteEventStore.open({ file: path.join(tmp.dir, 'nodes.db') });
  const kronicle = await startKronicle({ store, port: 0, nodes });
  while (kronicle.projection.store('Lease').list({ namespace: 'kube-node-lease' }).length < nodes) await new Promise((r) => setTimeout(r, 200));
  // Let registration settle for one renewal period, then measure a steady window.
  await new Promise((r) => setTimeout(r, 10_000));
  const head0 = await store.headPosition();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const mem0 = process.memoryUsage().rss;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - t0) / 1000;
  const events = Number((await store.headPosition()) - head0);
  const rss = process.memoryUsage().rss;
  await kronicle.close();
  await store.close();
  tmp.remove();
  const cores = (cpu.user + cpu.system) / 1e6 / wall;
  report(`Cost of ${fmt(nodes)} hollow nodes renewing leases every 10 s (${date}, ${seconds} s steady window)`, [
    ['CPU (API server + kubelets, one process)', `**${cores.toFixed(2)} of a core** (target < 0.25)`],
    ['events appended', `${fmt(events)} in ${wall.toFixed(0)} s = ${fmt((events / wall) * 3600)} per hour`],
    ['resident memory of the process', `${(rss / 1024 ** 2).toFixed(0)} MiB (at the start of the window ${(mem0 / 1024 ** 2).toFixed(0)} MiB)`],
  ]);
}

const runs: Record<string, () => Promise<void>> = {
  scheduler: () => schedulerBench(Number(a1 ?? 5000), Number(a2 ?? 10000)),
  density: () => densityBench(Number(a1 ?? 1000), Number(a2 ?? 30)),
  nodes: () => nodesBench(Number(a1 ?? 5000), Number(a2 ?? 60)),
};
const run = runs[mode];
if (!run) {
  console.error(`usage: controllers.bench.js scheduler|density|nodes [n] [m]`);
  process.exitCode = 2;
} else {
  run().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
