/**
 * Controller time travel. Every controller write carries its decision in the envelope (which
 * reconciler, the key it reconciled, the log position it observed, its clock, a digest of every
 * action it decided), so for any decision in the log Kronicle can rebuild exactly what that
 * controller saw — the cluster at its observedPosition, its clock at decidedAt — and run a
 * reconciler on it again:
 *
 * - `explainDecision(event)`: the inputs (the state it saw of the object it reconciled), what it
 *   decided then (the events it wrote) and what today's code decides on the same inputs;
 * - `rerun(range)`: today's code at every recorded decision point of a range, in log order over one
 *   forward fold, reporting the decisions that differ — the first divergence first.
 *
 * The reconcilers see the changes of the fold as they did live (their caches, such as the
 * scheduler's node list and assume cache, follow them), so a re-run of unchanged code decides
 * the same. A decision that wrote nothing leaves no trace in the log and cannot be re-run.
 */
import type { Subscription } from 'rxjs';
import { decisionDigest, parseKey, type Action } from '../controllers/actions';
import { HollowKubelet, indexOfPodCIDR } from '../controllers/kubelet';
import { standardReconcilers } from '../controllers';
import type { Reconciler } from '../controllers/runtime';
import type { KubeObject } from '../core/objects/codecs';
import type { EventStore, StoredEvent } from '../core/store/port';
import type { ClusterProjection } from '../projections';
import { ReplayError, findEvent, stateAt } from './history';

export interface DecisionPoint {
  readonly controller: string;
  readonly actor: string;
  readonly key: string;
  readonly observedPosition: bigint;
  readonly decidedAt: Date;
  readonly digest: string;
  /** The events the decision wrote, in log order. */
  readonly events: ReadonlyArray<{ readonly position: bigint; readonly id: string; readonly type: string; readonly stream: string }>;
}

interface DecisionMeta {
  readonly actor?: { name?: string };
  readonly observedPosition?: string;
  readonly decidedAt?: string;
  readonly decision?: { controller: string; key: string; digest: string };
}

/** The decision points of the events in `from`…`to`, by their first event, oldest first. */
export async function decisionPoints(store: EventStore, options: { from?: bigint; to?: bigint; controller?: string } = {}): Promise<DecisionPoint[]> {
  const points = new Map<string, DecisionPoint & { events: DecisionPoint['events'][number][] }>();
  const to = options.to ?? (await store.headPosition());
  for (let at = options.from ?? 1n; at <= to; ) {
    const page = await store.readAll({ from: at, to, maxCount: 4096 });
    for (const e of page) {
      const m = e.metadata as DecisionMeta;
      const d = m.decision;
      if (!d || !m.observedPosition || !m.decidedAt || (options.controller && d.controller !== options.controller)) continue;
      const id = `${d.controller}\n${d.key}\n${m.observedPosition}\n${m.decidedAt}\n${d.digest}`;
      let p = points.get(id);
      if (!p) points.set(id, (p = { controller: d.controller, actor: m.actor?.name ?? '', key: d.key, observedPosition: BigInt(m.observedPosition), decidedAt: new Date(m.decidedAt), digest: d.digest, events: [] }));
      p.events.push({ position: e.position, id: e.id, type: e.type, stream: e.stream });
    }
    if (page.length < 4096) break;
    at = page[page.length - 1].position + 1n;
  }
  return [...points.values()];
}

/**
 * The reconcilers to re-run decisions with, by name: today's standard set, plus a hollow kubelet
 * for any node whose decisions appear (made on demand, with the index its Node's pod CIDR shows).
 */
export class ReconcilerSet {
  private readonly byName = new Map<string, Reconciler>();

  constructor(reconcilers: readonly Reconciler[] = standardReconcilers()) {
    for (const r of reconcilers) this.byName.set(r.name, r);
  }

  get(name: string, view: ClusterProjection): Reconciler | undefined {
    const known = this.byName.get(name);
    if (known) return known;
    const node = /^kubelet-(.+)$/.exec(name)?.[1];
    if (!node) return undefined;
    const cidr = (view.store('Node').get(undefined, node)?.object.spec as { podCIDR?: string } | undefined)?.podCIDR;
    const index = indexOfPodCIDR(cidr ?? '') ?? Number(/(\d+)$/.exec(node)?.[1] ?? 0);
    const kubelet = new HollowKubelet({ name: node, index });
    this.byName.set(name, kubelet);
    return kubelet;
  }

