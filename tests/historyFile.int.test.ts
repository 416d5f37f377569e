/**
 * Histories as files and as regression tests: the recorded scenarios under
 * tests/fixtures/histories replay to their recorded state with today's code; a changed history
 * fails with the objects and fields that differ; bad files are refused clearly; export and import
 * round-trip through the server and the command line.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startKronicle, type RunningKronicle } from '../api/kronicle';
import { MemoryEventStore } from '../core/store/memory';
import { SqliteEventStore } from '../core/store/sqlite';
import { checkReplay, exportHistory, importHistory, parseHistory } from '../replay/historyFile';
import { why } from '../replay/history';
import { expectReplayToMatch } from './support/replay';
import { tempDir } from './support/tmp';

const root = path.resolve(__dirname, '..');
const fixtures = path.join(__dirname, 'fixtures/histories');

describe('recorded histories', () => {
  it.each(['rc-scale', 'service-endpoints'])('replays %s to its recorded state', async (name) => {
    await expectReplayToMatch(path.join(fixtures, `${name}.ndjson`));
  });

  it('fails with the differing objects and fields when a recorded event was changed', async () => {
    const tmp = tempDir();
    try {
      const lines = fs.readFileSync(path.join(fixtures, 'rc-scale.ndjson'), 'utf8').split('\n');
      // The last scale (to 1) recorded as a scale to 2.
      const i = lines.map((l) => l.includes('"type":"ReplicasScaled"')).lastIndexOf(true);
      lines[i] = lines[i].replace('"replicas":1', '"replicas":2');
      const file = path.join(tmp.dir, 'changed.ndjson');
      fs.writeFileSync(file, lines.join('\n'));
      await expect(expectReplayToMatch(file)).rejects.toThrow(/ReplicationController-default\/web:\n\s+replace \/spec\/replicas: recorded 1 → replayed 2/);
      expect(checkReplay(lines.join('\n')).mismatches.length).toBeGreaterThan(0);
    } finally {
      tmp.remove();
    }
  });

  it('refuses what is not a history, with the reason', () => {
    expect(() => parseHistory('hello')).toThrow('not a Kronicle history: too short');
    expect(() => parseHistory('{"format":"other"}\n{}')).toThrow('not a Kronicle history (format "other")');
    expect(() => parseHistory('{"format":"kronicle-history","version":9}\n{}')).toThrow('history format version 9 is not one this Kronicle reads (1)');
    const text = fs.readFileSync(path.join(fixtures, 'rc-scale.ndjson'), 'utf8').split('\n');
    expect(() => parseHistory(text.slice(0, 10).join('\n'))).toThrow(/no final state|announces/);
    expect(() => parseHistory([text[0], '{not json', text[text.length - 2]].join('\n'))).toThrow('line 2: not JSON');
  });

  it('imports into an empty store, where history and why work as on the original', async () => {
    const text = fs.readFileSync(path.join(fixtures, 'rc-scale.ndjson'), 'utf8');
    const store = new MemoryEventStore();
    expect(await importHistory(store, text)).toBe(parseHistory(text).events.length);
    const pods = parseHistory(text).events.filter((e) => e.type === 'PodBound').map((e) => e.stream.split('/')[1]);
    const chain = await why(store, { kind: 'Pod', namespace: 'default', name: pods[0] });
    // Back to a user's write (the create, or a scale that started this pod's end).
    expect(chain[chain.length - 1].actor).toBe('system:unsecured');
    expect(chain.length).toBeGreaterThan(2);
    await expect(importHistory(store, text)).rejects.toThrow('import into an empty store only');
    await store.close();
  });
});

describe('history export and import from the command line', () => {
  let store: MemoryEventStore;
  let kronicle: RunningKronicle;
  let tmp: { dir: string; remove: () => void };
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'tests/fixtures/kronicleCli.ts', ...args], { cwd: root }, (err, stdout, stderr) =>
        resolve({ code: (err as { code?: number } | null)?.code ?? 0, stdout, stderr }),
      ),
    );

  beforeAll(async () => {
    tmp = tempDir();
    store = new MemoryEventStore();
    kronicle = await startKronicle({ store, port: 0 });
    await fetch(`${kronicle.url}/api/v1/namespaces/default/pods`, { method: 'POST', body: JSON.stringify({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }] } }) });
  });

  afterAll(async () => {
    await kronicle.close();
    await store.close();
    tmp.remove();
  });

  it('exports the log through the server and imports it into a data directory', async () => {
    const file = path.join(tmp.dir, 'h.ndjson');
    const exported = await run(['history', 'export', '--server', kronicle.url, '--out', file]);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(/^kronicle: \d+ events written to /);
    expect(parseHistory(fs.readFileSync(file, 'utf8')).events).toHaveLength(Number(await store.headPosition()));
    const imported = await run(['history', 'import', file, '--data-dir', path.join(tmp.dir, 'copy')]);
    expect(imported.stdout).toMatch(/^kronicle: \d+ events imported into sqlite:/);
    const copy = await SqliteEventStore.open({ file: path.join(tmp.dir, 'copy', 'kronicle.db') });
    expect(await exportHistory(copy).then((l) => l.length)).toBe(fs.readFileSync(file, 'utf8').trim().split('\n').length);
    await copy.close();
    const bad = await run(['history', 'import', path.join(tmp.dir, 'missing.ndjson'), '--data-dir', path.join(tmp.dir, 'x')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^kronicle: cannot read .*missing\.ndjson/);
    const beyond = await run(['history', 'export', '--server', kronicle.url, '--to', '999999']);
    expect(beyond.code).toBe(1);
    expect(beyond.stderr).toMatch(/beyond the log's head/);
  }, 60_000);
});
