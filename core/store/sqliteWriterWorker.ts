/**
 * The worker thread that runs the SQLite log's writer (sqliteWriter.ts). Started by the store
 * (sqlite.ts); answers each request in order, on the same thread, so the log has one writer.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { configure } from './sqliteSchema';
import { SqliteWriter, type WriterReply, type WriterRequest } from './sqliteWriter';

const port = parentPort;
if (!port) throw new Error('sqliteWriterWorker runs on a worker thread');
const post = (reply: WriterReply): void => port.postMessage(reply);

const { file, description } = workerData as { file: string; description: string };
let db: Database.Database | undefined;
let writer: SqliteWriter | undefined;
try {
  db = new Database(file, { timeout: 10_000 });
  configure(db);
  writer = new SqliteWriter(db, description);
  post({ op: 'ready' });
} catch (err) {
  db?.close();
  post({ op: 'failed', message: (err as Error).message });
}

port.on('message', (m: WriterRequest) => {
  if (!db || !writer) return;
  switch (m.op) {
    case 'write':
      post({ op: 'written', seq: m.seq, outcomes: writer.write(m.appends, m.recordedAt), head: writer.head });
      return;
    case 'saveSnapshot':
    case 'dropSnapshots':
      try {
        const value = m.op === 'saveSnapshot' ? (writer.saveSnapshot(m.position, m.schema, m.createdAt, m.data), 0) : writer.dropSnapshotsExcept(m.schema);
        post({ op: 'done', seq: m.seq, value });
      } catch (err) {
        post({ op: 'done', seq: m.seq, error: (err as Error).message });
      }
      return;
    case 'close':
      db.close();
      db = undefined;
      port.close();
      return;
  }
});
