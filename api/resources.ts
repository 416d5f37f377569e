/**
 * The resource endpoints: list, get, create, update, delete and watch for every kind in the
 * kind table, namespaced and across namespaces. Reads come from the projections; every write is
 * a command through the command shell, answered once the projections have reached the appended
 * position (read-your-writes).
 */
import * as E from 'fp-ts/Either';
import type { Request, Response } from 'express';
import type { Observable, Subscription } from 'rxjs';
import { decodeObject, kindByResource, type KindSpec } from '../core/kinds';
import { dns1123Label } from '../core/validation';
import type { KubeObject } from '../core/objects/codecs';
import { handleCommand, type IdSource } from '../core/shell';
import type { ObjectCommand } from '../core/deciders/object';
import type { Actor, WriteContext } from '../core/events/envelope';
import type { EventStore } from '../core/store/port';
import { ClusterProjection, matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, type Change, type ListQuery } from '../projections';
import { loadSnapshotAt } from '../projections/snapshot';
import { invalidStatus, rejectionStatus, send, sendStatus, statusBody, type StatusBody } from './status';
import { PATCH_TYPES, applyPatchDocument, patchTypeOf } from './patch';
import { table, wantsTable } from './tables';
import { admitCreate, admitDelete, admitNewObject, quotaCharges, resourceOf, type QuotaCharge } from './admission';
import { computeQuotaStatus, objectsInNamespace } from '../core/admission/quota';
import { applyDefaults } from '../core/objects/defaults';
import { definitionOfKind, pruneUnknown, unknownFields } from '../core/objects/schema';
import { apply as serverSideApply, defaultManager, recordUpdate, type Conflict } from '../core/objects/managedFields';
import { rfc3339 } from '../core/json';
import { parse as parseYaml } from 'yaml';
import { decodeProtobufBody, ProtobufError } from './protobuf';
import type { RbacAuthorizer } from './auth/rbac';
import { actorKindOf } from './auth/authn';

export interface ApiContext {
  readonly store: EventStore;
  readonly projection: ClusterProjection;
  readonly ids: IdSource;
  readonly clock: () => Date;
  /** Emits once when the server shuts down: open watches end cleanly, and clients re-watch elsewhere. */
  readonly shutdown?: Observable<void>;
  /** Authorizes authenticated requests (the secure port's); the insecure port is not authorized, as in Kubernetes. */
  readonly authorizer?: RbacAuthorizer;
}

/** Where a request points: a kind, maybe a namespace, maybe a name and a subresource. */
export interface Target {
  readonly kind: KindSpec;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
}

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/** Parses the path after /api/v1 or /apis/{group}/{version}. */
export function parseTarget(group: string, segments: readonly string[]): Target | undefined {
  const [a, b, c, d, e, ...rest] = segments;
  if (rest.length > 0 || !a) return undefined;
  if (a === 'namespaces' && b && c && !(NAMESPACE_SUBRESOURCES.has(c) && d === undefined)) {
    const kind = kindByResource(group, c);
    if (!kind || !kind.namespaced) return undefined;
    return { kind, namespace: b, name: d, subresource: e };
  }
  if (e !== undefined) return undefined;
  const kind = kindByResource(group, a);
  if (!kind) return undefined;
  if (kind.namespaced && b !== undefined) return undefined;
  return { kind, name: b, subresource: c };
}

export const UNSECURED: Actor = { kind: 'user', name: 'system:unsecured', groups: ['system:masters'], authMethod: 'insecure-port' };

/**
 * Who is writing: the authenticated identity (the insecure port's is system:unsecured, a member of
 * system:masters), or the identity it impersonates (Impersonate-User), recorded with both. The
 * controllers, scheduler and kubelets of `kronicle serve` write this way, as themselves.
 */
/**
 * Who the request acts as: the authenticated identity, or — with Impersonate-User, which the
 * authorization middleware has allowed (server.ts) — the impersonated one, recorded with its
 * impersonator. The insecure port's system:unsecured may impersonate anyone.
 */
export function actorOf(req: Request): Actor {
  const authenticated = (req as Request & { actor?: Actor }).actor ?? UNSECURED;
  const as = req.get('impersonate-user');
  if (!as) return authenticated;
  const kind = actorKindOf(as);
  const groupList = impersonatedGroups(req).concat(kind === 'node' ? ['system:nodes'] : []);
  return { kind, name: as, ...(groupList.length ? { groups: groupList } : {}), authMethod: authenticated.authMethod ?? 'insecure-port', impersonator: authenticated.name };
}

export function impersonatedGroups(req: Request): string[] {
  const groups = req.headers['impersonate-group'];
  return Array.isArray(groups) ? groups : groups ? [groups] : [];
}

/** The envelope of a request's events: actor, request id, and the cause a controller names. */
function writeContextOf(req: Request, ids: IdSource): WriteContext {
  const header = (name: string) => {
    const v = req.get(name);
    return v === undefined || v === '' ? undefined : v;
  };
  const observed = header('x-kronicle-observed-position');
  const decided = header('x-kronicle-decided-at');
  const decision = /^(\S+) ([0-9a-f]{16,64}) (\S+)$/.exec(header('x-kronicle-decision') ?? '');
  let decisionKey: string | undefined;
  try {
    decisionKey = decision ? decodeURIComponent(decision[3]) : undefined;
  } catch {
    decisionKey = undefined;
  }
  const actor = actorOf(req);
  return {
    actor,
    requestId: header('x-request-id') ?? ids.uuid(),
    ...(actor.kind === 'user' ? { request: requestRecord(req) } : {}),
    ...(header('x-kronicle-causation-id') ? { causationId: header('x-kronicle-causation-id') } : {}),
    ...(header('x-kronicle-correlation-id') ? { correlationId: header('x-kronicle-correlation-id') } : {}),
    ...(observed && /^\d+$/.test(observed) ? { observedPosition: observed } : {}),
    ...(decided && !Number.isNaN(Date.parse(decided)) ? { decidedAt: new Date(decided).toISOString() } : {}),
    ...(decision && decisionKey !== undefined ? { decision: { controller: decision[1], digest: decision[2], key: decisionKey } } : {}),
  };
}

/**
 * Who writes and how: the envelope of every event a request appends (one request id for all of
 * them: a create's quota charges and the create itself), and whether it is a dry run. Requests
 * from outside have theirs made once per request; the server's own writes bring theirs.
 */
export interface Writer {
  readonly write: WriteContext;
  readonly dryRun: boolean;
}

const writers = new WeakMap<Request, Writer>();
function writerOf(req: Request, ids: IdSource): Writer {
  let w = writers.get(req);
  if (!w) writers.set(req, (w = { write: writeContextOf(req, ids), dryRun: isDryRun(req) }));
  return w;
}

