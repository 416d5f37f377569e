/**
 * Authorization: the RBAC authorizer (rbac.authorization.k8s.io/v1 Role, ClusterRole, RoleBinding,
 * ClusterRoleBinding, read from the projection — RBAC objects are events like everything else, so
 * replay can answer "who could do what, when"), behind the privileged group system:masters as in
 * kube-apiserver. Request attributes are derived from the request as Kubernetes' RequestInfo does,
 * and a refusal carries Kubernetes' message.
 */
import type { KubeObject, PolicyRule, Subject } from '../../core/objects/codecs';
import type { Actor } from '../../core/events/envelope';
import { kindByResource } from '../../core/kinds';
import type { ClusterView } from '../../projections';

export interface RequestAttributes {
  readonly verb: string;
  readonly resourceRequest: boolean;
  readonly path: string;
  readonly apiGroup: string;
  readonly namespace?: string;
  readonly resource?: string;
  readonly subresource?: string;
  readonly name?: string;
}

const VERBS: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', GET: 'get', HEAD: 'get', DELETE: 'delete' };

/** What a request asks to do, as kube-apiserver's RequestInfoFactory reads it from the URL and method. */
export function requestAttributes(method: string, rawPath: string, query: Record<string, unknown>): RequestAttributes {
  const path = rawPath.split('?')[0];
  const parts = path.split('/').filter((p) => p !== '');
  const nonResource = (): RequestAttributes => ({ verb: method === 'GET' || method === 'HEAD' ? 'get' : method.toLowerCase(), resourceRequest: false, path, apiGroup: '' });
  let rest: string[];
  let apiGroup: string;
  if (parts[0] === 'api' && parts.length >= 3) [apiGroup, rest] = ['', parts.slice(2)];
  else if (parts[0] === 'apis' && parts.length >= 4) [apiGroup, rest] = [parts[1], parts.slice(3)];
  else return nonResource();
  // The replay debugger's operations are resources of its group to RBAC (`state`, `history`, …): so
  // discovery's /apis/* grant does not open them, and a role can grant them one by one.
  if (apiGroup === 'replay.kronicle.dev') return { verb: method === 'POST' ? 'create' : 'get', resourceRequest: true, path, apiGroup, ...(rest[0] ? { resource: rest[0] } : {}) };
  let verb = VERBS[method] ?? method.toLowerCase();
  if (rest[0] === 'watch') {
    verb = 'watch';
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = decodeURIComponent(rest[1]);
    rest = rest.slice(2);
  } else if (rest[0] === 'namespaces' && rest.length === 2) {
    // /api/v1/namespaces/{name}: the namespace itself.
    namespace = decodeURIComponent(rest[1]);
  }
  const [resource, name, subresource] = [rest[0], rest[1] === undefined ? undefined : decodeURIComponent(rest[1]), rest[2]];
  if (verb === 'get' && name === undefined) verb = query.watch === 'true' || query.watch === '1' ? 'watch' : 'list';
  if (verb === 'delete' && name === undefined) verb = 'deletecollection';
  return { verb, resourceRequest: true, path, apiGroup, ...(namespace !== undefined ? { namespace } : {}), ...(resource ? { resource } : {}), ...(subresource ? { subresource } : {}), ...(name !== undefined ? { name } : {}) };
}

const has = (list: readonly string[] | undefined, value: string) => (list ?? []).includes('*') || (list ?? []).includes(value);

/** Whether one rule allows the request (rbac/v1 helpers' VerbMatches, APIGroupMatches, ResourceMatches…). */
export function ruleAllows(rule: PolicyRule, a: RequestAttributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (!a.resourceRequest) {
    return (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === a.path || (u.endsWith('*') && a.path.startsWith(u.slice(0, -1))));
  }
  if (!has(rule.apiGroups, a.apiGroup)) return false;
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : (a.resource ?? '');
  const resources = rule.resources ?? [];
  const resourceOk = resources.some((r) => r === '*' || r === combined || (a.subresource !== undefined && r === `*/${a.subresource}`));
  if (!resourceOk) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (a.name !== undefined && names.includes(a.name));
}

