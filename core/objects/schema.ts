/**
 * The full field lists of every kind Kronicle serves, derived from @kubernetes/client-node's
 * models (scripts/generate-schema.ts writes schema.json; a test keeps it in sync), plus the patch
 * metadata Kubernetes declares in its Go struct tags (`patchStrategy`, `patchMergeKey`, and the
 * `listMapKey`s server-side apply uses). One source for Strict field validation, the pruning of
 * unknown fields, the OpenAPI documents, strategic merge patch and server-side apply.
 */
import schemaJson from './schema.json';

export type FieldType =
  | { readonly type: 'string' | 'boolean' | 'integer' | 'number' | 'object'; readonly format?: string }
  | { readonly ref: string }
  | { readonly type: 'array'; readonly items: FieldType }
  | { readonly type: 'map'; readonly values: FieldType };

export interface Definition {
  readonly gvk?: { readonly group: string; readonly version: string; readonly kind: string };
  readonly properties: Readonly<Record<string, FieldType>>;
}

export const SCHEMA = schemaJson as unknown as { readonly generatedFrom: string; readonly definitions: Readonly<Record<string, Definition>> };
export const DEFINITIONS = SCHEMA.definitions;

/** Definitions that are scalars on the wire (no properties of their own). */
export const SCALAR_REFS: Readonly<Record<string, { type: string; format?: string }>> = {
  'io.k8s.apimachinery.pkg.api.resource.Quantity': { type: 'string' },
  'io.k8s.apimachinery.pkg.apis.meta.v1.Time': { type: 'string', format: 'date-time' },
  'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime': { type: 'string', format: 'date-time' },
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': { type: 'string', format: 'int-or-string' },
};

const DEFINITION_OF_KIND: Record<string, string> = {};
for (const [name, d] of Object.entries(DEFINITIONS)) if (d.gvk) DEFINITION_OF_KIND[d.gvk.kind] = name;

/** The definition name of a top-level kind (`Pod` → `io.k8s.api.core.v1.Pod`). */
export function definitionOfKind(kind: string): string | undefined {
  return DEFINITION_OF_KIND[kind];
}

export interface PatchMeta {
  /** `merge` lists merge by `mergeKey` (or as sets, for primitives); others are replaced whole. */
  readonly strategy: 'merge' | 'merge,retainKeys';
  readonly mergeKey?: string;
  /** The keys server-side apply identifies list items by (Kubernetes' `listMapKey`s). */
  readonly listMapKeys?: readonly string[];
}

const core = (s: string) => `io.k8s.api.core.v1.${s}`;
const merge = (mergeKey?: string, listMapKeys?: readonly string[]): PatchMeta => ({ strategy: 'merge', ...(mergeKey ? { mergeKey, listMapKeys: listMapKeys ?? [mergeKey] } : {}) });
const CONTAINER_LISTS: Record<string, PatchMeta> = {
  ports: merge('containerPort', ['containerPort', 'protocol']),
  env: merge('name'),
  volumeMounts: merge('mountPath'),
  volumeDevices: merge('devicePath'),
};

/**
 * Kubernetes' patch strategies for the fields of these kinds (k8s.io/api/core/v1/types.go and
 * apimachinery's meta/v1 types.go, v1.32). Lists not named here are atomic: a patch replaces them
 * whole — tolerations, taints, envFrom, endpoint subsets among them, as in Kubernetes.
 */
