/**
 * Discovery documents, derived from the kind table (core/kinds.ts): the legacy /api, /apis and
 * /api/v1 documents, and aggregated discovery v2, served only when the Accept header asks for
 * exactly `v=v2;as=APIGroupDiscoveryList` (older kubectl ask for v2beta1 and need the legacy
 * documents) and then with that exact Content-Type.
 */
import type { Request, Response } from 'express';
import { KINDS, type KindSpec } from '../core/kinds';

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const SUB_VERBS = ['get', 'patch', 'update'];

interface Subresource {
  readonly name: string;
  readonly kind: string;
  readonly group: string;
  readonly version: string;
  readonly verbs: readonly string[];
}

function subresourcesOf(k: KindSpec): Subresource[] {
  const out: Subresource[] = [];
  if (k.hasStatus) out.push({ name: 'status', kind: k.kind, group: k.group, version: k.version, verbs: SUB_VERBS });
  if (k.kind === 'ReplicationController') out.push({ name: 'scale', kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: SUB_VERBS });
  if (k.kind === 'Pod') out.push({ name: 'binding', kind: 'Binding', group: '', version: 'v1', verbs: ['create'] });
  if (k.kind === 'Namespace') out.push({ name: 'finalize', kind: 'Namespace', group: '', version: 'v1', verbs: ['update'] });
  return out;
}

const kindsOf = (group: string, version: string) => KINDS.filter((k) => k.group === group && k.version === version);

/** Resources that are requests, not stored objects: create only (kubectl auth can-i). */
const REVIEWS = [
  { group: 'authorization.k8s.io', version: 'v1', plural: 'selfsubjectaccessreviews', singular: 'selfsubjectaccessreview', kind: 'SelfSubjectAccessReview' },
  { group: 'authorization.k8s.io', version: 'v1', plural: 'selfsubjectrulesreviews', singular: 'selfsubjectrulesreview', kind: 'SelfSubjectRulesReview' },
];
const reviewsOf = (group: string, version: string) => REVIEWS.filter((r) => r.group === group && r.version === version);

/** The groups besides the legacy core group, with their versions. */
export const GROUPS: ReadonlyArray<{ readonly group: string; readonly version: string }> = [
  ...new Map([...KINDS.filter((k) => k.group), ...REVIEWS].map((k) => [k.group, { group: k.group, version: k.version }])).values(),
];

export function apiResourceList(group: string, version: string) {
  const resources: object[] = [];
  for (const k of kindsOf(group, version)) {
    resources.push({
      name: k.plural,
      singularName: k.singular,
      namespaced: k.namespaced,
      kind: k.kind,
      verbs: VERBS,
      ...(k.shortNames.length ? { shortNames: k.shortNames } : {}),
      ...(k.categories.length ? { categories: k.categories } : {}),
    });
    for (const s of subresourcesOf(k)) {
      resources.push({
        name: `${k.plural}/${s.name}`,
        singularName: '',
        namespaced: k.namespaced,
        ...(s.group !== group || s.version !== version ? { group: s.group, version: s.version } : {}),
        kind: s.kind,
        verbs: s.verbs,
      });
    }
  }
  if (!group) resources.push({ name: 'bindings', singularName: 'binding', namespaced: true, kind: 'Binding', verbs: ['create'] });
  for (const r of reviewsOf(group, version)) resources.push({ name: r.plural, singularName: r.singular, namespaced: false, kind: r.kind, verbs: ['create'] });
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}

function aggregatedVersion(group: string, version: string) {
  return {
    version,
    freshness: 'Current',
    resources: [
      ...reviewsOf(group, version).map((r) => ({ resource: r.plural, responseKind: { group: r.group, version: r.version, kind: r.kind }, scope: 'Cluster', singularResource: r.singular, verbs: ['create'] })),
      ...kindsOf(group, version).map((k) => ({
        resource: k.plural,
        responseKind: { group: k.group, version: k.version, kind: k.kind },
        scope: k.namespaced ? 'Namespaced' : 'Cluster',
        singularResource: k.singular,
        verbs: VERBS,
        ...(k.shortNames.length ? { shortNames: k.shortNames } : {}),
        ...(k.categories.length ? { categories: k.categories } : {}),
        subresources: subresourcesOf(k).map((s) => ({
          subresource: s.name,
          responseKind: { group: s.group, version: s.version, kind: s.kind },
          verbs: s.verbs,
        })),
      })),
    ],
  };
}

export const AGGREGATED_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

export const wantsAggregated = (req: Request): boolean => /v=v2;\s*as=APIGroupDiscoveryList/.test(req.get('accept') ?? '');

function sendAggregated(res: Response, items: object[]): void {
  // Set verbatim: express's res.type() would reorder the parameters and add a charset, and
  // kubectl then does not recognise the aggregated document.
  res.status(200).setHeader('Content-Type', AGGREGATED_CONTENT_TYPE);
  res.end(JSON.stringify({ kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items }));
}

export function serveApi(req: Request, res: Response): void {
  if (wantsAggregated(req)) {
    sendAggregated(res, [{ metadata: { creationTimestamp: null }, versions: [aggregatedVersion('', 'v1')] }]);
    return;
  }
  res.json({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: req.socket.localAddress ?? '127.0.0.1' }] });
}

export function serveApis(req: Request, res: Response): void {
  if (wantsAggregated(req)) {
    sendAggregated(
      res,
      GROUPS.map((g) => ({ metadata: { name: g.group, creationTimestamp: null }, versions: [aggregatedVersion(g.group, g.version)] })),
    );
    return;
  }
  res.json({
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: GROUPS.map((g) => ({
      name: g.group,
      versions: [{ groupVersion: `${g.group}/${g.version}`, version: g.version }],
      preferredVersion: { groupVersion: `${g.group}/${g.version}`, version: g.version },
    })),
  });
}

export const VERSION_INFO = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-11-27T00:00:00Z',
  goVersion: 'go1.23.3',
  compiler: 'gc',
  platform: 'linux/amd64',
};
