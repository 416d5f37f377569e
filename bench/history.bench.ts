/**
 * The replay debugger (issue 5):
 *
 *  1. state at a random past position of a 1,000,000-event cluster history, from snapshots and by
 *     a full fold, side by side (target: p99 ≤ 50 ms with snapshots);
 *  2. `history` of one object in that log (the per-stream index), and `verify` of the whole chain;
 *  3. `rerun` of every controller decision over a ~100,000-event history recorded in the
 *     simulator (controllers, scheduler and hollow kubelets deciding for real): decisions/s.
 *
 * Run: npx tsc -p tsconfig.bench.json && node --max-old-space-size=8192 dist-bench/bench/history.bench.js [events] [rerunEvents]
 */
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { encodeEvent } from '../core/events/types';
import { uuidV7Source } from '../core/ids';
import type { KubeObject } from '../core/objects/codecs';
import { SqliteEventStore } from '../core/store/sqlite';
import { SNAPSHOT_SCHEMA } from '../projections/snapshot';
import { history, stateAt } from '../replay/history';
import { decisionPoints, rerun } from '../replay/rerun';
import { verifyLog } from '../replay/verify';
import { Simulation } from '../api/simulation';
import { fmt, report, seconds, SeedWriter, syntheticPod, tmpDir } from './support';

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

/** A seeded generator, so every run measures the same positions. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * A day in a 100-node cluster: every node renews its lease every 10 s; pods come and go (created,
 * bound, reported running, deleted), about `livePods` at a time. ~45 % of the events are lease
 * renewals, the rest pod lifecycles with ~1 KiB objects.
 */
async function seedCluster(file: string, total: number, nodes = 100, livePods = 3000): Promise<number> {
  const w = await SeedWriter.open(file);
  const ids = uuidV7Source();
  const user = { actor: { kind: 'user' as const, name: 'bench' }, requestId: 'bench' };
  const node = (n: number) => ({ actor: { kind: 'node' as const, name: `system:node:node-${n}` }, requestId: 'bench' });
  const scheduler = { actor: { kind: 'controller' as const, name: 'system:kube-scheduler' }, requestId: 'bench' };
  let t = Date.parse('2026-11-27T00:00:00Z');
  for (let n = 0; n < nodes; n++) {
    const object = { apiVersion: 'v1', kind: 'Node', metadata: { name: `node-${n}`, uid: ids.uuid(), labels: { 'kubernetes.io/hostname': `node-${n}` } }, spec: { podCIDR: `10.244.${n}.0/24` }, status: { capacity: { cpu: '4', memory: '16Gi', pods: '110' }, allocatable: { cpu: '4', memory: '16Gi', pods: '110' } } } as unknown as KubeObject;
    w.add(`Node-node-${n}`, encodeEvent({ type: 'Created', kind: 'Node', object }, ids.uuid(), node(n)), t);
  }
  const perTick = 3;
  const lifetime = Math.round(livePods / perTick);
  const pods: Array<{ stream: string; object: KubeObject; node: number }> = [];
  for (let tick = 0; w.written + w.pendingCount < total; tick++) {
    t += 1000;
    for (let k = 0; k < nodes / 10; k++) {
      const n = (tick * (nodes / 10) + k) % nodes;
      w.add(`Lease-kube-node-lease/node-${n}`, encodeEvent({ type: 'NodeLeaseRenewed', kind: 'Lease', namespace: 'kube-node-lease', name: `node-${n}`, holderIdentity: `node-${n}`, renewTime: new Date(t).toISOString().replace('Z', '000Z'), leaseDurationSeconds: 40 }, ids.uuid(), node(n)), t);
    }
    for (let k = 0; k < perTick; k++) {
      const i = tick * perTick + k;
      const base = syntheticPod(i);
      const { nodeName: _n, ...spec } = base.spec as Record<string, unknown>;
      const object = { ...base, spec, status: { phase: 'Pending', qosClass: 'Burstable' } } as unknown as KubeObject;
      const stream = `Pod-${base.metadata.namespace}/${base.metadata.name}`;
      pods[i] = { stream, object, node: i % nodes };
      w.add(stream, encodeEvent({ type: 'Created', kind: 'Pod', object }, ids.uuid(), user), t);
      const bound = pods[i - perTick];
      if (bound) w.add(bound.stream, encodeEvent({ type: 'PodBound', kind: 'Pod', nodeName: `node-${bound.node}`, boundAt: new Date(t).toISOString() }, ids.uuid(), scheduler), t);
      const running = pods[i - 3 * perTick];
      if (running) {
        const status = { phase: 'Running', podIP: `10.244.${running.node}.${(i % 250) + 2}`, hostIP: `10.0.0.${running.node + 1}`, startTime: new Date(t).toISOString(), conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'main', ready: true, restartCount: 0, image: 'registry.example.com/team/app:1.2.3', state: { running: { startedAt: new Date(t).toISOString() } } }] };
        w.add(running.stream, encodeEvent({ type: 'PodStatusReported', kind: 'Pod', status } as never, ids.uuid(), node(running.node)), t);
      }
      const gone = pods[i - lifetime];
      if (gone) {
        w.add(gone.stream, encodeEvent({ type: 'Deleted', kind: 'Pod', object: gone.object }, ids.uuid(), user), t);
        delete pods[i - lifetime];
      }
    }
  }
  return w.close();
}

