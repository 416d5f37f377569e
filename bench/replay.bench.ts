/**
 * Full replay: folds a log of pod events (~1 KB each) from the SQLite file into the cluster
 * projection, beside JSON.parse of the same payloads alone, measured in the same run.
 *
 * Run: node --max-old-space-size=8192 --import tsx bench/replay.bench.ts [pods] [eventsPerPod]
 * (defaults: 100,000 pods × 10 events = 1,000,000 events), or `… replay.bench.ts threshold`: folds
 * of the first 10,000 to 100,000 events of a log, on one thread and with the decode thread
 * (where DECODE_THREAD_MIN comes from).
 */
import * as path from 'node:path';
import { SqliteEventStore } from '../core/store/sqlite';
import { ClusterProjection } from '../projections/cluster';
import { fmt, report, seconds, seedSqliteLog, tmpDir } from './support';

/** Folds of the first N events, each way twice, alternated: where the decode thread starts to pay. */
async function threshold(): Promise<void> {
  const tmp = tmpDir();
  try {
    const file = path.join(tmp.dir, 'kronicle.db');
    await seedSqliteLog(file, 10_000, 10);
    const store = await SqliteEventStore.open({ file });
    const rows: Array<[string, string]> = [];
    for (const n of [10_000n, 20_000n, 50_000n, 100_000n]) {
      const ms: Record<string, string[]> = { never: [], always: [] };
      for (const mode of ['never', 'always', 'never', 'always'] as const) {
        // 'always' with a zero minimum behaves as 'auto' does past the minimum.
        const projection = new ClusterProjection({ decodeThread: mode === 'never' ? 'never' : 'auto', decodeThreadMin: 0n });
        const t = process.hrtime.bigint();
        await projection.foldRange(store, n);
        for (const [, s] of projection.store('Pod').entries()) void s.object;
        ms[mode].push((seconds(t) * 1000).toFixed(0));
      }
      rows.push([`first ${fmt(Number(n))} events`, `one thread ${ms.never.join(' · ')} ms; decode thread ${ms.always.join(' · ')} ms`]);
    }
    await store.close();
    report('Folds of part of a log: one thread vs the decode thread', rows);
  } finally {
    tmp.remove();
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === 'threshold') return threshold();
  const pods = Number(process.argv[2] ?? 100_000);
  const perPod = Number(process.argv[3] ?? 10);
  const tmp = tmpDir();
  try {
    const file = path.join(tmp.dir, 'kronicle.db');
    let t = process.hrtime.bigint();
    const total = await seedSqliteLog(file, pods, perPod);
    const seedSeconds = seconds(t);
    const store = await SqliteEventStore.open({ file });

    // Baseline: JSON.parse of the same payloads alone (strings read in chunks, parse timed alone).
    let parseNs = 0n;
    let bytes = 0;
    let chunk: string[] = [];
    const parseChunk = () => {
      const s = process.hrtime.bigint();
      for (const text of chunk) JSON.parse(text);
      parseNs += process.hrtime.bigint() - s;
      chunk = [];
    };
    for (const row of store.rawEvents(0n)) {
      chunk.push(row.data);
      bytes += row.data.length;
      if (chunk.length === 10_000) parseChunk();
    }
    parseChunk();
    const parseRate = total / (Number(parseNs) / 1e9);

    // Reading the rows and parsing payload and metadata: the floor of any replay from this file.
    t = process.hrtime.bigint();
    for (const row of store.rawEvents(0n)) {
      JSON.parse(row.data);
      JSON.parse(row.metadata);
    }
    const readRate = total / seconds(t);

    // The fold: the projection's own code path from the log, as `serve` and `replay` run it
    // (foldRange: pages read through the port, each event applied). The indexes are built on the
    // first question that needs one (ObjectStore): one such question is asked inside the timed part.
    // Twice: as it runs (decoding on a second thread: projections/decodeThread.ts), and on the
    // calling thread alone. Every object is read at the end, so deferred parsing is paid in full.
    const fold = async (decodeThread: 'auto' | 'never'): Promise<number> => {
      const projection = new ClusterProjection({ decodeThread });
      const t0 = process.hrtime.bigint();
      await projection.foldRange(store);
      const someNamespace = projection.store('Pod').list({ namespace: 'ns-0' }, false).length;
      let names = 0;
      for (const [, s] of projection.store('Pod').entries()) names += s.object.metadata.name?.length ?? 0;
      const rate = total / seconds(t0);
      if (someNamespace === 0 || names === 0) throw new Error('no pods');
      if (projection.store('Pod').size !== pods || projection.decodeErrors !== 0) throw new Error('fold result is wrong');
      return rate;
    };
    const oneThreadRate = await fold('never');
    const foldRate = await fold('auto');
    await store.close();

    report(`Full replay of ${fmt(total)} pod events (avg ${Math.round(bytes / total)} B payload) from SQLite`, [
      ['JSON.parse of the payloads alone (in memory)', `${fmt(parseRate)} events/s`],
      ['read rows + JSON.parse payload and metadata', `${fmt(readRate)} events/s (${(readRate / parseRate).toFixed(2)}×)`],
      ['fold into projections, on one thread (decode, upcast, evolve; indexes built once)', `${fmt(oneThreadRate)} events/s (${(oneThreadRate / parseRate).toFixed(2)}×)`],
      ['fold into projections, decoding on a second thread (as foldRange runs)', `${fmt(foldRate)} events/s (**${(foldRate / parseRate).toFixed(2)}×** the JSON.parse-only rate)`],
      ['(seeding the log)', `${seedSeconds.toFixed(1)} s`],
    ]);
  } finally {
    tmp.remove();
  }
}

void main();
