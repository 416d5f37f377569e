/**
 * ResourceQuota evaluation (pkg/quota/v1/evaluator/core and plugin/pkg/admission/resourcequota):
 * what an object consumes, what a quota must check, and the messages Kubernetes gives. The
 * decision itself — used + requested ≤ hard — is taken by the ResourceQuota's decider on the
 * quota's own stream, so concurrent admissions in a namespace are serialised by that stream's
 * revision and each accepted charge is an event (QuotaCharged) that replay folds again.
 */
import { KINDS } from '../kinds';
import type { KubeObject } from '../objects/codecs';
import { addQuantities, formatQuantity, mustParseQuantity, ZERO, type Quantity } from '../quantity';
import { podTotals } from './limitRanger';

const COUNTED: Record<string, string> = {
  Pod: 'pods',
  Service: 'services',
  ReplicationController: 'replicationcontrollers',
  Secret: 'secrets',
  ResourceQuota: 'resourcequotas',
  ConfigMap: 'configmaps',
  PersistentVolumeClaim: 'persistentvolumeclaims',
};
const one: Quantity = { nanos: 1_000_000_000n, format: 'DecimalSI' };
const count = (n: number): Quantity => ({ nanos: BigInt(n) * 1_000_000_000n, format: 'DecimalSI' });

/** Every quota resource an object consumes (the quota picks the ones it tracks). */
export function usageOf(kind: string, plural: string, group: string, object: KubeObject): Record<string, Quantity> {
  const usage: Record<string, Quantity> = { [`count/${group ? `${plural}.${group}` : plural}`]: one };
  if (COUNTED[kind]) usage[COUNTED[kind]] = one;
  if (kind === 'Pod') {
    const phase = (object.status as { phase?: string } | undefined)?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return {};
    for (const [r, v] of Object.entries(podTotals(object, 'requests'))) {
      usage[`requests.${r}`] = v;
      if (r === 'cpu' || r === 'memory' || r === 'ephemeral-storage') usage[r] = v;
    }
    for (const [r, v] of Object.entries(podTotals(object, 'limits'))) usage[`limits.${r}`] = v;
  }
  if (kind === 'Service') {
    const spec = (object.spec ?? {}) as { type?: string; ports?: Array<{ nodePort?: number }> };
    if (spec.type === 'LoadBalancer') usage['services.loadbalancers'] = one;
    if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') usage['services.nodeports'] = count((spec.ports ?? []).length);
  }
  return usage;
}

const COMPUTE = ['cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory'];

/**
 * The charge of an object against one quota: the tracked part of its usage; or, for a pod, the
 * compute resources its containers must name explicitly because the quota tracks them.
 */
export function chargeAgainst(quota: KubeObject, kind: string, usage: Record<string, Quantity>, object: KubeObject): { charge: Record<string, string> } | { missing: string } {
  const hard = hardOf(quota);
  if (kind === 'Pod') {
    const spec = (object.spec ?? {}) as { containers?: Array<{ name: string; resources?: { requests?: object; limits?: object } }>; initContainers?: typeof spec.containers };
    const missing = new Map<string, string[]>();
    for (const r of COMPUTE.filter((r) => r in hard)) {
      const [which, name] = r.startsWith('limits.') ? ['limits', r.slice(7)] : ['requests', r.replace(/^requests\./, '')];
      for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
        const list = (c.resources?.[which as 'limits' | 'requests'] ?? {}) as Record<string, unknown>;
        if (!(name in list)) missing.set(r, [...(missing.get(r) ?? []), c.name]);
      }
    }
    if (missing.size > 0) {
      const parts = [...missing.keys()].sort().map((r) => `${r} for: ${[...new Set(missing.get(r))].sort().join(',')}`);
      return { missing: `failed quota: ${quota.metadata.name}: must specify ${parts.join('; ')}` };
    }
  }
  const charge: Record<string, string> = {};
  for (const r of Object.keys(hard).sort()) if (usage[r]) charge[r] = formatQuantity(usage[r]);
  return { charge };
}

/** What quota counting reads: each kind's objects in a namespace (the projection, or a remote view). */
export interface NamespacedObjects {
  store(kind: string): { list(query: { namespace: string }, sorted?: boolean): ReadonlyArray<{ readonly object: unknown }> };
}

/** Every object of a namespace, with what usageOf needs to know of its kind. */
export function objectsInNamespace(view: NamespacedObjects, namespace: string): Array<{ kind: string; plural: string; group: string; object: KubeObject }> {
  return KINDS.filter((k) => k.namespaced).flatMap((k) => view.store(k.kind).list({ namespace }, false).map((s) => ({ kind: k.kind, plural: k.plural, group: k.group, object: s.object as KubeObject })));
}

export const hardOf = (quota: KubeObject): Record<string, string> =>
  ((quota.status as { hard?: Record<string, string> } | undefined)?.hard ?? (quota.spec as { hard?: Record<string, string> } | undefined)?.hard ?? {}) as Record<string, string>;

export const usedOf = (quota: KubeObject): Record<string, string> => ((quota.status as { used?: Record<string, string> } | undefined)?.used ?? {}) as Record<string, string>;

/** `a=1,b=2`, sorted, as the admission plugin prints resource lists. */
export const prettyList = (list: Record<string, string>): string =>
  Object.keys(list)
    .sort()
    .map((k) => `${k}=${list[k]}`)
    .join(',');

/**
 * A quota's status from the objects in its namespace (what the resourcequota controller
 * computes): hard from the spec, used summed over the objects for every tracked resource.
 */
export function computeQuotaStatus(quota: KubeObject, objects: ReadonlyArray<{ kind: string; plural: string; group: string; object: KubeObject }>): { hard: Record<string, string>; used: Record<string, string> } {
  const hard = ((quota.spec as { hard?: Record<string, string | number> } | undefined)?.hard ?? {}) as Record<string, string | number>;
  const totals: Record<string, Quantity> = {};
  for (const r of Object.keys(hard)) totals[r] = ZERO;
  for (const o of objects) {
    const usage = usageOf(o.kind, o.plural, o.group, o.object);
    for (const r of Object.keys(hard)) if (usage[r]) totals[r] = addQuantities(totals[r], usage[r]);
  }
  const canonical = (v: string | number) => formatQuantity(mustParseQuantity(v));
  return {
    hard: Object.fromEntries(Object.entries(hard).map(([k, v]) => [k, canonical(v)])),
    used: Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, formatQuantity(v)])),
  };
}
