/**
 * The composition helper for stores: picks an adapter from a `--store` value. Only composition
 * roots (the CLI, tests, benchmarks) import this; the rest of core/ sees the port alone.
 */
import * as path from 'node:path';
import { EsdbEventStore } from './esdb';
import { MemoryEventStore } from './memory';
import { SqliteEventStore } from './sqlite';
import type { EventStore } from './port';

export { EsdbEventStore, MemoryEventStore, SqliteEventStore };

export const SQLITE_FILE_NAME = 'kronicle.db';

/** `sqlite` (the default, in the data directory), `memory`, or an `esdb://…` connection string. */
export async function openStore(spec: string, dataDir: string): Promise<EventStore> {
  if (spec === 'sqlite') return SqliteEventStore.open({ file: path.join(dataDir, SQLITE_FILE_NAME) });
  if (spec === 'memory') return new MemoryEventStore();
  if (/^esdb(\+discover)?:\/\//.test(spec)) return new EsdbEventStore({ connectionString: spec });
  throw new RangeError(`unknown store "${spec}": use sqlite, memory or an esdb:// connection string`);
}
