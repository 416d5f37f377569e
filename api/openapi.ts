/**
 * OpenAPI v3 documents, built from the derived schema (core/objects/schema) and the kind table:
 * `/openapi/v3` lists one document per group-version; each carries the component schemas (with
 * Kubernetes' patch and list-type extensions, which kubectl's client-side apply and `explain`
 * read) and the paths, whose PATCH operations declare the `fieldValidation` parameter — that is
 * what makes kubectl leave validation to the server (`fieldValidation=Strict`).
 * `/openapi/v2` stays a 404: kubectl asks for protobuf there, and falls back without it.
 */
import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { KINDS, type KindSpec } from '../core/kinds';
import { DEFINITIONS, PATCH_META, SCALAR_REFS, definitionOfKind, type FieldType } from '../core/objects/schema';
import { VERSION_INFO } from './discovery';
import { sendStatus } from './status';

type Schema = Record<string, unknown>;

const refSchema = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

function schemaOf(t: FieldType): Schema {
  if ('ref' in t) return refSchema(t.ref);
  if (t.type === 'array') return { type: 'array', items: schemaOf(t.items) };
  if (t.type === 'map') return { type: 'object', additionalProperties: schemaOf(t.values) };
  return t.format ? { type: t.type, format: t.format } : { type: t.type };
}

function definitionSchema(name: string): Schema {
  const def = DEFINITIONS[name];
  const properties: Record<string, Schema> = {};
  for (const [field, t] of Object.entries(def.properties)) {
    const meta = PATCH_META[name]?.[field];
    const s = schemaOf(t);
    // A referenced object is wrapped in allOf, as Kubernetes' documents do, so extensions can sit beside it.
    properties[field] = 'ref' in t && !SCALAR_REFS[t.ref] ? { allOf: [s], default: {} } : s;
    if (meta) {
      Object.assign(properties[field], {
        'x-kubernetes-patch-strategy': meta.strategy,
        ...(meta.mergeKey ? { 'x-kubernetes-patch-merge-key': meta.mergeKey, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': meta.listMapKeys } : { 'x-kubernetes-list-type': 'set' }),
      });
    } else if ('type' in t && t.type === 'array') {
      properties[field]['x-kubernetes-list-type'] = 'atomic';
    }
  }
  return { type: 'object', properties, ...(def.gvk ? { 'x-kubernetes-group-version-kind': [def.gvk] } : {}) };
}

const STATUS_SCHEMAS: Record<string, Schema> = {
  'io.k8s.apimachinery.pkg.apis.meta.v1.Status': { type: 'object', properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, code: { type: 'integer' }, message: { type: 'string' }, reason: { type: 'string' }, status: { type: 'string' } } },
  'io.k8s.apimachinery.pkg.apis.meta.v1.Patch': { type: 'object' },
};

const pathParam = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string', uniqueItems: true } });
const query = (name: string, type = 'string') => ({ name, in: 'query', schema: { type, uniqueItems: true } });
const WRITE_PARAMS = [query('dryRun'), query('fieldManager'), query('fieldValidation')];
const LIST_PARAMS = ['labelSelector', 'fieldSelector', 'resourceVersion', 'resourceVersionMatch', 'continue'].map((n) => query(n)).concat([query('limit', 'integer'), query('timeoutSeconds', 'integer'), query('watch', 'boolean'), query('allowWatchBookmarks', 'boolean')]);
const PATCH_BODY = {
  content: Object.fromEntries(['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'].map((t) => [t, { schema: refSchema('io.k8s.apimachinery.pkg.apis.meta.v1.Patch') }])),
  required: true,
};

function operation(action: string, gvk: object, schema: string, extra: object = {}): Schema {
  return {
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
    responses: { '200': { description: 'OK', content: { 'application/json': { schema: refSchema(schema) } } } },
    ...extra,
  };
}

function pathsOf(k: KindSpec): Record<string, Schema> {
  const base = k.group ? `/apis/${k.group}/${k.version}` : `/api/${k.version}`;
  const collection = k.namespaced ? `${base}/namespaces/{namespace}/${k.plural}` : `${base}/${k.plural}`;
  const gvk = { group: k.group, version: k.version, kind: k.kind };
  const definition = definitionOfKind(k.kind) as string;
  const scope = k.namespaced ? [pathParam('namespace')] : [];
  const body = { content: { 'application/json': { schema: refSchema(definition) } }, required: true };
  const paths: Record<string, Schema> = {
    [collection]: {
      parameters: scope,
      get: operation('list', gvk, definition, { parameters: LIST_PARAMS }),
      post: operation('post', gvk, definition, { parameters: WRITE_PARAMS, requestBody: body }),
      delete: operation('deletecollection', gvk, 'io.k8s.apimachinery.pkg.apis.meta.v1.Status', { parameters: LIST_PARAMS }),
    },
    [`${collection}/{name}`]: {
      parameters: [pathParam('name'), ...scope],
      get: operation('get', gvk, definition),
      put: operation('put', gvk, definition, { parameters: WRITE_PARAMS, requestBody: body }),
      patch: operation('patch', gvk, definition, { parameters: [...WRITE_PARAMS, query('force', 'boolean')], requestBody: PATCH_BODY }),
      delete: operation('delete', gvk, 'io.k8s.apimachinery.pkg.apis.meta.v1.Status'),
    },
  };
  if (k.hasStatus) {
    paths[`${collection}/{name}/status`] = {
      parameters: [pathParam('name'), ...scope],
      get: operation('get', gvk, definition),
      put: operation('put', gvk, definition, { parameters: WRITE_PARAMS, requestBody: body }),
      patch: operation('patch', gvk, definition, { parameters: [...WRITE_PARAMS, query('force', 'boolean')], requestBody: PATCH_BODY }),
    };
  }
  if (k.kind === 'ReplicationController') {
    const scale = { group: 'autoscaling', version: 'v1', kind: 'Scale' };
    const scaleDef = 'io.k8s.api.autoscaling.v1.Scale';
    paths[`${collection}/{name}/scale`] = {
      parameters: [pathParam('name'), ...scope],
      get: operation('get', scale, scaleDef),
      put: operation('put', scale, scaleDef, { parameters: WRITE_PARAMS, requestBody: { content: { 'application/json': { schema: refSchema(scaleDef) } }, required: true } }),
      patch: operation('patch', scale, scaleDef, { parameters: [...WRITE_PARAMS, query('force', 'boolean')], requestBody: PATCH_BODY }),
    };
  }
  return paths;
}

/** The definitions a document needs: everything reachable from its kinds. */
function reachable(roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name) || !DEFINITIONS[name]) return;
    seen.add(name);
    const walk = (t: FieldType): void => {
      if ('ref' in t) visit(t.ref);
      else if (t.type === 'array') walk(t.items);
      else if (t.type === 'map') walk(t.values);
    };
    for (const t of Object.values(DEFINITIONS[name].properties)) walk(t);
  };
  roots.forEach(visit);
  return [...seen].sort();
}