export const PATCH_META: Readonly<Record<string, Readonly<Record<string, PatchMeta>>>> = {
  'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': { ownerReferences: merge('uid'), finalizers: merge() },
  [core('PodSpec')]: {
    volumes: { strategy: 'merge,retainKeys', mergeKey: 'name', listMapKeys: ['name'] },
    initContainers: merge('name'),
    containers: merge('name'),
    ephemeralContainers: merge('name'),
    imagePullSecrets: merge('name'),
    hostAliases: merge('ip'),
    topologySpreadConstraints: merge('topologyKey', ['topologyKey', 'whenUnsatisfiable']),
    schedulingGates: merge('name'),
    resourceClaims: { strategy: 'merge,retainKeys', mergeKey: 'name', listMapKeys: ['name'] },
  },
  [core('Container')]: CONTAINER_LISTS,
  [core('EphemeralContainer')]: CONTAINER_LISTS,
  [core('PodStatus')]: { conditions: merge('type'), podIPs: merge('ip'), hostIPs: merge('ip'), resourceClaimStatuses: { strategy: 'merge,retainKeys', mergeKey: 'name', listMapKeys: ['name'] } },
  [core('ServiceSpec')]: { ports: merge('port', ['port', 'protocol']) },
  [core('ServiceStatus')]: { conditions: merge('type') },
  [core('NodeSpec')]: { podCIDRs: merge() },
  [core('NodeStatus')]: { conditions: merge('type'), addresses: merge('type') },
  [core('NamespaceStatus')]: { conditions: merge('type') },
  [core('ReplicationControllerStatus')]: { conditions: merge('type') },
  [core('ServiceAccount')]: { secrets: merge('name') },
};

export function patchMeta(definition: string | undefined, field: string): PatchMeta | undefined {
  return definition === undefined ? undefined : PATCH_META[definition]?.[field];
}

/** The definition a field type names, when it is an object with properties. */
export function refOf(t: FieldType | undefined): string | undefined {
  if (!t || !('ref' in t) || SCALAR_REFS[t.ref]) return undefined;
  return t.ref;
}

export function propertyType(definition: string | undefined, field: string): FieldType | undefined {
  return definition === undefined ? undefined : DEFINITIONS[definition]?.properties[field];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The paths of the fields no Kubernetes type has, in Kubernetes' notation
 * (`spec.containers[0].imagePullPolice`), in document order.
 */
export function unknownFields(definition: string, value: unknown): string[] {
  const out: string[] = [];
  walkDefinition(definition, value, '', out);
  return out;
}

function walkDefinition(definition: string, value: unknown, path: string, out: string[]): void {
  const def = DEFINITIONS[definition];
  if (!def || !isObject(value)) return;
  for (const [k, v] of Object.entries(value)) {
    const t = def.properties[k];
    const p = path ? `${path}.${k}` : k;
    if (!t) out.push(p);
    else walkType(t, v, p, out);
  }
}

function walkType(t: FieldType, value: unknown, path: string, out: string[]): void {
  if ('ref' in t) {
    if (!SCALAR_REFS[t.ref]) walkDefinition(t.ref, value, path, out);
  } else if (t.type === 'array') {
    if (Array.isArray(value)) value.forEach((v, i) => walkType(t.items, v, `${path}[${i}]`, out));
  } else if (t.type === 'map') {
    if (isObject(value)) for (const [k, v] of Object.entries(value)) walkType(t.values, v, `${path}[${k}]`, out);
  }
}

/** A copy without the fields no Kubernetes type has (what Kubernetes' decoding drops). */
export function pruneUnknown(definition: string, value: unknown): unknown {
  const def = DEFINITIONS[definition];
  if (!def || !isObject(value)) return value;
  let out: Json | undefined;
  for (const [k, v] of Object.entries(value)) {
    const t = def.properties[k];
    const pruned = t ? pruneType(t, v) : undefined;
    if (pruned !== v || !t) {
      out ??= { ...value };
      if (t) out[k] = pruned;
      else delete out[k];
    }
  }
  return out ?? value;
}

function pruneType(t: FieldType, value: unknown): unknown {
  if ('ref' in t) return SCALAR_REFS[t.ref] ? value : pruneUnknown(t.ref, value);
  if (t.type === 'array' && Array.isArray(value)) {
    let changed = false;
    const items = value.map((v) => {
      const p = pruneType(t.items, v);
      if (p !== v) changed = true;
      return p;
    });
    return changed ? items : value;
  }
  if (t.type === 'map' && isObject(value)) {
    let out: Json | undefined;
    for (const [k, v] of Object.entries(value)) {
      const p = pruneType(t.values, v);
      if (p !== v) (out ??= { ...value })[k] = p;
    }
    return out ?? value;
  }
  return value;
}