/** A user's request as it came, for the envelope (re-simulation sends it again). */
function requestRecord(req: Request): NonNullable<WriteContext['request']> {
  const contentType = req.get('content-type');
  const raw = req.body as Buffer | undefined;
  const binary = (contentType ?? '').includes('protobuf');
  const xRequestId = req.get('x-request-id');
  const secret = /\/secrets(\/|$)/.test(req.path);
  return {
    method: req.method,
    url: req.originalUrl,
    ...(contentType ? { contentType } : {}),
    ...(xRequestId ? { xRequestId } : {}),
    ...(Buffer.isBuffer(raw) && raw.length > 0 ? (secret ? { redacted: true as const } : binary ? { body: raw.toString('base64'), encoding: 'base64' as const } : { body: raw.toString('utf8') }) : {}),
  };
}

function parseBody(req: Request, res: Response): unknown {
  const type = (req.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  const raw = req.body as Buffer | undefined;
  if (type === 'application/vnd.kubernetes.protobuf') {
    // kubectl's typed commands (create namespace, secret, quota…) send protobuf.
    try {
      return decodeProtobufBody(raw ?? Buffer.alloc(0));
    } catch (err) {
      const e = err instanceof ProtobufError ? err : new ProtobufError((err as Error).message);
      sendStatus(res, e.unsupported ? 'UnsupportedMediaType' : 'BadRequest', e.unsupported ? `the body of the request was in an unknown format - accepted media types include: application/json (${e.message})` : `the protobuf body could not be decoded: ${e.message}`);
      return undefined;
    }
  }
  if (type === 'application/cbor') {
    sendStatus(res, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json`);
    return undefined;
  }
  if (!raw || raw.length === 0) {
    sendStatus(res, 'BadRequest', 'the request body is empty');
    return undefined;
  }
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    sendStatus(res, 'BadRequest', `the request body is not valid JSON: ${(err as Error).message}`);
    return undefined;
  }
}

/** A five-character suffix from Kubernetes' alphabet (no vowels, no confusable digits). */
function generatedSuffix(ids: IdSource): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  // The random tail of the id (a UUIDv7 starts with the time, which would repeat within a millisecond).
  const hex = ids.uuid().replace(/-/g, '').slice(-10);
  let out = '';
  for (let i = 0; i < 5; i++) out += alphabet[parseInt(hex.slice(i * 2, i * 2 + 2), 16) % alphabet.length];
  return out;
}

function listQuery(req: Request, res: Response, target: Target): ListQuery | undefined {
  const q: { namespace?: string; labels?: ListQuery['labels']; fields?: ListQuery['fields'] } = {};
  if (target.namespace !== undefined) q.namespace = target.namespace;
  const ls = req.query.labelSelector;
  if (typeof ls === 'string') {
    const parsed = parseLabelSelector(ls);
    if (E.isLeft(parsed)) return void sendStatus(res, 'BadRequest', parsed.left);
    q.labels = parsed.right;
  }
  const fs = req.query.fieldSelector;
  if (typeof fs === 'string') {
    const parsed = parseFieldSelector(target.kind.kind, fs);
    if (E.isLeft(parsed)) return void sendStatus(res, 'BadRequest', parsed.left);
    q.fields = parsed.right;
  }
  return q;
}

export class ResourceHandler {
  constructor(private readonly ctx: ApiContext) {}

  async handle(req: Request, res: Response, target: Target): Promise<unknown> {
    const method = req.method;
    // A name or namespace that no object can have: nothing to find there.
    if (target.namespace !== undefined && dns1123Label(target.namespace).length > 0) {
      return sendStatus(res, 'NotFound', `namespaces "${target.namespace}" not found`, { name: target.namespace, kind: 'namespaces' });
    }
    if (target.name !== undefined && target.kind.nameRule(target.name).length > 0) return this.notFound(res, target);
    if (target.name === undefined) {
      if (method === 'GET') return req.query.watch === 'true' || req.query.watch === '1' ? this.watch(req, res, target) : this.list(req, res, target);
      if (method === 'POST') return this.create(req, res, target);
      if (method === 'DELETE') return this.deleteCollection(req, res, target);
      return sendStatus(res, 'MethodNotAllowed', `${method} is not supported on ${target.kind.plural}`);
    }
    if (target.subresource) return this.subresource(req, res, target);
    switch (method) {
      case 'GET':
        return this.get(req, res, target, wantsTable(req));
      case 'PUT':
        return this.update(req, res, target);
      case 'PATCH':
        if (patchTypeOf(req.get('content-type')) === 'apply') return this.apply(req, res, target);
        return this.patch(req, res, target, (current, patched) => this.write(res, target, withName(patched, target), (object) => ({ type: 'Update', object: keepVersion(object, current) }), 200, current));
      case 'DELETE':
        return this.delete(req, res, target);
      default:
        return sendStatus(res, 'MethodNotAllowed', `${method} is not supported on ${target.kind.plural}/${target.name}`);
    }
  }

  /** status, scale, binding, finalize. */
  private async subresource(req: Request, res: Response, target: Target): Promise<unknown> {
    const { kind, subresource: sub } = target;
    const name = target.name as string;
    const method = req.method;
    const notAllowed = () => sendStatus(res, 'MethodNotAllowed', `${method} is not supported on ${kind.plural}/${sub}`);
    if (sub === 'status' && kind.hasStatus) {
      if (method === 'GET') return this.get(req, res, target);
      if (method === 'PUT') {
        const body = parseObjectBody(req, res);
        if (!body) return;
        return this.run(res, target, name, statusCommand(body), 200);
      }
      if (method === 'PATCH') {
        return this.patch(req, res, target, (current, patched) =>
          this.run(res, target, name, { type: 'UpdateStatus', status: ((patched as KubeObject).status ?? {}) as never, preconditions: { resourceVersion: current.metadata.resourceVersion } }, 200),
        );
      }
      return notAllowed();
    }
    if (sub === 'scale' && kind.kind === 'ReplicationController') {
      const toScale = (o: KubeObject | undefined) => (o ? scaleOf(o) : o);
      if (method === 'GET') {
        const found = this.current(target);
        if (!found) return this.notFound(res, target);
        return sendJson(res, 200, scaleOf(found));
      }
      if (method === 'PUT') {
        const body = parseObjectBody(req, res);
        if (!body) return;
        const replicas = (body.spec as { replicas?: unknown } | undefined)?.replicas;
        const rv = (body.metadata as { resourceVersion?: unknown } | undefined)?.resourceVersion;
        if (typeof replicas !== 'number') return send(res, invalidStatus('Scale', name, [{ type: 'FieldValueRequired', field: 'spec.replicas', message: 'Required value' }]));
        return this.run(res, target, name, { type: 'Scale', replicas, preconditions: { resourceVersion: typeof rv === 'string' ? rv : undefined } }, 200, undefined, toScale);
      }
      if (method === 'PATCH') {
        return this.patch(
          req,
          res,
          target,
          (current, patched) => {
            const replicas = (patched as { spec?: { replicas?: unknown } }).spec?.replicas;
            if (typeof replicas !== 'number') return send(res, invalidStatus('Scale', name, [{ type: 'FieldValueRequired', field: 'spec.replicas', message: 'Required value' }]));
            return this.run(res, target, name, { type: 'Scale', replicas, preconditions: { resourceVersion: current.metadata.resourceVersion } }, 200, undefined, toScale);
          },
          scaleOf,
        );
      }
      return notAllowed();
    }
    if (sub === 'binding' && kind.kind === 'Pod') {
      if (method !== 'POST') return notAllowed();
      const body = parseObjectBody(req, res);
      if (!body) return;
      return this.bind(res, target.namespace as string, name, body);
    }
    if (sub === 'finalize' && kind.kind === 'Namespace') {
      if (method !== 'PUT') return notAllowed();
      const body = parseObjectBody(req, res);
      if (!body) return;
      const finalizers = (body.spec as { finalizers?: unknown } | undefined)?.finalizers ?? [];
      if (!Array.isArray(finalizers) || !finalizers.every((f) => typeof f === 'string')) return sendStatus(res, 'BadRequest', 'spec.finalizers must be a list of strings');
      return this.run(res, target, name, { type: 'FinalizeNamespace', finalizers }, 200);
    }
    return sendStatus(res, 'NotFound', `the server could not find the requested resource (${kind.plural}/${sub})`);
  }

  /** POST /api/v1/namespaces/{ns}/bindings: the Binding names its pod. */
  async bindings(req: Request, res: Response, namespace: string): Promise<void> {
    if (req.method !== 'POST') return sendStatus(res, 'MethodNotAllowed', `${req.method} is not supported on bindings`);
    const body = parseObjectBody(req, res);
    if (!body) return;
    const name = (body.metadata as { name?: unknown } | undefined)?.name;
    if (typeof name !== 'string' || name === '') return send(res, invalidStatus('Binding', '', [{ type: 'FieldValueRequired', field: 'metadata.name', message: 'Required value' }]));
    return this.bind(res, namespace, name, body);
  }

  private async bind(res: Response, namespace: string, name: string, body: Record<string, unknown>): Promise<void> {
    const target = (body.target ?? {}) as { name?: unknown; kind?: unknown };
    if (typeof target.name !== 'string' || target.name === '') {
      return send(res, invalidStatus('Binding', name, [{ type: 'FieldValueRequired', field: 'target.name', message: 'Required value' }]));
    }
    const uid = (body.metadata as { uid?: unknown } | undefined)?.uid;
    const pods = { kind: mustPodKind(), namespace, name };
    await this.run(res, pods, name, bindCommand(target.name, uid), 201, undefined, () => BOUND);
  }

  /**
   * A PATCH: applies the patch to the current object (or view of it, such as its Scale) and
   * hands the result on. Retried when another writer changed the object in between, as
   * Kubernetes does for patches that carry no resourceVersion of their own.
   */
  private async patch(
    req: Request,
    res: Response,
    target: Target,
    then: (current: KubeObject, patched: Record<string, unknown>) => Promise<unknown> | void,
    view: (o: KubeObject) => unknown = (o) => o,
  ): Promise<void> {
    const type = patchTypeOf(req.get('content-type'));
    if (!type || (type === 'apply' && target.subresource)) {
      return sendStatus(res, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${Object.keys(PATCH_TYPES).join(', ')}`);
    }
    if (type === 'apply') return this.apply(req, res, target);
    const doc = parseBody(req, res);
    if (doc === undefined) return;
    const current = this.current(target);
    if (!current) return this.notFound(res, target);
    const definition = definitionOfKind(target.subresource === 'scale' ? 'Scale' : target.kind.kind);
    const patched = applyPatchDocument(type, view(current), doc, definition);
    if (E.isLeft(patched)) return sendStatus(res, 'BadRequest', patched.left);
    if (typeof patched.right !== 'object' || patched.right === null || Array.isArray(patched.right)) return sendStatus(res, 'BadRequest', 'the patched object is not a JSON object');
    await then(current, patched.right as Record<string, unknown>);
  }

  private current(target: Target): KubeObject | undefined {
    return this.ctx.projection.store(target.kind.kind).get(target.namespace, target.name as string)?.object as KubeObject | undefined;
  }

  private notFound(res: Response, target: Target): void {
    sendStatus(res, 'NotFound', `${target.kind.plural} "${target.name}" not found`, { name: target.name, kind: target.kind.plural });
  }

  /**
   * The projection a read is answered from. `resourceVersionMatch=Exact` reads the cluster as it
   * was at that position, however old (Kubernetes forgets after minutes; the log does not); a
   * resourceVersion ahead of the log is waited for briefly, then refused as Kubernetes does.
   */
  private async readView(req: Request, res: Response): Promise<ClusterProjection | undefined> {
    const rvParam = req.query.resourceVersion;
    const match = req.query.resourceVersionMatch;
    if (match !== undefined && match !== 'Exact' && match !== 'NotOlderThan') {
      return void sendStatus(res, 'BadRequest', `invalid resourceVersionMatch "${String(match)}": must be Exact or NotOlderThan`);
    }
    if (rvParam === undefined || rvParam === '') {
      if (match !== undefined) return void sendStatus(res, 'BadRequest', 'resourceVersionMatch is forbidden unless resourceVersion is provided');
      return this.ctx.projection;
    }
    if (typeof rvParam !== 'string' || !/^\d+$/.test(rvParam)) return void sendStatus(res, 'BadRequest', `invalid resourceVersion "${String(rvParam)}"`);
    const rv = BigInt(rvParam);
    const live = this.ctx.projection;
    if (rv > live.position) {
      const reached = await Promise.race([live.waitFor(rv).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 3000))]);
      if (!reached) return void sendStatus(res, 'Timeout', `Too large resource version: ${rv}, current: ${live.position}`);
    }
    if (match !== 'Exact' || rv === live.position) return live;
    return this.pastAt(rv);
  }

  /**
   * The cluster as of a past position: the nearest snapshot at or before it (one that cannot be
   * read is passed over: the log is the truth), then the log folded up to it with the live fold.
   */
  private async pastAt(position: bigint): Promise<ClusterProjection> {
    const view = (await loadSnapshotAt(this.ctx.store, position).catch(() => undefined)) ?? new ClusterProjection();
    await view.foldRange(this.ctx.store, position);
    return view;
  }

  private async list(req: Request, res: Response, target: Target): Promise<void> {
    const query = listQuery(req, res, target);
    if (!query) return;
    const view = await this.readView(req, res);
    if (!view) return;
    const items = view.store(target.kind.kind).list(query).map((s) => s.object as KubeObject);
    const resourceVersion = view.position.toString();
    if (wantsTable(req)) return sendJson(res, 200, table(target.kind.kind, items, resourceVersion, this.ctx.clock()));
    sendJson(res, 200, { kind: `${target.kind.kind}List`, apiVersion: target.kind.apiVersion, metadata: { resourceVersion }, items });
  }

  private async get(req: Request, res: Response, target: Target, asTable = false): Promise<void> {
    const view = await this.readView(req, res);
    if (!view) return;
    const found = view.store(target.kind.kind).get(target.namespace, target.name as string)?.object as KubeObject | undefined;
    if (!found) return this.notFound(res, target);
    if (asTable) return sendJson(res, 200, table(target.kind.kind, [found], found.metadata.resourceVersion ?? '', this.ctx.clock()));
    sendJson(res, 200, found);
  }

  private async create(req: Request, res: Response, target: Target): Promise<void> {
    const body = parseBody(req, res);
    if (body === undefined) return;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return sendStatus(res, 'BadRequest', 'the request body must be a JSON object');
    const input = body as { kind?: unknown; metadata?: Record<string, unknown> };
    if (input.kind !== undefined && input.kind !== target.kind.kind) {
      return sendStatus(res, 'BadRequest', `the kind of the provided object (${String(input.kind)}) does not match the resource (${target.kind.plural})`);
    }
    const checked = this.newObjectInput(target.kind, target.namespace, input);
    if (E.isLeft(checked)) return send(res, checked.left);
    await this.write(res, target, checked.right, (object) => ({ type: 'Create', object }), 201);
  }

  private async update(req: Request, res: Response, target: Target): Promise<void> {
    const body = parseBody(req, res);
    if (body === undefined) return;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return sendStatus(res, 'BadRequest', 'the request body must be a JSON object');
    if (target.kind.kind === 'Lease' && target.namespace === 'kube-node-lease') return this.renewNodeLease(res, target, body as Record<string, unknown>);
    const input = body as { metadata?: Record<string, unknown> };
    const metadata = { ...(input.metadata ?? {}) };
    if (metadata.name !== undefined && metadata.name !== target.name) {
      return sendStatus(res, 'BadRequest', `the name of the object (${String(metadata.name)}) does not match the name on the URL (${target.name})`);
    }
    metadata.name = target.name;
    if (target.namespace !== undefined) metadata.namespace = target.namespace;
    await this.write(res, target, { ...input, metadata }, (object) => ({ type: 'Update', object }), 200, this.current(target));
  }

  /**
   * A node's heartbeat: a PUT of its Lease in kube-node-lease is recorded as NodeLeaseRenewed
   * (renewTime is the server's clock), created by the first renewal; not a full-object update.
   */
  private async renewNodeLease(res: Response, target: Target, body: Record<string, unknown>): Promise<void> {
    const spec = (body.spec ?? {}) as { holderIdentity?: unknown; leaseDurationSeconds?: unknown };
    const name = target.name as string;
    const command = renewLeaseCommand(name, spec.holderIdentity, spec.leaseDurationSeconds);
    if (E.isLeft(command)) return send(res, command.left);
    await this.run(res, target, name, command.right, 200);
  }

  private async delete(req: Request, res: Response, target: Target): Promise<void> {
    let options: { gracePeriodSeconds?: unknown; propagationPolicy?: unknown; orphanDependents?: unknown; preconditions?: { uid?: unknown; resourceVersion?: unknown } } = {};
    const raw = req.body as Buffer | undefined;
    if (raw && raw.length > 0) {
      const parsed = parseBody(req, res);
      if (parsed === undefined) return;
      options = (parsed ?? {}) as typeof options;
    }
    const q = req.query.gracePeriodSeconds;
    const grace = typeof q === 'string' ? Number(q) : typeof options.gracePeriodSeconds === 'number' ? options.gracePeriodSeconds : undefined;
    if (grace !== undefined && (!Number.isInteger(grace) || grace < 0)) return sendStatus(res, 'BadRequest', 'gracePeriodSeconds must be a non-negative integer');
    const preconditions = {
      uid: typeof options.preconditions?.uid === 'string' ? options.preconditions.uid : undefined,
      resourceVersion: typeof options.preconditions?.resourceVersion === 'string' ? options.preconditions.resourceVersion : undefined,
    };
    const policy = typeof req.query.propagationPolicy === 'string' ? req.query.propagationPolicy : options.propagationPolicy ?? (options.orphanDependents === true || req.query.orphanDependents === 'true' ? 'Orphan' : undefined);
    if (policy !== undefined && policy !== 'Background' && policy !== 'Foreground' && policy !== 'Orphan') {
      return sendStatus(res, 'BadRequest', `propagationPolicy: Unsupported value: ${JSON.stringify(policy)}: supported values: "Foreground", "Background", "Orphan"`);
    }
    const refused = admitDelete(target.kind, target.name as string);
    if (refused) return send(res, rejectionStatus(refused, target.kind.kind));
    const before = this.current(target);
    // A pod's graceful deletion is finished by its node's kubelet; on a node with no kubelet
    // (no Node object) nothing would ever finish it, so it is deleted at once.
    const nodeName = target.kind.kind === 'Pod' ? (before?.spec as { nodeName?: string } | undefined)?.nodeName : undefined;
    const noKubelet = nodeName !== undefined && !this.ctx.projection.store('Node').get(undefined, nodeName);
    await this.run(res, target, target.name as string, { type: 'Delete', gracePeriodSeconds: noKubelet ? 0 : grace, preconditions, ...(policy ? { propagationPolicy: policy } : {}) }, 200, before);
  }

  /** DELETE on a collection: every object the selectors match, one command each. */
  private async deleteCollection(req: Request, res: Response, target: Target): Promise<void> {
    const query = listQuery(req, res, target);
    if (!query) return;
    const matched = this.ctx.projection.store(target.kind.kind).list(query).map((s) => s.object as KubeObject);
    const deleted: KubeObject[] = [];
    let last = this.ctx.projection.position;
    for (const o of matched) {
      const name = o.metadata.name as string;
      if (admitDelete(target.kind, name)) continue;
      const result = await this.command(writerOf(req, this.ctx.ids), { kind: target.kind.kind, namespace: o.metadata.namespace, name }, { type: 'Delete' });
      // An object deleted meanwhile by someone else is simply no longer there to delete.
      if (E.isLeft(result)) continue;
      if (result.right.position > last) last = result.right.position;
      deleted.push(result.right.object ?? lastState(result.right.events) ?? o);
    }
    await this.ctx.projection.waitFor(last);
    sendJson(res, 200, { kind: `${target.kind.kind}List`, apiVersion: target.kind.apiVersion, metadata: { resourceVersion: last.toString() }, items: deleted });
  }

  /**
   * Decodes and validates an object, then runs the command built from it. On the way: field
   * validation as the request asks (Strict refuses unknown fields, Warn names them in a
   * Warning header; both drop them, as Kubernetes' decoding does) and the managed fields of
   * the write (`current` is the object it replaces, if any).
   */
  private async write(res: Response, target: Target, input: unknown, command: (o: KubeObject) => ObjectCommand, code: number, current?: KubeObject): Promise<void> {
    const options = writeOptions(res.req, res);
    if (!options) return;
    const pruned = checkFields(res, target.kind.kind, input, options.fieldValidation);
    if (pruned === undefined) return;
    const prepared = this.prepare(target.kind, pruned, current, options.fieldManager ?? defaultManager(res.req.get('user-agent')));
    if (E.isLeft(prepared)) return send(res, prepared.left);
    const cmd = command(prepared.right);
    if (cmd.type === 'Create') return this.admitAndCreate(res, target, cmd.object);
    const after = target.kind.kind === 'ResourceQuota' ? (o: KubeObject) => this.refreshQuotaStatus(writerOf(res.req, this.ctx.ids), o) : undefined;
    await this.run(res, target, prepared.right.metadata.name as string, cmd, code, undefined, undefined, after);
  }

  /**
   * What a create or an update writes: the input (unknown fields already dropped) decoded and
   * validated, defaults applied, and the managed fields of the write (`current` is the object it
   * replaces, if any).
   */
  private prepare(kind: KindSpec, pruned: unknown, current: KubeObject | undefined, manager: string): E.Either<StatusBody, KubeObject> {
    const decoded = decodeObject(kind, pruned);
    if (E.isLeft(decoded)) return E.left(invalidStatus(kind.kind, String((pruned as { metadata?: { name?: unknown } }).metadata?.name ?? ''), decoded.left));
    const definition = definitionOfKind(kind.kind);
    const object = decoded.right;
    if (!definition) return E.right(object);
    const managedFields = recordUpdate(definition, current, applyDefaults(kind.kind, object), manager, rfc3339(this.ctx.clock()));
    return E.right({ ...object, metadata: { ...object.metadata, managedFields } });
  }

  /**
   * The checks a new object's name and namespace get before anything else (POST, and the
   * server's own creates): the namespace of the request, a name made from generateName, and
   * NamespaceLifecycle (no creates in a missing or terminating namespace).
   */
  private newObjectInput(kind: KindSpec, namespace: string | undefined, input: { metadata?: unknown }): E.Either<StatusBody, Record<string, unknown>> {
    const metadata: Record<string, unknown> = { ...(typeof input.metadata === 'object' && input.metadata !== null ? input.metadata : {}) };
    if (namespace !== undefined) {
      if (metadata.namespace !== undefined && metadata.namespace !== namespace) {
        return E.left(statusBody('BadRequest', 'the namespace of the provided object does not match the namespace sent on the request'));
      }
      metadata.namespace = namespace;
    }
    if (!metadata.name && typeof metadata.generateName === 'string') metadata.name = `${metadata.generateName}${generatedSuffix(this.ctx.ids)}`;
    const refused = admitCreate(this.ctx.projection, kind, namespace, String(metadata.name ?? ''));
    if (refused) return E.left(rejectionStatus(refused, kind.kind));
    return E.right({ ...input, metadata });
  }

  /**
   * A create from inside the server (api/inProcess.ts): the steps of a POST without the request —
   * name and namespace checks, unknown fields dropped, validation, defaults, managed fields,
   * admission and quota, the command — answered with the object created.
   */
  async createInProcess(w: Writer, kind: KindSpec, namespace: string | undefined, input: Record<string, unknown>, manager: string): Promise<E.Either<StatusBody, KubeObject>> {
    const checked = this.newObjectInput(kind, namespace, input);
    if (E.isLeft(checked)) return checked;
    const definition = definitionOfKind(kind.kind);
    const prepared = this.prepare(kind, definition ? pruneUnknown(definition, checked.right) : checked.right, undefined, manager);
    if (E.isLeft(prepared)) return prepared;
    return this.createAdmitted(w, kind, namespace, prepared.right);
  }

  /** A POST's create, once its object is prepared: admitted and written (createAdmitted), answered 201. */
  private async admitAndCreate(res: Response, target: Target, object: KubeObject): Promise<void> {
    const created = await this.createAdmitted(writerOf(res.req, this.ctx.ids), target.kind, target.namespace, object);
    if (E.isLeft(created)) return send(res, created.left);
    sendJson(res, 201, created.right);
  }

  /**
   * A new object through the admission chain: ServiceAccount and LimitRanger, then each quota
   * of the namespace charged on its own stream (refused there when exceeded), then the create;
   * the charges are refunded if the create itself is refused.
   */
  private async createAdmitted(w: Writer, kind: KindSpec, namespace: string | undefined, object: KubeObject): Promise<E.Either<StatusBody, KubeObject>> {
    const admitted = admitNewObject(this.ctx.projection, kind, object);
    if (E.isLeft(admitted)) return E.left(rejectionStatus(admitted.left, kind.kind));
    const charges = quotaCharges(this.ctx.projection, kind, admitted.right);
    if (E.isLeft(charges)) return E.left(rejectionStatus(charges.left, kind.kind));
    const name = admitted.right.metadata.name as string;
    const objectNamespace = admitted.right.metadata.namespace as string;
    const charged: QuotaCharge[] = [];
    // Under dryRun=All the charges are decided (and may refuse) but nothing is appended.
    for (const c of charges.right) {
      const r = await this.command(w, { kind: 'ResourceQuota', namespace: objectNamespace, name: c.quota }, { type: 'ChargeQuota', charge: c.charge, admitted: { resource: resourceOf(kind), namespace: objectNamespace, name } });
      if (E.isLeft(r)) {
        await this.refund(w, kind, objectNamespace, name, charged);
        return E.left(rejectionStatus(r.left, kind.kind));
      }
      charged.push(c);
    }
    const created = await this.command(w, { kind: kind.kind, namespace, name }, { type: 'Create', object: admitted.right });
    if (E.isRight(created)) {
      // Answered once the projection has it (read-your-writes).
      await this.ctx.projection.waitFor(created.right.position);
      return E.right(created.right.object ?? lastState(created.right.events) ?? object);
    }
    await this.refund(w, kind, objectNamespace, name, charged);
    return E.left(rejectionStatus(created.left, kind.kind));
  }

  private async refund(w: Writer, kind: KindSpec, namespace: string, name: string, charged: readonly QuotaCharge[]): Promise<void> {
    for (const c of charged) {
      await this.command(w, { kind: 'ResourceQuota', namespace, name: c.quota }, { type: 'RefundQuota', charge: c.charge, admitted: { resource: resourceOf(kind), namespace, name } });
    }
  }

  /** After a quota's spec changes, its status (hard, and used counted again), as the quota controller would. */
  private async refreshQuotaStatus(w: Writer, quota: KubeObject): Promise<KubeObject> {
    const namespace = quota.metadata.namespace as string;
    const status = computeQuotaStatus(quota, objectsInNamespace(this.ctx.projection, namespace));
    const r = await this.command(w, { kind: 'ResourceQuota', namespace, name: quota.metadata.name as string }, { type: 'UpdateStatus', status });
    if (E.isLeft(r)) return quota;
    await this.ctx.projection.waitFor(r.right.position);
    return r.right.object ?? lastState(r.right.events) ?? quota;
  }

  /** A command through the shell, with the projection as its first guess of the object's state. */
  private command(w: Writer, key: { kind: string; namespace?: string; name: string }, command: ObjectCommand) {
    return handleCommand(this.ctx.store, key, command, { now: this.ctx.clock(), ids: this.ctx.ids, write: w.write, dryRun: w.dryRun }, this.ctx.projection.loader);
  }

  /**
   * Server-side apply (`application/apply-patch+yaml`): the applied configuration is merged
   * into the object, or creates it when absent; fields other managers own are not changed
   * without `force=true` (409 Conflict, naming them), as Kubernetes does.
   */
  private async apply(req: Request, res: Response, target: Target): Promise<void> {
    const options = writeOptions(req, res);
    if (!options) return;
    if (!options.fieldManager) return sendStatus(res, 'BadRequest', 'PATCH apply requests require the fieldManager query parameter');
    const raw = req.body as Buffer | undefined;
    if (!raw || raw.length === 0) return sendStatus(res, 'BadRequest', 'the request body is empty');
    let doc: unknown;
    try {
      doc = parseYaml(raw.toString('utf8'), { maxAliasCount: 100 });
    } catch (err) {
      return sendStatus(res, 'BadRequest', `error decoding YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return sendStatus(res, 'BadRequest', 'the applied configuration must be an object');
    const config = doc as Record<string, unknown>;
    const kind = target.kind;
    if (config.kind !== kind.kind || config.apiVersion !== kind.apiVersion) {
      return sendStatus(res, 'BadRequest', `the applied configuration must have apiVersion "${kind.apiVersion}" and kind "${kind.kind}"`);
    }
    const meta = (typeof config.metadata === 'object' && config.metadata !== null ? config.metadata : {}) as Record<string, unknown>;
    if (meta.name !== undefined && meta.name !== target.name) return sendStatus(res, 'BadRequest', `the name of the object (${String(meta.name)}) does not match the name on the URL (${target.name})`);
    if (target.namespace !== undefined && meta.namespace !== undefined && meta.namespace !== target.namespace) {
      return sendStatus(res, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    }
    const pruned = checkFields(res, kind.kind, config, options.fieldValidation) as Record<string, unknown> | undefined;
    if (pruned === undefined) return;
    const applied = withName(pruned, target);
    const definition = definitionOfKind(kind.kind) as string;
    const current = this.current(target);
    const result = serverSideApply(definition, current as Record<string, unknown> | undefined, applied, options.fieldManager, options.force, rfc3339(this.ctx.clock()));
    if (result.conflicts.length > 0) return sendConflicts(res, result.conflicts);
    const decoded = decodeObject(kind, result.object);
    if (E.isLeft(decoded)) return send(res, invalidStatus(kind.kind, target.name as string, decoded.left));
    const object = { ...decoded.right, metadata: { ...decoded.right.metadata, managedFields: result.managedFields } } as KubeObject;
    if (!current) {
      const refused = admitCreate(this.ctx.projection, kind, target.namespace, target.name as string);
      if (refused) return send(res, rejectionStatus(refused, kind.kind));
      return this.admitAndCreate(res, target, object);
    }
    const after = kind.kind === 'ResourceQuota' ? (o: KubeObject) => this.refreshQuotaStatus(writerOf(req, this.ctx.ids), o) : undefined;
    await this.run(res, target, target.name as string, { type: 'Update', object: keepVersion(object, current) }, 200, undefined, undefined, after);
  }

  /** Runs a command and answers with the resulting object; false when it was refused. */
  private async run(
    res: Response,
    target: Target | { kind: KindSpec; namespace?: string },
    name: string,
    command: ObjectCommand,
    code: number,
    before?: KubeObject,
    respond: (o: KubeObject | undefined) => unknown = (o) => o,
    after?: (o: KubeObject) => Promise<KubeObject>,
  ): Promise<boolean> {
    const key = { kind: target.kind.kind, namespace: target.namespace, name };
    const result = await this.command(writerOf(res.req, this.ctx.ids), key, command);
    if (E.isLeft(result)) {
      send(res, rejectionStatus(result.left, target.kind.kind));
      return false;
    }
    await this.ctx.projection.waitFor(result.right.position);
    let object = result.right.object ?? lastState(result.right.events) ?? before;
    if (after && object && result.right.events.length > 0) object = await after(object);
    sendJson(res, code, respond(object));
    return true;
  }

  /**
   * Watch: newline-delimited JSON, one event per line, flushed as it happens. Without a
   * resourceVersion the current objects come first as ADDED, as Kubernetes does; with one,
   * every change after it, read back from the log however old it is.
   */
  private watch(req: Request, res: Response, target: Target): void {
    const query = listQuery(req, res, target);
    if (!query) return;
    const rvParam = typeof req.query.resourceVersion === 'string' && req.query.resourceVersion !== '' ? req.query.resourceVersion : undefined;
    if (rvParam !== undefined && !/^\d+$/.test(rvParam)) return sendStatus(res, 'BadRequest', `invalid resourceVersion "${rvParam}"`);
    const timeoutParam = req.query.timeoutSeconds;
    if (timeoutParam !== undefined && (typeof timeoutParam !== 'string' || !/^\d+$/.test(timeoutParam))) {
      return sendStatus(res, 'BadRequest', `invalid timeoutSeconds "${String(timeoutParam)}": must be a non-negative integer`);
    }
    const timeout = Number(timeoutParam ?? 0);
    const bookmarks = req.query.allowWatchBookmarks === 'true';
    res.status(200).type('application/json').setHeader('Transfer-Encoding', 'chunked');
    res.flushHeaders();
    const kind = target.kind.kind;
    const store = this.ctx.projection.store(kind);
    const matches = (o: KubeObject) =>
      (query.namespace === undefined || o.metadata.namespace === query.namespace) &&
      (!query.labels || matchesLabels(query.labels, o.metadata.labels)) &&
      (!query.fields || matchesFields(kind, query.fields, o));
    const asTable = wantsTable(req);
    // Kronicle's own clients (remote controllers) ask for the event behind each change, to name it as their cause.
    const withCause = req.query.kronicleCause === 'true';
    let cause: { eventId: string; correlationId: string; position: string } | undefined;
    let columnsSent = false;
    const write = (type: string, object: unknown) => {
      // As a Table, each event is a one-row table; the column definitions come with the first.
      const shown =
        asTable && type !== 'BOOKMARK' && type !== 'ERROR'
          ? table(kind, [object as KubeObject], (object as KubeObject).metadata.resourceVersion ?? '', this.ctx.clock(), !columnsSent)
          : object;
      if (shown !== object) columnsSent = true;
      if (shown !== object) return void res.write(`${JSON.stringify({ type, object: shown })}\n`);
      // The chunk, framed once per change and shared by every watcher, goes straight to the
      // socket: one write each, instead of the four buffers http's chunked writer would make.
      const socket = res.socket;
      if (socket && !socket.destroyed && (res as unknown as { chunkedEncoding?: boolean }).chunkedEncoding) {
        socket.write(withCause && cause ? framed(`${JSON.stringify({ type, object, kronicle: cause })}\n`) : watchChunk(type, object));
        // A watcher that stopped reading is let go, as Kubernetes does: it re-watches from its
        // last resourceVersion, which the log still serves.
        if (socket.writableLength > SLOW_WATCHER_BYTES) stop();
      } else res.write(`${JSON.stringify({ type, object })}\n`);
    };
    let sub: Subscription | undefined;
    let timer: NodeJS.Timeout | undefined;
    let bookmarkTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      sub?.unsubscribe();
      if (timer) clearTimeout(timer);
      if (bookmarkTimer) clearInterval(bookmarkTimer);
      res.end();
    };
    req.on('close', stop);
    const closing = this.ctx.shutdown?.subscribe(() => stop());
    res.on('close', () => closing?.unsubscribe());
    if (timeout > 0) timer = setTimeout(stop, timeout * 1000);
    const from = rvParam === undefined ? undefined : BigInt(rvParam);
    // Only changes after the requested version: a version ahead of the projection skips the
    // changes up to it, as a watch "from X" must.
    const onChange = (c: Change) => {
      if (c.kind !== kind || (from !== undefined && c.position <= from) || !matches(c.object as KubeObject)) return;
      cause = withCause ? { eventId: c.event.id, correlationId: c.event.metadata.correlationId ?? c.event.id, position: c.position.toString() } : undefined;
      write(c.type, c.object);
      cause = undefined;
    };
    if (from !== undefined && from > this.ctx.projection.position) {
      // Ahead of the projection: either it is about to get there (a write just acknowledged
      // elsewhere), or the log never had this position (the client's history is another log's,
      // as after a restart on a fresh store). The second cannot be served: 410, and the client relists.
      void this.ctx.store.headPosition().then(async (head) => {
        const reached = from <= head && (await Promise.race([this.ctx.projection.waitFor(from).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 3000))]));
        if (res.writableEnded) return;
        if (!reached) {
          write('ERROR', statusBody('Expired', `too old resource version: ${from} (${head})`));
          return stop();
        }
        sub = this.ctx.projection.changes.subscribe(onChange);
      }, () => stop());
    } else if (from === undefined || from === this.ctx.projection.position) {
      if (from === undefined) for (const s of store.list(query)) write('ADDED', s.object);
      sub = this.ctx.projection.changes.subscribe(onChange);
    } else {
      // A past resourceVersion: the cluster as it was then, then every change after it streamed
      // from the log; the same fold as the live projection.
      void (async () => {
        const past = await this.pastAt(from);
        if (res.writableEnded) return;
        // Changes up to `from` are history the client already has; only later ones are sent.
        sub = past.changes.subscribe(onChange);
        // Catching up: a page at a time, written as one batch, and no faster than the client
        // reads (however far back the watch starts, memory stays bounded).
        for (;;) {
          const page = await this.ctx.store.readAll({ from: past.position + 1n, maxCount: 512 });
          if (res.writableEnded) return;
          const socket = res.socket;
          socket?.cork();
          for (const e of page) past.apply(e);
          socket?.uncork();
          if (page.length < 512) break;
          if (socket && socket.writableLength > CATCH_UP_BUFFER_BYTES) {
            await new Promise<void>((resolve) => {
              socket.once('drain', resolve);
              socket.once('close', resolve);
            });
          }
        }
        if (!res.writableEnded) sub.add(past.follow(this.ctx.store));
      })().catch(() => stop());
    }
    if (bookmarks) {
      bookmarkTimer = setInterval(
        () => write('BOOKMARK', { kind, apiVersion: target.kind.apiVersion, metadata: { resourceVersion: this.ctx.projection.position.toString() } }),
        10_000,
      );
    }
  }
}

type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

const isDryRun = (req: Request): boolean => req.query.dryRun === 'All';

interface WriteOptions {
  readonly fieldManager?: string;
  readonly fieldValidation: FieldValidation;
  readonly force: boolean;
}

/** `fieldManager`, `fieldValidation` and `force`, checked as Kubernetes checks them. */
function writeOptions(req: Request, res: Response): WriteOptions | undefined {
  const { fieldManager, fieldValidation, force, dryRun } = req.query;
  if (dryRun !== undefined && dryRun !== 'All') return void sendStatus(res, 'BadRequest', `dryRun: Unsupported value: ${JSON.stringify(dryRun)}: supported values: "All"`);
  if (fieldManager !== undefined && (typeof fieldManager !== 'string' || fieldManager.length > 128 || !/^[\x21-\x7e]+$/.test(fieldManager))) {
    return void sendStatus(res, 'BadRequest', 'fieldManager must be a string of at most 128 printable characters');
  }
  const validation = fieldValidation === undefined || fieldValidation === '' ? 'Warn' : fieldValidation;
  if (validation !== 'Ignore' && validation !== 'Warn' && validation !== 'Strict') {
    return void sendStatus(res, 'BadRequest', `fieldValidation must be one of Ignore, Warn or Strict, not ${JSON.stringify(fieldValidation)}`);
  }
  if (force !== undefined && force !== 'true' && force !== 'false') return void sendStatus(res, 'BadRequest', 'force must be true or false');
  return { ...(typeof fieldManager === 'string' ? { fieldManager } : {}), fieldValidation: validation, force: force === 'true' };
}

/**
 * Unknown fields: refused under Strict, named in Warning headers under Warn, and dropped in
 * every case (Kubernetes' decoding keeps only the fields its types have). Undefined when refused.
 */
function checkFields(res: Response, kind: string, input: unknown, validation: FieldValidation): unknown {
  const definition = definitionOfKind(kind);
  if (!definition) return input;
  const unknown = unknownFields(definition, input);
  if (unknown.length === 0) return input;
  if (validation === 'Strict') {
    const list = unknown.map((f) => `unknown field "${f}"`).join(', ');
    return void sendStatus(res, 'BadRequest', `${kind} in version "v1" cannot be handled as a ${kind}: strict decoding error: ${list}`);
  }
  if (validation === 'Warn') res.setHeader('Warning', unknown.map((f) => `299 - ${JSON.stringify(`unknown field "${f}"`)}`));
  return pruneUnknown(definition, input);
}

/** 409 for an apply that would change fields other managers own, worded as Kubernetes does. */
function sendConflicts(res: Response, conflicts: readonly Conflict[]): void {
  const by = new Map<string, string[]>();
  for (const c of conflicts) {
    const who = `${JSON.stringify(c.manager)} using ${c.apiVersion}`;
    by.set(who, [...(by.get(who) ?? []), c.field]);
  }
  const groups = [...by].map(([who, fields]) => (fields.length === 1 ? `conflict with ${who}: ${fields[0]}` : `conflicts with ${who}:\n${fields.map((f) => `- ${f}`).join('\n')}`));
  const n = conflicts.length;
  const message = `Apply failed with ${n} conflict${n === 1 ? '' : 's'}: ${groups.join('\n')}`;
  sendStatus(res, 'Conflict', message, { causes: conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${JSON.stringify(c.manager)} using ${c.apiVersion}`, field: c.field })) });
}

