/**
 * The API benchmarks of issue 3, each side in its own process:
 *  1. pod creates through HTTP, 64 concurrent clients, durable SQLite store — beside etcd 3.4
 *     (Debian's etcd-server, installed if missing, one member on loopback, fsync on) doing puts
 *     of the same payload size at the same concurrency through its JSON gateway, same load tool;
 *  2. watch fan-out: 1,000 watchers on one namespace, a stream of creates, latency from the
 *     request leaving the writer to its delivery at every watcher;
 *  3. a watch that starts 1,000,000 events in the past: time to first event, events/s.
 *
 * Run: npm run bench -- api   (or node dist-bench/bench/api.bench.js [creates] [etcd] [fanout] [deep])
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fmt, report, seedSqliteLog, tmpDir } from './support';

const CREATES = Number(process.env.BENCH_CREATES ?? 10_000);
const CLIENTS = 64;
const BYTES = 1024;
const DEEP_PODS = Number(process.env.BENCH_DEEP_PODS ?? 10_000);
const DEEP_EVENTS_PER_POD = Number(process.env.BENCH_DEEP_EVENTS_PER_POD ?? 100);

function loadgen(args: string[], env: Record<string, string> = {}): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'loadgen.js'), ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop() as string)) : reject(new Error(`loadgen ${args[0]} exited ${code}`))));
  });
}

async function kronicleServer(file: string, script = 'server.child.js', extra: string[] = []): Promise<{ url: string; rebuildMs: number; secureUrl?: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--max-old-space-size=8192', path.join(__dirname, script), file, ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\S+) (\d+)(?: (\S+))?\n/.exec(out);
      if (m) resolve({ url: m[1], rebuildMs: Number(m[2]), ...(m[3] ? { secureUrl: m[3] } : {}), child });
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
}

/** One JSON POST to the insecure port (setup). */
async function loadgenPost(base: string, p: string, body: unknown): Promise<void> {
  const r = await fetch(`${base}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (r.status >= 300) throw new Error(`${p}: ${r.status} ${await r.text()}`);
}

const stop = (child: ChildProcess) => new Promise<void>((resolve) => {
  if (child.exitCode !== null) return resolve();
  child.once('exit', () => resolve());
  child.kill('SIGTERM');
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });

function ensureEtcd(): string {
  const found = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  console.error('etcd is missing: installing Debian etcd-server');
  const r = spawnSync('sh', ['-c', 'apt-get install -y etcd-server >/dev/null 2>&1 || (apt-get update >/dev/null 2>&1 && apt-get install -y etcd-server >/dev/null 2>&1)'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('could not install etcd-server');
  return spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).stdout.trim();
}

async function etcdServer(dir: string): Promise<{ url: string; child: ChildProcess; version: string }> {
  const bin = ensureEtcd();
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const child = spawn(bin, [
    '--name', 'bench', '--data-dir', path.join(dir, 'etcd'),
    '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
    '--initial-cluster', `bench=http://127.0.0.1:${peer}`, '--log-level', 'error', '--quota-backend-bytes', String(8 * 1024 ** 3),
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok) return { url, child, version };
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('etcd did not start');
}

