import { apply, recordUpdate, members, type ManagedFieldsEntry } from '../core/objects/managedFields';
import { definitionOfKind } from '../core/objects/schema';

const RC = definitionOfKind('ReplicationController') as string;
const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T00:01:00Z';

const config = (replicas: number, image: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'ReplicationController',
  metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
  spec: { replicas, selector: { app: 'web' }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image, ...extra }] } } },
});
const withManaged = (o: Record<string, unknown>, managedFields: ManagedFieldsEntry[]): Record<string, unknown> => ({ ...o, metadata: { ...(o.metadata as object), managedFields } });
const paths = (e: ManagedFieldsEntry) => members(e.fieldsV1).map((p) => p.join('/'));

describe('server-side apply and field ownership', () => {
  it('records what an apply sets, without the server-owned metadata', () => {
    const r = apply(RC, undefined, config(2, 'a'), 'me', false, T0);
    expect(r.conflicts).toEqual([]);
    expect(r.managedFields).toHaveLength(1);
    const owned = paths(r.managedFields[0]);
    expect(owned).toContain('f:spec/f:replicas');
    expect(owned).toContain('f:spec/f:template/f:spec/f:containers/k:{"name":"nginx"}/f:image');
    expect(owned.some((p) => p.includes('f:name') && p.startsWith('f:metadata'))).toBe(false);
    expect(owned).not.toContain('f:apiVersion');
  });

  it('leaves an unchanged re-apply alone, time stamp included', () => {
    const first = apply(RC, undefined, config(2, 'a'), 'me', false, T0);
    const live = withManaged(first.object, first.managedFields);
    const again = apply(RC, live, config(2, 'a'), 'me', false, T1);
    expect(again.managedFields).toEqual(first.managedFields);
  });

  it('refuses to change another manager’s field unless forced, and then takes it over', () => {
    const created = apply(RC, undefined, config(2, 'a'), 'me', false, T0);
    const live = withManaged(created.object, created.managedFields);
    const scaled = { ...live, spec: { ...(live.spec as object), replicas: 5 } };
    const updated = withManaged(scaled, recordUpdate(RC, live, scaled, 'kubectl-edit', T1));
    const byEdit = (updated.metadata as { managedFields: ManagedFieldsEntry[] }).managedFields.find((e) => e.manager === 'kubectl-edit') as ManagedFieldsEntry;
    expect(paths(byEdit)).toEqual(['f:spec/f:replicas']);

    const refused = apply(RC, updated, config(3, 'a'), 'me', false, T1);
    expect(refused.conflicts).toEqual([{ manager: 'kubectl-edit', apiVersion: 'v1', field: '.spec.replicas' }]);
    // The same value is shared ownership, not a conflict.
    expect(apply(RC, updated, config(5, 'a'), 'me', false, T1).conflicts).toEqual([]);

    const forced = apply(RC, updated, config(3, 'a'), 'me', true, T1);
    expect(forced.conflicts).toEqual([]);
    expect((forced.object.spec as { replicas: number }).replicas).toBe(3);
    expect(forced.managedFields.find((e) => e.manager === 'kubectl-edit')).toBeUndefined();
  });

  it('removes a field the manager stops applying, unless someone else owns it', () => {
    const created = apply(RC, undefined, config(2, 'a', { command: ['run'] }), 'me', false, T0);
    const live = withManaged(created.object, created.managedFields);
    const dropped = apply(RC, live, config(2, 'a'), 'me', false, T1);
    const container = (dropped.object.spec as any).template.spec.containers[0];
    expect(container.command).toBeUndefined();
    expect(container.image).toBe('a');

    const other = apply(RC, live, config(2, 'a', { command: ['run'] }), 'other', false, T1);
    const shared = withManaged(other.object, other.managedFields);
    const kept = apply(RC, shared, config(2, 'a'), 'me', false, T1);
    expect((kept.object.spec as any).template.spec.containers[0].command).toEqual(['run']);
  });

  it('merges keyed lists item by item and keeps items other managers added', () => {
    const created = apply(RC, undefined, config(2, 'a'), 'me', false, T0);
    const live = withManaged(created.object, created.managedFields);
    const sidecar = apply(RC, live, { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'web' }, spec: { template: { spec: { containers: [{ name: 'log', image: 'l' }] } } } }, 'other', false, T1);
    const both = withManaged(sidecar.object, sidecar.managedFields);
    expect((both.spec as any).template.spec.containers.map((c: any) => c.name)).toEqual(['nginx', 'log']);
    const again = apply(RC, both, config(2, 'b'), 'me', false, T1);
    expect((again.object.spec as any).template.spec.containers.map((c: any) => `${c.name}=${c.image}`)).toEqual(['nginx=b', 'log=l']);
  });
});
