/** Shared helpers for benchmarks: timing, temporary stores, synthetic pods. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import type { KubeObject } from '../core/objects/codecs';
import { GENESIS_HASH, chainHash } from '../core/store/chain';
import { SqliteEventStore } from '../core/store/sqlite';
import { encodeEvent } from '../core/events/types';
import { uuidV7Source } from '../core/ids';
import type { EventToAppend } from '../core/store/port';

type BetterSqlite = Database.Database;

export const tmpDir = (parent = os.tmpdir()): { dir: string; remove: () => void } => {
  const dir = fs.mkdtempSync(path.join(parent, 'kronicle-bench-'));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
};

export const seconds = (startNs: bigint): number => Number(process.hrtime.bigint() - startNs) / 1e9;

export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** A pod of about `bytes` of JSON, shaped like a real one (labels, resources, env, probes). */
export function syntheticPod(i: number, bytes = 1024): KubeObject {
  const base: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `pod-${i}`,
      namespace: `ns-${i % 50}`,
      uid: randomUUID(),
      labels: { app: `app-${i % 200}`, tier: i % 2 ? 'front' : 'back', 'pod-template-hash': `h${i % 1000}` },
      creationTimestamp: '2026-11-27T10:00:00Z',
      generation: 1,
    },
    spec: {
      containers: [
        {
          name: 'main',
          image: 'registry.example.com/team/app:1.2.3',
          ports: [{ containerPort: 8080, name: 'http', protocol: 'TCP' }],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
          env: [{ name: 'PAD', value: '' }],
          readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 10 },
        },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      nodeName: `node-${i % 100}`,
    },
    status: { phase: 'Running', podIP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, hostIP: '192.168.0.1' },
  };
  const pad = Math.max(0, bytes - JSON.stringify(base).length);
  ((base.spec as { containers: Array<{ env: Array<{ value: string }> }> }).containers[0].env[0]).value = 'x'.repeat(pad);
  return base;
}

/** A results line for docs/BENCHMARKS.md. */
export function report(title: string, rows: Array<[string, string]>): void {
  console.log(`\n### ${title}\n`);
  console.log('| measure | value |\n| --- | --- |');
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
}

/**
 * Writes events straight into a Kronicle SQLite file, in large transactions, with the positions,
 * stream ids, revisions and hash chain the store itself would write: the layout and payloads of a
 * real log, without the cost of a million durable appends.
 */
export class SeedWriter {
  private readonly streamIds = new Map<string, { id: bigint; revision: bigint }>();
  private readonly pending: Array<[string, EventToAppend, number]> = [];
  private tip = { position: 0n, hash: GENESIS_HASH };
  written = 0;

  get pendingCount(): number {
    return this.pending.length;
  }

  private constructor(private readonly db: BetterSqlite) {}

  static async open(file: string): Promise<SeedWriter> {
    await (await SqliteEventStore.open({ file })).close();
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF');
    db.defaultSafeIntegers(true);
    return new SeedWriter(db);
  }

  add(stream: string, event: EventToAppend, recordedAtMs: number): void {
    this.pending.push([stream, event, recordedAtMs]);
    if (this.pending.length >= 20_000) this.flush();
  }

  flush(): void {
    const insertStream = this.db.prepare('INSERT INTO streams (name) VALUES (?)');
    const insert = this.db.prepare('INSERT INTO events (position, id, stream, stream_id, revision, type, recorded_at, data, metadata, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    // The per-stream index, kept complete (as the store's writer leaves it after a bulk insert).
    const index = this.db.prepare('INSERT INTO stream_events (stream_id, revision, position) VALUES (?, ?, ?)');
    const indexedUpTo = this.db.prepare('UPDATE stream_events_upto SET position = ? WHERE id = 1');
    this.db.transaction(() => {
      for (const [stream, e, at] of this.pending.splice(0)) {
        let s = this.streamIds.get(stream);
        if (!s) this.streamIds.set(stream, (s = { id: BigInt(insertStream.run(stream).lastInsertRowid), revision: -1n }));
        s.revision++;
        const row = { position: this.tip.position + 1n, id: e.id, stream, revision: s.revision, type: e.type, recordedAt: BigInt(at), data: JSON.stringify(e.data), metadata: JSON.stringify(e.metadata) };
        const hash = chainHash(this.tip.hash, row);
        insert.run(row.position, row.id, stream, s.id, row.revision, row.type, row.recordedAt, row.data, row.metadata, hash);
        index.run(s.id, row.revision, row.position);
        this.tip = { position: row.position, hash };
        this.written++;
      }
      indexedUpTo.run(this.tip.position);
    })();
  }

  close(): number {
    this.flush();
    this.db.close();
    return this.written;
  }
}

/**
 * Writes a log of `pods` pods with `eventsPerPod` events each (a PodCreated, then PodUpdated
 * events carrying the full object, each about `bytes` of JSON). Returns the number of events.
 */
export async function seedSqliteLog(file: string, pods: number, eventsPerPod: number, bytes = 1024): Promise<number> {
  const writer = await SeedWriter.open(file);
  const ids = uuidV7Source();
  const write = { actor: { kind: 'user' as const, name: 'bench' }, requestId: 'bench' };
  const pod0 = Array.from({ length: pods }, (_, i) => syntheticPod(i, bytes));
  for (let round = 0; round < eventsPerPod; round++) {
    for (let i = 0; i < pods; i++) {
      const base = pod0[i];
      const object = round === 0 ? base : { ...base, status: { ...(base.status as object), message: `round ${round}`, observed: round } };
      writer.add(`Pod-${base.metadata.namespace}/${base.metadata.name}`, encodeEvent({ type: round === 0 ? 'Created' : 'Updated', kind: 'Pod', object }, ids.uuid(), write), Date.now());
    }
  }
  return writer.close();
}
