/**
 * A level-triggered work queue of keys, after client-go's workqueue: a key queued several times
 * before it is processed is processed once (coalescing); a key is never processed by two workers
 * at once (added while processing, it is queued again when done); failures are retried with
 * per-key exponential backoff; `addAfter` schedules a key on the clock (requeueAfter).
 */
import type { Clock } from './clock';

/** Where a key stands in a ranked queue: lower first, then first come first served. */
export type Rank = readonly [number, string];

interface Ranked {
  readonly key: string;
  readonly rank: Rank;
  readonly seq: number;
}

/** A binary heap of ranked keys. */
class RankedOrder {
  private readonly heap: Ranked[] = [];
  private seq = 0;
  get length(): number {
    return this.heap.length;
  }
  private less(a: Ranked, b: Ranked): boolean {
    return a.rank[0] !== b.rank[0] ? a.rank[0] < b.rank[0] : a.rank[1] !== b.rank[1] ? a.rank[1] < b.rank[1] : a.seq < b.seq;
  }
  push(key: string, rank: Rank): void {
    const h = this.heap;
    h.push({ key, rank, seq: this.seq++ });
    for (let i = h.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }
  shift(): string | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop() as Ranked;
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top.key;
  }
}

export class WorkQueue {
  private readonly order: string[] = [];
  private readonly ranked = new RankedOrder();
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, () => void>();
  private wakers: Array<() => void> = [];

  constructor(
    private readonly clock: Clock,
    private readonly baseDelayMs = 5,
    private readonly maxDelayMs = 60_000,
    /** When given, keys are taken lowest rank first (the scheduler: priority, then age). */
    private readonly rank?: (key: string) => Rank,
  ) {}

  add(key: string): void {
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    if (this.rank) this.ranked.push(key, this.rank(key));
    else this.order.push(key);
    this.wake();
  }

  /** Queues `key` after `ms`; an earlier pending schedule for the key is kept if sooner. */
  addAfter(key: string, ms: number): void {
    if (ms <= 0) return this.add(key);
    if (this.timers.has(key)) return;
    const cancel = this.clock.setTimer(ms, () => {
      this.timers.delete(key);
      this.add(key);
    });
    this.timers.set(key, cancel);
  }

  /** Queues `key` again after its backoff: base × 2^failures, capped. */
  addRateLimited(key: string): void {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    this.addAfter(key, Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** n));
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  /** The next key, or undefined when nothing is queued. The caller must call `done`. */
  take(): string | undefined {
    const key = this.rank ? this.ranked.shift() : this.order.shift();
    if (key === undefined) return undefined;
    this.queued.delete(key);
    this.processing.add(key);
    return key;
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  get length(): number {
    return this.rank ? this.ranked.length : this.order.length;
  }

  get scheduled(): number {
    return this.timers.size;
  }

  /** Resolves when a key is queued (immediately if one is). */
  whenReady(): Promise<void> {
    if (this.length > 0) return Promise.resolve();
    return new Promise((resolve) => this.wakers.push(resolve));
  }

  private wake(): void {
    const w = this.wakers;
    this.wakers = [];
    w.forEach((f) => f());
  }

  shutdown(): void {
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
    this.wake();
  }
}
