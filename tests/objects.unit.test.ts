import * as E from 'fp-ts/Either';
import { decodeObject, mustKindSpec } from '../core/kinds';
import type { FieldError } from '../core/validation';

const decode = (kind: string, input: unknown) => decodeObject(mustKindSpec(kind), input);
const errorsOf = (kind: string, input: unknown): FieldError[] => {
  const r = decode(kind, input);
  if (E.isRight(r)) throw new Error('expected errors');
  return r.left;
};
const fields = (errs: FieldError[]) => errs.map((e) => e.field);

const realPod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-1', namespace: 'default', labels: { app: 'web', 'app.kubernetes.io/part-of': 'shop' }, annotations: { 'example.com/note': 'x' } },
  spec: {
    containers: [
      {
        name: 'web',
        image: 'nginx:1.27',
        ports: [{ containerPort: 80, name: 'http', protocol: 'TCP' }],
        env: [{ name: 'MODE', value: 'prod' }, { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
        resources: { requests: { cpu: '0.5', memory: '128Mi' }, limits: { cpu: 1, memory: '1024Mi' } },
        livenessProbe: { httpGet: { path: '/healthz', port: 80 }, initialDelaySeconds: 3 },
        readinessProbe: { tcpSocket: { port: 'http' } },
        securityContext: { runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
        futureField: { anything: [1, 2, 3] },
      },
    ],
    volumes: [{ name: 'data', emptyDir: { sizeLimit: '1Gi' } }],
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }] } } },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'web', effect: 'NoSchedule' }],
    nodeSelector: { disk: 'ssd' },
    securityContext: { fsGroup: 2000 },
    topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule' }],
  },
};

describe('object codecs', () => {
  it('keeps every field of a real manifest, including ones no controller reads', () => {
    const r = decode('Pod', realPod);
    expect(E.isRight(r)).toBe(true);
    const pod = (r as E.Right<any>).right;
    expect(pod.spec.containers[0].livenessProbe).toEqual(realPod.spec.containers[0].livenessProbe);
    expect(pod.spec.containers[0].futureField).toEqual({ anything: [1, 2, 3] });
    expect(pod.spec.volumes).toEqual(realPod.spec.volumes);
    expect(pod.spec.topologySpreadConstraints).toEqual(realPod.spec.topologySpreadConstraints);
    expect(pod.spec.securityContext).toEqual({ fsGroup: 2000 });
  });

  it('normalises quantities to their canonical spelling, as Kubernetes does', () => {
    const pod = (decode('Pod', realPod) as E.Right<any>).right;
    expect(pod.spec.containers[0].resources).toEqual({ requests: { cpu: '500m', memory: '128Mi' }, limits: { cpu: '1', memory: '1Gi' } });
  });

  it('reports type errors with the field path', () => {
    const bad = { ...realPod, spec: { ...realPod.spec, containers: [{ ...realPod.spec.containers[0], ports: [{ containerPort: 'eighty' }] }] } };
    const errs = errorsOf('Pod', bad);
    expect(fields(errs)).toContain('spec.containers[0].ports[0].containerPort');
  });

  it('reports a malformed quantity with its field and the Kubernetes message', () => {
    const bad = { ...realPod, spec: { ...realPod.spec, containers: [{ ...realPod.spec.containers[0], resources: { requests: { cpu: 'lots' } } }] } };
    const errs = errorsOf('Pod', bad);
    expect(errs[0].field).toBe('spec.containers[0].resources.requests[cpu]');
    expect(errs[0].message).toMatch(/quantities must match|must match the regular expression/);
  });
});

