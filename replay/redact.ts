/**
 * What exports show of a Secret: its keys, never its values — data, stringData, and kubectl's
 * last-applied-configuration annotation (which repeats them).
 */
import type { KubeObject } from '../core/objects/codecs';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export function redactSecret(o: unknown): unknown {
  if (typeof o !== 'object' || o === null) return o;
  const x = o as KubeObject & { data?: Record<string, string>; stringData?: Record<string, string> };
  if (x.kind !== 'Secret') return o;
  const hide = (m?: Record<string, string>) => (m ? Object.fromEntries(Object.keys(m).map((k) => [k, '<redacted>'])) : undefined);
  const annotations = x.metadata?.annotations;
  return {
    ...x,
    ...(annotations && LAST_APPLIED in annotations ? { metadata: { ...x.metadata, annotations: { ...annotations, [LAST_APPLIED]: '<redacted>' } } } : {}),
    ...(x.data ? { data: hide(x.data) } : {}),
    ...(x.stringData ? { stringData: hide(x.stringData) } : {}),
  };
}
