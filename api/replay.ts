/**
 * The replay debugger over HTTP, under the API group replay.kronicle.dev:
 *
 *   GET  /apis/replay.kronicle.dev/v1alpha1/state?at=|time=&kind=&namespace=&labelSelector=
 *   GET  …/history/{resource}/[{namespace}/]{name}[?actor=&since=&until=]
 *   GET  …/why/{resource}/[{namespace}/]{name}[?at=]
 *   GET  …/diff?from=&to=          GET …/changes?actor=&kind=&namespace=&since=&until=&limit=
 *   GET  …/rerun?from=&to=&controller=&limit=      GET …/explain/{eventId}
 *   POST …/resimulate   (body: a history file)      GET …/verify
 *   GET  …/export?from=&to=  (a history file)       GET …/audit?from=&to=  (audit.k8s.io/v1 lines)
 *   GET  …/log/{position}   (one event as stored)
 *
 * The same routes answer under /kronicle/v1 (their first home). `resource` is a plural, singular,
 * short name or kind, as kubectl accepts. The operations themselves are in replayOps.ts.
 */
import type express from 'express';
import type { Request, Response } from 'express';
import { auditEvents } from '../replay/audit';
import { exportHistory } from '../replay/historyFile';
import { ReplayError } from '../replay/history';
import type { ApiContext } from './resources';
import { sendStatus } from './status';
import { REPLAY_GROUP, REPLAY_PREFIX, REPLAY_VERSION, ReplayNotFound, kindByName, replayJson, runOperation, type Params } from './replayOps';

export { kindByName };

const queryParams = (req: Request): Record<string, string | undefined> =>
  Object.fromEntries(Object.entries(req.query).filter(([, v]) => typeof v === 'string') as Array<[string, string]>);

function answer(res: Response, err: unknown): void {
  if (err instanceof ReplayNotFound) return sendStatus(res, 'NotFound', err.message);
  if (err instanceof ReplayError) return sendStatus(res, 'BadRequest', err.message);
  throw err;
}

async function operation(ctx: ApiContext, op: string, params: Params, res: Response, body?: string): Promise<void> {
  try {
    res.type('application/json').send(replayJson(await runOperation(ctx.store, op, params, body === undefined ? {} : { body })));
  } catch (err) {
    answer(res, err);
  }
}

/** `{resource}/[{namespace}/]{name}` of a path, as parameters. */
function objectPath(rest: string): Params {
  const parts = rest.split('/').filter((p) => p !== '').map(decodeURIComponent);
  const kind = parts[0] ? kindByName(parts[0]) : undefined;
  if (!kind) return { kind: parts[0] ?? '' };
  if (kind.namespaced) return parts.length === 3 ? { kind: kind.kind, namespace: parts[1], name: parts[2] } : { kind: kind.kind, namespace: parts.length === 2 ? 'default' : '', name: parts.length === 2 ? parts[1] : undefined };
  return parts.length === 2 ? { kind: kind.kind, name: parts[1] } : { kind: kind.kind };
}

export function mountReplay(app: express.Express, ctx: ApiContext): void {
  app.get(REPLAY_PREFIX, (_req, res) => void res.json({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${REPLAY_GROUP}/${REPLAY_VERSION}`, resources: [] }));
  // (Read here, not at load: replayOps reaches this module again through the simulator.)
  for (const prefix of [REPLAY_PREFIX, '/kronicle/v1']) {
    app.get(`${prefix}/log/:position`, (req, res, next) => {
      const raw = req.params.position;
      if (!/^\d{1,19}$/.test(raw)) return sendStatus(res, 'BadRequest', `invalid log position "${raw}"`);
      ctx.store
        .readAll({ from: BigInt(raw), to: BigInt(raw), maxCount: 1 })
        .then(([e]) => {
          if (!e) return sendStatus(res, 'NotFound', `no event at position ${raw}`);
          res.json({ id: e.id, type: e.type, stream: e.stream, revision: e.revision.toString(), position: e.position.toString(), recordedAt: e.recordedAt.toISOString(), metadata: e.metadata, data: e.data });
        })
        .catch(next);
    });
    for (const what of ['export', 'audit'] as const) {
      app.get(`${prefix}/${what}`, (req, res, next) => {
        const bound = (v: unknown) => (v === undefined ? undefined : typeof v === 'string' && /^\d{1,19}$/.test(v) ? BigInt(v) : null);
        const from = bound(req.query.from);
        const to = bound(req.query.to);
        if (from === null || to === null) return sendStatus(res, 'BadRequest', 'from and to are log positions');
        const range = { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
        (what === 'export' ? exportHistory(ctx.store, range) : auditEvents(ctx.store, range))
          .then((lines) => void res.type('application/x-ndjson').send(lines.length ? `${lines.join('\n')}\n` : ''))
          .catch((err) => {
            try {
              answer(res, err);
            } catch (e) {
              next(e);
            }
          });
      });
    }
    app.get(new RegExp(`^${prefix.replace(/\./g, '\\.')}/(history|why)/(.+)$`), (req, res, next) => {
      void operation(ctx, req.params[0], { ...queryParams(req), ...objectPath(req.params[1]) }, res).catch(next);
    });
    app.get(`${prefix}/explain/:event`, (req, res, next) => void operation(ctx, 'explain', { event: req.params.event }, res).catch(next));
    app.post(`${prefix}/resimulate`, (req, res, next) => {
      const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
      void operation(ctx, 'resimulate', {}, res, body).catch(next);
    });
    app.get(`${prefix}/:op`, (req, res, next) => {
      if (req.params.op === 'resimulate') return sendStatus(res, 'MethodNotAllowed', 'resimulate takes the history file as the body of a POST');
      void operation(ctx, req.params.op, queryParams(req), res).catch(next);
    });
  }
}
