/**
 * The controller runtime: reconcilers fed from the projection's change feed through one
 * level-triggered work queue, processed by a single worker in queue order (so a scenario replayed
 * with the same inputs, seed and clock makes the same decisions in the same order).
 *
 * A reconciler is pure: (key, observed cluster, now) → actions (+ requeueAfter). The runtime
 * remembers, for every queued key, the event that triggered it, and performs the actions through
 * the API's write path (an ActionPerformer) with the controller's identity, causationId = that event, correlationId inherited from
 * it, observedPosition = the position the reconciler saw, decidedAt = the controller clock.
 */
import type { Subscription } from 'rxjs';
import type { ClusterView, Change } from '../projections';
import type { EventStore } from '../core/store/port';
import type { Clock } from './clock';
import { WorkQueue, type Rank } from './queue';
import { decisionDigest, parseKey, type Action, type Decision, type EventNote } from './actions';
import type { KubeObject } from '../core/objects/codecs';
import { ApiError, type ActionPerformer, type Cause } from './client';

export interface ReconcileContext {
  readonly view: ClusterView;
  readonly now: Date;
}

export interface Reconciler {
  /** The controller's name: its field manager, and `system:controller:<name>` unless `actor` says otherwise. */
  readonly name: string;
  readonly actor?: string;
  /**
   * A node's own reconciler (a kubelet): it is shown only the changes about that node — its Node,
   * its Lease, the pods bound to it — so a thousand kubelets cost one lookup per change, not a
   * thousand calls.
   */
  readonly node?: string;
  /**
   * The order its keys are taken in, when not first come first served (lower rank first; the
   * rank is read when the key is queued). The scheduler's: priority, then age.
   */
  rank?(key: string, view: ClusterView): Rank;
  /**
   * How many keys this reconciler may have in flight at once when the manager is concurrent
   * (default 1). Decisions are still taken one at a time; only the writes overlap.
   */
  readonly parallelism?: number;
  /** Keys (`Kind|ns/name`) to reconcile after a change. */
  keysFor(change: Change, view: ClusterView): readonly string[];
  /** Keys to reconcile at start. */
  initialKeys(view: ClusterView): readonly string[];
  reconcile(key: string, ctx: ReconcileContext): Decision;
}

interface Trigger {
  readonly eventId: string;
  readonly correlationId: string;
}

export interface ManagerOptions {
  readonly projection: ClusterView;
  /** Where the event at a log position is read (the cause of a decision taken at start). */
  readonly eventAt: (position: bigint) => Promise<{ readonly id: string; readonly correlationId?: string } | undefined>;
  readonly client: ActionPerformer;
  readonly clock: Clock;
  readonly reconcilers: readonly Reconciler[];
  readonly log?: (line: string) => void;
  /**
   * One worker per reconciler (each still processes its own keys one at a time, in order), so a
   * thousand kubelets or a slow controller do not queue behind each other. Off by default: one
   * worker for all, which makes a run in virtual time reproducible event for event.
   */
  readonly concurrent?: boolean;
}

/** A work queue and the worker that drains it. */
interface Lane {
  readonly queue: WorkQueue;
  busy: boolean;
  loop?: Promise<void>;
}

export class ControllerManager {
  private readonly lanes = new Map<string, Lane>();
  private readonly triggers = new Map<string, Trigger>();
  private readonly byName = new Map<string, Reconciler>();
  private sub: Subscription | undefined;
  private running = false;
  private idleWaiters: Array<() => void> = [];
  /** Actions performed, and actions that failed (retried with backoff). */
  readonly stats = { reconciles: 0, actions: 0, failures: 0 };
  private eventSeq = 0;

  constructor(private readonly options: ManagerOptions) {
    for (const r of options.reconcilers) this.byName.set(r.name, r);
  }

