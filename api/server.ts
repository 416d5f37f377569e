/**
 * The Kubernetes API server on the event log (express). This file wires routes; discovery,
 * resources and Status objects live beside it.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import * as http from 'node:http';
import { GROUPS, VERSION_INFO, apiResourceList, serveApi, serveApis } from './discovery';
import { ResourceHandler, parseTarget, type ApiContext } from './resources';
import { serveOpenApiDocument, serveOpenApiRoot } from './openapi';
import { mountReplay } from './replay';
import { NODE_PROXY_ROUTE, PROXY_ROUTE, proxyRoute } from './proxy';
import { authorization, selfSubjectAccessReview, selfSubjectRulesReview } from './auth/middleware';
import type { Authenticator } from './auth/authn';
import * as https from 'node:https';
import type { Actor } from '../core/events/envelope';
import { sendStatus } from './status';

/** Kubernetes' API server refuses request bodies over 3 MiB. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export function createApiApp(ctx: ApiContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Bodies are read raw and parsed by the handlers: clients send JSON without a Content-Type.
  app.use(express.raw({ type: () => true, limit: MAX_BODY_BYTES }));
  app.use(authorization(ctx));
  app.post('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', selfSubjectAccessReview(ctx));
  app.post('/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', selfSubjectRulesReview(ctx));
  app.all(PROXY_ROUTE, proxyRoute(ctx));
  app.all(NODE_PROXY_ROUTE, proxyRoute(ctx));

  app.get('/version', (_req, res) => void res.json(VERSION_INFO));
  for (const p of ['/healthz', '/livez', '/readyz']) app.get(p, (_req, res) => void res.type('text/plain').send('ok'));
  app.get('/openapi/v3', serveOpenApiRoot);
  app.get(/^\/openapi\/v3\/.+/, serveOpenApiDocument);
  mountReplay(app, ctx);
  app.get('/api', serveApi);
  app.get('/apis', serveApis);
  app.get('/api/v1', (_req, res) => void res.json(apiResourceList('', 'v1')));
  for (const g of GROUPS) app.get(`/apis/${g.group}/${g.version}`, (_req, res) => void res.json(apiResourceList(g.group, g.version)));

  const resources = new ResourceHandler(ctx);
  const route = (group: string) => (req: Request, res: Response, next: NextFunction) => {
    let segments: string[];
    try {
      segments = req.path.split('/').filter((s) => s !== '').map(decodeURIComponent);
    } catch {
      return sendStatus(res, 'BadRequest', `malformed percent-encoding in the path ${req.path}`);
    }
    if (!group && segments.length === 3 && segments[0] === 'namespaces' && segments[2] === 'bindings') {
      resources.bindings(req, res, segments[1]).catch(next);
      return;
    }
    const target = parseTarget(group, segments);
    if (!target) return next();
    resources.handle(req, res, target).catch(next);
  };
  app.use('/api/v1', route(''));
  for (const g of GROUPS) app.use(`/apis/${g.group}/${g.version}`, route(g.group));

  app.use((req, res) => sendStatus(res, 'NotFound', `the server could not find the requested resource (${req.method} ${req.path})`));
  app.use((err: Error & { type?: string; status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return void res.end();
    if (err.type === 'entity.too.large') return sendStatus(res, 'RequestEntityTooLarge', `the request body is larger than ${MAX_BODY_BYTES} bytes`);
    if (err.status && err.status < 500) return sendStatus(res, 'BadRequest', err.message);
    const code = (err as { code?: string }).code;
    if (code === 'StoreUnavailable' || code === 'StoreClosed') return sendStatus(res, 'ServiceUnavailable', err.message);
    if (code === 'InvalidEvent') return sendStatus(res, 'BadRequest', err.message);
    sendStatus(res, 'InternalError', `an internal error occurred: ${err.message}`);
  });
  return app;
}

export const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  /** The CA whose client certificates authenticate (x509). */
  readonly clientCA: string;
}

/**
 * Starts the secure port: HTTPS (TLS 1.2 or later), every request authenticated before the app
 * sees it — a request nobody can be identified for gets 401, as anonymous requests do in a
 * Kubernetes API server with anonymous authentication off.
 */
export async function listenSecure(app: express.Express, host: string, port: number, tls: TlsFiles, authenticator: Authenticator): Promise<https.Server> {
  const server = https.createServer({ cert: tls.cert, key: tls.key, ca: tls.clientCA, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' }, (req, res) => {
    const actor = authenticator.authenticate(req);
    if (!actor) {
      // The body is not read: the connection closes after the answer, so it cannot be misread as the next request.
      res.writeHead(401, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 }));
      return;
    }
    (req as http.IncomingMessage & { actor?: Actor }).actor = actor;
    app(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

/** Starts the insecure port, which only ever binds to a loopback address. */
export async function listenInsecure(app: express.Express, host: string, port: number): Promise<http.Server> {
  if (!isLoopback(host)) throw new RangeError(`the insecure port serves without authentication and binds only to loopback, not ${host}`);
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
