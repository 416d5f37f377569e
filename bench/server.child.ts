/**
 * A Kronicle API server in its own process for the HTTP benchmarks: the SQLite store (durable,
 * as `kronicle serve` runs it) on the given file, a free loopback port. Prints `READY <url>`.
 *
 *   node dist-bench/bench/server.child.js <sqlite file>
 */
import { startKronicle } from '../api/kronicle';
import { SqliteEventStore } from '../core/store/sqlite';

async function main(): Promise<void> {
  const store = await SqliteEventStore.open({ file: process.argv[2] });
  const started = process.hrtime.bigint();
  const kronicle = await startKronicle({ store, port: 0, log: () => undefined });
  const rebuildMs = Number(process.hrtime.bigint() - started) / 1e6;
  process.stdout.write(`READY ${kronicle.url} ${rebuildMs.toFixed(0)}\n`);
  const stop = async () => {
    await kronicle.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

void main();
