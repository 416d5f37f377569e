/**
 * Crash safety of the embedded store: a child process appends under load and reports each
 * acknowledgement; it is killed with SIGKILL at a random moment, ten times over the same data
 * directory. After each kill the log is reopened and checked: every acknowledged event is there
 * at its acknowledged place, no event is torn or partial, and a projection rebuilt from the log
 * matches the state read object by object.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import * as E from 'fp-ts/Either';
import { SqliteEventStore } from '../core/store/sqlite';
import { decodeEvent } from '../core/events/types';
import { loadFromStream } from '../core/shell';
import { parseStream } from '../core/events/streams';
import { ClusterProjection } from '../projections/cluster';
import { tempDir } from './support/tmp';

interface Ack {
  stream: string;
  revision: bigint;
  position: bigint;
  id: string;
}

function runUntilKilled(file: string, runId: number, killAfterMs: number): Promise<{ acks: Ack[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures/crashChild.ts'), file, String(runId)], {
      cwd: path.resolve(__dirname, '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      // Start the clock once the child is writing, so every run is killed mid-load.
      if (!timer && out.includes('ack ')) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal !== 'SIGKILL') return reject(new Error(`child exited on its own (${signal ?? _code}): ${stderr}`));
      const acks = out
        .split('\n')
        .filter((l) => l.startsWith('ack '))
        .map((l) => {
          const [, stream, revision, position, id] = l.split(' ');
          return { stream, revision: BigInt(revision), position: BigInt(position), id };
        });
      resolve({ acks, stderr });
    });
  });
}

describe('sqlite store under SIGKILL', () => {
  it('keeps every acknowledged event, tears none, and rebuilds the same projection, over 10 kills', async () => {
    const tmp = tempDir();
    const file = path.join(tmp.dir, 'kronicle.db');
    const allAcks: Ack[] = [];
    // A seeded sequence of kill delays, so a failure can be reproduced.
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let run = 0; run < 10; run++) {
      const { acks } = await runUntilKilled(file, run, 50 + Math.floor(random() * 700));
      expect(acks.length).toBeGreaterThan(0);
      allAcks.push(...acks);

      const store = await SqliteEventStore.open({ file });
      try {
        // Every acknowledged event, at the place it was acknowledged.
        for (const ack of allAcks) {
          const [e] = await store.readStream(ack.stream, { fromRevision: ack.revision, maxCount: 1 });
          expect(e?.id).toBe(ack.id);
          expect(e?.position).toBe(ack.position);
        }
        // Nothing torn: every event decodes, positions are contiguous row ids.
        const projection = new ClusterProjection();
        const head = await store.headPosition();
        let count = 0n;
        let from = 1n;
        for (;;) {
          const page = await store.readAll({ from, maxCount: 2048 });
          for (const e of page) {
            count++;
            expect(e.position).toBe(count);
            expect(E.isRight(decodeEvent(e))).toBe(true);
            projection.apply(e);
          }
          if (page.length < 2048) break;
          from = page[page.length - 1].position + 1n;
        }
        expect(count).toBe(head);
        expect(projection.decodeErrors).toBe(0);
        // The rebuilt projection matches each object's state folded from its own stream.
        const streams = new Set(allAcks.map((a) => a.stream));
        for (const stream of streams) {
          const key = parseStream(stream)!;
          const state = await loadFromStream(store, key);
          expect(projection.store('Pod').get(key.namespace, key.name)?.object).toEqual(state.object);
        }
      } finally {
        await store.close();
      }
    }
    expect(allAcks.length).toBeGreaterThan(100);
    tmp.remove();
  }, 180_000);
});
