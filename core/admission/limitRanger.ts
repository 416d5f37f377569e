/**
 * LimitRanger (plugin/pkg/admission/limitranger): a pod's containers get the namespace's
 * LimitRange defaults for the requests and limits they do not set (recorded in the
 * `kubernetes.io/limit-ranger` annotation), then every Container and Pod item's min, max and
 * maxLimitRequestRatio are enforced, with Kubernetes' messages. Pure: the LimitRanges are given.
 */
import * as E from 'fp-ts/Either';
import type { KubeObject } from '../objects/codecs';
import { addQuantities, compareQuantities, formatQuantity, mustParseQuantity, parseQuantity, milliValue, value, ZERO, type Quantity } from '../quantity';

type ResourceList = Record<string, string | number>;
interface Resources {
  requests?: ResourceList;
  limits?: ResourceList;
}
interface Container {
  name: string;
  resources?: Resources;
}
interface LimitRangeItem {
  type?: string;
  max?: ResourceList;
  min?: ResourceList;
  default?: ResourceList;
  defaultRequest?: ResourceList;
  maxLimitRequestRatio?: ResourceList;
}

export const LIMIT_RANGER_ANNOTATION = 'kubernetes.io/limit-ranger';

const itemsOf = (limitRanges: readonly KubeObject[], type: string): LimitRangeItem[] =>
  limitRanges.flatMap((lr) => (((lr.spec as { limits?: LimitRangeItem[] } | undefined)?.limits ?? []) as LimitRangeItem[]).filter((i) => i.type === type));

/** Kubernetes' LimitRangeItem defaulting: default from max, defaultRequest from default, then from min. */
function effective(item: LimitRangeItem): { default: ResourceList; defaultRequest: ResourceList } {
  const def: ResourceList = { ...(item.max ?? {}), ...(item.default ?? {}) };
  const req: ResourceList = { ...(item.min ?? {}), ...def, ...(item.defaultRequest ?? {}) };
  return { default: def, defaultRequest: req };
}

/** The pod with the defaults applied; unchanged (the same object) when there is nothing to set. */
export function defaultPodResources(pod: KubeObject, limitRanges: readonly KubeObject[]): KubeObject {
  const items = itemsOf(limitRanges, 'Container');
  if (items.length === 0) return pod;
  const defaults = { limits: {} as ResourceList, requests: {} as ResourceList };
  for (const item of items) {
    const e = effective(item);
    Object.assign(defaults.limits, e.default);
    Object.assign(defaults.requests, e.defaultRequest);
  }
  if (Object.keys(defaults.limits).length === 0 && Object.keys(defaults.requests).length === 0) return pod;
  const spec = { ...((pod.spec ?? {}) as Record<string, unknown>) };
  const notes: string[] = [];
  const merge = (list: unknown, prefix: string): unknown => {
    if (!Array.isArray(list)) return list;
    return (list as Container[]).map((c) => {
      const resources: Resources = { ...(c.resources ?? {}) };
      const limits = { ...(resources.limits ?? {}) };
      const requests = { ...(resources.requests ?? {}) };
      const setLimits = Object.keys(defaults.limits).filter((k) => !(k in limits));
      const setRequests = Object.keys(defaults.requests).filter((k) => !(k in requests));
      if (setLimits.length === 0 && setRequests.length === 0) return c;
      for (const k of setLimits) limits[k] = defaults.limits[k];
      for (const k of setRequests) requests[k] = defaults.requests[k];
      if (setRequests.length) notes.push(`${setRequests.sort().join(', ')} request for ${prefix} ${c.name}`);
      if (setLimits.length) notes.push(`${setLimits.sort().join(', ')} limit for ${prefix} ${c.name}`);
      return { ...c, resources: { ...resources, limits, requests } };
    });
  };
  spec.initContainers = merge(spec.initContainers, 'init container');
  spec.containers = merge(spec.containers, 'container');
  if (spec.initContainers === undefined) delete spec.initContainers;
  if (notes.length === 0) return pod;
  const annotations = { ...(pod.metadata.annotations ?? {}), [LIMIT_RANGER_ANNOTATION]: `LimitRanger plugin set: ${notes.join('; ')}` };
  return { ...pod, metadata: { ...pod.metadata, annotations }, spec };
}

const q = (v: string | number | undefined): Quantity | undefined => {
  if (v === undefined) return undefined;
  const p = parseQuantity(v);
  return E.isRight(p) ? p.right : undefined;
};
const show = (v: string | number | undefined) => (v === undefined ? '' : formatQuantity(mustParseQuantity(v)));

/** apimachinery compares cpu in millis and everything else in whole units. */
const observed = (resource: string, x: Quantity): bigint => (resource === 'cpu' || resource.endsWith('.cpu') ? milliValue(x) : value(x));

