/**
 * Derives the field lists of every core/v1 kind Kronicle serves (and everything they reach) from
 * @kubernetes/client-node's generated models, and writes them to core/objects/schema.json.
 *
 *   npx tsx scripts/generate-schema.ts          # rewrite the file
 *   npx tsx scripts/generate-schema.ts --check  # exit 1 when the committed file is stale
 *
 * client-node is ESM-only and needs an undici override on Node 20, so the server does not load it
 * at run time: it reads the generated file, and tests/schema.unit.test.ts runs `--check`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';

type Attr = { name: string; baseName: string; type: string; format: string };
type Model = { getAttributeTypeMap(): Attr[] };
export type FieldType =
  | { type: 'string' | 'boolean' | 'integer' | 'number' | 'object'; format?: string }
  | { ref: string }
  | { type: 'array'; items: FieldType }
  | { type: 'map'; values: FieldType };

/** The top-level kinds served, by client-node model name. */
const ROOTS: Record<string, { group: string; version: string; kind: string }> = {
  V1Namespace: { group: '', version: 'v1', kind: 'Namespace' },
  V1Pod: { group: '', version: 'v1', kind: 'Pod' },
  V1Node: { group: '', version: 'v1', kind: 'Node' },
  V1Service: { group: '', version: 'v1', kind: 'Service' },
  V1Endpoints: { group: '', version: 'v1', kind: 'Endpoints' },
  V1ReplicationController: { group: '', version: 'v1', kind: 'ReplicationController' },
  V1ResourceQuota: { group: '', version: 'v1', kind: 'ResourceQuota' },
  V1LimitRange: { group: '', version: 'v1', kind: 'LimitRange' },
  V1ServiceAccount: { group: '', version: 'v1', kind: 'ServiceAccount' },
  V1Secret: { group: '', version: 'v1', kind: 'Secret' },
  CoreV1Event: { group: '', version: 'v1', kind: 'Event' },
  V1Binding: { group: '', version: 'v1', kind: 'Binding' },
  V1Lease: { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease' },
  V1Scale: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
  V1Role: { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role' },
  V1ClusterRole: { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole' },
  V1RoleBinding: { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding' },
  V1ClusterRoleBinding: { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRoleBinding' },
};

const META = new Set(['ObjectMeta', 'OwnerReference', 'ManagedFieldsEntry', 'LabelSelector', 'LabelSelectorRequirement', 'ListMeta', 'Time', 'MicroTime']);
const GROUP_OF: Record<string, string> = {
  Lease: 'coordination.v1',
  LeaseSpec: 'coordination.v1',
  Scale: 'autoscaling.v1',
  ScaleSpec: 'autoscaling.v1',
  ScaleStatus: 'autoscaling.v1',
  ...Object.fromEntries(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding', 'PolicyRule', 'Subject', 'RoleRef', 'AggregationRule'].map((k) => [k, 'rbac.v1'])),
};

/** client-node model name → the definition name Kubernetes' OpenAPI uses. */
export function definitionName(model: string): string {
  const short = model.replace(/^CoreV1/, '').replace(/^RbacV1/, '').replace(/^V1/, '');
  if (META.has(short)) return `io.k8s.apimachinery.pkg.apis.meta.v1.${short}`;
  return `io.k8s.api.${GROUP_OF[short] ?? 'core.v1'}.${short}`;
}

/** Quantity-valued maps carry `{ [key: string]: string; }` in client-node; Kubernetes types them as Quantity. */
const QUANTITY_MAPS = new Set(['limits', 'requests', 'capacity', 'allocatable', 'hard', 'used', 'max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio', 'allocatedResources']);
const QUANTITY_FIELDS = new Set(['sizeLimit']);

function fieldType(t: string, format: string, field: string, pending: string[]): FieldType {
  const array = /^Array<(.+)>$/.exec(t);
  if (array) return { type: 'array', items: fieldType(array[1], format.replace(/^/, ''), field, pending) };
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(t);
  if (map) {
    if (QUANTITY_MAPS.has(field)) return { type: 'map', values: { ref: 'io.k8s.apimachinery.pkg.api.resource.Quantity' } };
    return { type: 'map', values: fieldType(map[1], format, field, pending) };
  }
  switch (t) {
    case 'string':
      if (QUANTITY_FIELDS.has(field)) return { ref: 'io.k8s.apimachinery.pkg.api.resource.Quantity' };
      return format ? { type: 'string', format } : { type: 'string' };
    case 'boolean':
      return { type: 'boolean' };
    case 'number':
      return format === 'double' ? { type: 'number', format } : { type: 'integer', ...(format ? { format } : {}) };
    case 'Date':
      return { ref: 'io.k8s.apimachinery.pkg.apis.meta.v1.Time' };
    case 'V1MicroTime':
      return { ref: 'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime' };
    case 'IntOrString':
      return { ref: 'io.k8s.apimachinery.pkg.util.intstr.IntOrString' };
    case 'any':
    case 'object':
      return { type: 'object' };
    default:
      pending.push(t);
      return { ref: definitionName(t) };
  }
}

export function generate(): Record<string, unknown> {
  const models = k8s as unknown as Record<string, Model | undefined>;
  const definitions: Record<string, { gvk?: { group: string; version: string; kind: string }; properties: Record<string, FieldType> }> = {};
  const pending = Object.keys(ROOTS);
  while (pending.length > 0) {
    const model = pending.pop()!;
    const name = definitionName(model);
    if (definitions[name]) continue;
    const cls = models[model];
    if (!cls || typeof cls.getAttributeTypeMap !== 'function') throw new Error(`client-node has no model ${model}`);
    const properties: Record<string, FieldType> = {};
    for (const a of cls.getAttributeTypeMap()) properties[a.baseName] = fieldType(a.type, a.format, a.baseName, pending);
    definitions[name] = { ...(ROOTS[model] ? { gvk: ROOTS[model] } : {}), properties };
  }
  const sorted = Object.fromEntries(Object.entries(definitions).sort(([a], [b]) => a.localeCompare(b)));
  const version = JSON.parse(readFileSync(join(__dirname, '..', 'node_modules', '@kubernetes', 'client-node', 'package.json'), 'utf8')).version;
  return { generatedFrom: `@kubernetes/client-node@${version}`, definitions: sorted };
}

const target = join(__dirname, '..', 'core', 'objects', 'schema.json');
const text = JSON.stringify(generate(), null, 1) + '\n';
if (process.argv.includes('--check')) {
  let current = '';
  try { current = readFileSync(target, 'utf8'); } catch { /* missing */ }
  if (current !== text) {
    process.stderr.write(`${target} is stale: run npx tsx scripts/generate-schema.ts\n`);
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
}