  private lane(item: string): Lane {
    const name = this.options.concurrent ? item.slice(0, item.indexOf('#')) : '';
    let lane = this.lanes.get(name);
    if (!lane) {
      const reconciler = name ? this.byName.get(name) : undefined;
      const rank = reconciler?.rank ? (item: string) => (reconciler.rank as NonNullable<Reconciler['rank']>)(item.slice(item.indexOf('#') + 1), this.options.projection) : undefined;
      this.lanes.set(name, (lane = { queue: new WorkQueue(this.options.clock, 5, 60_000, rank), busy: false }));
      if (this.running) lane.loop = this.work(lane);
    }
    return lane;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const { projection, reconcilers } = this.options;
    const general = reconcilers.filter((r) => r.node === undefined);
    const byNode = new Map(reconcilers.filter((r) => r.node !== undefined).map((r) => [r.node as string, r]));
    this.sub = projection.changes.subscribe((change) => {
      const trigger = change.event.id ? { eventId: change.event.id, correlationId: change.event.metadata.correlationId ?? change.event.id } : undefined;
      for (const r of general) for (const key of r.keysFor(change, projection)) this.enqueue(`${r.name}#${key}`, trigger);
      if (byNode.size === 0) return;
      const node = nodeOfChange(change);
      const r = node === undefined ? undefined : byNode.get(node);
      if (r) for (const key of r.keysFor(change, projection)) this.enqueue(`${r.name}#${key}`, trigger);
    });
    for (const r of reconcilers) for (const key of r.initialKeys(projection)) this.enqueue(`${r.name}#${key}`);
    for (const lane of this.lanes.values()) lane.loop ??= this.work(lane);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.sub?.unsubscribe();
    for (const lane of this.lanes.values()) lane.queue.shutdown();
    await Promise.all([...this.lanes.values()].map((l) => l.loop));
  }

  /** Queues a key of one reconciler (tests, fault injection, timers of a reconciler's own). */
  enqueue(item: string, trigger?: Trigger): void {
    if (trigger) this.triggers.set(item, trigger);
    this.lane(item).queue.add(item);
  }

  private get isIdle(): boolean {
    for (const l of this.lanes.values()) if (l.busy || l.queue.length > 0) return false;
    return true;
  }