async function main(): Promise<void> {
  const which = new Set(process.argv.slice(2).length ? process.argv.slice(2) : ['creates', 'fanout', 'deep']);
  const tmp = tmpDir();
  const date = new Date().toISOString().slice(0, 10);
  try {
    if (which.has('creates')) {
      const echo = await kronicleServer('', 'echo.child.js');
      await loadgen(['creates', echo.url, '1000', String(CLIENTS), String(BYTES)]);
      const ceiling = await loadgen(['creates', echo.url, String(CREATES), String(CLIENTS), String(BYTES)]);
      await stop(echo.child);
      const k = await kronicleServer(path.join(tmp.dir, 'creates.db'));
      await loadgen(['creates', k.url, '1000', String(CLIENTS), String(BYTES)]);
      const kr = await loadgen(['creates', k.url, String(CREATES), String(CLIENTS), String(BYTES)]);
      await stop(k.child);
      const e = await etcdServer(tmp.dir);
      await loadgen(['etcdputs', e.url, '1000', String(CLIENTS), String(BYTES)]);
      const er = await loadgen(['etcdputs', e.url, String(CREATES), String(CLIENTS), String(BYTES)]);
      await stop(e.child);
      report(`Pod creates through HTTP vs etcd puts, ${CLIENTS} clients, ~${BYTES} B, durable (${date}, ${fmt(CREATES)} requests each)`, [
        ['Kronicle: POST pods (validation, admission, event append fsynced, projection)', `${fmt(kr.perSecond)}/s, p50 ${kr.p50.toFixed(1)} ms, p99 ${kr.p99.toFixed(1)} ms, ${kr.failed} failed`],
        [`etcd (${e.version}): v3 put via JSON gateway`, `${fmt(er.perSecond)}/s, p50 ${er.p50.toFixed(1)} ms, p99 ${er.p99.toFixed(1)} ms, ${er.failed} failed`],
        ['Kronicle ÷ etcd', `${(kr.perSecond / er.perSecond).toFixed(2)}× (target ≥ 1.0×)`],
        ['ceiling: express echo of the same body (parse, stringify, no store), same load tool', `${fmt(ceiling.perSecond)}/s, p50 ${ceiling.p50.toFixed(1)} ms, p99 ${ceiling.p99.toFixed(1)} ms`],
      ]);
    }
    if (which.has('secure')) {
      // Issue 6: the same creates over HTTPS with a token (authenticated, authorized by RBAC) and
      // on the insecure port, against one server, alternated so that drift hits both alike.
      const pki = path.join(tmp.dir, 'pki');
      const tokens = path.join(tmp.dir, 'tokens.csv');
      fs.writeFileSync(tokens, 'bench-admin-token,bench-admin,1,"system:masters"\nbench-rbac-token,bench-editor,2,"editors"\n');
      const k = await kronicleServer(path.join(tmp.dir, 'secure.db'), 'server.child.js', [pki, tokens]);
      const ca = { LOADGEN_CA: path.join(pki, 'ca.crt') };
      // bench-editor may create pods through a RoleBinding to edit: RBAC is evaluated on every request.
      await loadgenPost(k.url, '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', { metadata: { name: 'editors' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'editors' }] });
      await loadgen(['creates', k.url, '1000', String(CLIENTS), String(BYTES)]);
      await loadgen(['creates', k.secureUrl!, '1000', String(CLIENTS), String(BYTES)], { ...ca, LOADGEN_TOKEN: 'bench-rbac-token' });
      const runs: Record<string, Array<Record<string, number>>> = { insecure: [], rbac: [], masters: [] };
      for (let round = 0; round < 2; round++) {
        runs.insecure.push(await loadgen(['creates', k.url, String(CREATES / 2), String(CLIENTS), String(BYTES)]));
        runs.rbac.push(await loadgen(['creates', k.secureUrl!, String(CREATES / 2), String(CLIENTS), String(BYTES)], { ...ca, LOADGEN_TOKEN: 'bench-rbac-token' }));
        runs.masters.push(await loadgen(['creates', k.secureUrl!, String(CREATES / 2), String(CLIENTS), String(BYTES)], { ...ca, LOADGEN_TOKEN: 'bench-admin-token' }));
      }
      await stop(k.child);
      const rate = (rs: Array<Record<string, number>>) => rs.reduce((a, r) => a + r.perSecond, 0) / rs.length;
      const p99 = (rs: Array<Record<string, number>>) => Math.max(...rs.map((r) => r.p99));
      const failed = (rs: Array<Record<string, number>>) => rs.reduce((a, r) => a + r.failed, 0);
      report(`Pod creates over HTTPS with a token vs the insecure port, ${CLIENTS} clients, ~${BYTES} B, durable (${date}, ${fmt(CREATES)} requests each, two alternated rounds)`, [
        ['insecure port (HTTP, no authentication)', `${fmt(rate(runs.insecure))}/s, p99 ${p99(runs.insecure).toFixed(1)} ms, ${failed(runs.insecure)} failed`],
        ['secure port, token of a user allowed by a RoleBinding (RBAC evaluated)', `${fmt(rate(runs.rbac))}/s, p99 ${p99(runs.rbac).toFixed(1)} ms, ${failed(runs.rbac)} failed`],
        ['secure port, token of a system:masters user', `${fmt(rate(runs.masters))}/s, p99 ${p99(runs.masters).toFixed(1)} ms, ${failed(runs.masters)} failed`],
        ['HTTPS + token + RBAC ÷ insecure', `**${(rate(runs.rbac) / rate(runs.insecure)).toFixed(2)}×** (target ≥ 0.8×)`],
      ]);
    }
    if (which.has('fanout')) {
      const k = await kronicleServer(path.join(tmp.dir, 'fanout.db'));
      const r = await loadgen(['fanout', k.url, '1000', '200', '20']);
      await stop(k.child);
      report(`Watch fan-out: 1,000 watchers on one namespace, 200 creates at 20/s (${date})`, [
        ['delivered / expected', `${fmt(r.delivered)} / ${fmt(r.expected)}`],
        ['request sent → delivered, p50', `${r.p50.toFixed(1)} ms`],
        ['request sent → delivered, p99', `${r.p99.toFixed(1)} ms (target ≤ 100 ms)`],
        ['max', `${r.max.toFixed(1)} ms`],
      ]);
    }
    if (which.has('deep')) {
      const file = path.join(tmp.dir, 'deep.db');
      const n = await seedSqliteLog(file, DEEP_PODS, DEEP_EVENTS_PER_POD);
      const k = await kronicleServer(file);
      const r = await loadgen(['deepwatch', k.url, '1', String(n - 1)]);
      await stop(k.child);
      report(`A watch from ${fmt(n)} events in the past (${date}; ${fmt(DEEP_PODS)} pods × ${DEEP_EVENTS_PER_POD} events, ~1 KiB each)`, [
        ['server start (projections rebuilt from the log)', `${fmt(k.rebuildMs)} ms`],
        ['time to first event', `${r.firstEventMs.toFixed(0)} ms`],
        ['events streamed', `${fmt(r.events)} in ${r.seconds.toFixed(1)} s = ${fmt(r.perSecond)} events/s`],
      ]);
    }
  } finally {
    tmp.remove();
    fs.rmSync(tmp.dir, { recursive: true, force: true });
  }
}

void main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