describe('validation', () => {
  const pod = (spec: object, metadata: object = { name: 'p' }) => ({ metadata, spec });

  it('requires a name or generateName, and checks names as DNS-1123 subdomains', () => {
    expect(fields(errorsOf('Pod', pod({ containers: [{ name: 'c', image: 'i' }] }, {})))).toEqual(['metadata.name']);
    const errs = errorsOf('Pod', pod({ containers: [{ name: 'c', image: 'i' }] }, { name: 'Bad_Name' }));
    expect(errs[0]).toMatchObject({ type: 'FieldValueInvalid', field: 'metadata.name' });
    expect(errs[0].message).toContain('a lowercase RFC 1123 subdomain must consist of');
  });

  it('checks namespace names as DNS-1123 labels', () => {
    expect(fields(errorsOf('Namespace', { metadata: { name: 'a.b' } }))).toEqual(['metadata.name']);
    expect(E.isRight(decode('Namespace', { metadata: { name: 'team-a' } }))).toBe(true);
  });

  it('checks label keys and values', () => {
    const errs = errorsOf('Pod', pod({ containers: [{ name: 'c', image: 'i' }] }, { name: 'p', labels: { 'bad key': 'v', ok: 'bad value!' } }));
    expect(fields(errs)).toEqual(['metadata.labels', 'metadata.labels[ok]']);
  });

  it('requires containers, their images, unique names and valid ports', () => {
    expect(fields(errorsOf('Pod', pod({ containers: [] })))).toEqual(['spec.containers']);
    const errs = errorsOf('Pod', pod({ containers: [{ name: 'c', ports: [{ containerPort: 70000 }] }, { name: 'c', image: 'x', ports: [{ containerPort: 80, protocol: 'HTTP' }] }] }));
    expect(fields(errs)).toEqual(['spec.containers[0].image', 'spec.containers[0].ports[0].containerPort', 'spec.containers[1].name', 'spec.containers[1].ports[0].protocol']);
  });

  it('refuses requests above limits, comparing quantities exactly', () => {
    const errs = errorsOf('Pod', pod({ containers: [{ name: 'c', image: 'i', resources: { requests: { memory: '1025Mi' }, limits: { memory: '1Gi' } } }] }));
    expect(errs).toEqual([expect.objectContaining({ field: 'spec.containers[0].resources.requests', message: expect.stringContaining('must be less than or equal to memory limit') })]);
    expect(E.isRight(decode('Pod', pod({ containers: [{ name: 'c', image: 'i', resources: { requests: { memory: '1024Mi' }, limits: { memory: '1Gi' } } }] })))).toBe(true);
  });

  it('checks tolerations as Kubernetes does', () => {
    const errs = errorsOf('Pod', pod({ containers: [{ name: 'c', image: 'i' }], tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }, { operator: 'Equal' }, { key: 'k', effect: 'Sometimes' }] }));
    expect(fields(errs)).toEqual(['spec.tolerations[0].operator', 'spec.tolerations[1].operator', 'spec.tolerations[2].effect']);
  });

  it('accepts the seed ReplicationController and refuses a selector that does not match its template', () => {
    const rc = {
      kind: 'ReplicationController',
      apiVersion: 'v1',
      metadata: { name: 'teciplsrc', labels: { name: 'teciplsrc' } },
      spec: { replicas: 3, selector: { name: 'teciplsrc' }, template: { metadata: { labels: { name: 'teciplsrc' } }, spec: { containers: [{ image: 'nginx:1.27', name: 'teciplsrc-01' }] } } },
    };
    expect(E.isRight(decode('ReplicationController', rc))).toBe(true);
    const bad = { ...rc, spec: { ...rc.spec, replicas: -1, selector: { name: 'other' } } };
    expect(fields(errorsOf('ReplicationController', bad))).toEqual(['spec.replicas', 'spec.template.metadata.labels']);
  });

  it('accepts the seed Service and checks ports, names and types', () => {
    const svc = { kind: 'Service', apiVersion: 'v1', metadata: { name: 'my-service' }, spec: { selector: { app: 'myApp' }, ports: [{ port: 80, targetPort: 9999, protocol: 'TCP' }] } };
    expect(E.isRight(decode('Service', svc))).toBe(true);
    const bad = { metadata: { name: '1svc' }, spec: { type: 'Magic', ports: [{ port: 80 }, { port: 0, name: 'b', targetPort: 'way-too-long-port-name' }] } };
    expect(fields(errorsOf('Service', bad))).toEqual(['metadata.name', 'spec.type', 'spec.ports[0].name', 'spec.ports[1].port', 'spec.ports[1].targetPort']);
  });

  it('accepts the seed quota and limit range, and refuses a default above the max', () => {
    const quota = { metadata: { name: 'compute', namespace: 'team-a' }, spec: { hard: { pods: '4', 'requests.cpu': '2', 'requests.memory': '2Gi', 'limits.memory': '4Gi' } } };
    expect(E.isRight(decode('ResourceQuota', quota))).toBe(true);
    const lr = { metadata: { name: 'defaults', namespace: 'team-a' }, spec: { limits: [{ type: 'Container', default: { cpu: '500m', memory: '256Mi' }, defaultRequest: { cpu: '250m', memory: '128Mi' }, max: { cpu: '1', memory: '1Gi' } }] } };
    expect(E.isRight(decode('LimitRange', lr))).toBe(true);
    const bad = { ...lr, spec: { limits: [{ type: 'Container', default: { cpu: '2' }, max: { cpu: '1' } }] } };
    expect(errorsOf('LimitRange', bad)[0].message).toContain('default value 2 is greater than max value 1');
  });

  it('refuses a namespace on a cluster-scoped kind', () => {
    expect(fields(errorsOf('Node', { metadata: { name: 'n1', namespace: 'default' } }))).toEqual(['metadata.namespace']);
  });

  it('checks secret keys and base64 data', () => {
    expect(fields(errorsOf('Secret', { metadata: { name: 's' }, data: { 'bad key': 'aGk=', ok: 'not base64!' } }))).toEqual(['data[bad key]', 'data[ok]']);
  });
});