/**
 * A JSON answer, written directly (express's res.json adds freshness and ETag work the API does
 * not use, at a measurable cost per request).
 */
function sendJson(res: Response, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = code;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/** A catching-up watch waits for the client to read once this much is buffered for it. */
const CATCH_UP_BUFFER_BYTES = 1024 * 1024;
/** A live watcher with this much unread is closed (it re-watches from where it was). */
const SLOW_WATCHER_BYTES = 64 * 1024 * 1024;

/**
 * A watch event as an HTTP chunk (size, line, CRLF). A change reaches every watcher as the same
 * object, so its chunk is serialised and encoded once and shared: a fan-out to a thousand
 * watchers is one JSON.stringify and a thousand socket writes of one buffer.
 */
const watchChunks = new WeakMap<object, Map<string, Buffer>>();
function framed(text: string): Buffer {
  const line = Buffer.from(text);
  return Buffer.concat([Buffer.from(`${line.length.toString(16)}\r\n`), line, Buffer.from('\r\n')]);
}

function watchChunk(type: string, object: unknown): Buffer {
  const frame = () => framed(`${JSON.stringify({ type, object })}\n`);
  if (typeof object !== 'object' || object === null) return frame();
  let byType = watchChunks.get(object);
  if (!byType) watchChunks.set(object, (byType = new Map()));
  let chunk = byType.get(type);
  if (chunk === undefined) byType.set(type, (chunk = frame()));
  return chunk;
}

function parseObjectBody(req: Request, res: Response): Record<string, unknown> | undefined {
  const body = parseBody(req, res);
  if (body === undefined) return undefined;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    sendStatus(res, 'BadRequest', 'the request body must be a JSON object');
    return undefined;
  }
  return body as Record<string, unknown>;
}

