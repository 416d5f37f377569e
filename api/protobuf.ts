/**
 * Kubernetes' protobuf request bodies (`application/vnd.kubernetes.protobuf`), decoded to the
 * JSON form the rest of the server handles, for the kinds kubectl's typed commands send that way
 * (`kubectl create namespace|secret|quota|serviceaccount|service`): the envelope is the magic
 * `k8s\0` and a runtime.Unknown (typeMeta, raw); `raw` is the object's message. Field numbers are
 * Kubernetes' (k8s.io/api and apimachinery generated.proto); fields not listed here are skipped,
 * so an object's unknown parts are dropped as Kubernetes' own decoding drops unknown JSON fields.
 * Other kinds are answered 415, and clients that can send JSON do.
 */

type FieldType =
  | 'string'
  | 'int'
  | 'bool'
  | 'bytes'
  | 'time'
  | 'quantity'
  | 'intOrString'
  | 'fieldsV1'
  | { readonly message: string }
  | { readonly map: 'string' | 'bytes' | 'quantity' };

interface Field {
  readonly name: string;
  readonly type: FieldType;
  readonly repeated?: boolean;
}

const f = (name: string, type: FieldType, repeated = false): Field => ({ name, type, ...(repeated ? { repeated } : {}) });
const msg = (message: string) => ({ message });

/** The messages reachable from the kinds accepted in protobuf, by field number. */
const MESSAGES: Record<string, Record<number, Field>> = {
  Unknown: { 1: f('typeMeta', msg('TypeMeta')), 2: f('raw', 'bytes'), 3: f('contentEncoding', 'string'), 4: f('contentType', 'string') },
  TypeMeta: { 1: f('apiVersion', 'string'), 2: f('kind', 'string') },
  ObjectMeta: {
    1: f('name', 'string'),
    2: f('generateName', 'string'),
    3: f('namespace', 'string'),
    4: f('selfLink', 'string'),
    5: f('uid', 'string'),
    6: f('resourceVersion', 'string'),
    7: f('generation', 'int'),
    8: f('creationTimestamp', 'time'),
    9: f('deletionTimestamp', 'time'),
    10: f('deletionGracePeriodSeconds', 'int'),
    11: f('labels', { map: 'string' }),
    12: f('annotations', { map: 'string' }),
    13: f('ownerReferences', msg('OwnerReference'), true),
    14: f('finalizers', 'string', true),
    17: f('managedFields', msg('ManagedFieldsEntry'), true),
  },
  OwnerReference: { 1: f('kind', 'string'), 3: f('name', 'string'), 4: f('uid', 'string'), 5: f('apiVersion', 'string'), 6: f('controller', 'bool'), 7: f('blockOwnerDeletion', 'bool') },
  ManagedFieldsEntry: { 1: f('manager', 'string'), 2: f('operation', 'string'), 3: f('apiVersion', 'string'), 4: f('time', 'time'), 6: f('fieldsType', 'string'), 7: f('fieldsV1', 'fieldsV1'), 8: f('subresource', 'string') },
  Namespace: { 1: f('metadata', msg('ObjectMeta')), 2: f('spec', msg('NamespaceSpec')), 3: f('status', msg('NamespaceStatus')) },
  NamespaceSpec: { 1: f('finalizers', 'string', true) },
  NamespaceStatus: { 1: f('phase', 'string') },
  Secret: { 1: f('metadata', msg('ObjectMeta')), 2: f('data', { map: 'bytes' }), 3: f('type', 'string'), 4: f('stringData', { map: 'string' }), 5: f('immutable', 'bool') },
  ResourceQuota: { 1: f('metadata', msg('ObjectMeta')), 2: f('spec', msg('ResourceQuotaSpec')), 3: f('status', msg('ResourceQuotaStatus')) },
  ResourceQuotaSpec: { 1: f('hard', { map: 'quantity' }), 2: f('scopes', 'string', true), 3: f('scopeSelector', msg('ScopeSelector')) },
  ResourceQuotaStatus: { 1: f('hard', { map: 'quantity' }), 2: f('used', { map: 'quantity' }) },
  ScopeSelector: { 1: f('matchExpressions', msg('ScopedResourceSelectorRequirement'), true) },
  ScopedResourceSelectorRequirement: { 1: f('scopeName', 'string'), 2: f('operator', 'string'), 3: f('values', 'string', true) },
  ServiceAccount: { 1: f('metadata', msg('ObjectMeta')), 2: f('secrets', msg('ObjectReference'), true), 3: f('imagePullSecrets', msg('LocalObjectReference'), true), 4: f('automountServiceAccountToken', 'bool') },
  ObjectReference: { 1: f('kind', 'string'), 2: f('namespace', 'string'), 3: f('name', 'string'), 4: f('uid', 'string'), 5: f('apiVersion', 'string'), 6: f('resourceVersion', 'string'), 7: f('fieldPath', 'string') },
  LocalObjectReference: { 1: f('name', 'string') },
  Service: { 1: f('metadata', msg('ObjectMeta')), 2: f('spec', msg('ServiceSpec')) },
  ServiceSpec: {
    1: f('ports', msg('ServicePort'), true),
    2: f('selector', { map: 'string' }),
    3: f('clusterIP', 'string'),
    4: f('type', 'string'),
    5: f('externalIPs', 'string', true),
    7: f('sessionAffinity', 'string'),
    8: f('loadBalancerIP', 'string'),
    9: f('loadBalancerSourceRanges', 'string', true),
    10: f('externalName', 'string'),
    11: f('externalTrafficPolicy', 'string'),
    12: f('healthCheckNodePort', 'int'),
    13: f('publishNotReadyAddresses', 'bool'),
    17: f('ipFamilyPolicy', 'string'),
    18: f('clusterIPs', 'string', true),
    19: f('ipFamilies', 'string', true),
    20: f('allocateLoadBalancerNodePorts', 'bool'),
    21: f('loadBalancerClass', 'string'),
    22: f('internalTrafficPolicy', 'string'),
  },
  SelfSubjectAccessReview: { 1: f('metadata', msg('ObjectMeta')), 2: f('spec', msg('SelfSubjectAccessReviewSpec')) },
  SelfSubjectAccessReviewSpec: { 1: f('resourceAttributes', msg('ResourceAttributes')), 2: f('nonResourceAttributes', msg('NonResourceAttributes')) },
  ResourceAttributes: { 1: f('namespace', 'string'), 2: f('verb', 'string'), 3: f('group', 'string'), 4: f('version', 'string'), 5: f('resource', 'string'), 6: f('subresource', 'string'), 7: f('name', 'string') },
  NonResourceAttributes: { 1: f('path', 'string'), 2: f('verb', 'string') },
  SelfSubjectRulesReview: { 1: f('metadata', msg('ObjectMeta')), 2: f('spec', msg('SelfSubjectRulesReviewSpec')) },
  SelfSubjectRulesReviewSpec: { 1: f('namespace', 'string') },
  ServicePort: { 1: f('name', 'string'), 2: f('protocol', 'string'), 3: f('port', 'int'), 4: f('targetPort', 'intOrString'), 5: f('nodePort', 'int'), 6: f('appProtocol', 'string') },
};

