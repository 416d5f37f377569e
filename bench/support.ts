/** Shared helpers for benchmarks: timing, temporary stores, synthetic pods. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../core/objects/codecs';

export const tmpDir = (): { dir: string; remove: () => void } => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kronicle-bench-'));
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
 * Writes a log of `pods` pods with `eventsPerPod` events each (a PodCreated, then PodUpdated
 * events carrying the full object, each about `bytes` of JSON) straight into a Kronicle SQLite
 * file, in large transactions: the layout and payloads the store writes, without the cost of a
 * million durable appends. Returns the number of events written.
 */
export async function seedSqliteLog(file: string, pods: number, eventsPerPod: number, bytes = 1024): Promise<number> {
  const { SqliteEventStore } = await import('../core/store/sqlite');
  const { encodeEvent } = await import('../core/events/types');
  const { uuidV7Source } = await import('../core/ids');
  const { default: Database } = await import('better-sqlite3');
  await (await SqliteEventStore.open({ file })).close();
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const ids = uuidV7Source();
  const insertStream = db.prepare('INSERT INTO streams (name) VALUES (?)');
  const insert = db.prepare('INSERT INTO events (id, stream, stream_id, revision, type, recorded_at, data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const write = { actor: { kind: 'user' as const, name: 'bench' }, requestId: 'bench' };
  const pod0 = Array.from({ length: pods }, (_, i) => syntheticPod(i, bytes));
  let n = 0;
  const streamIds: bigint[] = [];
  db.transaction(() => {
    for (let i = 0; i < pods; i++) {
      const m = pod0[i].metadata;
      streamIds.push(BigInt(insertStream.run(`Pod-${m.namespace}/${m.name}`).lastInsertRowid));
    }
  })();
  for (let round = 0; round < eventsPerPod; round++) {
    db.transaction(() => {
      for (let i = 0; i < pods; i++) {
        const base = pod0[i];
        const object = round === 0 ? base : { ...base, status: { ...(base.status as object), message: `round ${round}`, observed: round } };
        const e = encodeEvent({ type: round === 0 ? 'Created' : 'Updated', kind: 'Pod', object }, ids.uuid(), write);
        insert.run(e.id, `Pod-${base.metadata.namespace}/${base.metadata.name}`, streamIds[i], round, e.type, Date.now(), JSON.stringify(e.data), JSON.stringify(e.metadata));
        n++;
      }
    })();
  }
  db.close();
  return n;
}
