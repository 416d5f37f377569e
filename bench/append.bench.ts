/**
 * Durable single-event appends, 1 and 64 concurrent appenders:
 *  - the sqlite store (group commit), beside the floor measured in the same run: raw
 *    better-sqlite3 inserts of the same bytes, one synchronous (fsynced) transaction per event;
 *  - the esdb adapter through the in-process EventStoreDB stand-in, to size the gRPC path.
 *
 * 64 appenders on sqlite: the first run on the fresh log (its WAL still growing: every fsync also
 * journals the file's new size), then RUNS more on the same store — a running server's steady
 * state, the WAL at its working size — reported each and as their median, with the event loop's
 * utilisation (how much of the run the loop was busy: near 1, the loop's CPU is the limit).
 * Then 64 appenders over 20,000 streams in random order (heartbeats and status updates of many
 * objects): the pattern whose per-stream index pages a commit touches the most.
 * Then, where there is one, the same 64-appender runs with the log in memory (tmpfs, /dev/shm):
 * every fsync instant and every write a copy, so the rate is what the CPU allows — the ceiling
 * the disk's cost is measured against.
 *
 * Run: npx tsx bench/append.bench.ts [eventsPerRun]
 */
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { uuidV7Source } from '../core/ids';
import { SqliteEventStore } from '../core/store/sqlite';
import { EsdbEventStore } from '../core/store/esdb';
import type { EventStore, EventToAppend, JsonValue } from '../core/store/port';
import { EsdbStandIn } from '../tests/esdb/standIn';
import { fmt, report, seconds, syntheticPod, tmpDir } from './support';

const N = Number(process.argv[2] ?? 20_000);
const payload = { object: syntheticPod(1, 1024) } as unknown as JsonValue;
// Kronicle's own event ids (time-ordered UUIDv7), as the command shell makes them.
const ids = uuidV7Source();
const metadata = { schemaVersion: 1, actor: { kind: 'user', name: 'bench' } };
const event = (): EventToAppend => ({ id: ids.uuid(), type: 'PodUpdated', data: payload, metadata });

const RUNS = 5;

/** Events/s, and the event loop's utilisation over the run. */
async function appendRun(
  store: EventStore,
  appenders: number,
  total: number,
  stream: (appender: number, i: number) => string = (a, i) => `Pod-bench/a${a}-${i % 100}`,
): Promise<{ rate: number; elu: number }> {
  const per = Math.ceil(total / appenders);
  const before = performance.eventLoopUtilization();
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: appenders }, async (_, a) => {
      for (let i = 0; i < per; i++) await store.append(stream(a, i), [event()], 'any');
    }),
  );
  return { rate: (per * appenders) / seconds(start), elu: performance.eventLoopUtilization(before).utilization };
}

const appendRate = async (store: EventStore, appenders: number, total: number): Promise<number> => (await appendRun(store, appenders, total)).rate;

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Streams written in random order, as heartbeats and status updates of many objects are. */
const RANDOM_STREAMS = 20_000;

/**
 * 64 appenders, each append to one of RANDOM_STREAMS streams picked at random (seeded): every
 * stream created first, a warm-up, then three runs. Returns their rates.
 */
async function randomStreamRuns(file: string, total: number): Promise<Array<{ rate: number; elu: number }>> {
  const store = await SqliteEventStore.open({ file });
  let seed = 12345;
  const random = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % RANDOM_STREAMS;
  const lease = (n: number) => `Lease-kube-node-lease/node-${n}`;
  let created = 0;
  await appendRun(store, 64, RANDOM_STREAMS, () => lease(created++ % RANDOM_STREAMS));
  await appendRun(store, 64, total, () => lease(random()));
  const runs: Array<{ rate: number; elu: number }> = [];
  for (let r = 0; r < 3; r++) runs.push(await appendRun(store, 64, total, () => lease(random())));
  await store.close();
  return runs;
}

/** A first run on a fresh log, then RUNS more on the same store. */
async function steadyRuns(file: string): Promise<{ cold: { rate: number; elu: number }; steady: Array<{ rate: number; elu: number }> }> {
  const store = await SqliteEventStore.open({ file });
  const cold = await appendRun(store, 64, N);
  const steady: Array<{ rate: number; elu: number }> = [];
  for (let r = 0; r < RUNS; r++) steady.push(await appendRun(store, 64, N));
  await store.close();
  return { cold, steady };
}

