// The enforcement clock: from the moment a namespace is seen selected for a profile to the moment
// all of that profile's policies are seen in the cache. The SLO a platform team alerts on.

export class EnforcementClock {
  private readonly pending = new Map<string, { profile: string; since: number }>();
  private readonly now: () => number;
  private readonly observe: (seconds: number) => void;

  constructor(now: () => number, observe: (seconds: number) => void) {
    this.now = now;
    this.observe = observe;
  }

  /** Whether `namespace` waits for its policies. */
  waiting(namespace: string): boolean {
    return this.pending.has(namespace);
  }

  /**
   * What is known of `namespace` now: the profile it is enforced with (undefined when not
   * selected, under an exception, or gone) and whether all of its policies are in the cache.
   */
  update(namespace: string, profile: string | undefined, complete: boolean): void {
    const pending = this.pending.get(namespace);
    if (profile === undefined) {
      this.pending.delete(namespace);
    } else if (pending?.profile === profile) {
      if (!complete) return;
      this.pending.delete(namespace);
      this.observe((this.now() - pending.since) / 1000);
    } else if (complete) {
      this.pending.delete(namespace);
    } else {
      this.pending.set(namespace, { profile, since: this.now() });
    }
  }
}
