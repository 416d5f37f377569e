/**
 * One stream per object: `<Kind>-<namespace>/<name>` for namespaced objects, `<Kind>-<name>`
 * for cluster-scoped ones. Kubernetes names cannot contain "/", so the name is unambiguous, and
 * the category (the part before the first "-") is the kind, as EventStoreDB's $by_category
 * projection expects.
 */
export interface ObjectKey {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

export const streamOf = (key: ObjectKey): string =>
  key.namespace ? `${key.kind}-${key.namespace}/${key.name}` : `${key.kind}-${key.name}`;

export function parseStream(stream: string): ObjectKey | undefined {
  const dash = stream.indexOf('-');
  if (dash <= 0) return undefined;
  const kind = stream.slice(0, dash);
  const rest = stream.slice(dash + 1);
  const slash = rest.indexOf('/');
  if (rest.length === 0) return undefined;
  return slash < 0 ? { kind, name: rest } : { kind, namespace: rest.slice(0, slash), name: rest.slice(slash + 1) };
}
