/**
 * Secrets at rest: a Secret's values never appear in clear in the SQLite file (events, snapshots,
 * WAL), the API and replay read them back with the key, a reader without the key sees them
 * sealed, and exports show them redacted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startKronicle } from '../api/kronicle';
import { openStore } from '../core/store';
import { SqliteEventStore } from '../core/store/sqlite';
import { SEALED_FIELD } from '../core/store/encryption';
import { stateAt } from '../replay/history';
import { SNAPSHOT_SCHEMA } from '../projections/snapshot';
import { exportHistory } from '../replay/historyFile';
import { auditEvents } from '../replay/audit';
import { jsonCaller } from './support/http';
import { tempDir } from './support/tmp';

const VALUE = 'hunter2-very-secret';
const b64 = Buffer.from(VALUE).toString('base64');

/** Every file of the data directory, as bytes and as text. */
function grepDir(dir: string, needle: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .filter((f) => fs.readFileSync(path.join(dir, f)).includes(Buffer.from(needle)));
}

describe('Secrets encrypted at rest', () => {
  it('keeps them out of the SQLite file, and reads them back with the key only', async () => {
    // (Every server started here is closed in a finally: an open one would keep jest from exiting.)
    const tmp = tempDir();
    try {
      const store = await openStore('sqlite', tmp.dir, { createKey: true });
      const kronicle = await startKronicle({ store, port: 0 });
      const call = jsonCaller(() => kronicle.url);
      try {
        const secret = {
          metadata: { name: 'db', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ stringData: { password: VALUE } }) } },
          data: { password: b64 },
          stringData: { also: VALUE },
        };
        expect((await call('POST', '/api/v1/namespaces/default/secrets', secret)).status).toBe(201);
        expect((await call('PATCH', '/api/v1/namespaces/default/secrets/db', { data: { extra: b64 } }, 'application/merge-patch+json')).status).toBe(200);
        expect((await call('GET', '/api/v1/namespaces/default/secrets/db')).body.data.password).toBe(b64);
        // A snapshot of this moment, beside the log.
        await stateAt(store, await store.headPosition(), { snapshotEvery: 1 });
        expect((await store.snapshots!.snapshotPositions(SNAPSHOT_SCHEMA)).length).toBeGreaterThan(0);
        // Exports show the keys, not the values.
        const exported = (await exportHistory(store)).join('\n');
        expect(exported).not.toContain(VALUE);
        expect(exported).not.toContain(b64);
        expect(exported).toContain('"password":"<redacted>"');
        expect((await auditEvents(store)).join('\n')).not.toContain(b64);
        expect((await exportHistory(store, { includeSecrets: true })).join('\n')).toContain(b64);
      } finally {
        await kronicle.close();
        await store.close();
      }

      expect(grepDir(tmp.dir, VALUE)).toEqual([]);
      expect(grepDir(tmp.dir, b64)).toEqual([]);

      // Asked for with the key (the data directory's), from the command line: in clear.
      const out = path.join(tmp.dir, 'export', 'with-secrets.ndjson');
      fs.mkdirSync(path.dirname(out));
      const root = path.resolve(__dirname, '..');
      const { execFileSync } = await import('node:child_process');
      execFileSync(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'tests/fixtures/kronicleCli.ts', 'history', 'export', '--include-secrets', '--data-dir', tmp.dir, '--out', out], { cwd: root });
      expect(fs.readFileSync(out, 'utf8')).toContain(b64);
      fs.rmSync(path.dirname(out), { recursive: true });

      // Without the key: the objects are sealed.
      const raw = await SqliteEventStore.open({ file: path.join(tmp.dir, 'kronicle.db') });
      const sealed = (await raw.readAll({ maxCount: 10_000 })).filter((e) => e.stream === 'Secret-default/db');
      expect(sealed.length).toBeGreaterThanOrEqual(2);
      for (const e of sealed) expect((e.data as { object: Record<string, unknown> }).object[SEALED_FIELD]).toMatch(/^k8s:enc:aesgcm:v1:key1:/);
      await raw.close();

      // With it (the data directory's key), the server reads them back, from snapshot and log.
      const again = await openStore('sqlite', tmp.dir);
      const restarted = await startKronicle({ store: again, port: 0 });
      try {
        const got = await jsonCaller(() => restarted.url)('GET', '/api/v1/namespaces/default/secrets/db');
        expect(got.body.data).toMatchObject({ password: b64, extra: b64 });
        expect(got.body.stringData ?? got.body.data).toMatchObject({ also: expect.any(String) });
      } finally {
        await restarted.close();
        await again.close();
      }
    } finally {
      tmp.remove();
    }
  }, 30_000);

  it('takes a key from a Kubernetes EncryptionConfiguration', async () => {
    const tmp = tempDir();
    try {
      const key = Buffer.alloc(32, 7).toString('base64');
      const file = path.join(tmp.dir, 'enc.yaml');
      fs.writeFileSync(file, `apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - aesgcm:\n      keys:\n      - name: rotated\n        secret: ${key}\n  - identity: {}\n`);
      const store = await openStore('sqlite', tmp.dir, { encryptionKeyFile: file });
      await store.append('Secret-default/x', [{ id: '00000000-0000-4000-8000-000000000001', type: 'SecretCreated', data: { object: { kind: 'Secret', metadata: { name: 'x', namespace: 'default' }, data: { k: b64 } } }, metadata: { schemaVersion: 1, actor: { kind: 'user', name: 'u' } } }], 'no_stream');
      expect(((await store.readStream('Secret-default/x'))[0].data as { object: { data: { k: string } } }).object.data.k).toBe(b64);
      await store.close();
      const raw = await SqliteEventStore.open({ file: path.join(tmp.dir, 'kronicle.db') });
      expect(JSON.stringify((await raw.readStream('Secret-default/x'))[0].data)).toMatch(/k8s:enc:aesgcm:v1:rotated:/);
      await raw.close();
      fs.writeFileSync(file, 'not-a-key');
      await expect(openStore('sqlite', tmp.dir, { encryptionKeyFile: file })).rejects.toThrow(/AES-256-GCM takes 32/);
    } finally {
      tmp.remove();
    }
  });
});
