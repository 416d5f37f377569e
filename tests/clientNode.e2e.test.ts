/**
 * @kubernetes/client-node 2.x against Kronicle: CRUD, errors as ApiExceptions with Status
 * bodies, and an informer that lists, watches, survives the client's 30-second idle re-watch
 * without missing or repeating an event, and relists after a 410. The client runs in its own
 * process (tests/clientNode/scenario.mts: client-node is ESM-only); this test reads its report.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');

interface Report {
  failed?: string;
  crud: Record<string, any>;
  events: string[];
  afterIdle: string[];
  watchesBeforeIdle: number;
  watchesAfterIdle: number;
  afterMove: string[];
  movedRequests: string[];
  errors: string[];
}

function runScenario(): Promise<Report> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'tests/clientNode/scenario.mts'], { cwd: root, timeout: 120_000, env: { ...process.env, IDLE_WAIT_MS: '35000' } }, (err, stdout, stderr) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as Report);
      } catch {
        reject(new Error(`no report from the scenario (${err?.message ?? 'exit 0'}):\n${stdout}\n${stderr}`));
      }
    });
  });
}

describe('@kubernetes/client-node against Kronicle', () => {
  let report: Report;
  beforeAll(async () => {
    report = await runScenario();
  }, 130_000);

  it('ran to the end', () => {
    expect(report.failed).toBeUndefined();
  });

  it('creates, reads, lists, replaces, patches (JSON patch and merge patch), binds, scales and deletes', () => {
    const c = report.crud;
    expect(c.created).toMatchObject({ name: 'crud', phase: 'Pending' });
    expect(c.readUidMatches).toBe(true);
    expect(c.listed).toEqual(['crud']);
    expect(c.replacedLabels).toEqual({ app: 'x', tier: 'web' });
    expect(c.jsonPatchAnnotations).toEqual({ by: 'json-patch' });
    expect(c.mergePatchLabels).toEqual({ app: 'x', tier: 'web', merged: 'yes' });
    expect(c.boundTo).toBe('n1');
    expect(c.scale).toEqual({ before: 1, after: 4, kind: 'Scale', rc: 4 });
  });

  it('surfaces Kubernetes’ Status in every ApiException', () => {
    const c = report.crud;
    expect(c.staleReplace).toMatchObject({ code: 409, reason: 'Conflict' });
    expect(c.alreadyExists).toEqual({ code: 409, reason: 'AlreadyExists', message: 'pods "crud" already exists' });
    expect(c.invalid).toEqual({ code: 422, reason: 'Invalid', message: 'Pod "bad" is invalid: spec.containers[0].image: Required value' });
    expect(c.afterDelete).toEqual({ code: 404, reason: 'NotFound', message: 'pods "crud" not found' });
  });

  it('keeps an informer exact across the client’s 30-second idle re-watch', () => {
    expect(report.events.slice(0, 2)).toEqual(['add a1', 'add a2']);
    expect(report.watchesAfterIdle).toBeGreaterThan(report.watchesBeforeIdle);
    expect(report.afterIdle).toEqual(['add a3', 'update a1 one', 'delete a2']);
    expect(report.errors).toEqual([]);
  });

  it('relists after a 410 from a server whose log cannot serve the informer’s resourceVersion', () => {
    expect(report.movedRequests[0]).toMatch(/watch=true&resourceVersion=\d+/);
    expect(report.movedRequests).toContain('GET /api/v1/namespaces/default/pods');
    expect([...report.afterMove].sort()).toEqual(['add b1', 'delete a1', 'delete a3']);
  });
});