/** The 64-appender runs with the log on tmpfs, where this machine has one. */
async function inMemoryRuns(): Promise<Array<{ rate: number; elu: number }> | undefined> {
  if (!fs.existsSync('/dev/shm')) return undefined;
  const tmp = tmpDir('/dev/shm');
  try {
    return (await steadyRuns(path.join(tmp.dir, 'kronicle.db'))).steady;
  } finally {
    tmp.remove();
  }
}

function rawFloor(file: string, total: number): number {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE events (position INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, stream TEXT NOT NULL, revision INTEGER NOT NULL, type TEXT NOT NULL, recorded_at INTEGER NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL, UNIQUE (stream, revision))');
  const insert = db.prepare('INSERT INTO events (id, stream, revision, type, recorded_at, data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const one = db.transaction((i: number) => insert.run(randomUUID(), `Pod-bench/p${i}`, 0, 'PodUpdated', Date.now(), JSON.stringify(payload), JSON.stringify(metadata)));
  const start = process.hrtime.bigint();
  for (let i = 0; i < total; i++) one(i);
  const rate = total / seconds(start);
  db.close();
  return rate;
}

async function main(): Promise<void> {
  const tmp = tmpDir();
  try {
    const floor = rawFloor(path.join(tmp.dir, 'raw.db'), Math.min(N, 5000));
    const one = await SqliteEventStore.open({ file: path.join(tmp.dir, 'one.db') });
    const s1 = await appendRate(one, 1, Math.min(N, 5000));
    await one.close();
    const { cold, steady } = await steadyRuns(path.join(tmp.dir, 'kronicle.db'));
    const s64 = median(steady.map((r) => r.rate));
    const randomRuns = await randomStreamRuns(path.join(tmp.dir, 'random.db'), N);
    const memoryRuns = await inMemoryRuns();
    const memoryRate = memoryRuns && median(memoryRuns.map((r) => r.rate));
    const runs = (rs: ReadonlyArray<{ rate: number; elu: number }>) => rs.map((r) => `${fmt(r.rate)} (loop ${r.elu.toFixed(2)})`).join(' · ');

    const server = new EsdbStandIn();
    await server.start();
    const esdb = new EsdbEventStore({ connectionString: server.connectionString });
    const e1 = await appendRate(esdb, 1, Math.min(N, 2000));
    const e64 = await appendRate(esdb, 64, Math.min(N, 10_000));
    await esdb.close();
    await server.stop();

    report(`Durable appends, ~1 KiB events (${new Date().toISOString().slice(0, 10)}, ${N} events per 64-appender run)`, [
      ['floor: raw better-sqlite3, one fsynced transaction per event', `${fmt(floor)} events/s`],
      ['sqlite store, 1 appender', `${fmt(s1)} events/s (${(s1 / floor).toFixed(2)}× floor)`],
      ['sqlite store, 64 appenders (group commit), first run on the fresh log', `${runs([cold])} events/s`],
      [`sqlite store, 64 appenders, ${RUNS} runs after it`, `${runs(steady)} events/s`],
      ['sqlite store, 64 appenders (group commit): median of those runs', `**${fmt(s64)} events/s** (${(s64 / floor).toFixed(2)}× floor)`],
      [`sqlite store, 64 appenders over ${fmt(RANDOM_STREAMS)} streams in random order, 3 runs after a warm-up`, `${runs(randomRuns)} events/s`],
      ...(memoryRuns && memoryRate
        ? [
            [`the same ${RUNS} runs with the log on tmpfs (no disk: the CPU's ceiling)`, `${runs(memoryRuns)} events/s`] as [string, string],
            ['tmpfs: median', `**${fmt(memoryRate)} events/s** (the disk costs ${Math.round(100 * (1 - s64 / memoryRate))} %)`] as [string, string],
          ]
        : []),
      ['esdb adapter → in-process stand-in, 1 appender', `${fmt(e1)} events/s`],
      ['esdb adapter → in-process stand-in, 64 appenders', `${fmt(e64)} events/s`],
    ]);
  } finally {
    tmp.remove();
  }
}

void main();
