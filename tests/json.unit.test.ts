import { deepEqual, shareUnchanged } from '../core/json';

describe('shareUnchanged', () => {
  const prev = { metadata: { name: 'a', labels: { x: '1' }, resourceVersion: '1' }, spec: { containers: [{ name: 'c', ports: [80] }] }, status: { phase: 'Pending' } };

  it('returns a value deep-equal to next, reusing every unchanged part of prev', () => {
    const next = JSON.parse(JSON.stringify(prev));
    next.metadata.resourceVersion = '2';
    next.status = { phase: 'Running' };
    const frozenNext = JSON.stringify(next);
    const out = shareUnchanged(prev, next);
    expect(out).toEqual(next);
    expect(JSON.stringify(next)).toBe(frozenNext);
    expect(out.spec).toBe(prev.spec);
    expect(out.metadata.labels).toBe(prev.metadata.labels);
    expect(out.metadata).not.toBe(prev.metadata);
    expect(out.status).not.toBe(prev.status);
  });

  it('returns prev itself when nothing changed', () => {
    expect(shareUnchanged(prev, JSON.parse(JSON.stringify(prev)))).toBe(prev);
  });

  it('handles removed keys, shorter and longer arrays, and type changes', () => {
    const cases = [
      { ...prev, status: undefined },
      { ...prev, spec: { containers: [] } },
      { ...prev, spec: { containers: [...prev.spec.containers, { name: 'd' }] } },
      { ...prev, spec: 'now a string' },
      { ...prev, metadata: { name: 'a' } },
    ];
    for (const next of cases) {
      const out = shareUnchanged(prev, next);
      expect(deepEqual(out, next)).toBe(true);
    }
  });
});
