// Writes the cache has not seen yet, as client-go's ControllerExpectations. A reconcile that runs
// again before the watch has brought back its own last write would find the cache without it and
// write it again: a write for nothing, counted as a repair. Until an event for the key arrives
// (the write itself, or anything after it), or a deadline passes, the key is left alone.

export class Expectations {
  private readonly pending = new Map<string, number>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(ttlMs = 60_000, now: () => number = () => performance.now()) {
    this.ttlMs = ttlMs;
    this.now = now;
  }

  /** A write to the key is about to be sent. */
  expect(key: string): void {
    this.pending.set(key, this.now() + this.ttlMs);
  }

  /** The cache has seen an event for the key, or the write failed: nothing more to wait for. */
  observed(key: string): void {
    this.pending.delete(key);
  }

  /** How long the key is still left alone: 0 once its write has been seen or the deadline passed. */
  waitMs(key: string): number {
    const until = this.pending.get(key);
    if (until === undefined) return 0;
    const left = until - this.now();
    if (left > 0) return left;
    this.pending.delete(key);
    return 0;
  }
}
