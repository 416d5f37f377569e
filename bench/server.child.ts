/**
 * A Kronicle API server in its own process for the HTTP benchmarks: the SQLite store (durable,
 * as `kronicle serve` runs it) on the given file, a free loopback port. Prints `READY <url>`.
 *
 *   node dist-bench/bench/server.child.js <sqlite file> [<pki dir> <token file>]
 *
 * With a PKI directory and a token file, the secure port runs too: `READY <url> <ms> <secure url>`.
 */
import { startKronicle } from '../api/kronicle';
import { SqliteEventStore } from '../core/store/sqlite';

async function main(): Promise<void> {
  const store = await SqliteEventStore.open({ file: process.argv[2] });
  const started = process.hrtime.bigint();
  const [pkiDir, tokenAuthFile] = [process.argv[3], process.argv[4]];
  const kronicle = await startKronicle({ store, port: 0, log: () => undefined, ...(pkiDir && tokenAuthFile ? { secure: { port: 0, pkiDir, tokenAuthFile } } : {}) });
  const rebuildMs = Number(process.hrtime.bigint() - started) / 1e6;
  process.stdout.write(`READY ${kronicle.url} ${rebuildMs.toFixed(0)}${kronicle.secureUrl ? ` ${kronicle.secureUrl}` : ''}\n`);
  const stop = async () => {
    await kronicle.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

void main();