async function stateBenchmark(total: number): Promise<Array<[string, string]>> {
  const tmp = tmpDir();
  try {
    const file = path.join(tmp.dir, 'kronicle.db');
    let t = process.hrtime.bigint();
    const n = await seedCluster(file, total);
    const seedS = seconds(t);
    const store = await SqliteEventStore.open({ file });
    const head = await store.headPosition();
    const rows: Array<[string, string]> = [[`log`, `${fmt(n)} events (seeded in ${seedS.toFixed(0)} s)`]];

    // Snapshots are written by the first fold over the log (or by the live server as it goes).
    t = process.hrtime.bigint();
    const final = await stateAt(store, head);
    const buildS = seconds(t);
    const positions = await store.snapshots.snapshotPositions(SNAPSHOT_SCHEMA);
    rows.push(['objects at the head', fmt(final.objectCount)]);
    rows.push(['snapshots written by one full fold', `${positions.length} (every ${fmt(Number(head) / Math.max(1, positions.length))} events on average) in ${buildS.toFixed(1)} s`]);

    const rnd = random(42);
    const at = () => 1n + BigInt(Math.floor(rnd() * Number(head)));
    const withSnapshots: number[] = [];
    for (let i = 0; i < 300; i++) {
      const p = at();
      const s = process.hrtime.bigint();
      await stateAt(store, p, { fill: false });
      withSnapshots.push(ms(s));
    }
    // The same, then every object of the state read (a snapshot's objects are parsed when first read).
    const materialized: number[] = [];
    for (let i = 0; i < 100; i++) {
      const p = at();
      const s = process.hrtime.bigint();
      const view = await stateAt(store, p, { fill: false });
      for (const [, entries] of view.capture().kinds) for (const [, e] of entries) if (!e.object.metadata) throw new Error('no object');
      materialized.push(ms(s));
    }
    const fullFold: number[] = [];
    for (let i = 0; i < 8; i++) {
      const p = at();
      const s = process.hrtime.bigint();
      await stateAt(store, p, { snapshots: false });
      fullFold.push(ms(s));
    }
    rows.push(['state at a random position, from snapshots (300 positions)', `p50 **${percentile(withSnapshots, 50).toFixed(1)} ms**, p99 **${percentile(withSnapshots, 99).toFixed(1)} ms**, max ${Math.max(...withSnapshots).toFixed(1)} ms`]);
    rows.push(['the same, then every object of the state read (100 positions)', `p50 ${percentile(materialized, 50).toFixed(1)} ms, p99 ${percentile(materialized, 99).toFixed(1)} ms`]);
    rows.push(['state at a random position, full fold from the start (8 positions)', `p50 ${percentile(fullFold, 50).toFixed(0)} ms, p99 ${percentile(fullFold, 99).toFixed(0)} ms (${(percentile(fullFold, 50) / percentile(withSnapshots, 50)).toFixed(0)}× the snapshot p50)`]);

    // History of one object: the per-stream index reads only its events.
    const pods: number[] = [];
    const leases: number[] = [];
    for (let i = 0; i < 100; i++) {
      const podIndex = Math.floor(rnd() * (Number(head) / 8));
      let s = process.hrtime.bigint();
      await history(store, { kind: 'Pod', namespace: `ns-${podIndex % 50}`, name: `pod-${podIndex}` }).catch(() => undefined);
      pods.push(ms(s));
      s = process.hrtime.bigint();
      if (i < 20) {
        await history(store, { kind: 'Lease', namespace: 'kube-node-lease', name: `node-${i}` });
        leases.push(ms(s));
      }
    }
    const leaseEvents = (await history(store, { kind: 'Lease', namespace: 'kube-node-lease', name: 'node-0' })).length;
    rows.push(['history of one pod (4 events), 100 pods', `p50 **${percentile(pods, 50).toFixed(2)} ms**, p99 **${percentile(pods, 99).toFixed(2)} ms**`]);
    rows.push([`history of one node lease (${fmt(leaseEvents)} events, each diffed), 20 leases`, `p50 ${percentile(leases, 50).toFixed(0)} ms, p99 ${percentile(leases, 99).toFixed(0)} ms`]);

    t = process.hrtime.bigint();
    const v = verifyLog(store);
    const verifyS = seconds(t);
    if (v.firstBreak) throw new Error(`verify failed at ${v.firstBreak.position}`);
    rows.push(['verify: the whole hash chain', `${fmt(v.checked)} events in ${verifyS.toFixed(1)} s (${fmt(v.checked / verifyS)} events/s)`]);
    await store.close();
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const snapshotBytes = Number(db.prepare('SELECT sum(length(data)) FROM snapshots').pluck().get() ?? 0);
      const logBytes = Number(db.prepare('SELECT sum(length(data) + length(metadata)) FROM events').pluck().get() ?? 0);
      rows.splice(3, 0, ['snapshot storage', `${(snapshotBytes / 1e6).toFixed(0)} MB beside ${(logBytes / 1e6).toFixed(0)} MB of event payloads`]);
    } finally {
      db.close();
    }
    return rows;
  } finally {
    tmp.remove();
  }
}

