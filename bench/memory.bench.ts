/**
 * Memory held by projections: fold 100,000 pods (~1 KB of JSON each) into the cluster
 * projection and measure the heap it keeps (after a full GC), per object, beyond the objects'
 * own JSON size. Needs --expose-gc.
 *
 * Run: node --expose-gc dist-bench/bench/memory.bench.js [pods]
 */
import { randomUUID } from 'node:crypto';
import { ClusterProjection } from '../projections/cluster';
import { encodeEvent } from '../core/events/types';
import type { StoredEvent } from '../core/store/port';
import { fmt, report, syntheticPod } from './support';

const gc = (globalThis as { gc?: () => void }).gc;

function heapAfterGc(): number {
  if (!gc) throw new Error('run with --expose-gc');
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

function main(): void {
  const pods = Number(process.argv[2] ?? 100_000);
  const projection = new ClusterProjection();
  let jsonBytes = 0;
  const before = heapAfterGc();
  const rssBefore = process.memoryUsage().rss;
  for (let i = 0; i < pods; i++) {
    const object = syntheticPod(i, 1024);
    const e = encodeEvent({ type: 'Created', kind: 'Pod', object }, randomUUID(), { actor: { kind: 'user', name: 'bench' } });
    const text = JSON.stringify(e.data);
    jsonBytes += JSON.stringify(object).length;
    // As the store hands events over: freshly parsed from their stored text.
    const stored: StoredEvent = { id: e.id, type: e.type, stream: `Pod-${object.metadata.namespace}/${object.metadata.name}`, revision: 0n, position: BigInt(i + 1), recordedAt: new Date(), data: JSON.parse(text), metadata: JSON.parse(JSON.stringify(e.metadata)) };
    projection.apply(stored);
  }
  const after = heapAfterGc();
  const rssAfter = process.memoryUsage().rss;
  if (projection.store('Pod').size !== pods) throw new Error('fold result is wrong');
  const perObject = (after - before) / pods;
  const avgJson = jsonBytes / pods;
  report(`Memory of projections: ${fmt(pods)} pods folded`, [
    ['average JSON size of one pod', `${fmt(avgJson)} B`],
    ['heap held per pod (after full GC)', `${fmt(perObject)} B`],
    ['heap per pod beyond its JSON size', `**${fmt(perObject - avgJson)} B**`],
    ['resident set growth per pod (includes allocator slack)', `${fmt((rssAfter - rssBefore) / pods)} B`],
  ]);
}

main();
