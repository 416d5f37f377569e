/** A cluster view made of given objects, for reconciler tests: the same projection the runtime reads. */
import type { KubeObject } from '../../core/objects/codecs';
import { ClusterProjection } from '../../projections';

export function viewOf(objects: readonly KubeObject[]): ClusterProjection {
  const view = new ClusterProjection();
  objects.forEach((object, i) => {
    const ns = object.metadata.namespace;
    view.apply({
      id: `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`,
      stream: `${object.kind}-${ns ? `${ns}/` : ''}${object.metadata.name}`,
      revision: 0n,
      position: BigInt(i + 1),
      recordedAt: new Date('2026-01-01T00:00:00Z'),
      type: `${object.kind}Created`,
      data: { object } as never,
      metadata: { schemaVersion: 1, actor: { kind: 'user', name: 'test' } },
    });
  });
  return view;
}
