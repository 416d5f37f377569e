/**
 * The controllers' clock, injected: the wall clock in `kronicle serve`, a virtual clock in tests
 * and replay, so that a reconciler's decisions depend only on what it observed and `now`.
 */
export interface Clock {
  now(): Date;
  /** Runs `fn` after `ms` of this clock's time; returns a cancel function. */
  setTimer(ms: number, fn: () => void): () => void;
}

/**
 * Timers of a second or more fire on the next multiple of this many milliseconds of the wall
 * clock: thousands of hollow kubelets renewing every 10 s then renew in the same turns of the event
 * loop, so their heartbeats share commits and fsyncs instead of each paying for its own.
 */
export const COARSE_TIMER_MS = 100;

export const wallClock: Clock = {
  now: () => new Date(),
  setTimer(ms, fn) {
    const now = Date.now();
    const delay = ms >= 1000 ? Math.ceil((now + ms) / COARSE_TIMER_MS) * COARSE_TIMER_MS - now : ms;
    const t = setTimeout(fn, delay);
    t.unref?.();
    return () => clearTimeout(t);
  },
};

/** Time that moves only when told to; timers fire in due order as it passes them. */
export class VirtualClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: Array<{ at: number; seq: number; fn: () => void }> = [];

  constructor(start: Date | string = '2026-01-01T00:00:00Z') {
    this.t = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.t);
  }

  setTimer(ms: number, fn: () => void): () => void {
    const timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((x) => x !== timer);
    };
  }

  /** Moves time forward by `ms`, firing every timer due on the way (and letting each settle). */
  async advance(ms: number, settle: () => Promise<void> = async () => undefined): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
      await settle();
    }
    this.t = end;
    await settle();
  }

  get pending(): number {
    return this.timers.length;
  }
}