function subjectMatches(s: Subject, actor: Actor, bindingNamespace?: string): boolean {
  if (s.kind === 'User') return s.name === actor.name;
  if (s.kind === 'Group') return (actor.groups ?? []).includes(s.name);
  if (s.kind === 'ServiceAccount') return actor.name === `system:serviceaccount:${s.namespace ?? bindingNamespace ?? ''}:${s.name}`;
  return false;
}

export interface Decision {
  readonly allowed: boolean;
  readonly reason: string;
}

export const PRIVILEGED_GROUP = 'system:masters';

export class RbacAuthorizer {
  constructor(private readonly view: ClusterView) {}

  /**
   * The rules that apply to `actor`, binding by binding: every ClusterRoleBinding's, then (in a
   * namespace) the RoleBindings' there — each with the binding that grants them.
   */
  private *grants(actor: Actor, namespace: string | undefined): Generator<{ readonly rules: readonly PolicyRule[]; readonly reason: string }> {
    type Binding = KubeObject & { roleRef: { kind: string; name: string }; subjects?: Subject[] | null };
    const rulesOf = (kind: string, name: string) => {
      const role = kind === 'ClusterRole' ? this.view.store('ClusterRole').get(undefined, name) : this.view.store('Role').get(namespace, name);
      return ((role?.object as KubeObject | undefined)?.rules as PolicyRule[] | null | undefined) ?? [];
    };
    for (const entry of this.view.store('ClusterRoleBinding').list({}, false)) {
      const b = entry.object as Binding;
      if ((b.subjects ?? []).some((s) => subjectMatches(s, actor))) yield { rules: rulesOf('ClusterRole', b.roleRef.name), reason: `RBAC: allowed by ClusterRoleBinding "${b.metadata.name}" of ClusterRole "${b.roleRef.name}"` };
    }
    if (namespace === undefined) return;
    for (const entry of this.view.store('RoleBinding').list({ namespace }, false)) {
      const b = entry.object as Binding;
      if ((b.subjects ?? []).some((s) => subjectMatches(s, actor, namespace))) yield { rules: rulesOf(b.roleRef.kind, b.roleRef.name), reason: `RBAC: allowed by RoleBinding "${b.metadata.name}/${namespace}" of ${b.roleRef.kind} "${b.roleRef.name}"` };
    }
  }

  /** Every rule that applies to `actor` in `namespace` (SelfSubjectRulesReview: `kubectl auth can-i --list`). */
  rulesFor(actor: Actor, namespace: string): PolicyRule[] {
    return [...this.grants(actor, namespace)].flatMap((g) => g.rules);
  }

  authorize(actor: Actor, a: RequestAttributes): Decision {
    if ((actor.groups ?? []).includes(PRIVILEGED_GROUP)) return { allowed: true, reason: `member of ${PRIVILEGED_GROUP}` };
    for (const g of this.grants(actor, a.resourceRequest ? a.namespace : undefined)) if (g.rules.some((r) => ruleAllows(r, a))) return { allowed: true, reason: g.reason };
    return { allowed: false, reason: '' };
  }
}

/** Kubernetes' words for a refusal: `pods "web" is forbidden: User "alice" cannot get resource "pods" in API group "" in the namespace "default"`. */
export function forbiddenMessage(actor: Actor, a: RequestAttributes): string {
  if (!a.resourceRequest) return `forbidden: User "${actor.name}" cannot ${a.verb} path "${a.path}"`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : (a.resource ?? '');
  const what = a.name !== undefined && a.verb !== 'create' ? `${a.resource} "${a.name}"` : a.resource;
  const scope = a.namespace !== undefined && kindByResource(a.apiGroup, a.resource ?? '')?.kind !== 'Namespace' ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  return `${what} is forbidden: User "${actor.name}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" ${scope}`;
}
