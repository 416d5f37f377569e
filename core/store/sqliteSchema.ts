/**
 * The SQLite log's layout, its connection settings and its migrations.
 */
import type Database from 'better-sqlite3';
import { StoreIncompatibleError } from './errors';
import { GENESIS_HASH, chainHash } from './chain';

/** Bumped when the table layout changes; older files are migrated on open, newer ones refused. */
export const SQLITE_SCHEMA_VERSION = 3;
export const APPLICATION_ID = 0x4b524e4c; // "KRNL"

/**
 * Settings for the store's writing connection. `synchronous=NORMAL` makes a commit write the WAL
 * without fsyncing it: the store fsyncs the WAL itself, off the event loop, before it
 * acknowledges anything (see sqlite.ts). No automatic checkpoints: they would run inside a
 * commit; a worker runs them (sqliteCheckpointer.ts). One process per log is the lock file's job.
 */
export function configure(db: Database.Database): void {
  db.defaultSafeIntegers(true);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('wal_autocheckpoint = 0');
  // After the WAL restarts, a file grown long under load is cut back to 64 MiB.
  db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
}

/**
 * The layout (version 3). `streams` gives each stream a small integer id, so the per-stream index
 * holds integers (cheap to insert at random) rather than names; `events.stream` keeps the name for
 * reads. `events.id` is unique (idempotent retries); `hash` is the chain (chain.ts).
 */
const STREAMS_TABLE = 'CREATE TABLE streams (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)';

const eventsTable = (name: string): string => `
  CREATE TABLE ${name} (
    position    INTEGER PRIMARY KEY,
    id          TEXT    NOT NULL UNIQUE,
    stream      TEXT    NOT NULL,
    stream_id   INTEGER NOT NULL REFERENCES streams (id),
    revision    INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    recorded_at INTEGER NOT NULL,
    data        TEXT    NOT NULL,
    metadata    TEXT    NOT NULL,
    hash        TEXT
  )`;

/** Snapshots of projection state: disposable, rebuilt from the log when missing. */
const SNAPSHOTS_TABLE = 'CREATE TABLE snapshots (position INTEGER PRIMARY KEY, schema INTEGER NOT NULL, created_at INTEGER NOT NULL, data BLOB NOT NULL)';

/**
 * The per-stream index, which the writer fills in bulk (sqliteWriter.ts) rather than at every
 * commit; `stream_events_upto` says which events it covers: those up to its position.
 */
const STREAM_EVENTS_TABLES = `
  CREATE TABLE stream_events (
    stream_id INTEGER NOT NULL,
    revision  INTEGER NOT NULL,
    position  INTEGER NOT NULL,
    PRIMARY KEY (stream_id, revision)
  ) WITHOUT ROWID;
  CREATE TABLE stream_events_upto (id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL)`;

export function migrate(db: Database.Database, file: string): void {
  const appId = Number(db.pragma('application_id', { simple: true }));
  const version = Number(db.pragma('user_version', { simple: true }));
  const tables = Number(db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'").pluck().get());
  if (appId !== APPLICATION_ID && (appId !== 0 || tables > 0)) {
    throw new StoreIncompatibleError(`${file} is an SQLite file but not a Kronicle log`);
  }
  if (version > SQLITE_SCHEMA_VERSION) {
    throw new StoreIncompatibleError(
      `${file} has log schema version ${version}; this Kronicle reads up to ${SQLITE_SCHEMA_VERSION}: upgrade Kronicle`,
    );
  }
  if (version === SQLITE_SCHEMA_VERSION) return;
  db.transaction(() => {
    if (version === 0) {
      // A new log: the current layout.
      db.exec(`${STREAMS_TABLE}; ${eventsTable('events')}; ${SNAPSHOTS_TABLE}; ${STREAM_EVENTS_TABLES}; INSERT INTO stream_events_upto VALUES (1, 0);`);
    }
    if (version === 1) {
      // 1 -> 2: the hash chain (chain.ts), computed for the events already there; and the
      // snapshots of projection state (disposable, rebuilt from the log when missing).
      db.exec(`ALTER TABLE events ADD COLUMN hash TEXT; ${SNAPSHOTS_TABLE};`);
      const update = db.prepare('UPDATE events SET hash = ? WHERE position = ?');
      const page = db.prepare('SELECT position, id, stream, revision, type, recorded_at, data, metadata FROM events WHERE position > ? ORDER BY position LIMIT 4096');
      let previous = GENESIS_HASH;
      for (let after = 0n; ; ) {
        const rows = page.all(after) as Array<Record<string, never>>;
        for (const r of rows) {
          previous = chainHash(previous, { position: r.position, id: r.id, stream: r.stream, revision: r.revision, type: r.type, recordedAt: r.recorded_at, data: r.data, metadata: r.metadata });
          update.run(previous, r.position);
        }
        if (rows.length < 4096) break;
        after = rows[rows.length - 1].position;
      }
    }
    if (version === 1 || version === 2) {
      // 2 -> 3: the per-stream index moves out of `events` (where it was UNIQUE (stream_id,
      // revision), which SQLite cannot drop but by rebuilding the table) into `stream_events`.
      db.exec(`
        ${eventsTable('events_v3')};
        INSERT INTO events_v3 SELECT position, id, stream, stream_id, revision, type, recorded_at, data, metadata, hash FROM events;
        DROP TABLE events;
        ALTER TABLE events_v3 RENAME TO events;
        ${STREAM_EVENTS_TABLES};
        INSERT INTO stream_events SELECT stream_id, revision, position FROM events;
        INSERT INTO stream_events_upto SELECT 1, coalesce(max(position), 0) FROM events;
      `);
    }
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
  })();
}
