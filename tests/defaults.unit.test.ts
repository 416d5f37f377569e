import { applyDefaults } from '../core/objects/defaults';

describe('server-side defaults', () => {
  it('defaults container fields as Kubernetes does, keeping what the client set', () => {
    const pod = applyDefaults('Pod', {
      metadata: { name: 'p' },
      spec: {
        containers: [
          { name: 'a', image: 'nginx:1.27', ports: [{ containerPort: 80 }], resources: { limits: { cpu: '1' } } },
          { name: 'b', image: 'registry:5000/app', imagePullPolicy: 'Never' },
          { name: 'c', image: 'app@sha256:abc' },
        ],
        restartPolicy: 'Never',
      },
    }) as any;
    expect(pod.spec.restartPolicy).toBe('Never');
    expect(pod.spec.terminationGracePeriodSeconds).toBe(30);
    expect(pod.spec.containers[0]).toMatchObject({ imagePullPolicy: 'IfNotPresent', ports: [{ containerPort: 80, protocol: 'TCP' }], resources: { limits: { cpu: '1' }, requests: { cpu: '1' } } });
    expect(pod.spec.containers[1].imagePullPolicy).toBe('Never');
    expect(pod.spec.containers[2].imagePullPolicy).toBe('IfNotPresent');
  });

  it('defaults a service’s type, protocol and target port', () => {
    const svc = applyDefaults('Service', { metadata: { name: 's' }, spec: { selector: { app: 'myApp' }, ports: [{ port: 80 }, { port: 81, targetPort: 9999, protocol: 'UDP' }] } }) as any;
    expect(svc.spec).toMatchObject({ type: 'ClusterIP', sessionAffinity: 'None', ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }, { port: 81, protocol: 'UDP', targetPort: 9999 }] });
  });

  it('gives a replication controller one replica, and its selector and labels from the template', () => {
    const rc = applyDefaults('ReplicationController', { metadata: { name: 'r' }, spec: { template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } }) as any;
    expect(rc.spec.replicas).toBe(1);
    expect(rc.spec.selector).toEqual({ app: 'x' });
    expect(rc.metadata.labels).toEqual({ app: 'x' });
    expect(rc.spec.template.spec.restartPolicy).toBe('Always');
  });

  it('fills a limit range’s defaults from max and defaultRequest from default', () => {
    const lr = applyDefaults('LimitRange', { metadata: { name: 'l' }, spec: { limits: [{ type: 'Container', max: { cpu: '1' }, default: { memory: '256Mi' } }] } }) as any;
    expect(lr.spec.limits[0].default).toEqual({ memory: '256Mi', cpu: '1' });
    expect(lr.spec.limits[0].defaultRequest).toEqual({ memory: '256Mi', cpu: '1' });
  });
});
