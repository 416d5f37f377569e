/**
 * Full replay: folds a log of pod events (~1 KB each) from the SQLite file into the cluster
 * projection, beside JSON.parse of the same payloads alone, measured in the same run.
 *
 * Run: node --max-old-space-size=8192 --import tsx bench/replay.bench.ts [pods] [eventsPerPod]
 * (defaults: 100,000 pods × 10 events = 1,000,000 events)
 */
import * as path from 'node:path';
import { SqliteEventStore } from '../core/store/sqlite';
import { ClusterProjection } from '../projections/cluster';
import { fmt, report, seconds, seedSqliteLog, tmpDir } from './support';

async function main(): Promise<void> {
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