/** The name and namespace come from the URL, whatever a patch did to them. */
function withName(o: Record<string, unknown>, target: Target): Record<string, unknown> {
  const metadata: Record<string, unknown> = { ...((o.metadata as Record<string, unknown> | undefined) ?? {}), name: target.name };
  if (target.namespace !== undefined) metadata.namespace = target.namespace;
  return { ...o, metadata };
}

/** A patch that names no resourceVersion applies to the version it was applied to. */
function keepVersion(o: KubeObject, current: KubeObject): KubeObject {
  return o.metadata.resourceVersion ? o : { ...o, metadata: { ...o.metadata, resourceVersion: current.metadata.resourceVersion } };
}

/** The autoscaling/v1 Scale of a replication controller. */
export function scaleOf(rc: KubeObject): Record<string, unknown> {
  const spec = (rc.spec ?? {}) as { replicas?: number; selector?: Record<string, string> };
  const status = (rc.status ?? {}) as { replicas?: number };
  const m = rc.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: spec.replicas ?? 1 },
    status: {
      replicas: status.replicas ?? 0,
      selector: Object.entries(spec.selector ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    },
  };
}

const mustPodKind = (): KindSpec => kindByResource('', 'pods') as KindSpec;

// The commands of the verbs the server's own controllers also perform in-process
// (api/inProcess.ts): one definition for both ways in.

