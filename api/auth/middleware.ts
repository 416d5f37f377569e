/**
 * Authorization on every authenticated request (the secure port's): impersonation first (the
 * `impersonate` verb on users and groups, as kube-apiserver checks it), then the request itself
 * as the effective user. Also SelfSubjectAccessReview, which `kubectl auth can-i` asks.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Actor } from '../../core/events/envelope';
import { actorOf, impersonatedGroups, type ApiContext } from '../resources';
import { sendStatus } from '../status';
import { decodeProtobufBody } from '../protobuf';
import { RbacAuthorizer, forbiddenMessage, requestAttributes, type RequestAttributes } from './rbac';

const authenticatedActor = (req: Request): Actor | undefined => (req as Request & { actor?: Actor }).actor;

export function authorization(ctx: ApiContext) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const actor = authenticatedActor(req);
    if (!actor || !ctx.authorizer) return next();
    const as = req.get('impersonate-user');
    if (as !== undefined) {
      const checks: RequestAttributes[] = [
        { verb: 'impersonate', resourceRequest: true, path: req.path, apiGroup: '', resource: 'users', name: as },
        ...impersonatedGroups(req).map((g) => ({ verb: 'impersonate', resourceRequest: true, path: req.path, apiGroup: '', resource: 'groups', name: g })),
      ];
      for (const a of checks) {
        if (!ctx.authorizer.authorize(actor, a).allowed) return sendStatus(res, 'Forbidden', forbiddenMessage(actor, a), { name: a.name, kind: a.resource });
      }
    }
    const effective = actorOf(req);
    const attrs = requestAttributes(req.method, req.originalUrl, req.query as Record<string, unknown>);
    if (ctx.authorizer.authorize(effective, attrs).allowed) return next();
    sendStatus(res, 'Forbidden', forbiddenMessage(effective, attrs), { ...(attrs.name !== undefined ? { name: attrs.name } : {}), ...(attrs.resource ? { group: attrs.apiGroup, kind: attrs.resource } : {}) });
  };
}

/** A review request's body: JSON, or protobuf as kubectl sends it; undefined when it is neither. */
function reviewBody<T>(req: Request): T | undefined {
  const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  try {
    return ((req.get('content-type') ?? '').includes('protobuf') ? decodeProtobufBody(raw) : JSON.parse(raw.length ? raw.toString('utf8') : '{}')) as T;
  } catch {
    return undefined;
  }
}

/** POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews: may I? (The insecure port's user may do anything.) */
export function selfSubjectAccessReview(ctx: ApiContext) {
  return (req: Request, res: Response): void => {
    const body = reviewBody<{ spec?: { resourceAttributes?: Record<string, string>; nonResourceAttributes?: Record<string, string> } }>(req);
    if (!body) return sendStatus(res, 'BadRequest', 'the body of the request is not a SelfSubjectAccessReview');
    const r = body.spec?.resourceAttributes;
    const n = body.spec?.nonResourceAttributes;
    if (!r && !n) return sendStatus(res, 'Invalid', 'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified', { kind: 'SelfSubjectAccessReview', causes: [{ reason: 'FieldValueInvalid', field: 'spec.resourceAttributes', message: 'exactly one of nonResourceAttributes or resourceAttributes must be specified' }] });
    const attrs: RequestAttributes = r
      ? { verb: r.verb ?? '', resourceRequest: true, path: '', apiGroup: r.group ?? '', ...(r.namespace ? { namespace: r.namespace } : {}), ...(r.resource ? { resource: r.resource } : {}), ...(r.subresource ? { subresource: r.subresource } : {}), ...(r.name ? { name: r.name } : {}) }
      : { verb: n?.verb ?? '', resourceRequest: false, path: n?.path ?? '', apiGroup: '' };
    const decision = (ctx.authorizer ?? new RbacAuthorizer(ctx.projection)).authorize(actorOf(req), attrs);
    res.status(201).json({
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: body.spec,
      status: { allowed: decision.allowed, ...(decision.reason ? { reason: decision.reason } : {}) },
    });
  };
}

/** POST /apis/authorization.k8s.io/v1/selfsubjectrulesreviews: what may I do in a namespace? (`kubectl auth can-i --list`) */
export function selfSubjectRulesReview(ctx: ApiContext) {
  return (req: Request, res: Response): void => {
    const body = reviewBody<{ spec?: { namespace?: string } }>(req);
    if (!body) return sendStatus(res, 'BadRequest', 'the body of the request is not a SelfSubjectRulesReview');
    const rules = (ctx.authorizer ?? new RbacAuthorizer(ctx.projection)).rulesFor(actorOf(req), body.spec?.namespace ?? 'default');
    res.status(201).json({
      kind: 'SelfSubjectRulesReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: body.spec ?? {},
      status: {
        resourceRules: rules.filter((r) => (r.resources ?? []).length > 0).map((r) => ({ verbs: r.verbs, apiGroups: r.apiGroups ?? [], resources: r.resources ?? [], ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}) })),
        nonResourceRules: rules.filter((r) => (r.nonResourceURLs ?? []).length > 0).map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs })),
        incomplete: false,
      },
    });
  };
}
