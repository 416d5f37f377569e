/**
 * The composition helper for stores: picks an adapter from a `--store` value. Only composition
 * roots (the CLI, tests, benchmarks) import this; the rest of core/ sees the port alone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EncryptingEventStore, ensureEncryptionKeyFile, loadEncryptionKeys } from './encryption';
import { EsdbEventStore } from './esdb';
import { MemoryEventStore } from './memory';
import { SqliteEventStore } from './sqlite';
import type { EventStore } from './port';

export { EsdbEventStore, MemoryEventStore, SqliteEventStore };

export const SQLITE_FILE_NAME = 'kronicle.db';

export const ENCRYPTION_KEY_FILE = 'encryption.key';

export interface OpenOptions {
  /** The Secrets key (an EncryptionConfiguration, or a base64 key); default `<dataDir>/encryption.key`. */
  readonly encryptionKeyFile?: string;
  /** Make the data directory's key when there is none (the server does; readers only use one that exists). */
  readonly createKey?: boolean;
}

/**
 * `sqlite` (the default, in the data directory), `memory`, or an `esdb://…` connection string.
 * A persistent store is wrapped so that Secrets are encrypted at rest (encryption.ts).
 */
export async function openStore(spec: string, dataDir: string, options: OpenOptions = {}): Promise<EventStore> {
  let store: EventStore;
  if (spec === 'sqlite') store = await SqliteEventStore.open({ file: path.join(dataDir, SQLITE_FILE_NAME) });
  else if (spec === 'memory') return new MemoryEventStore();
  else if (/^esdb(\+discover)?:\/\//.test(spec)) store = new EsdbEventStore({ connectionString: spec });
  else throw new RangeError(`unknown store "${spec}": use sqlite, memory or an esdb:// connection string`);
  const keyFile = options.encryptionKeyFile ?? path.join(dataDir, ENCRYPTION_KEY_FILE);
  if (options.encryptionKeyFile === undefined && !options.createKey && !fs.existsSync(keyFile)) return store;
  try {
    const keys = options.createKey && options.encryptionKeyFile === undefined ? ensureEncryptionKeyFile(keyFile) : loadEncryptionKeys(keyFile);
    return new EncryptingEventStore(store, keys);
  } catch (err) {
    await store.close();
    throw err;
  }
}
