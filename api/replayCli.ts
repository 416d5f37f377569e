/**
 * `kronicle replay …` (and `kubectl replay …`, and the top-level `kronicle history|why|diff|changes`):
 * the replay operations of replayOps.ts against a data directory, an esdb:// store or a running
 * server, printed as tables by default or as JSON or YAML (-o). Long local replays draw a progress
 * bar on a terminal's standard error. `verify`, `rerun` and `resimulate` exit 1 when they find a
 * difference, so scripts and CI can use them as checks.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { openStore } from '../core/store';
import type { EventStore } from '../core/store/port';
import { REPLAY_PREFIX, ReplayNotFound, replayJson, runOperation, type Params } from './replayOps';
import { ReplayError } from '../replay/history';

/** Where a replay command reads: a running server, or a store opened here. */
export interface ReplaySource {
  readonly server?: string;
  readonly headers?: Record<string, string>;
  /** For an https server: the CA to trust, a client certificate, or no verification at all. */
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string; readonly insecureSkipVerify?: boolean };
  readonly dataDir?: string;
  readonly store?: string;
}

export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A progress bar on standard error, drawn only on a terminal. */
function progressBar(label: string): ((done: bigint, total: bigint) => void) & { end(): void } {
  const tty = process.stderr.isTTY === true;
  let last = -1;
  const draw = Object.assign(
    (done: bigint, total: bigint) => {
      if (!tty || total <= 0n) return;
      const pct = Number((done * 100n) / total);
      if (pct === last) return;
      last = pct;
      const width = 30;
      const filled = Math.round((pct / 100) * width);
      process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(pct).padStart(3)}%  ${done}/${total}`);
    },
    {
      end: () => {
        if (tty && last >= 0) process.stderr.write('\r\x1b[K');
      },
    },
  );
  return draw;
}

/** An HTTP(S) request to a running server: the body, or a CliFailure with the Status's message. */
export async function httpText(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}, tls: ReplaySource['tls'] = {}): Promise<string> {
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const secure = url.startsWith('https:');
    const options = {
      method: init.method ?? 'GET',
      headers: { ...(init.headers ?? {}), ...(init.body !== undefined ? { 'content-length': String(Buffer.byteLength(init.body)) } : {}) },
      ...(secure ? { ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}), rejectUnauthorized: !tls.insecureSkipVerify } : {}),
    };
    const req = (secure ? https : http).request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  }).catch((err: Error) => {
    throw new CliFailure(`cannot reach ${new URL(url).origin}: ${err.message}`);
  });
  if (status >= 400) {
    let message = `HTTP ${status}`;
    try {
      message = String((JSON.parse(text) as { message?: string }).message ?? message);
    } catch {
      /* not a Status */
    }
    throw new CliFailure(message);
  }
  return text;
}

async function fetchOperation(source: ReplaySource, op: string, params: Params, body?: string): Promise<Body> {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== '') as Array<[string, string]>).toString();
  const headers = { ...(source.headers ?? {}), ...(body === undefined ? {} : { 'content-type': 'application/x-ndjson' }) };
  const text = await httpText(`${source.server}${REPLAY_PREFIX}/${op}${query ? `?${query}` : ''}`, { method: body === undefined ? 'GET' : 'POST', headers, ...(body === undefined ? {} : { body }) }, source.tls);
  return JSON.parse(text) as Body;
}

/** Runs one operation against the source; errors become CliFailures with the reason. */
export async function runReplay(source: ReplaySource, op: string, params: Params, body?: string): Promise<Body> {
  if (source.server) return fetchOperation(source, op, params, body);
  if (op === 'resimulate') return runLocal(undefined, op, params, body);
  let store: EventStore;
  try {
    store = await openStore(source.store ?? 'sqlite', path.resolve(source.dataDir ?? './data'));
  } catch (err) {
    const message = (err as Error).message;
    throw new CliFailure(/in use by another Kronicle process/.test(message) ? `${message}; or ask the running server with --server URL` : message);
  }
  try {
    return await runLocal(store, op, params, body);
  } finally {
    await store.close();
  }
}

async function runLocal(store: EventStore | undefined, op: string, params: Params, body?: string): Promise<Body> {
  const bar = progressBar(op);
  try {
    return JSON.parse(replayJson(await runOperation(store, op, params, { onProgress: bar, ...(body !== undefined ? { body } : {}) }))) as Body;
  } catch (err) {
    if (err instanceof ReplayNotFound || err instanceof ReplayError) throw new CliFailure(err.message);
    throw err;
  } finally {
    bar.end();
  }
}

const change = (c: Body) => (c.op === 'add' ? '+' : c.op === 'remove' ? '-' : '~');
const value = (v: unknown) => {
  const s = JSON.stringify(v);
  return s === undefined ? '' : s.length > 120 ? `${s.slice(0, 117)}...` : s;
};

function table(rows: string[][], out: (line: string) => void): void {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const r of rows) out(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('   ').trimEnd());
}

function actionSummary(a: Body): string {
  const target = a.verb === 'create' ? `${a.kind} ${a.namespace ? `${a.namespace}/` : ''}${a.body?.metadata?.name ?? `${a.body?.metadata?.generateName ?? ''}*`}` : a.verb === 'bind' ? `pod ${a.namespace}/${a.name} to ${a.node}` : a.verb === 'renewLease' ? `lease ${a.name}` : `${a.kind} ${a.namespace ? `${a.namespace}/` : ''}${a.name}`;
  return `${a.verb} ${target}`;
}

/** The human-readable form of each operation's answer. */
export function render(op: string, body: Body, out: (line: string) => void): void {
  switch (op) {
    case 'state':
      out(`cluster state at position ${body.position} (log head ${body.head}): ${body.objects.length} objects`);
      if (body.objects.length > 0) table([['KIND', 'NAMESPACE', 'NAME', 'RESOURCEVERSION'], ...body.objects.map((o: Body) => [o.kind, o.namespace ?? '', o.name, o.resourceVersion])], out);
      return;
    case 'history':
      for (const e of body.entries) {
        out(`${e.position.padStart(8)}  ${e.time}  ${e.type.padEnd(26)} ${e.actor}${e.causationId ? `  (caused by ${e.causationId})` : ''}`);
        for (const c of e.changes) {
          if (c.path === '/') out(`          ${c.op === 'add' ? 'created' : 'deleted'}`);
          else out(`          ${change(c)} ${c.path}${c.op === 'remove' ? '' : ` = ${value(c.to)}`}`);
        }
      }
      return;
    case 'changes':
      for (const e of body.entries) out(`${e.position.padStart(8)}  ${e.time}  ${e.type.padEnd(26)} ${e.stream}  by ${e.actor}`);
      return;
    case 'why':
      body.chain.forEach((c: Body, i: number) => out(`${i === 0 ? '   ' : '<- '}${c.position.padStart(8)}  ${c.time}  ${c.type.padEnd(26)} ${c.stream}  by ${c.actor}`));
      return;
    case 'diff':
      for (const o of body.objects) {
        out(`${o.change.padEnd(8)} ${o.object}`);
        for (const c of o.changes) out(`           ${change(c)} ${c.path}${c.op === 'remove' ? '' : ` = ${value(c.to)}`}`);
      }
      return;
    case 'rerun':
      out(`${body.checked} decisions re-run${body.skipped ? ` (${body.skipped} of controllers this code does not have, skipped)` : ''}: ${body.differences.length === 0 ? 'all decided as recorded' : `${body.differences.length} decided differently${body.differences.length >= 20 ? ' (first 20; --limit for more)' : ''}`}`);
      for (const d of body.differences) renderDecision(d, out);
      return;
    case 'explain':
      out(`event ${body.event.id} (${body.event.type} ${body.event.stream} at ${body.event.position})`);
      renderDecision(body, out);
      if (body.input) out(`  input: ${value(body.input)}`);
      return;
    case 'resimulate':
      out(`${body.inputs} inputs re-sent; ${body.recordedEvents} events recorded, ${body.resimulatedEvents} re-simulated: ${body.same ? 'the same, event for event' : 'different'}`);
      for (const r of body.refused) out(`  refused now: ${r.request}: ${r.status}`);
      for (const d of body.differences) {
        const name = (x?: Body) => (x ? `${x.type} ${x.stream} by ${x.actor}` : 'nothing');
        out(`  event ${d.index + 1}: recorded ${name(d.recorded)}; re-simulated ${name(d.resimulated)}`);
        for (const c of d.changes.slice(0, 8)) out(`      ${change(c)} ${c.path}: ${value(c.from)} -> ${value(c.to)}`);
      }
      for (const f of body.finalDifferences) out(`  final state of ${f.object} differs in ${f.changes.length} fields`);
      return;
    case 'verify':
      if (body.ok) out(`ok: ${body.checked} events verified, hash chain intact up to position ${body.head}`);
      else out(`BROKEN: event at position ${body.firstBreak.position} (${body.firstBreak.type} ${body.firstBreak.stream}, id ${body.firstBreak.id}): ${body.firstBreak.reason}; ${body.checked} events before it verified`);
      return;
    default:
      out(JSON.stringify(body, null, 2));
  }
}

function renderDecision(d: Body, out: (line: string) => void): void {
  out(`${d.same ? 'same' : 'DIFFERS'}  ${d.controller} on ${d.key}, observed position ${d.observedPosition}, at ${d.decidedAt}`);
  out(`  recorded: ${d.recorded.events.map((e: Body) => `${e.type} ${e.stream} (${e.position})`).join(', ') || 'nothing'}`);
  out(`  now:      ${d.now.actions.map(actionSummary).join(', ') || 'nothing'}`);
}

const FAILS_ON_DIFFERENCE: Record<string, (b: Body) => boolean> = {
  verify: (b) => !b.ok,
  rerun: (b) => b.differences.length > 0,
  resimulate: (b) => !b.same,
};

export function print(op: string, body: Body, output: string | undefined, out: (line: string) => void): number {
  if (output === 'json') out(JSON.stringify(body, null, 2));
  else if (output === 'yaml') out(toYaml(body).trimEnd());
  else render(op, body, out);
  return FAILS_ON_DIFFERENCE[op]?.(body) ? 1 : 0;
}

const positionArg = (v: string) => {
  if (!/^\d{1,19}$/.test(v)) throw new InvalidArgumentError('a log position');
  return v;
};
const outputOption = () => new Option('-o, --output <format>', 'table (default), json or yaml').choices(['table', 'json', 'yaml']);

/**
 * Adds the replay operations as subcommands of `parent`. `source` turns a command's options into
 * where it reads; `done` receives the exit code.
 */
export interface ReplayCommandSettings {
  /** Adds the options that say where to read (--server, --data-dir…) to a command. */
  readonly sourceOptions: (c: Command) => Command;
  /** Turns a command's options into where it reads. */
  readonly source: (opts: Record<string, string | undefined>) => ReplaySource;
  readonly out: (line: string) => void;
  /** Receives the command's exit code. */
  readonly done: (code: number) => void;
  /** Only these operations (default: all). */
  readonly only?: readonly string[];
}

export function addReplayCommands(parent: Command, settings: ReplayCommandSettings): void {
  const { source, out, done, only } = settings;
  const add = (name: string, args: string, description: string, configure: (c: Command) => Command, params: (a: string[], o: Record<string, string | undefined>) => Params, body?: (a: string[]) => string) => {
    if (only && !only.includes(name)) return;
    const cmd = settings.sourceOptions(configure(parent.command(`${name}${args ? ` ${args}` : ''}`).description(description))).addOption(outputOption());
    cmd.action(async (...all: unknown[]) => {
      const opts = all[all.length - 2] as Record<string, string | undefined>;
      const positional = all.slice(0, all.length - 2).filter((a) => a !== undefined) as string[];
      const answer = await runReplay(source(opts), name, params(positional, opts), body?.(positional));
      done(print(name, answer, opts.output, out));
    });
  };
  const objectParams = (a: string[], o: Record<string, string | undefined>): Params => ({ kind: a[0], name: a[1], namespace: o.namespace, at: o.at, actor: o.actor, since: o.since, until: o.until });
  add('state', '', 'the cluster as it was at a position or a time', (c) => c.option('--at <position>', 'a log position (resourceVersion)', positionArg).option('--time <time>', 'a time (RFC 3339)').option('--kind <kind>', 'only this kind').option('-n, --namespace <ns>', 'only this namespace').option('-l, --selector <selector>', 'only objects with these labels'), (_a, o) => ({ at: o.at, time: o.time, kind: o.kind, namespace: o.namespace, labelSelector: o.selector }));
  add('history', '<object> [name]', 'every change to one object (kind/name): when, by whom, caused by what, what changed', (c) => c.option('-n, --namespace <ns>', 'the namespace of a namespaced kind', 'default').option('--actor <name>', 'only changes by this actor').option('--since <time>', 'from this time').option('--until <time>', 'up to this time'), objectParams);
  add('why', '<object> [name]', 'the chain of causes behind an object (kind/name), back to the write that started it', (c) => c.option('-n, --namespace <ns>', 'the namespace of a namespaced kind', 'default').option('--at <position>', 'as of this log position', positionArg), objectParams);
  add('diff', '', 'objects added, removed and changed between two positions', (c) => c.requiredOption('--from <position>', 'the earlier position', positionArg).requiredOption('--to <position>', 'the later position', positionArg), (_a, o) => ({ from: o.from, to: o.to }));
  add('changes', '', 'who changed what, and when, across the cluster', (c) => c.option('--actor <name>', 'only writes by this actor').option('--kind <kind>', 'only this kind').option('-n, --namespace <ns>', 'only this namespace').option('--since <time>', 'from this time').option('--until <time>', 'up to this time').option('--limit <n>', 'at most this many', '1000'), (_a, o) => ({ actor: o.actor, kind: o.kind, namespace: o.namespace, since: o.since, until: o.until, limit: o.limit }));
  add('rerun', '', "re-run today's controllers at every recorded decision of a range; exit 1 when one decides differently", (c) => c.option('--from <position>', 'first position', positionArg).option('--to <position>', 'last position', positionArg).option('--controller <name>', 'only this controller (e.g. scheduler)').option('--limit <n>', 'report at most this many differences', '20'), (_a, o) => ({ from: o.from, to: o.to, controller: o.controller, limit: o.limit }));
  add('explain', '<event-id>', 'one controller decision: what it saw, what it did, what the code does now', (c) => c, (a) => ({ event: a[0] }));
  add('resimulate', '<history-file>', "send a recorded history's user requests again to today's control plane; exit 1 when the history differs", (c) => c, () => ({}), (a) => {
    try {
      return fs.readFileSync(a[0], 'utf8');
    } catch (err) {
      throw new CliFailure(`cannot read ${a[0]}: ${(err as Error).message}`);
    }
  });
  add('verify', '', "check the log's hash chain; exit 1 naming the first event that does not match", (c) => c, () => ({}));
}
