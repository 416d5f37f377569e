/**
 * The replay debugger over HTTP (first part): an object's history and the causation chain
 * behind it, read from the log.
 *
 *   GET /kronicle/v1/history/{resource}/{name}            cluster-scoped
 *   GET /kronicle/v1/history/{resource}/{namespace}/{name}
 *   GET /kronicle/v1/why/{resource}/[{namespace}/]{name}[?at=position]
 *
 * `resource` is a plural, singular, short name or kind, as kubectl accepts.
 */
import type { Request, Response } from 'express';
import { KINDS, type KindSpec } from '../core/kinds';
import { changes, diffBetween, history, why, ReplayError } from '../replay/history';
import { auditEvents } from '../replay/audit';
import { exportHistory } from '../replay/historyFile';
import type { ApiContext } from './resources';
import { sendStatus } from './status';

export function kindByName(name: string): KindSpec | undefined {
  const n = name.toLowerCase();
  return KINDS.find((k) => k.kind.toLowerCase() === n || k.plural === n || k.singular === n || k.shortNames.includes(n));
}

const json = (value: unknown) => JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));

export async function replayRoute(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const [what, rest] = [req.params[0], req.params[1]];
  const parts = rest.split('/').filter((p) => p !== '');
  const kind = parts[0] ? kindByName(parts[0]) : undefined;
  if (!kind) return sendStatus(res, 'NotFound', `the server doesn't have a resource type "${parts[0] ?? ''}"`);
  const [namespace, name] = kind.namespaced ? [parts[1], parts[2]] : [undefined, parts[1]];
  if (!name || parts.length !== (kind.namespaced ? 3 : 2)) return sendStatus(res, 'BadRequest', `use ${what}/${kind.plural}/${kind.namespaced ? '{namespace}/' : ''}{name}`);
  const at = req.query.at;
  if (at !== undefined && (typeof at !== 'string' || !/^\d{1,19}$/.test(at))) return sendStatus(res, 'BadRequest', `invalid position "${String(at)}"`);
  const key = { kind: kind.kind, namespace, name };
  try {
    const body = what === 'history' ? { kind: 'History', object: key, entries: await history(ctx.store, key) } : { kind: 'CausationChain', object: key, chain: await why(ctx.store, key, at === undefined ? undefined : BigInt(at)) };
    res.type('application/json').send(json(body));
  } catch (err) {
    if (err instanceof ReplayError) return sendStatus(res, 'NotFound', err.message);
    throw err;
  }
}

/**
 * GET /kronicle/v1/export[?from=&to=]: the log as a history file (NDJSON);
 * GET /kronicle/v1/audit[?from=&to=]: as audit.k8s.io/v1 events (JSON lines);
 * GET /kronicle/v1/diff?from=&to=: objects added, removed and changed between two positions.
 */
export async function rangeRoute(what: 'export' | 'audit' | 'diff', ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const bound = (v: unknown) => (v === undefined ? undefined : typeof v === 'string' && /^\d{1,19}$/.test(v) ? BigInt(v) : null);
  const from = bound(req.query.from);
  const to = bound(req.query.to);
  if (from === null || to === null) return sendStatus(res, 'BadRequest', 'from and to are log positions');
  const range = { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
  try {
    if (what === 'diff') {
      if (from === undefined || to === undefined) return sendStatus(res, 'BadRequest', 'diff takes from and to');
      return void res.type('application/json').send(json({ kind: 'ClusterDiff', from: from.toString(), to: to.toString(), objects: await diffBetween(ctx.store, from, to) }));
    }
    const lines = what === 'export' ? await exportHistory(ctx.store, range) : await auditEvents(ctx.store, range);
    res.type('application/x-ndjson').send(lines.length ? `${lines.join('\n')}\n` : '');
  } catch (err) {
    if (err instanceof ReplayError) return sendStatus(res, 'BadRequest', err.message);
    throw err;
  }
}

/** GET /kronicle/v1/changes?actor=&kind=&namespace=&since=&until=&limit=: who changed what, when. */
export async function changesRoute(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const q = req.query;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const time = (v: unknown) => {
    const s = str(v);
    if (s === undefined) return undefined;
    const d = new Date(s);
    return Number.isNaN(d.getTime()) ? null : d;
  };
  const since = time(q.since);
  const until = time(q.until);
  if (since === null || until === null) return sendStatus(res, 'BadRequest', 'since and until are RFC 3339 times');
  const limitRaw = str(q.limit);
  if (limitRaw !== undefined && !/^\d{1,6}$/.test(limitRaw)) return sendStatus(res, 'BadRequest', 'limit is a number of changes');
  const kindName = str(q.kind);
  const kind = kindName === undefined ? undefined : kindByName(kindName);
  if (kindName !== undefined && !kind) return sendStatus(res, 'BadRequest', `no resource type "${kindName}"`);
  const entries = await changes(ctx.store, {
    ...(str(q.actor) ? { actor: str(q.actor) } : {}),
    ...(kind ? { kind: kind.kind } : {}),
    ...(str(q.namespace) ? { namespace: str(q.namespace) } : {}),
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
    ...(limitRaw ? { limit: Number(limitRaw) } : {}),
  });
  res.type('application/json').send(json({ kind: 'ChangeList', entries }));
}
