/**
 * Leader election over a Lease (client-go's leaderelection, in a subset): several controller
 * managers on one store; the one holding `kube-system/<name>` runs the controllers. A candidate
 * takes the lease when it is absent or expired (renewTime + leaseDurationSeconds before now),
 * the leader renews it; every write goes through the API with the lease's resourceVersion as a
 * precondition, so two candidates never both win. A leader that fails to renew before the lease
 * would expire steps down. The lease's history is in the log like everything else.
 */
import type { KubeObject } from '../core/objects/codecs';
import { rfc3339Micro } from '../core/json';
import type { ClusterView } from '../projections';
import type { ActionPerformer } from './client';
import type { Clock } from './clock';

const ACTOR = 'system:kube-controller-manager';

export interface LeaderElectionOptions {
  readonly identity: string;
  readonly leaseName?: string;
  readonly leaseDurationSeconds?: number;
  readonly retryPeriodMs?: number;
}

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private cancel: (() => void) | undefined;
  private lastRenew = 0;
  readonly name: string;

  constructor(
    private readonly view: ClusterView,
    private readonly client: ActionPerformer,
    private readonly clock: Clock,
    private readonly options: LeaderElectionOptions,
    private readonly callbacks: { onStartedLeading: () => void; onStoppedLeading: () => void | Promise<void> },
  ) {
    this.name = options.leaseName ?? 'kronicle-controller-manager';
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    void this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel?.();
    if (this.leading) {
      this.leading = false;
      await this.callbacks.onStoppedLeading();
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.cancel = this.clock.setTimer(this.options.retryPeriodMs ?? 2000, () => void this.tick());
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const duration = this.options.leaseDurationSeconds ?? 15;
    const now = this.clock.now();
    const lease = this.view.store('Lease').get('kube-system', this.name)?.object as KubeObject | undefined;
    const spec = (lease?.spec ?? {}) as { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number; leaseTransitions?: number };
    const mine = spec.holderIdentity === this.options.identity;
    const expired = !lease || !spec.renewTime || Date.parse(spec.renewTime) + (spec.leaseDurationSeconds ?? duration) * 1000 < now.getTime();
    let held = false;
    if (mine || expired) {
      const body = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.name, namespace: 'kube-system', ...(lease?.metadata.resourceVersion ? { resourceVersion: lease.metadata.resourceVersion } : {}) },
        spec: {
          holderIdentity: this.options.identity,
          leaseDurationSeconds: duration,
          acquireTime: mine ? (lease?.spec as { acquireTime?: string } | undefined)?.acquireTime ?? rfc3339Micro(now) : rfc3339Micro(now),
          renewTime: rfc3339Micro(now),
          leaseTransitions: (spec.leaseTransitions ?? 0) + (mine || !lease ? 0 : 1),
        },
      } as unknown as KubeObject;
      try {
        const cause = { observedPosition: this.view.position, decidedAt: now };
        const answered = lease
          ? await this.client.perform({ verb: 'update', kind: 'Lease', namespace: 'kube-system', name: this.name, body }, ACTOR, 'leader-election', cause)
          : await this.client.perform({ verb: 'create', kind: 'Lease', namespace: 'kube-system', body }, ACTOR, 'leader-election', cause);
        const rv = (answered as { metadata?: { resourceVersion?: string } } | undefined)?.metadata?.resourceVersion;
        if (rv) await this.view.waitFor(BigInt(rv), 'Lease');
        held = true;
        this.lastRenew = now.getTime();
      } catch {
        held = false;
      }
    }
    if (held && !this.leading) {
      this.leading = true;
      this.callbacks.onStartedLeading();
    } else if (!held && this.leading && now.getTime() - this.lastRenew > duration * 1000 * 0.66) {
      this.leading = false;
      await this.callbacks.onStoppedLeading();
    }
    this.schedule();
  }
}

/**
 * Controllers that run only while this process holds the lease: a fresh manager for every term
 * (a manager that lost the lease may have decisions in flight; it is stopped, not reused).
 */
export class ElectedControllers {
  private manager: { start(): void; stop(): Promise<void> } | undefined;
  private readonly elector: LeaderElector;

  constructor(view: ClusterView, client: ActionPerformer, clock: Clock, options: LeaderElectionOptions, makeManager: () => { start(): void; stop(): Promise<void> }, log: (line: string) => void = () => undefined) {
    this.elector = new LeaderElector(view, client, clock, options, {
      onStartedLeading: () => {
        log(`kronicle: ${options.identity} is the leader: controllers running`);
        this.manager = makeManager();
        this.manager.start();
      },
      onStoppedLeading: async () => {
        log(`kronicle: ${options.identity} lost the lease: controllers stopped`);
        await this.manager?.stop();
        this.manager = undefined;
      },
    });
  }

  get isLeader(): boolean {
    return this.elector.isLeader;
  }

  start(): void {
    this.elector.start();
  }

  stop(): Promise<void> {
    return this.elector.stop();
  }
}
