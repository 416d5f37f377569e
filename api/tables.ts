/**
 * Server-side printing: `kubectl get` asks for `as=Table` and prints the columns the server
 * chooses. The columns follow Kubernetes' printers (pkg/printers/internalversion/printers.go);
 * priority-1 columns are the ones kubectl shows only with `-o wide`. Each row carries the
 * object's metadata as a PartialObjectMetadata (kubectl builds NAMESPACE and LABELS from it).
 */
import type { Request } from 'express';
import type { KubeObject } from '../core/objects/codecs';

interface Column {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'date';
  readonly format?: string;
  readonly description: string;
  readonly priority: number;
  readonly cell: (o: Obj, now: Date) => string | number;
}

type Obj = KubeObject & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const wantsTable = (req: Request): boolean => /as=Table/.test(req.get('accept') ?? '');

/** Kubernetes' duration.HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

const age = (o: Obj, now: Date): string => {
  const t = o.metadata.creationTimestamp ? Date.parse(o.metadata.creationTimestamp) : NaN;
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now.getTime() - t);
};

const col = (name: string, cell: Column['cell'], priority = 0, type: Column['type'] = 'string', description = name): Column => ({ name, type, description, priority, cell, ...(name === 'Name' ? { format: 'name' } : {}) });
const NAME = col('Name', (o) => o.metadata.name ?? '');
const AGE = col('Age', age);
const none = (v: unknown): string => (v === undefined || v === null || v === '' ? '<none>' : String(v));
const selectorText = (m: Record<string, string> | undefined): string =>
  m && Object.keys(m).length ? Object.entries(m).map(([k, v]) => `${k}=${v}`).join(',') : '<none>';

function podStatus(o: Obj): string {
  const status = o.status ?? {};
  let reason: string = status.reason ?? status.phase ?? 'Pending';
  for (const c of status.containerStatuses ?? []) {
    if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
    else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
    else if (c.state?.terminated) reason = c.state.terminated.signal ? `Signal:${c.state.terminated.signal}` : `ExitCode:${c.state.terminated.exitCode}`;
  }
  if (o.metadata.deletionTimestamp) reason = status.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

function nodeStatus(o: Obj): string {
  const ready = (o.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready');
  const parts = [ready ? (ready.status === 'True' ? 'Ready' : ready.status === 'False' ? 'NotReady' : 'Unknown') : 'Unknown'];
  if (o.spec?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

const address = (o: Obj, type: string): string => none((o.status?.addresses ?? []).find((a: { type: string }) => a.type === type)?.address);

function servicePorts(o: Obj): string {
  const ports: Array<{ port: number; protocol?: string; nodePort?: number }> = o.spec?.ports ?? [];
  if (ports.length === 0) return '<none>';
  return ports.map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}` : `${p.port}/${p.protocol ?? 'TCP'}`)).join(',');
}

function endpointsText(o: Obj): string {
  const list: string[] = [];
  for (const s of o.subsets ?? []) {
    const ports: Array<{ port: number }> = s.ports ?? [];
    for (const a of s.addresses ?? []) {
      if (ports.length === 0) list.push(a.ip);
      for (const p of ports) list.push(`${a.ip}:${p.port}`);
    }
  }
  if (list.length === 0) return '<none>';
  return list.length > 3 ? `${list.slice(0, 3).join(',')} + ${list.length - 3} more...` : list.join(',');
}

const containers = (spec: Obj['spec']): Array<{ name: string; image?: string }> => spec?.containers ?? [];

const COLUMNS: Record<string, readonly Column[]> = {
  Pod: [
    NAME,
    col('Ready', (o) => `${(o.status?.containerStatuses ?? []).filter((c: { ready?: boolean }) => c.ready).length}/${containers(o.spec).length}`),
    col('Status', podStatus),
    col('Restarts', (o) => (o.status?.containerStatuses ?? []).reduce((n: number, c: { restartCount?: number }) => n + (c.restartCount ?? 0), 0), 0, 'integer'),
    AGE,
    col('IP', (o) => none(o.status?.podIP), 1),
    col('Node', (o) => none(o.spec?.nodeName), 1),
    col('Nominated Node', (o) => none(o.status?.nominatedNodeName), 1),
    col('Readiness Gates', (o) => ((o.spec?.readinessGates ?? []).length ? String(o.spec.readinessGates.length) : '<none>'), 1),
  ],
  Namespace: [NAME, col('Status', (o) => o.status?.phase ?? 'Active'), AGE],
  Node: [
    NAME,
    col('Status', nodeStatus),
    col('Roles', () => '<none>'),
    AGE,
    col('Version', (o) => o.status?.nodeInfo?.kubeletVersion ?? ''),
    col('Internal-IP', (o) => address(o, 'InternalIP'), 1),
    col('External-IP', (o) => address(o, 'ExternalIP'), 1),
    col('OS-Image', (o) => o.status?.nodeInfo?.osImage ?? '<unknown>', 1),
    col('Kernel-Version', (o) => o.status?.nodeInfo?.kernelVersion ?? '<unknown>', 1),
    col('Container-Runtime', (o) => o.status?.nodeInfo?.containerRuntimeVersion ?? '<unknown>', 1),
  ],
  Service: [
    NAME,
    col('Type', (o) => o.spec?.type ?? 'ClusterIP'),
    col('Cluster-IP', (o) => none(o.spec?.clusterIP)),
    col('External-IP', (o) => {
      const ingress = (o.status?.loadBalancer?.ingress ?? []).map((i: { ip?: string; hostname?: string }) => i.ip ?? i.hostname);
      const ips = [...(o.spec?.externalIPs ?? []), ...ingress];
      return ips.length ? ips.join(',') : o.spec?.type === 'LoadBalancer' ? '<pending>' : '<none>';
    }),
    col('Port(s)', servicePorts),
    AGE,
    col('Selector', (o) => selectorText(o.spec?.selector), 1),
  ],
  Endpoints: [NAME, col('Endpoints', endpointsText), AGE],
  ReplicationController: [
    NAME,
    col('Desired', (o) => o.spec?.replicas ?? 1, 0, 'integer'),
    col('Current', (o) => o.status?.replicas ?? 0, 0, 'integer'),
    col('Ready', (o) => o.status?.readyReplicas ?? 0, 0, 'integer'),
    AGE,
    col('Containers', (o) => containers(o.spec?.template?.spec).map((c) => c.name).join(','), 1),
    col('Images', (o) => containers(o.spec?.template?.spec).map((c) => c.image ?? '').join(','), 1),
    col('Selector', (o) => selectorText(o.spec?.selector), 1),
  ],
  ResourceQuota: [
    NAME,
    AGE,
    col('Request', (o) => quotaText(o, (k) => !k.startsWith('limits.'))),
    col('Limit', (o) => quotaText(o, (k) => k.startsWith('limits.'))),
  ],
  ServiceAccount: [NAME, col('Secrets', (o) => (o.secrets ?? []).length, 0, 'integer'), AGE],
  Secret: [NAME, col('Type', (o) => o.type ?? 'Opaque'), col('Data', (o) => Object.keys(o.data ?? {}).length, 0, 'integer'), AGE],
  Event: [
    col('Last Seen', (o, now) => {
      const t = o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp;
      return t ? humanDuration(now.getTime() - Date.parse(t)) : '<unknown>';
    }),
    col('Type', (o) => o.type ?? ''),
    col('Reason', (o) => o.reason ?? ''),
    col('Object', (o) => `${String(o.involvedObject?.kind ?? '').toLowerCase()}/${o.involvedObject?.name ?? ''}`),
    col('Message', (o) => String(o.message ?? '').trim()),
    col('Source', (o) => [o.source?.component, o.source?.host].filter(Boolean).join(', '), 1),
    col('Count', (o) => o.count ?? 1, 1, 'integer'),
    col('Name', (o) => o.metadata.name ?? '', 1),
  ],
  Lease: [NAME, col('Holder', (o) => o.spec?.holderIdentity ?? ''), AGE],
  // pkg/printers/internalversion: roles show their creation time; bindings their role and subjects.
  Role: [NAME, col('Created At', (o) => o.metadata.creationTimestamp ?? '', 0, 'date')],
  ClusterRole: [NAME, col('Created At', (o) => o.metadata.creationTimestamp ?? '', 0, 'date')],
  RoleBinding: bindingColumns(),
  ClusterRoleBinding: bindingColumns(),
};

function bindingColumns() {
  const subjects = (o: Obj, kind: string) => (o.subjects ?? []).filter((s: Obj) => s.kind === kind).map((s: Obj) => (kind === 'ServiceAccount' ? `${s.namespace ?? ''}/${s.name}` : s.name)).join(', ');
  return [NAME, col('Role', (o) => `${o.roleRef?.kind ?? ''}/${o.roleRef?.name ?? ''}`), AGE, col('Users', (o) => subjects(o, 'User'), 1), col('Groups', (o) => subjects(o, 'Group'), 1), col('ServiceAccounts', (o) => subjects(o, 'ServiceAccount'), 1)];
}

function quotaText(o: Obj, which: (key: string) => boolean): string {
  const hard: Record<string, string> = o.status?.hard ?? o.spec?.hard ?? {};
  const used: Record<string, string> = o.status?.used ?? {};
  return Object.keys(hard)
    .filter(which)
    .sort()
    .map((k) => `${k}: ${used[k] ?? '0'}/${hard[k]}`)
    .join(', ');
}

const DEFAULT_COLUMNS: readonly Column[] = [NAME, col('Created At', (o) => o.metadata.creationTimestamp ?? '', 0, 'date')];

const columnsOf = (kind: string): readonly Column[] => COLUMNS[kind] ?? DEFAULT_COLUMNS;

export function columnDefinitions(kind: string) {
  return columnsOf(kind).map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description, priority: c.priority }));
}

export function tableRow(kind: string, o: KubeObject, now: Date) {
  return {
    cells: columnsOf(kind).map((c) => c.cell(o as Obj, now)),
    object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
  };
}

export function table(kind: string, objects: readonly KubeObject[], resourceVersion: string, now: Date, withColumns = true) {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: withColumns ? columnDefinitions(kind) : null,
    rows: objects.map((o) => tableRow(kind, o, now)),
  };
}
