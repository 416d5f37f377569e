/**
 * The load side of the HTTP benchmarks, in its own process (so client work does not share the
 * server's event loop). Plain node:http with keep-alive agents. Prints one JSON line.
 *
 *   loadgen creates   <kronicle url> <total> <clients> <bytes>   pod creates, each client serial
 *   loadgen etcdputs  <etcd url> <total> <clients> <bytes>       etcd v3 puts of the same size (JSON gateway)
 *   loadgen fanout    <kronicle url> <watchers> <writes> <perSecond>
 *   loadgen deepwatch <kronicle url> <resourceVersion> <events>
 *   loadgen gets      <url> <total> <clients>                    GETs of one URL
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { performance } from 'node:perf_hooks';

// An https:// target: the CA to trust and the bearer token come from the environment.
const CA = process.env.LOADGEN_CA ? fs.readFileSync(process.env.LOADGEN_CA, 'utf8') : undefined;
const AUTH: Record<string, string> = process.env.LOADGEN_TOKEN ? { authorization: `Bearer ${process.env.LOADGEN_TOKEN}` } : {};

const [mode, base, a1, a2, a3] = process.argv.slice(2);
const now = () => performance.timeOrigin + performance.now();

function request(agent: http.Agent, method: string, url: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? https : http).request(url, { method, agent, headers: { 'content-type': 'application/json', ...AUTH, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** A pod manifest of about `bytes` of JSON. */
function podJson(name: string, bytes: number, annotations: Record<string, string> = {}): string {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'bench', tier: 'web' }, annotations: { ...annotations, pad: '' } },
    spec: { containers: [{ name: 'main', image: 'registry.example.com/team/app:1.2.3', ports: [{ containerPort: 8080 }], resources: { requests: { cpu: '100m', memory: '128Mi' } } }] },
  };
  pod.metadata.annotations.pad = 'x'.repeat(Math.max(0, bytes - JSON.stringify(pod).length));
  return JSON.stringify(pod);
}

/** `clients` loops, each sending its share serially; latency of every request. */
async function closedLoop(total: number, clients: number, send: (i: number, agent: http.Agent) => Promise<number>) {
  const agent = base.startsWith('https:') ? new https.Agent({ keepAlive: true, maxSockets: clients, ca: CA }) : new http.Agent({ keepAlive: true, maxSockets: clients });
  const latencies: number[] = [];
  let next = 0;
  let failed = 0;
  const start = now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < total) {
        const i = next++;
        const t0 = now();
        const status = await send(i, agent);
        if (status >= 300) failed++;
        latencies.push(now() - t0);
      }
    }),
  );
  const seconds = (now() - start) / 1000;
  agent.destroy();
  latencies.sort((x, y) => x - y);
  return { perSecond: total / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), failed, total };
}

async function creates(): Promise<unknown> {
  const [total, clients, bytes] = [Number(a1), Number(a2), Number(a3)];
  const run = `r${Math.floor(Math.random() * 1e6)}`;
  return closedLoop(total, clients, async (i, agent) => (await request(agent, 'POST', `${base}/api/v1/namespaces/default/pods`, podJson(`${run}-${i}`, bytes))).status);
}

async function etcdPuts(): Promise<unknown> {
  const [total, clients, bytes] = [Number(a1), Number(a2), Number(a3)];
  const value = Buffer.from(podJson('etcd', bytes)).toString('base64');
  const run = `r${Math.floor(Math.random() * 1e6)}`;
  return closedLoop(total, clients, async (i, agent) => {
    const key = Buffer.from(`/registry/pods/default/${run}-${i}`).toString('base64');
    return (await request(agent, 'POST', `${base}/v3/kv/put`, JSON.stringify({ key, value }))).status;
  });
}

/** Opens a watch and calls `onLine` for every line; resolves the stop function once the headers are in. */
function watch(url: string, agent: http.Agent, onLine: (line: string) => void): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          onLine(buffer.slice(0, nl));
          buffer = buffer.slice(nl + 1);
        }
      });
      res.on('error', () => undefined);
      resolve(() => req.destroy());
    });
    req.on('error', reject);
  });
}

async function fanout(): Promise<unknown> {
  const [watchers, writes, perSecond] = [Number(a1), Number(a2), Number(a3)];
  const ns = `fan${Math.floor(Math.random() * 1e6)}`;
  const writer = new http.Agent({ keepAlive: true, maxSockets: 4 });
  await request(writer, 'POST', `${base}/api/v1/namespaces`, JSON.stringify({ metadata: { name: ns } }));
  const head = JSON.parse((await request(writer, 'GET', `${base}/api/v1/namespaces/${ns}/pods`)).body).metadata.resourceVersion as string;
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const latencies: number[] = [];
  let delivered = 0;
  const stops = await Promise.all(
    Array.from({ length: watchers }, () =>
      watch(`${base}/api/v1/namespaces/${ns}/pods?watch=true&resourceVersion=${head}`, agent, (line) => {
        // The send time is read straight off the line: parsing a thousand copies of every
        // object would make the load tool, not the server, the bottleneck.
        const sent = line.startsWith('{"type":"ADDED"') ? Number(/"bench\/sent-at":"([\d.]+)"/.exec(line)?.[1]) : 0;
        if (sent) {
          latencies.push(now() - sent);
          delivered++;
        }
      }),
    ),
  );
  const interval = 1000 / perSecond;
  const start = now();
  for (let i = 0; i < writes; i++) {
    const due = start + i * interval;
    if (due > now()) await new Promise((r) => setTimeout(r, due - now()));
    void request(writer, 'POST', `${base}/api/v1/namespaces/${ns}/pods`, podJson(`p${i}`, 1024, { 'bench/sent-at': String(now()) }));
  }
  const expected = watchers * writes;
  const deadline = now() + 60_000;
  while (delivered < expected && now() < deadline) await new Promise((r) => setTimeout(r, 50));
  stops.forEach((s) => s());
  writer.destroy();
  latencies.sort((x, y) => x - y);
  return { watchers, writes, delivered, expected, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies[latencies.length - 1] };
}

async function deepWatch(): Promise<unknown> {
  const [rv, events] = [a1, Number(a2)];
  const agent = new http.Agent({ keepAlive: false });
  const start = now();
  let first = 0;
  let n = 0;
  let stop: (() => void) | undefined;
  await new Promise<void>((resolve) => {
    void watch(`${base}/api/v1/pods?watch=true&resourceVersion=${rv}`, agent, () => {
      if (n === 0) first = now() - start;
      if (++n >= events) {
        stop?.();
        resolve();
      }
    }).then((s) => (stop = s));
  });
  const seconds = (now() - start) / 1000;
  return { events: n, firstEventMs: first, perSecond: n / seconds, seconds };
}

/** `gets <url> <total> <clients>`: GETs of one URL (the kube-proxy benchmark). */
async function gets(): Promise<unknown> {
  const [total, clients] = [Number(a1), Number(a2)];
  return closedLoop(total, clients, async (_i, agent) => (await request(agent, 'GET', base)).status);
}

const modes: Record<string, () => Promise<unknown>> = { creates, etcdputs: etcdPuts, fanout, deepwatch: deepWatch, gets };
const run = modes[mode];
if (!run) {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
run().then(
  (r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    process.exit(0);
  },
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);
