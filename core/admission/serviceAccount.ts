/**
 * ServiceAccount admission (plugin/pkg/admission/serviceaccount): a pod that names no service
 * account gets its namespace's `default` one (in `serviceAccountName` and the deprecated
 * `serviceAccount`); a pod that names one which does not exist is refused.
 *
 * Kubernetes refuses the `default` one too while it is missing; here the serviceaccount
 * controller that creates it is not running yet (issue 4), so a missing `default` is assigned
 * anyway. No token volume is mounted: hollow nodes run no containers.
 */
import type { KubeObject } from '../objects/codecs';

export function assignServiceAccount(pod: KubeObject, exists: (name: string) => boolean): { pod: KubeObject } | { refused: string } {
  const spec = (pod.spec ?? {}) as { serviceAccountName?: string; serviceAccount?: string };
  const name = spec.serviceAccountName || spec.serviceAccount || 'default';
  if (name !== 'default' && !exists(name)) {
    return { refused: `error looking up service account ${pod.metadata.namespace}/${name}: serviceaccount "${name}" not found` };
  }
  if (spec.serviceAccountName === name && spec.serviceAccount === name) return { pod };
  return { pod: { ...pod, spec: { ...(pod.spec as object), serviceAccountName: name, serviceAccount: name } } };
}
