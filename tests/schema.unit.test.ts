/**
 * The field lists come from @kubernetes/client-node (scripts/generate-schema.ts); the committed
 * core/objects/schema.json must be what the installed client-node yields.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { DEFINITIONS, PATCH_META, definitionOfKind, pruneUnknown, unknownFields } from '../core/objects/schema';
import { KINDS } from '../core/kinds';

const root = path.resolve(__dirname, '..');

describe('the derived schema', () => {
  it('is in sync with @kubernetes/client-node', () => {
    expect(() => execFileSync(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'scripts/generate-schema.ts', '--check'], { cwd: root, stdio: 'pipe' })).not.toThrow();
  }, 60_000);

  it('has a definition for every served kind, and patch metadata only on fields that exist', () => {
    for (const k of KINDS) expect(definitionOfKind(k.kind)).toBeDefined();
    for (const [definition, fields] of Object.entries(PATCH_META)) {
      for (const field of Object.keys(fields)) expect(DEFINITIONS[definition]?.properties[field]).toBeDefined();
    }
  });

  it('knows the fields no controller reads (probes, volumes, affinity, securityContext…)', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', labels: { a: 'b' } },
      spec: {
        containers: [{ name: 'c', image: 'i', livenessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 3 }, securityContext: { runAsNonRoot: true }, volumeMounts: [{ name: 'v', mountPath: '/d' }] }],
        volumes: [{ name: 'v', configMap: { name: 'cm', items: [{ key: 'k', path: 'p' }] } }],
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'k', operator: 'In', values: ['v'] }] }] } } },
        topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule' }],
      },
    };
    const pod2 = pod as unknown as Record<string, unknown>;
    expect(unknownFields(definitionOfKind('Pod') as string, pod)).toEqual([]);
    expect(pruneUnknown(definitionOfKind('Pod') as string, pod)).toBe(pod2);
  });

  it('names and drops unknown fields, in maps and lists too', () => {
    const pod = { metadata: { name: 'p', labels: { 'any-key': 'is fine' }, bogus: 1 }, spec: { containers: [{ name: 'c', image: 'i', imagePullPolice: 'x' }] } };
    const def = definitionOfKind('Pod') as string;
    expect(unknownFields(def, pod)).toEqual(['metadata.bogus', 'spec.containers[0].imagePullPolice']);
    expect(pruneUnknown(def, pod)).toEqual({ metadata: { name: 'p', labels: { 'any-key': 'is fine' } }, spec: { containers: [{ name: 'c', image: 'i' }] } });
    expect(pod.metadata.bogus).toBe(1);
  });
});
