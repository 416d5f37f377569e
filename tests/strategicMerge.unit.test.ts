import * as E from 'fp-ts/Either';
import { strategicMerge } from '../core/objects/strategicMerge';
import { definitionOfKind } from '../core/objects/schema';

const POD = definitionOfKind('Pod');
const RC = definitionOfKind('ReplicationController');

function patched(definition: string | undefined, original: unknown, patch: unknown): Record<string, unknown> {
  const r = strategicMerge(definition, original, patch);
  if (E.isLeft(r)) throw new Error(r.left);
  return r.right;
}

const rc = {
  metadata: { name: 'web', finalizers: ['a', 'b', 'c'] },
  spec: {
    replicas: 2,
    template: {
      spec: {
        containers: [{ name: 'nginx', image: 'nginx:1.26', ports: [{ containerPort: 80, protocol: 'TCP' }], env: [{ name: 'A', value: '1' }] }],
        tolerations: [{ key: 'x', operator: 'Exists' }],
      },
    },
  },
};

describe('strategic merge patch', () => {
  it('merges containers by name and keeps what the patch does not mention (kubectl apply)', () => {
    const out = patched(RC, rc, {
      spec: { replicas: 3, template: { spec: { '$setElementOrder/containers': [{ name: 'nginx' }], containers: [{ image: 'nginx:1.27', name: 'nginx' }] } } },
    });
    const c = (out.spec as any).template.spec.containers;
    expect(c).toEqual([{ name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 80, protocol: 'TCP' }], env: [{ name: 'A', value: '1' }] }]);
    expect((out.spec as any).replicas).toBe(3);
  });

  it('is not a JSON merge patch: the same body as a merge patch would drop the ports', () => {
    const out = patched(POD, { spec: rc.spec.template.spec }, { spec: { containers: [{ name: 'nginx', image: 'x' }] } });
    expect((out.spec as any).containers[0].ports).toHaveLength(1);
  });

  it('merges nested lists by their own keys (env by name, ports by containerPort)', () => {
    const out = patched(POD, { spec: rc.spec.template.spec }, {
      spec: { containers: [{ name: 'nginx', env: [{ name: 'B', value: '2' }, { name: 'A', value: 'changed' }], ports: [{ containerPort: 443 }] }] },
    });
    const c = (out.spec as any).containers[0];
    expect(c.env).toEqual([{ name: 'A', value: 'changed' }, { name: 'B', value: '2' }]);
    expect(c.ports.map((p: any) => p.containerPort)).toEqual([80, 443]);
  });

  it('replaces atomic lists such as tolerations', () => {
    const out = patched(POD, { spec: rc.spec.template.spec }, { spec: { tolerations: [{ key: 'y', operator: 'Exists' }] } });
    expect((out.spec as any).tolerations).toEqual([{ key: 'y', operator: 'Exists' }]);
  });

  // apimachinery's mergeSortedSlice: a server-only item goes before a patch item that followed it.
  it('orders a list as $setElementOrder says, keeping server-only items where they were', () => {
    const original = { spec: { containers: [{ name: 'a', image: 'a' }, { name: 'server', image: 's' }, { name: 'b', image: 'b' }] } };
    const out = patched(POD, original, { spec: { '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }, { name: 'c' }], containers: [{ name: 'c', image: 'c' }] } });
    expect((out.spec as any).containers.map((c: any) => c.name)).toEqual(['server', 'b', 'a', 'c']);
  });

  it('deletes a list item with $patch: delete and replaces a list with $patch: replace', () => {
    const original = { spec: { containers: [{ name: 'a', image: 'a' }, { name: 'b', image: 'b' }] } };
    expect((patched(POD, original, { spec: { containers: [{ name: 'a', $patch: 'delete' }] } }).spec as any).containers).toEqual([{ name: 'b', image: 'b' }]);
    expect((patched(POD, original, { spec: { containers: [{ name: 'z', image: 'z' }, { $patch: 'replace' }] } }).spec as any).containers).toEqual([{ name: 'z', image: 'z' }]);
  });

  it('replaces a map with $patch: replace and clears it with $patch: delete', () => {
    const original = { metadata: { labels: { a: '1', b: '2' } } };
    expect(patched(POD, original, { metadata: { labels: { c: '3', $patch: 'replace' } } })).toEqual({ metadata: { labels: { c: '3' } } });
    expect(patched(POD, original, { metadata: { labels: { $patch: 'delete' } } })).toEqual({ metadata: { labels: {} } });
  });

  it('keeps only the $retainKeys of a volume (switching its source)', () => {
    const original = { spec: { volumes: [{ name: 'v', emptyDir: {} }] } };
    const out = patched(POD, original, { spec: { volumes: [{ name: 'v', hostPath: { path: '/x' }, $retainKeys: ['hostPath', 'name'] }] } });
    expect((out.spec as any).volumes).toEqual([{ name: 'v', hostPath: { path: '/x' } }]);
  });

  it('removes values with $deleteFromPrimitiveList and merges primitive lists as sets', () => {
    const out = patched(POD, rc, { metadata: { '$deleteFromPrimitiveList/finalizers': ['b'], finalizers: ['c', 'd'] } });
    expect((out.metadata as any).finalizers).toEqual(['a', 'c', 'd']);
  });

  it('deletes on null and drops nulls that match nothing', () => {
    const out = patched(POD, { metadata: { labels: { a: '1' } } }, { metadata: { labels: { a: null, b: null, c: '3' }, annotations: { x: null } } });
    expect(out).toEqual({ metadata: { labels: { c: '3' }, annotations: {} } });
  });

  it('refuses items without their merge key and unknown directives', () => {
    expect(E.isLeft(strategicMerge(POD, { spec: { containers: [{ name: 'a' }] } }, { spec: { containers: [{ image: 'x' }] } }))).toBe(true);
    expect(E.isLeft(strategicMerge(POD, {}, { metadata: { $patch: 'explode' } }))).toBe(true);
    expect(E.isLeft(strategicMerge(POD, {}, ['not', 'an', 'object']))).toBe(true);
  });

  it('never changes its inputs', () => {
    const original = structuredClone(rc);
    const patch = { spec: { template: { spec: { containers: [{ name: 'nginx', image: 'y' }] } } } };
    const copy = structuredClone(patch);
    patched(RC, original, patch);
    expect(original).toEqual(rc);
    expect(patch).toEqual(copy);
  });
});
