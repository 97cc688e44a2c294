// A rollout wave: keys handed to a queue at a steady pace rather than all at once, so that a change
// reaching thousands of namespaces (a new configuration, the API server's new endpoints) neither
// floods the API server nor starves the queue's other work. A key already waiting is not added
// twice, so waves that overlap merge. How many wait is a gauge: the wave's progress.
export interface WaveOptions {
  /** Keys handed over per second. */
  perSecond: number;
  /** Hands one key over (to a work queue). */
  enqueue(key: string): void;
  /** Monotonic milliseconds. */
  now(): number;
  /** Calls `tick` after `ms` (a timer); injected so that tests drive time. */
  schedule(tick: () => void, ms: number): { cancel(): void };
}

export class Wave {
  private readonly pending = new Set<string>();
  private readonly o: WaveOptions;
  private timer: { cancel(): void } | undefined;
  private last = 0;
  private credit = 0;

  constructor(options: WaveOptions) {
    this.o = options;
  }

  /** Keys still to be handed over. */
  get waiting(): number {
    return this.pending.size;
  }

  add(keys: Iterable<string>): void {
    for (const key of keys) this.pending.add(key);
    if (this.pending.size > 0 && !this.timer) {
      this.last = this.o.now();
      this.credit = 1; // the first key goes at once
      this.tick();
    }
  }

  /** Drops what is still waiting (on stop). */
  clear(): void {
    this.pending.clear();
    this.timer?.cancel();
    this.timer = undefined;
  }

  private tick(): void {
    this.timer = undefined;
    const now = this.o.now();
    // At most one second's worth at once, however late the timer fired.
    this.credit = Math.min(
      this.credit + ((now - this.last) / 1000) * this.o.perSecond,
      Math.max(1, this.o.perSecond),
    );
    this.last = now;
    for (const key of this.pending) {
      if (this.credit < 1) break;
      this.pending.delete(key);
      this.credit -= 1;
      this.o.enqueue(key);
    }
    if (this.pending.size > 0) {
      const ms = Math.max(10, ((1 - this.credit) / this.o.perSecond) * 1000);
      this.timer = this.o.schedule(() => this.tick(), ms);
    }
  }
}

/** Real timers for a Wave. */
export const timers = {
  now: () => performance.now(),
  schedule(tick: () => void, ms: number) {
    const t = setTimeout(tick, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