  all(): Reconciler[] {
    return [...this.byName.values()];
  }
}

export interface Rerun {
  readonly point: DecisionPoint;
  /** The object the decision was about, as the controller saw it (undefined: it did not exist). */
  readonly input: KubeObject | undefined;
  /** What today's code decides on the same inputs. */
  readonly actions: readonly Action[];
  readonly digest: string;
  readonly same: boolean;
}

export interface RerunReport {
  readonly checked: number;
  /** Decisions of controllers this code does not have. */
  readonly skipped: number;
  /** The decisions that came out differently, the first divergence first. */
  readonly differences: readonly Rerun[];
}

/**
 * Re-runs the decisions of `from`…`to` (the whole log by default) with `reconcilers` (today's
 * code by default), one forward fold from the state the first one observed.
 */
export async function rerun(
  store: EventStore,
  options: { from?: bigint; to?: bigint; controller?: string; reconcilers?: readonly Reconciler[]; onProgress?: (done: number, total: number) => void; limit?: number } = {},
): Promise<RerunReport> {
  const points = (await decisionPoints(store, options)).sort((a, b) => (a.observedPosition !== b.observedPosition ? (a.observedPosition < b.observedPosition ? -1 : 1) : a.events[0].position < b.events[0].position ? -1 : 1));
  const set = new ReconcilerSet(options.reconcilers);
  if (points.length === 0) return { checked: 0, skipped: 0, differences: [] };
  const view = await stateAt(store, points[0].observedPosition);
  // The reconcilers follow the fold's changes as they followed the live ones.
  const following: Subscription = view.changes.subscribe((change) => {
    for (const r of set.all()) r.keysFor(change, view);
  });
  let checked = 0;
  let skipped = 0;
  const differences: Rerun[] = [];
  try {
    for (const point of points) {
      await foldTo(store, view, point.observedPosition);
      const reconciler = set.get(point.controller, view);
      if (!reconciler) {
        skipped++;
        continue;
      }
      const result = runDecision(reconciler, point, view);
      checked++;
      if (!result.same) {
        differences.push(result);
        if (options.limit !== undefined && differences.length >= options.limit) break;
      }
      if (checked % 1000 === 0) options.onProgress?.(checked, points.length);
    }
  } finally {
    following.unsubscribe();
  }
  options.onProgress?.(checked, points.length);
  return { checked, skipped, differences };
}

function runDecision(reconciler: Reconciler, point: DecisionPoint, view: ClusterProjection): Rerun {
  const { kind, namespace, name } = parseKey(point.key);
  const input = view.store(kind).get(namespace, name)?.object as KubeObject | undefined;
  const { actions } = reconciler.reconcile(point.key, { view, now: point.decidedAt });
  const digest = decisionDigest(actions);
  return { point, input, actions, digest, same: digest === point.digest };
}

async function foldTo(store: EventStore, view: ClusterProjection, position: bigint): Promise<void> {
  if (position < view.position) throw new ReplayError(`decisions out of order at ${position}`);
  await view.foldRange(store, position);
}

/** One recorded decision, given any of the events it wrote: its inputs, what it did then and what today's code does. */
export async function explainDecision(store: EventStore, eventId: string, reconcilers?: readonly Reconciler[]): Promise<Rerun & { readonly event: StoredEvent }> {
  const event = await findEvent(store, eventId);
  if (!event) throw new ReplayError(`the log has no event ${eventId}`);
  const m = event.metadata as DecisionMeta;
  if (!m.decision || !m.observedPosition || !m.decidedAt) throw new ReplayError(`event ${eventId} (${event.type} by ${m.actor?.name ?? 'unknown'}) was not written by a controller's decision`);
  const observedPosition = BigInt(m.observedPosition);
  const [point] = (await decisionPoints(store, { from: observedPosition + 1n, controller: m.decision.controller })).filter((p) => p.events.some((e) => e.id === eventId));
  const view = await stateAt(store, observedPosition);
  const set = new ReconcilerSet(reconcilers);
  const reconciler = set.get(m.decision.controller, view);
  if (!reconciler) throw new ReplayError(`this Kronicle has no controller ${m.decision.controller}`);
  return { ...runDecision(reconciler, point, view), event };
}
