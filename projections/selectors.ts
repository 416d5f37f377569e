/**
 * Label and field selectors, parsed as apimachinery parses them (labels.Parse, fields.Parse).
 * Parsing returns an Either with a message in Kubernetes' words; matching is pure.
 */
import * as E from 'fp-ts/Either';
import { labelValue, qualifiedName } from '../core/validation';
import type { KubeObject } from '../core/objects/codecs';

export type LabelOperator = '=' | '!=' | 'in' | 'notin' | 'exists' | '!';

export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  readonly values: readonly string[];
}

export type LabelSelector = readonly LabelRequirement[];

/** Splits on commas that are not inside parentheses. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

export function parseLabelSelector(input: string): E.Either<string, LabelSelector> {
  const text = input.trim();
  if (text === '') return E.right([]);
  const reqs: LabelRequirement[] = [];
  for (const raw of splitTopLevel(text)) {
    const part = raw.trim();
    let m: RegExpExecArray | null;
    let req: LabelRequirement;
    if ((m = /^!\s*([^\s=!(),]+)$/.exec(part))) req = { key: m[1], operator: '!', values: [] };
    else if ((m = /^([^\s=!(),]+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(part))) {
      const values = m[3].split(',').map((v) => v.trim());
      if (values.length === 1 && values[0] === '') return E.left(`unable to parse requirement: for 'in', 'notin' operators, values set can't be empty`);
      req = { key: m[1], operator: m[2] as 'in' | 'notin', values };
    } else if ((m = /^([^\s=!(),]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/.exec(part))) req = { key: m[1], operator: m[2] === '!=' ? '!=' : '=', values: [m[3]] };
    else if ((m = /^([^\s=!(),]+)$/.exec(part))) req = { key: m[1], operator: 'exists', values: [] };
    else return E.left(`unable to parse requirement: found '${part}', expected: identifier or '!', '=', '==', '!=', 'in', 'notin'`);
    const keyErrors = qualifiedName(req.key);
    if (keyErrors.length > 0) return E.left(`unable to parse requirement: <nil>: Invalid value: "${req.key}": ${keyErrors.join('; ')}`);
    for (const v of req.values) {
      const errs = labelValue(v);
      if (errs.length > 0) return E.left(`unable to parse requirement: values[0][${req.key}]: Invalid value: "${v}": ${errs.join('; ')}`);
    }
    reqs.push(req);
  }
  return E.right(reqs);
}

export function matchesLabels(selector: LabelSelector, labels: Readonly<Record<string, string>> | null | undefined): boolean {
  const l = labels ?? {};
  for (const r of selector) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.operator) {
      case '=':
        if (!has || v !== r.values[0]) return false;
        break;
      case '!=':
        if (has && v === r.values[0]) return false;
        break;
      case 'in':
        if (!has || !r.values.includes(v)) return false;
        break;
      case 'notin':
        if (has && r.values.includes(v)) return false;
        break;
      case 'exists':
        if (!has) return false;
        break;
      case '!':
        if (has) return false;
        break;
    }
  }
  return true;
}

/** A map selector (a Service's or an RC's `selector`) as requirements. */
export const selectorFromMap = (m: Readonly<Record<string, string>>): LabelSelector =>
  Object.entries(m).map(([key, v]) => ({ key, operator: '=' as const, values: [v] }));

// ---------------------------------------------------------------------------------------------
// Field selectors

export interface FieldRequirement {
  readonly field: string;
  readonly operator: '=' | '!=';
  readonly value: string;
}
export type FieldSelector = readonly FieldRequirement[];

const paths = new Map<string, readonly string[]>();

function get(o: unknown, path: string): unknown {
  let keys = paths.get(path);
  if (!keys) paths.set(path, (keys = path.split('.')));
  let v = o;
  for (const k of keys) {
    if (!v || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

/** The fields each kind can be selected by, beyond metadata.name and metadata.namespace (as in Kubernetes). */
const FIELDS: Record<string, readonly string[]> = {
  Pod: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  Event: [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
  Node: ['spec.unschedulable'],
  Namespace: ['status.phase'],
  Secret: ['type'],
  ReplicationController: ['status.replicas'],
};

export function fieldValue(kind: string, obj: KubeObject, field: string): string {
  if (field === 'metadata.name') return str(obj.metadata.name);
  if (field === 'metadata.namespace') return str(obj.metadata.namespace);
  if (kind === 'Event' && field === 'source') return str(get(obj, 'source.component'));
  if (field === 'spec.hostNetwork' || field === 'spec.unschedulable') return String(get(obj, field) === true);
  return str(get(obj, field));
}

export function parseFieldSelector(kind: string, input: string): E.Either<string, FieldSelector> {
  const text = input.trim();
  if (text === '') return E.right([]);
  const out: FieldRequirement[] = [];
  for (const raw of text.split(',')) {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(raw);
    if (!m) return E.left(`invalid selector: '${input}'; can't understand '${raw}'`);
    const [, field, op, value] = m;
    const allowed = ['metadata.name', 'metadata.namespace', ...(FIELDS[kind] ?? [])];
    if (!allowed.includes(field)) return E.left(`field label not supported: ${field}`);
    out.push({ field, operator: op === '!=' ? '!=' : '=', value });
  }
  return E.right(out);
}

export const matchesFields = (kind: string, selector: FieldSelector, obj: KubeObject): boolean =>
  selector.every((r) => (fieldValue(kind, obj, r.field) === r.value) === (r.operator === '='));