interface Document {
  readonly body: string;
  readonly hash: string;
}

function buildDocument(group: string, version: string): Document {
  const kinds = KINDS.filter((k) => k.group === group && k.version === version);
  const roots = kinds.map((k) => definitionOfKind(k.kind) as string);
  if (!group) roots.push('io.k8s.api.core.v1.Binding', 'io.k8s.api.autoscaling.v1.Scale');
  const schemas: Record<string, Schema> = { ...STATUS_SCHEMAS };
  for (const name of reachable(roots)) schemas[name] = definitionSchema(name);
  for (const [name, s] of Object.entries(SCALAR_REFS)) schemas[name] = { ...s };
  const paths: Record<string, Schema> = {};
  for (const k of kinds) Object.assign(paths, pathsOf(k));
  const body = JSON.stringify({ openapi: '3.0.0', info: { title: 'Kubernetes', version: VERSION_INFO.gitVersion }, paths, components: { schemas } });
  return { body, hash: createHash('sha512').update(body).digest('hex').slice(0, 128).toUpperCase() };
}

const documentKey = (group: string, version: string) => (group ? `apis/${group}/${version}` : `api/${version}`);
const DOCUMENTS = new Map<string, Document>();
function documentFor(key: string): Document | undefined {
  const versions = new Map(KINDS.map((k) => [documentKey(k.group, k.version), k]));
  const k = versions.get(key);
  if (!k) return undefined;
  let doc = DOCUMENTS.get(key);
  if (!doc) DOCUMENTS.set(key, (doc = buildDocument(k.group, k.version)));
  return doc;
}

/** GET /openapi/v3: where each group-version's document is, with its content hash. */
export function serveOpenApiRoot(_req: Request, res: Response): void {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const key of new Set(KINDS.map((k) => documentKey(k.group, k.version)))) {
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${(documentFor(key) as Document).hash}` };
  }
  res.json({ paths });
}

/** GET /openapi/v3/{api/v1 | apis/group/version}. */
export function serveOpenApiDocument(req: Request, res: Response): void {
  const key = req.path.replace(/^\/openapi\/v3\//, '').replace(/\/$/, '');
  const doc = documentFor(key);
  if (!doc) return sendStatus(res, 'NotFound', `the server could not find the requested resource (${req.path})`);
  if (req.query.hash === doc.hash) res.setHeader('Cache-Control', 'public, immutable');
  res.setHeader('Etag', `"${doc.hash}"`);
  res.type('application/json').send(doc.body);
}