function minConstraint(limitType: string, resource: string, enforced: string | number, requests: ResourceList, limits: ResourceList): string | undefined {
  const min = mustParseQuantity(enforced);
  const req = q(requests[resource]);
  const lim = q(limits[resource]);
  if (!req) return `minimum ${resource} usage per ${limitType} is ${show(enforced)}.  No request is specified`;
  if (observed(resource, req) < observed(resource, min)) return `minimum ${resource} usage per ${limitType} is ${show(enforced)}, but request is ${show(requests[resource])}`;
  if (lim && observed(resource, lim) < observed(resource, min)) return `minimum ${resource} usage per ${limitType} is ${show(enforced)}, but limit is ${show(limits[resource])}`;
  return undefined;
}

function maxConstraint(limitType: string, resource: string, enforced: string | number, requests: ResourceList, limits: ResourceList): string | undefined {
  const max = mustParseQuantity(enforced);
  const req = q(requests[resource]);
  const lim = q(limits[resource]);
  if (!lim) return `maximum ${resource} usage per ${limitType} is ${show(enforced)}. No limit is specified`;
  if (observed(resource, lim) > observed(resource, max)) return `maximum ${resource} usage per ${limitType} is ${show(enforced)}, but limit is ${show(limits[resource])}`;
  if (req && observed(resource, req) > observed(resource, max)) return `maximum ${resource} usage per ${limitType} is ${show(enforced)}, but request is ${show(requests[resource])}`;
  return undefined;
}

function ratioConstraint(limitType: string, resource: string, enforced: string | number, requests: ResourceList, limits: ResourceList): string | undefined {
  const req = q(requests[resource]);
  const lim = q(limits[resource]);
  if (!req || req.nanos === 0n) return `${resource} max limit to request ratio per ${limitType} is ${show(enforced)}, but no request is specified or request is 0`;
  if (!lim || lim.nanos === 0n) return `${resource} max limit to request ratio per ${limitType} is ${show(enforced)}, but no limit is specified or limit is 0`;
  const ratio = Number(lim.nanos) / Number(req.nanos);
  if (ratio * 1e9 > Number(mustParseQuantity(enforced).nanos)) {
    return `${resource} max limit to request ratio per ${limitType} is ${show(enforced)}, but provided ratio is ${ratio.toFixed(6)}`;
  }
  return undefined;
}

function checkItem(item: LimitRangeItem, limitType: string, requests: ResourceList, limits: ResourceList): string[] {
  const errors: string[] = [];
  for (const [k, v] of Object.entries(item.min ?? {})) errors.push(minConstraint(limitType, k, v, requests, limits) ?? '');
  for (const [k, v] of Object.entries(item.max ?? {})) errors.push(maxConstraint(limitType, k, v, requests, limits) ?? '');
  for (const [k, v] of Object.entries(item.maxLimitRequestRatio ?? {})) errors.push(ratioConstraint(limitType, k, v, requests, limits) ?? '');
  return errors.filter((e) => e !== '');
}

/** A pod's total: the sum over its containers, or the largest init container where that is more. */
export function podTotals(pod: KubeObject, which: 'requests' | 'limits'): Record<string, Quantity> {
  const spec = (pod.spec ?? {}) as { containers?: Container[]; initContainers?: Container[] };
  const total: Record<string, Quantity> = {};
  for (const c of spec.containers ?? []) {
    for (const [k, v] of Object.entries(c.resources?.[which] ?? {})) {
      const x = q(v);
      if (x) total[k] = addQuantities(total[k] ?? { ...ZERO, format: x.format }, x);
    }
  }
  for (const c of spec.initContainers ?? []) {
    for (const [k, v] of Object.entries(c.resources?.[which] ?? {})) {
      const x = q(v);
      if (x && (!total[k] || compareQuantities(x, total[k]) > 0)) total[k] = x;
    }
  }
  return total;
}

/** Min, max and ratio, per container and per pod; the messages, in Kubernetes' words. */
export function checkPodLimits(pod: KubeObject, limitRanges: readonly KubeObject[]): string[] {
  const errors: string[] = [];
  const spec = (pod.spec ?? {}) as { containers?: Container[]; initContainers?: Container[] };
  for (const item of itemsOf(limitRanges, 'Container')) {
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      errors.push(...checkItem(item, 'Container', c.resources?.requests ?? {}, c.resources?.limits ?? {}));
    }
  }
  const podItems = itemsOf(limitRanges, 'Pod');
  if (podItems.length > 0) {
    const asList = (t: Record<string, Quantity>): ResourceList => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, formatQuantity(v)]));
    const requests = asList(podTotals(pod, 'requests'));
    const limits = asList(podTotals(pod, 'limits'));
    for (const item of podItems) errors.push(...checkItem(item, 'Pod', requests, limits));
  }
  return errors;
}

/** utilerrors.NewAggregate's wording: one message as it is, several in brackets. */
export const aggregate = (errors: readonly string[]): string => (errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`);
