// Writes the cache has not seen yet, as client-go's ControllerExpectations, grouped by the key a
// reconcile works on (a namespace) and named within it (a policy). A reconcile that runs again
// before the watch has brought back its own last write would find the cache without it and write
// it again. Until an event for the object arrives (the write itself, or anything after it), or a
// deadline passes, the object is left alone.

export class Expectations {
  private readonly pending = new Map<string, Map<string, number>>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(ttlMs: number, now: () => number) {
    this.ttlMs = ttlMs;
    this.now = now;
  }

  /** A write to `name` in `group` is about to be sent. */
  expect(group: string, name: string): void {
    let names = this.pending.get(group);
    if (!names) this.pending.set(group, (names = new Map<string, number>()));
    names.set(name, this.now() + this.ttlMs);
  }

  /** The cache has seen an event for it, or the write failed: nothing more to wait for. */
  observed(group: string, name: string): void {
    const names = this.pending.get(group);
    if (!names?.delete(name)) return;
    if (names.size === 0) this.pending.delete(group);
  }

  /**
   * What `group` still waits for, and how long at most: a snapshot, so that an event arriving
   * after it cannot make a caller act on a cache read from before that event.
   */
  snapshot(group: string): Map<string, number> {
    const waits = new Map<string, number>();
    const names = this.pending.get(group);
    if (!names) return waits;
    const now = this.now();
    for (const [name, until] of names) {
      if (until > now) waits.set(name, until - now);
      else names.delete(name);
    }
    if (names.size === 0) this.pending.delete(group);
    return waits;
  }

  forget(group: string): void {
    this.pending.delete(group);
  }
}
