import * as path from 'node:path';
import { SqliteEventStore } from '../core/store/sqlite';
import { SNAPSHOT_SCHEMA, decodeSnapshot } from '../projections/snapshot';
import { stateAt } from '../replay/history';
import { tmpDir } from './support';
import { seedClusterForProfile } from './prof2.tmp';
(async () => {
  const tmp = tmpDir();
  const file = path.join(tmp.dir, 'k.db');
  await seedClusterForProfile(file, 300_000);
  const store = await SqliteEventStore.open({ file });
  const head = await store.headPosition();
  await stateAt(store, head);
  const ms = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e6;
  const samples: Array<{ total: number; loadRow: number; decode: number; read: number; apply: number; n: number }> = [];
  for (let i = 0; i < 300; i++) {
    const p = 1n + BigInt(Math.floor(Math.random() * Number(head)));
    const t0 = process.hrtime.bigint();
    let t = process.hrtime.bigint();
    const s = await store.snapshots.loadSnapshot(p, SNAPSHOT_SCHEMA); const loadRow = ms(t);
    t = process.hrtime.bigint();
    const v = decodeSnapshot(s!); const decode = ms(t);
    t = process.hrtime.bigint();
    const page = await store.readAll({ from: v.position + 1n, to: p, maxCount: 4096 }); const read = ms(t);
    t = process.hrtime.bigint();
    for (const e of page) v.apply(e); const apply = ms(t);
    samples.push({ total: ms(t0), loadRow, decode, read, apply, n: page.length });
  }
  samples.sort((a, b) => b.total - a.total);
  console.log("worst", samples.slice(0, 8).map((x) => x.total.toFixed(1)).join(" "));
  console.log('p50', samples[150].total.toFixed(1));
  await store.close(); tmp.remove();
})();