/** PUT …/status: the body's status, under the body's resourceVersion as precondition. */
export function statusCommand(body: { metadata?: unknown; status?: unknown }): ObjectCommand {
  const rv = (body.metadata as { resourceVersion?: unknown } | undefined)?.resourceVersion;
  return { type: 'UpdateStatus', status: (body.status ?? {}) as never, preconditions: { resourceVersion: typeof rv === 'string' ? rv : undefined } };
}

/** POST …/binding: the pod to the node, under the binding's uid as precondition. */
export const bindCommand = (node: string, uid: unknown): ObjectCommand => ({ type: 'Bind', nodeName: node, preconditions: { uid: typeof uid === 'string' ? uid : undefined } });

/** What a binding answers. */
export const BOUND = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } as const;

/** PUT of a node's Lease in kube-node-lease: a renewal (holder defaults to the node, duration to 40 s). */
export function renewLeaseCommand(name: string, holder: unknown, durationSeconds: unknown): E.Either<StatusBody, ObjectCommand> {
  const holderIdentity = typeof holder === 'string' && holder !== '' ? holder : name;
  const duration = durationSeconds ?? 40;
  if (typeof duration !== 'number' || !Number.isInteger(duration) || duration <= 0) {
    return E.left(invalidStatus('Lease', name, [{ type: 'FieldValueInvalid', field: 'spec.leaseDurationSeconds', message: `Invalid value: ${JSON.stringify(duration)}: must be greater than 0` }]));
  }
  return E.right({ type: 'RenewLease', namespace: 'kube-node-lease', name, holderIdentity, leaseDurationSeconds: duration });
}

function lastState(events: ReadonlyArray<{ event: { type: string; object?: KubeObject } }>): KubeObject | undefined {
  for (let i = events.length - 1; i >= 0; i--) if (events[i].event.object) return events[i].event.object;
  return undefined;
}