const KIND_MESSAGES: Record<string, string> = { Namespace: 'Namespace', Secret: 'Secret', ResourceQuota: 'ResourceQuota', ServiceAccount: 'ServiceAccount', Service: 'Service', SelfSubjectAccessReview: 'SelfSubjectAccessReview', SelfSubjectRulesReview: 'SelfSubjectRulesReview' };
const API_VERSIONS: Record<string, string> = { SelfSubjectAccessReview: 'authorization.k8s.io/v1', SelfSubjectRulesReview: 'authorization.k8s.io/v1' };

const ZERO_TIME = '1970-01-01T00:00:00Z';
// A zero metav1.Time in Go is the year 1; protobuf carries it as seconds -62135596800.
const GO_ZERO_SECONDS = -62135596800;

export const PROTOBUF_MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

export class ProtobufError extends Error {
  constructor(
    message: string,
    readonly unsupported = false,
  ) {
    super(message);
  }
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.buf.length) throw new ProtobufError('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new ProtobufError('varint too long');
    }
  }
  bytes(): Buffer {
    const n = this.varint();
    if (this.pos + n > this.buf.length) throw new ProtobufError('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 2) this.bytes();
    else if (wire === 1) this.pos += 8;
    else if (wire === 5) this.pos += 4;
    else throw new ProtobufError(`unsupported wire type ${wire}`);
    if (this.pos > this.buf.length) throw new ProtobufError('truncated field');
  }
}

/** int64 varints of negative numbers are ten bytes of two's complement. */
const signed = (n: number): number => (n >= 2 ** 63 ? n - 2 ** 64 : n);

