/**
 * Checkpoints of the SQLite log's WAL, on a thread of their own.
 *
 * A checkpoint copies the WAL's pages into the database file and fsyncs it. SQLite's automatic
 * checkpoints run inside some unlucky commit, on the event loop: about two thirds of commit time
 * under load, and a 60–70 ms stall each. Here a worker thread holds a second connection to the
 * file and runs PASSIVE checkpoints, which never block the writer. SQLite
 * restarts the WAL from its beginning at the first commit after a checkpoint has copied all of
 * it (and only then: the database file is fsynced before the WAL is reused, so nothing
 * acknowledged depends on pages not yet on disk) — the store arranges for that now and then
 * (see RESTART_FRAMES in sqlite.ts).
 *
 * The thread starts on the first checkpoint, so a store that writes little never starts one.
 * If it cannot start or dies, checkpoints run on the calling thread's connection instead.
 */
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** What `PRAGMA wal_checkpoint` reports: frames in the WAL, and how many are in the database file. */
export interface CheckpointResult {
  readonly busy: boolean;
  readonly log: number;
  readonly checkpointed: number;
}

// The thread's code, evaluated as CommonJS: the same whether Kronicle runs from TypeScript
// (tests, tsx) or compiled JavaScript.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: 10000 });
// NORMAL: the checkpoint fsyncs the WAL before copying and the database file after.
db.pragma('synchronous = NORMAL');
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ busy: r.busy !== 0, log: r.log, checkpointed: r.checkpointed });
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message) });
  }
});
`;

export class SqliteCheckpointer {
  private worker: Worker | undefined;
  private failed = false;
  private waiting: Array<{ resolve: (r: CheckpointResult) => void; reject: (e: Error) => void }> = [];

  constructor(
    private readonly file: string,
    /** A connection of the caller's, for checkpoints when the thread is unavailable. */
    private readonly db: Database.Database,
  ) {}

  /** One PASSIVE checkpoint; resolves when it is done. */
  run(): Promise<CheckpointResult> {
    const worker = this.ensureWorker();
    if (!worker) return Promise.resolve(this.runHere());
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      worker.postMessage('checkpoint');
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    await new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      // Kept alive until it has closed its connection.
      worker.ref();
      worker.postMessage('close');
    });
  }

  private runHere(): CheckpointResult {
    const [r] = this.db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number | bigint; log: number | bigint; checkpointed: number | bigint }>;
    return { busy: Number(r.busy) !== 0, log: Number(r.log), checkpointed: Number(r.checkpointed) };
  }

  private ensureWorker(): Worker | undefined {
    if (this.worker || this.failed) return this.worker;
    try {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file: this.file, driver: require.resolve('better-sqlite3') } });
      // The thread does not keep the process alive: the store's close() ends it.
      worker.unref();
      worker.on('message', (m: CheckpointResult | { error: string }) => {
        const next = this.waiting.shift();
        if (!next) return;
        if ('error' in m) next.reject(new Error(m.error));
        else next.resolve(m);
      });
      worker.on('error', (err) => this.giveUp(err));
      worker.on('exit', () => this.giveUp(new Error('checkpoint thread exited')));
      this.worker = worker;
    } catch {
      this.failed = true;
    }
    return this.worker;
  }

  /** The thread is gone: what it was doing is redone here, and so is everything after. */
  private giveUp(err: Error): void {
    if (this.worker === undefined && this.waiting.length === 0) return;
    this.worker = undefined;
    this.failed = true;
    for (const w of this.waiting.splice(0)) {
      try {
        w.resolve(this.runHere());
      } catch {
        w.reject(err);
      }
    }
  }
}
