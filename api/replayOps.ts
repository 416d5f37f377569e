/**
 * The replay debugger's operations, one code path for every interface: the HTTP API under
 * `/apis/replay.kronicle.dev/v1alpha1/…` on a running server, and `kronicle replay …` /
 * `kubectl replay …` against a data directory or an esdb:// store. Each takes string parameters
 * (a query string's) and answers with a JSON-ready body; bad input is a ReplayError (400), an
 * unknown object or event a ReplayNotFound (404).
 */
import * as E from 'fp-ts/Either';
import type { EventStore } from '../core/store/port';
import { KINDS, type KindSpec } from '../core/kinds';
import { parseLabelSelector } from '../projections/selectors';
import { changes, diffBetween, history, positionAt, stateAt, why, ReplayError } from '../replay/history';
import { explainDecision, rerun, type Rerun } from '../replay/rerun';
import { verifyLog } from '../replay/verify';
import { redactSecret } from '../replay/redact';
import { resimulate } from './simulation';

export const REPLAY_GROUP = 'replay.kronicle.dev';
export const REPLAY_VERSION = 'v1alpha1';
export const REPLAY_PREFIX = `/apis/${REPLAY_GROUP}/${REPLAY_VERSION}`;

export class ReplayNotFound extends ReplayError {}

export const OPERATIONS = ['state', 'history', 'why', 'diff', 'changes', 'rerun', 'explain', 'resimulate', 'verify'] as const;
export type Operation = (typeof OPERATIONS)[number];

export type Params = Readonly<Record<string, string | undefined>>;

export interface OperationOptions {
  /** Progress of long folds (the CLI draws a bar). */
  readonly onProgress?: (done: bigint, total: bigint) => void;
  /** The history file, for resimulate. */
  readonly body?: string;
}

export function kindByName(name: string): KindSpec | undefined {
  const n = name.toLowerCase();
  return KINDS.find((k) => k.kind.toLowerCase() === n || k.plural === n || k.singular === n || k.shortNames.includes(n));
}

const POSITION = /^\d{1,19}$/;

function positionParam(params: Params, name: string): bigint | undefined {
  const v = params[name];
  if (v === undefined || v === '') return undefined;
  if (!POSITION.test(v)) throw new ReplayError(`${name} is a log position (a resourceVersion), not "${v}"`);
  return BigInt(v);
}

function timeParam(params: Params, name: string): Date | undefined {
  const v = params[name];
  if (v === undefined || v === '') return undefined;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new ReplayError(`${name} is an RFC 3339 time, not "${v}"`);
  return d;
}

/** `pod/web-1`, or a kind and a name apart; `-n` for the namespace of a namespaced kind. */
function objectParam(params: Params): { kind: string; namespace?: string; name: string } {
  let kindName = params.kind ?? '';
  let name = params.name;
  if (kindName.includes('/') && name === undefined) [kindName, name] = [kindName.slice(0, kindName.indexOf('/')), kindName.slice(kindName.indexOf('/') + 1)];
  const kind = kindByName(kindName);
  if (!kind) throw new ReplayNotFound(`the server doesn't have a resource type "${kindName}"`);
  if (!name) throw new ReplayError(`name the ${kind.singular}: ${kind.singular}/NAME`);
  return { kind: kind.kind, ...(kind.namespaced ? { namespace: params.namespace || 'default' } : {}), name };
}

async function positionOf(store: EventStore, params: Params): Promise<bigint> {
  const at = positionParam(params, 'at');
  const time = timeParam(params, 'time');
  if (at !== undefined && time !== undefined) throw new ReplayError('give at (a position) or time, not both');
  if (time !== undefined) return positionAt(store, time);
  return at ?? (await store.headPosition());
}

const rerunJson = (r: Rerun) => ({
  controller: r.point.controller,
  actor: r.point.actor,
  key: r.point.key,
  observedPosition: r.point.observedPosition.toString(),
  decidedAt: r.point.decidedAt.toISOString(),
  recorded: { digest: r.point.digest, events: r.point.events.map((e) => ({ position: e.position.toString(), id: e.id, type: e.type, stream: e.stream })) },
  now: { digest: r.digest, actions: r.actions },
  same: r.same,
  input: r.input ?? null,
});