function scalar(type: Exclude<FieldType, { message: string } | { map: string }>, r: Reader, wire: number): unknown {
  switch (type) {
    case 'int':
      if (wire !== 0) throw new ProtobufError('expected a varint');
      return signed(r.varint());
    case 'bool':
      if (wire !== 0) throw new ProtobufError('expected a varint');
      return r.varint() !== 0;
    case 'string':
      if (wire !== 2) throw new ProtobufError('expected a length-delimited field');
      return r.bytes().toString('utf8');
    case 'bytes':
      if (wire !== 2) throw new ProtobufError('expected a length-delimited field');
      return Buffer.from(r.bytes());
    case 'quantity': {
      // resource.Quantity { string string = 1 }
      let q = '';
      eachField(r.bytes(), (n, w, inner) => n === 1 && w === 2 && ((q = inner.bytes().toString('utf8')), true));
      return q;
    }
    case 'time': {
      // metav1.Time { int64 seconds = 1; int32 nanos = 2 } → RFC 3339
      let seconds = 0;
      eachField(r.bytes(), (n, w, inner) => n === 1 && w === 0 && ((seconds = signed(inner.varint())), true));
      if (seconds === 0 || seconds === GO_ZERO_SECONDS) return ZERO_TIME;
      return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    }
    case 'intOrString': {
      // intstr.IntOrString { int64 type = 1; int32 intVal = 2; string strVal = 3 }
      let kind = 0;
      let intVal = 0;
      let strVal = '';
      eachField(r.bytes(), (n, w, inner) => {
        if (n === 1 && w === 0) kind = inner.varint();
        else if (n === 2 && w === 0) intVal = signed(inner.varint());
        else if (n === 3 && w === 2) strVal = inner.bytes().toString('utf8');
        else return false;
        return true;
      });
      return kind === 1 ? strVal : intVal;
    }
    case 'fieldsV1': {
      // metav1.FieldsV1 { bytes Raw = 1 } holding JSON
      let raw = '{}';
      eachField(r.bytes(), (n, w, inner) => n === 1 && w === 2 && ((raw = inner.bytes().toString('utf8')), true));
      try {
        return JSON.parse(raw);
      } catch {
        throw new ProtobufError('fieldsV1 is not JSON');
      }
    }
  }
}

/** Walks a small message's fields; `take` reads the ones it knows and returns true, the rest are skipped. */
function eachField(buf: Buffer, take: (field: number, wire: number, r: Reader) => boolean): void {
  const r = new Reader(buf);
  while (!r.done) {
    const tag = r.varint();
    if (!take(tag >>> 3, tag & 7, r)) r.skip(tag & 7);
  }
}

function decodeMessage(name: string, buf: Buffer, depth = 0): Record<string, unknown> {
  if (depth > 32) throw new ProtobufError('nested too deeply');
  const fields = MESSAGES[name];
  const out: Record<string, unknown> = {};
  const r = new Reader(buf);
  while (!r.done) {
    const tag = r.varint();
    const wire = tag & 7;
    const field = fields[Math.floor(tag / 8)];
    if (!field) {
      r.skip(wire);
      continue;
    }
    const t = field.type;
    let value: unknown;
    if (typeof t === 'object' && 'map' in t) {
      // map<string, V>: repeated entries { key = 1; value = 2 }
      const entry = new Reader(r.bytes());
      let key = '';
      let v: unknown = t.map === 'bytes' ? '' : '';
      while (!entry.done) {
        const et = entry.varint();
        if (et >>> 3 === 1) key = entry.bytes().toString('utf8');
        else if (et >>> 3 === 2) v = t.map === 'quantity' ? scalar('quantity', entry, et & 7) : t.map === 'bytes' ? entry.bytes().toString('base64') : entry.bytes().toString('utf8');
        else entry.skip(et & 7);
      }
      const m = (out[field.name] ??= {}) as Record<string, unknown>;
      m[key] = v;
      continue;
    }
    if (typeof t === 'object') {
      if (wire !== 2) throw new ProtobufError('expected a message');
      value = decodeMessage(t.message, r.bytes(), depth + 1);
    } else {
      value = scalar(t, r, wire);
      if (Buffer.isBuffer(value)) value = value.toString('base64');
      // Go writes every non-pointer field, zero or not; its JSON omits the zero ones (omitempty).
      if (!field.repeated && (value === '' || value === 0 || value === false || value === ZERO_TIME)) continue;
    }
    if (field.repeated) ((out[field.name] ??= []) as unknown[]).push(value);
    else out[field.name] = value;
  }
  return out;
}

/** A protobuf request body as the JSON object it stands for; throws ProtobufError. */
export function decodeProtobufBody(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(PROTOBUF_MAGIC)) throw new ProtobufError('the body does not start with the Kubernetes protobuf prefix');
  const unknown = new Reader(body.subarray(4));
  let apiVersion = '';
  let kind = '';
  let raw: Buffer | undefined;
  while (!unknown.done) {
    const tag = unknown.varint();
    const n = tag >>> 3;
    if (n === 1 && (tag & 7) === 2) {
      const tm = decodeMessage('TypeMeta', unknown.bytes());
      apiVersion = String(tm.apiVersion ?? '');
      kind = String(tm.kind ?? '');
    } else if (n === 2 && (tag & 7) === 2) raw = Buffer.from(unknown.bytes());
    else unknown.skip(tag & 7);
  }
  const message = KIND_MESSAGES[kind];
  if (!message || apiVersion !== (API_VERSIONS[kind] ?? 'v1')) throw new ProtobufError(`${kind || 'this kind'} is accepted as JSON only`, true);
  return { apiVersion, kind, ...decodeMessage(message, raw ?? Buffer.alloc(0)) };
}