/** A history recorded in the simulator: 20 hollow nodes, replication controllers scaled up and down. */
async function rerunBenchmark(target: number): Promise<Array<[string, string]>> {
  let t = process.hrtime.bigint();
  const sim = await Simulation.start({ start: '2026-11-27T10:00:00Z', idSeed: 11, nodes: 20 });
  try {
    const rc = (name: string, replicas: number) => ({ metadata: { name }, spec: { replicas, selector: { app: name }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx:1.27', resources: { requests: { cpu: '10m' } } }] } } } });
    for (let i = 0; i < 4; i++) await sim.call('POST', '/api/v1/namespaces/default/replicationcontrollers', rc(`web-${i}`, 5));
    const sizes = [40, 5, 25, 60, 10];
    for (let round = 0; (await sim.store.headPosition()) < BigInt(target); round++) {
      await sim.call('PATCH', `/api/v1/namespaces/default/replicationcontrollers/web-${round % 4}/scale`, { spec: { replicas: sizes[round % sizes.length] } }, 'application/merge-patch+json');
      await sim.advance(11_000);
    }
    const recordS = seconds(t);
    const head = await sim.store.headPosition();
    const points = await decisionPoints(sim.store);
    t = process.hrtime.bigint();
    const r = await rerun(sim.store);
    const rerunS = seconds(t);
    const byController = new Map<string, number>();
    for (const p of points) byController.set(p.controller.startsWith('kubelet-') ? 'kubelets' : p.controller, (byController.get(p.controller.startsWith('kubelet-') ? 'kubelets' : p.controller) ?? 0) + 1);
    return [
      ['history', `${fmt(Number(head))} events recorded in the simulator in ${recordS.toFixed(0)} s`],
      ['decision points', `${fmt(points.length)} (${[...byController].map(([c, n]) => `${c} ${fmt(n)}`).join(', ')})`],
      ['rerun of every decision with unchanged code', `${fmt(r.checked)} checked in ${rerunS.toFixed(1)} s: **${fmt(r.checked / rerunS)} decisions/s**, ${r.differences.length} differences`],
    ];
  } finally {
    await sim.close();
  }
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 1_000_000);
  const rerunEvents = Number(process.argv[3] ?? 100_000);
  if (total > 0) report(`State at any position, history and verify in a ${fmt(total)}-event cluster history`, await stateBenchmark(total));
  if (rerunEvents > 0) report(`Controller re-run over a ~${fmt(rerunEvents)}-event recorded history`, await rerunBenchmark(rerunEvents));
}

void main();