  /** Resolves once nothing is queued or being processed (timers may still be pending). */
  idle(): Promise<void> {
    if (this.isIdle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wakeIdleWaiters(): void {
    // Checked for every key processed: with no one waiting, the lanes (one per kubelet) are not walked.
    if (this.idleWaiters.length === 0 || (!this.isIdle && this.running)) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    waiters.forEach((w) => w());
  }

  private async work(lane: Lane): Promise<void> {
    const queue = lane.queue;
    const limit = (item: string) => (this.options.concurrent ? this.byName.get(item.slice(0, item.indexOf('#')))?.parallelism ?? 1 : 1);
    const inFlight = new Set<Promise<void>>();
    const run = async (item: string) => {
      try {
        await this.process(item);
        queue.forget(item);
      } catch (err) {
        this.stats.failures++;
        this.options.log?.(`controller ${item}: ${(err as Error).message || String(err)}`);
        queue.addRateLimited(item);
      } finally {
        queue.done(item);
      }
    };
    while (this.running) {
      const item = queue.take();
      if (item === undefined) {
        if (inFlight.size > 0) {
          // Something may be queued again when one of these finishes.
          await Promise.race([...inFlight, queue.whenReady()]);
          continue;
        }
        lane.busy = false;
        this.wakeIdleWaiters();
        await queue.whenReady();
        continue;
      }
      lane.busy = true;
      const p = run(item).finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= limit(item)) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    lane.busy = false;
    this.wakeIdleWaiters();
  }

  private async process(item: string): Promise<void> {
    const hash = item.indexOf('#');
    const reconciler = this.byName.get(item.slice(0, hash));
    if (!reconciler) return;
    const key = item.slice(hash + 1);
    const { projection, clock, client } = this.options;
    const now = clock.now();
    const observedPosition = projection.position;
    this.stats.reconciles++;
    const decision = reconciler.reconcile(key, { view: projection, now });
    if (decision.actions.length > 0) {
      const trigger = this.triggers.get(item) ?? (await this.lastEventOf(key));
      const actor = reconciler.actor ?? `system:controller:${reconciler.name}`;
      const taken = { controller: reconciler.name, key, digest: decisionDigest(decision.actions) };
      for (const action of decision.actions) {
        this.stats.actions++;
        const cause = { causationId: trigger?.eventId, correlationId: trigger?.correlationId, observedPosition, decidedAt: now, decision: taken };
        let answered: unknown;
        try {
          answered = await client.perform(action, actor, reconciler.name, cause);
        } catch (err) {
          if (!ignorable(action, err)) throw err;
          continue;
        }
        if (action.event) await this.recordEvent(action.event, answered, reconciler, actor, cause);
        // The next decision must see this one's outcome (immediate in the server's own process).
        const rv = (answered as { metadata?: { resourceVersion?: string } } | undefined)?.metadata?.resourceVersion;
        if (rv && /^\d+$/.test(rv)) await projection.waitFor(BigInt(rv), action.verb === 'bind' ? 'Pod' : action.verb === 'renewLease' ? 'Lease' : action.kind);
      }
    }
    this.triggers.delete(item);
    if (decision.requeueAfter !== undefined) this.lane(item).queue.addAfter(item, decision.requeueAfter);
  }

  /** A core/v1 Event about what an action did; a failure to record one does not fail the action. */
  private async recordEvent(note: EventNote, answered: unknown, reconciler: Reconciler, actor: string, cause: Cause): Promise<void> {
    const name = (answered as { metadata?: { name?: string } } | undefined)?.metadata?.name ?? '';
    const namespace = note.involved.namespace ?? 'default';
    const t = cause.decidedAt.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      // Named as client-go's recorder names them: the object's name and a time in hex.
      metadata: { name: `${note.involved.name}.${(BigInt(cause.decidedAt.getTime()) * 1_000_000n + BigInt(this.eventSeq++ % 1_000_000)).toString(16)}`, namespace },
      involvedObject: { ...note.involved },
      reason: note.reason,
      message: note.message.replace('{name}', name),
      type: note.type ?? 'Normal',
      source: { component: reconciler.name },
      reportingComponent: reconciler.name,
      reportingInstance: reconciler.name,
      firstTimestamp: t,
      lastTimestamp: t,
      count: 1,
    } as unknown as KubeObject;
    try {
      await this.options.client.perform({ verb: 'create', kind: 'Event', namespace, body }, actor, reconciler.name, cause);
    } catch (err) {
      this.options.log?.(`event ${note.reason} for ${note.involved.kind} ${note.involved.name}: ${(err as Error).message}`);
    }
  }

  /** The event behind an object's current state: the cause of a decision taken on it at start. */
  private async lastEventOf(key: string): Promise<Trigger | undefined> {
    const { kind, namespace, name } = parseKey(key);
    const entry = this.options.projection.store(kind).get(namespace, name);
    // The projection remembers the event behind each object it folded (not those restored from a snapshot).
    if (entry?.eventId) return { eventId: entry.eventId, correlationId: entry.correlationId ?? entry.eventId };
    const position = entry?.position ?? this.options.projection.position;
    if (position <= 0n) return undefined;
    const event = await this.options.eventAt(position);
    return event ? { eventId: event.id, correlationId: event.correlationId ?? event.id } : undefined;
  }
}

/** Outcomes that mean the action's goal already holds: the object is gone, or already there. */
function ignorable(action: Action, err: unknown): boolean {
  if (!(err instanceof ApiError)) return false;
  if (action.verb === 'delete' && err.code === 404) return true;
  return false;
}

/** Reads the cause of a start-up decision straight from the log (controllers in the server's process). */
export const eventAtFrom =
  (store: EventStore) =>
  async (position: bigint): Promise<{ id: string; correlationId?: string } | undefined> => {
    const [event] = await store.readAll({ from: position, maxCount: 1 });
    if (!event) return undefined;
    return { id: event.id, correlationId: (event.metadata as { correlationId?: string } | undefined)?.correlationId };
  };

/** The node a change is about, for node-scoped reconcilers: a pod's node, a Node, a node's Lease. */
function nodeOfChange(change: Change): string | undefined {
  const o = change.object as KubeObject;
  if (change.kind === 'Pod') return (o.spec as { nodeName?: string } | undefined)?.nodeName || undefined;
  if (change.kind === 'Node') return o.metadata.name;
  if (change.kind === 'Lease' && o.metadata.namespace === 'kube-node-lease') return o.metadata.name;
  return undefined;
}