export async function runOperation(store: EventStore | undefined, op: string, params: Params, options: OperationOptions = {}): Promise<Record<string, unknown>> {
  const need = (): EventStore => {
    if (!store) throw new ReplayError(`${op} needs a log: a data directory, an esdb:// store or a server`);
    return store;
  };
  const progress = options.onProgress;
  switch (op as Operation) {
    case 'state': {
      const s = need();
      const position = await positionOf(s, params);
      const head = await s.headPosition();
      if (position > head) throw new ReplayError(`position ${position} is beyond the log's head (${head})`);
      const view = await stateAt(s, position, progress ? { onProgress: progress } : {});
      const kind = params.kind ? kindByName(params.kind) : undefined;
      if (params.kind && !kind) throw new ReplayError(`the server doesn't have a resource type "${params.kind}"`);
      let labels;
      if (params.labelSelector) {
        const parsed = parseLabelSelector(params.labelSelector);
        if (E.isLeft(parsed)) throw new ReplayError(`labelSelector: ${parsed.left}`);
        labels = parsed.right;
      }
      const objects = [];
      for (const k of kind ? [kind] : KINDS) {
        for (const entry of view.store(k.kind).list({ ...(params.namespace ? { namespace: params.namespace } : {}), ...(labels ? { labels } : {}) })) {
          objects.push({ kind: k.kind, namespace: entry.object.metadata.namespace ?? null, name: entry.object.metadata.name, resourceVersion: entry.position.toString(), object: redactSecret(entry.object) });
        }
      }
      return { kind: 'ClusterState', position: position.toString(), head: head.toString(), objects };
    }
    case 'history': {
      const key = objectParam(params);
      const since = timeParam(params, 'since');
      const until = timeParam(params, 'until');
      let entries;
      try {
        entries = await history(need(), key);
      } catch (err) {
        throw err instanceof ReplayError ? new ReplayNotFound(err.message) : err;
      }
      entries = entries.filter((e) => (!params.actor || e.actor === params.actor) && (!since || e.time >= since) && (!until || e.time <= until));
      return { kind: 'History', object: key, entries };
    }
    case 'why': {
      const key = objectParam(params);
      const at = positionParam(params, 'at');
      try {
        return { kind: 'CausationChain', object: key, chain: await why(need(), key, at) };
      } catch (err) {
        throw err instanceof ReplayError ? new ReplayNotFound(err.message) : err;
      }
    }
    case 'diff': {
      const from = positionParam(params, 'from');
      const to = positionParam(params, 'to');
      if (from === undefined || to === undefined) throw new ReplayError('diff takes from and to (log positions)');
      const s = need();
      const head = await s.headPosition();
      if (to > head) throw new ReplayError(`position ${to} is beyond the log's head (${head})`);
      return { kind: 'ClusterDiff', from: from.toString(), to: to.toString(), objects: await diffBetween(s, from, to) };
    }
    case 'changes': {
      const kind = params.kind ? kindByName(params.kind) : undefined;
      if (params.kind && !kind) throw new ReplayError(`no resource type "${params.kind}"`);
      const limit = params.limit;
      if (limit !== undefined && !/^\d{1,6}$/.test(limit)) throw new ReplayError('limit is a number of changes');
      const since = timeParam(params, 'since');
      const until = timeParam(params, 'until');
      const entries = await changes(need(), {
        ...(params.actor ? { actor: params.actor } : {}),
        ...(kind ? { kind: kind.kind } : {}),
        ...(params.namespace ? { namespace: params.namespace } : {}),
        ...(since ? { since } : {}),
        ...(until ? { until } : {}),
        ...(limit ? { limit: Number(limit) } : {}),
      });
      return { kind: 'ChangeList', entries };
    }
    case 'rerun': {
      const s = need();
      const from = positionParam(params, 'from');
      const to = positionParam(params, 'to');
      const head = await s.headPosition();
      if (to !== undefined && to > head) throw new ReplayError(`position ${to} is beyond the log's head (${head})`);
      const limit = params.limit === undefined ? 20 : Number(params.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new ReplayError('limit is a number of differences');
      const report = await rerun(s, {
        ...(from !== undefined ? { from } : {}),
        ...(to !== undefined ? { to } : {}),
        ...(params.controller ? { controller: params.controller } : {}),
        limit,
        ...(progress ? { onProgress: (done: number, total: number) => progress(BigInt(done), BigInt(total)) } : {}),
      });
      return { kind: 'RerunReport', checked: report.checked, skipped: report.skipped, differences: report.differences.map(rerunJson) };
    }
    case 'explain': {
      const id = params.event ?? params.name;
      if (!id) throw new ReplayError('explain takes the id of an event a controller wrote');
      try {
        const r = await explainDecision(need(), id);
        return { kind: 'Decision', event: { id: r.event.id, position: r.event.position.toString(), type: r.event.type, stream: r.event.stream }, ...rerunJson(r) };
      } catch (err) {
        throw err instanceof ReplayError && /has no event/.test(err.message) ? new ReplayNotFound(err.message) : err;
      }
    }
    case 'resimulate': {
      if (options.body === undefined || options.body.trim() === '') throw new ReplayError('resimulate takes a history file');
      const report = await resimulate(options.body);
      return { kind: 'ResimulationReport', ...report, same: report.differences.length === 0 && report.finalDifferences.length === 0 && report.refused.length === 0 };
    }
    case 'verify': {
      const s = need();
      const head = await s.headPosition();
      const report = verifyLog(s, progress ? (_checked, position) => progress(position, head) : undefined);
      return { kind: 'VerifyReport', checked: report.checked, head: report.head.toString(), ok: report.firstBreak === undefined, ...(report.firstBreak ? { firstBreak: report.firstBreak } : {}) };
    }
    default:
      throw new ReplayNotFound(`no replay operation "${op}": use ${OPERATIONS.join(', ')}`);
  }
}

/** JSON with bigints as decimal strings. */
export const replayJson = (value: unknown, indent?: number) => JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), indent);
