import { encodeEvent } from "../core/events/types";
import { uuidV7Source } from "../core/ids";
import type { KubeObject } from "../core/objects/codecs";
import { SeedWriter, syntheticPod } from "./support";
export async function seedClusterForProfile(file: string, total: number, nodes = 100, livePods = 3000): Promise<number> {
  const w = await SeedWriter.open(file);
  const ids = uuidV7Source();
  const user = { actor: { kind: 'user' as const, name: 'bench' }, requestId: 'bench' };
  const node = (n: number) => ({ actor: { kind: 'node' as const, name: `system:node:node-${n}` }, requestId: 'bench' });
  const scheduler = { actor: { kind: 'controller' as const, name: 'system:kube-scheduler' }, requestId: 'bench' };
  let t = Date.parse('2026-11-27T00:00:00Z');
  for (let n = 0; n < nodes; n++) {
    const object = { apiVersion: 'v1', kind: 'Node', metadata: { name: `node-${n}`, uid: ids.uuid(), labels: { 'kubernetes.io/hostname': `node-${n}` } }, spec: { podCIDR: `10.244.${n}.0/24` }, status: { capacity: { cpu: '4', memory: '16Gi', pods: '110' }, allocatable: { cpu: '4', memory: '16Gi', pods: '110' } } } as unknown as KubeObject;
    w.add(`Node-node-${n}`, encodeEvent({ type: 'Created', kind: 'Node', object }, ids.uuid(), node(n)), t);
  }
  const perTick = 3;
  const lifetime = Math.round(livePods / perTick);
  const pods: Array<{ stream: string; object: KubeObject; node: number }> = [];
  for (let tick = 0; w.written + w.pendingCount < total; tick++) {
    t += 1000;
    for (let k = 0; k < nodes / 10; k++) {
      const n = (tick * (nodes / 10) + k) % nodes;
      w.add(`Lease-kube-node-lease/node-${n}`, encodeEvent({ type: 'NodeLeaseRenewed', kind: 'Lease', namespace: 'kube-node-lease', name: `node-${n}`, holderIdentity: `node-${n}`, renewTime: new Date(t).toISOString().replace('Z', '000Z'), leaseDurationSeconds: 40 }, ids.uuid(), node(n)), t);
    }
    for (let k = 0; k < perTick; k++) {
      const i = tick * perTick + k;
      const base = syntheticPod(i);
      const { nodeName: _n, ...spec } = base.spec as Record<string, unknown>;
      const object = { ...base, spec, status: { phase: 'Pending', qosClass: 'Burstable' } } as unknown as KubeObject;
      const stream = `Pod-${base.metadata.namespace}/${base.metadata.name}`;
      pods[i] = { stream, object, node: i % nodes };
      w.add(stream, encodeEvent({ type: 'Created', kind: 'Pod', object }, ids.uuid(), user), t);
      const bound = pods[i - perTick];
      if (bound) w.add(bound.stream, encodeEvent({ type: 'PodBound', kind: 'Pod', nodeName: `node-${bound.node}`, boundAt: new Date(t).toISOString() }, ids.uuid(), scheduler), t);
      const running = pods[i - 3 * perTick];
      if (running) {
        const status = { phase: 'Running', podIP: `10.244.${running.node}.${(i % 250) + 2}`, hostIP: `10.0.0.${running.node + 1}`, startTime: new Date(t).toISOString(), conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'main', ready: true, restartCount: 0, image: 'registry.example.com/team/app:1.2.3', state: { running: { startedAt: new Date(t).toISOString() } } }] };
        w.add(running.stream, encodeEvent({ type: 'PodStatusReported', kind: 'Pod', status } as never, ids.uuid(), node(running.node)), t);
      }
      const gone = pods[i - lifetime];
      if (gone) {
        w.add(gone.stream, encodeEvent({ type: 'Deleted', kind: 'Pod', object: gone.object }, ids.uuid(), user), t);
        delete pods[i - lifetime];
      }
    }
  }
  return w.close();
}
