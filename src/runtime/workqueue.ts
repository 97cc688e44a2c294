// A rate-limited work queue of string keys with client-go's semantics: a key waits at most once
// (dedup), is never on two workers at a time, and when added while being processed runs once more
// afterwards. Delayed and rate-limited adds; drain on shutdown.
import type { RateLimiter } from './ratelimit.ts';

/** What the queue reports, for workqueue_* metrics. All durations in seconds. */
export interface QueueObserver {
  added(): void;
  queued(seconds: number): void;
  worked(seconds: number): void;
  retried(): void;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export class WorkQueue {
  /** Keys ready to hand out, in order. */
  private readonly queue: string[] = [];
  /** Keys that need processing: queued, or re-added while processing. */
  private readonly dirty = new Set<string>();
  /** Keys a worker holds. */
  private readonly processing = new Set<string>();
  /** When each dirty key was added, and when each processing key was handed out (ms). */
  private readonly addedAt = new Map<string, number>();
  private readonly startedAt = new Map<string, number>();
  /** Delayed adds: the earliest wins. */
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private waiters: ((key: string | undefined) => void)[] = [];
  private drained: (() => void)[] = [];
  private shuttingDown = false;
  private readonly limiter: RateLimiter;
  private readonly observer: QueueObserver | undefined;

  constructor(limiter: RateLimiter, observer?: QueueObserver) {
    this.limiter = limiter;
    this.observer = observer;
  }

  get length(): number {
    return this.queue.length;
  }

  /** Keys handed out and not yet done. */
  get inFlight(): number {
    return this.processing.size;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.observer?.added();
    this.dirty.add(key);
    this.addedAt.set(key, Date.now());
    if (this.processing.has(key)) return; // done() puts it back
    this.push(key);
  }

  /**
   * Adds `key` after `ms`; an earlier pending delayed add of the same key is kept. Beyond what a
   * timer can hold (24.8 days, where Node would fire at once) it comes back early, not in a loop.
   */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    ms = Math.min(ms, MAX_TIMER_MS);
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.delayed.set(key, { at, timer });
  }

  /** Adds `key` after its rate limiter's delay: per-key backoff, overall limit. */
  addRateLimited(key: string): void {
    this.observer?.retried();
    this.addAfter(key, this.limiter.when(key));
  }

  /** The key succeeded: its backoff starts again from the base. */
  forget(key: string): void {
    this.limiter.forget(key);
  }

  retries(key: string): number {
    return this.limiter.retries(key);
  }

  /** The next key to process; undefined once shut down and empty. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) return Promise.resolve(this.take(key));
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The worker is finished with `key`; if it was re-added meanwhile, it is queued again. */
  done(key: string): void {
    const started = this.startedAt.get(key);
    if (started !== undefined) this.observer?.worked((Date.now() - started) / 1000);
    this.processing.delete(key);
    this.startedAt.delete(key);
    if (this.dirty.has(key)) this.push(key);
    if (this.processing.size === 0) {
      for (const resolve of this.drained.splice(0)) resolve();
    }
  }

  /** Seconds of work in progress not yet done, and the longest single one. */
  unfinished(): { total: number; longest: number } {
    const now = Date.now();
    let total = 0;
    let longest = 0;
    for (const started of this.startedAt.values()) {
      const s = (now - started) / 1000;
      total += s;
      longest = Math.max(longest, s);
    }
    return { total, longest };
  }

  /** Stops accepting keys and drops delayed ones; waiting workers get undefined once empty. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    if (this.queue.length === 0) {
      for (const resolve of this.waiters.splice(0)) resolve(undefined);
    }
  }

  /**
   * Shuts down, then waits until the keys being processed are done (at most `timeoutMs`). Keys
   * still queued are handed out to workers that ask, so they are processed too. True if drained.
   */
  async shutDownWithDrain(timeoutMs: number): Promise<boolean> {
    this.shutDown();
    if (this.processing.size === 0 && this.queue.length === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const drained = new Promise<boolean>((resolve) => {
      const check = () => {
        if (this.queue.length === 0 && this.processing.size === 0) resolve(true);
        else this.drained.push(check);
      };
      this.drained.push(check);
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const result = await drained;
    clearTimeout(timer);
    return result;
  }

  private push(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter(this.take(key));
      return;
    }
    this.queue.push(key);
  }

  private take(key: string): string {
    const now = Date.now();
    const added = this.addedAt.get(key);
    if (added !== undefined) this.observer?.queued((now - added) / 1000);
    this.addedAt.delete(key);
    this.dirty.delete(key);
    this.processing.add(key);
    this.startedAt.set(key, now);
    if (this.shuttingDown && this.queue.length === 0) {
      for (const resolve of this.waiters.splice(0)) resolve(undefined);
    }
    return key;
  }
}
