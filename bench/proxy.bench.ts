/**
 * kube-proxy forwarding (issue 6): GETs to a pod's HTTP server through a hollow node's kube-proxy
 * (the NodePort on the node's address) beside the same GETs straight to the pod's IP, same run,
 * the load in its own process (bench/loadgen.ts, keep-alive connections).
 *
 * Run: npx tsc -p tsconfig.bench.json && node dist-bench/bench/proxy.bench.js [requests] [clients]
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { startKronicle } from '../api/kronicle';
import { MemoryEventStore } from '../core/store/memory';
import { fmt, report } from './support';

function loadgen(args: string[]): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'loadgen.js'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop() as string)) : reject(new Error(`loadgen exited ${code}`))));
  });
}

async function main(): Promise<void> {
  const requests = Number(process.argv[2] ?? 20_000);
  const clients = Number(process.argv[3] ?? 16);
  const store = new MemoryEventStore();
  const k = await startKronicle({ store, port: 0, nodes: 1, servePods: true, log: () => undefined });
  const call = async (method: string, p: string, body: unknown) => {
    const r = await fetch(`${k.url}${p}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (r.status >= 300) throw new Error(`${p}: ${r.status} ${await r.text()}`);
    return r.json() as Promise<Record<string, any>>;
  };
  try {
    await call('POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'web', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 9999 }] }] } });
    await call('POST', '/api/v1/namespaces/default/services', { metadata: { name: 'web' }, spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 8080, targetPort: 9999 }] } });
    let podIP = '';
    let nodePort: number | undefined;
    for (let i = 0; i < 100 && !(podIP && nodePort); i++) {
      await new Promise((r) => setTimeout(r, 100));
      const pod = await (await fetch(`${k.url}/api/v1/namespaces/default/pods/web`)).json() as { status?: { phase?: string; podIP?: string } };
      const eps = await (await fetch(`${k.url}/api/v1/namespaces/default/endpoints/web`)).json() as { subsets?: unknown[] };
      if (pod.status?.phase === 'Running' && (eps.subsets ?? []).length > 0) podIP = pod.status.podIP as string;
      // The service controller allocates the nodePort after the create.
      nodePort = ((await (await fetch(`${k.url}/api/v1/namespaces/default/services/web`)).json()) as { spec: { ports: Array<{ nodePort?: number }> } }).spec.ports[0].nodePort;
    }
    if (!podIP || !nodePort) throw new Error('the pod did not run, or the service has no nodePort');
    const direct = `http://${podIP}:9999/`;
    const viaProxy = `http://${k.kubelets[0].address}:${nodePort}/`;
    await loadgen(['gets', direct, '2000', String(clients)]);
    await loadgen(['gets', viaProxy, '2000', String(clients)]);
    const runs: Record<string, Array<Record<string, number>>> = { direct: [], proxy: [] };
    for (let round = 0; round < 2; round++) {
      runs.direct.push(await loadgen(['gets', direct, String(requests / 2), String(clients)]));
      runs.proxy.push(await loadgen(['gets', viaProxy, String(requests / 2), String(clients)]));
    }
    const rate = (rs: Array<Record<string, number>>) => rs.reduce((a, r) => a + r.perSecond, 0) / rs.length;
    const p50 = (rs: Array<Record<string, number>>) => rs.reduce((a, r) => a + r.p50, 0) / rs.length;
    const p99 = (rs: Array<Record<string, number>>) => Math.max(...rs.map((r) => r.p99));
    report(`kube-proxy forwarding: GETs to a pod, ${clients} keep-alive clients, ${fmt(requests)} requests each way, two alternated rounds`, [
      [`straight to the pod (${direct})`, `${fmt(rate(runs.direct))}/s, p50 ${p50(runs.direct).toFixed(2)} ms, p99 ${p99(runs.direct).toFixed(2)} ms`],
      [`through kube-proxy (${viaProxy}, the NodePort)`, `${fmt(rate(runs.proxy))}/s, p50 ${p50(runs.proxy).toFixed(2)} ms, p99 ${p99(runs.proxy).toFixed(2)} ms`],
      ['through kube-proxy ÷ straight', `${(rate(runs.proxy) / rate(runs.direct)).toFixed(2)}×; added latency p50 ${(p50(runs.proxy) - p50(runs.direct)).toFixed(2)} ms`],
    ]);
  } finally {
    await k.close();
    await store.close();
  }
}

void main();
