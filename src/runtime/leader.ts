// Leader election on a lease, with client-go's algorithm: a candidate takes the lease when its
// holder has not renewed it for a lease duration (measured on our own clock, from when we saw it
// change, so clock skew between replicas does not matter); the leader renews it every retry period
// and gives up if it cannot within the renew deadline; on a graceful stop it releases it at once.

/** What the lease holds. Times are Unix milliseconds. */
export interface LeaseRecord {
  /** Empty when released. */
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: number;
  renewTime: number;
  leaseTransitions: number;
}

/** Where the lease lives; the kube adapter provides a coordination.k8s.io/v1 Lease. */
export interface LeaseLock {
  /** The record and its version, or undefined when there is no lease yet. */
  get(signal: AbortSignal): Promise<{ record: LeaseRecord; version: string } | undefined>;
  /** Creates the lease; fails if someone else created it first. Returns the new version. */
  create(record: LeaseRecord, signal: AbortSignal): Promise<string>;
  /** Replaces the record only if it is still at `version`. Returns the new version. */
  update(record: LeaseRecord, version: string, signal: AbortSignal): Promise<string>;
}

export interface LeaderElectionTiming {
  /** How long a lease is valid after its last renewal. */
  leaseDurationMs: number;
  /** How long the leader keeps trying to renew before it gives up. */
  renewDeadlineMs: number;
  /** How often candidates try to acquire, and the leader renews. */
  retryPeriodMs: number;
}

export interface LeaderHooks {
  startedLeading(): void;
  /** The lease was lost (not released): the caller must stop acting as leader at once. */
  stoppedLeading(): void;
  /** Another holder was observed. */
  newLeader?(identity: string): void;
  /** An attempt to acquire or renew failed; it is retried. */
  attemptFailed?(error: unknown): void;
}

export type ElectionEnd = 'lost' | 'released' | 'stopped';

export class LeaderElector {
  private readonly lock: LeaseLock;
  private readonly identity: string;
  private readonly timing: LeaderElectionTiming;
  private readonly hooks: LeaderHooks;
  private observed: { record: LeaseRecord; version: string; at: number } | undefined;
  private leading = false;
  private stopping = false;
  private wake: (() => void) | undefined;
  private running: Promise<ElectionEnd> | undefined;

  constructor(lock: LeaseLock, identity: string, timing: LeaderElectionTiming, hooks: LeaderHooks) {
    this.lock = lock;
    this.identity = identity;
    this.timing = timing;
    this.hooks = hooks;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Campaigns, then leads until stopped (the lease is then released) or the lease is lost. */
  run(): Promise<ElectionEnd> {
    this.running ??= this.loop();
    return this.running;
  }

  /** Stops campaigning or leading; a leader releases the lease so that a standby takes over now. */
  async stop(): Promise<ElectionEnd | undefined> {
    this.stopping = true;
    this.wake?.();
    return this.running;
  }

  private async loop(): Promise<ElectionEnd> {
    while (!(await this.tryAcquireOrRenew(this.timing.retryPeriodMs))) {
      // Up to 20% later, so that candidates do not all knock at once.
      await this.sleep(this.timing.retryPeriodMs * (1 + Math.random() * 0.2));
      if (this.stopping) return 'stopped';
    }
    if (this.stopping) return this.release();
    this.leading = true;
    this.hooks.startedLeading();
    let renewed = Date.now();
    for (;;) {
      await this.sleep(this.timing.retryPeriodMs);
      if (this.stopping) return this.release();
      const left = this.timing.renewDeadlineMs - (Date.now() - renewed);
      if (await this.tryAcquireOrRenew(Math.max(left, 1))) {
        renewed = Date.now();
        continue;
      }
      const holder = this.observed?.record.holderIdentity;
      if (Date.now() - renewed >= this.timing.renewDeadlineMs || (holder && holder !== this.identity)) {
        this.leading = false;
        this.hooks.stoppedLeading();
        return 'lost';
      }
    }
  }

  private async tryAcquireOrRenew(timeoutMs: number): Promise<boolean> {
    const signal = AbortSignal.timeout(timeoutMs);
    const now = Date.now();
    const mine = (previous?: LeaseRecord): LeaseRecord => ({
      holderIdentity: this.identity,
      leaseDurationSeconds: this.timing.leaseDurationMs / 1000,
      renewTime: now,
      acquireTime: previous?.holderIdentity === this.identity ? previous.acquireTime : now,
      leaseTransitions:
        (previous?.leaseTransitions ?? 0) + (previous && previous.holderIdentity !== this.identity ? 1 : 0),
    });
    try {
      const current = await this.lock.get(signal);
      if (!current) {
        const record = mine();
        this.observed = { record, version: await this.lock.create(record, signal), at: Date.now() };
        return true;
      }
      if (current.version !== this.observed?.version) {
        const holder = current.record.holderIdentity;
        if (holder && holder !== this.identity && holder !== this.observed?.record.holderIdentity) {
          this.hooks.newLeader?.(holder);
        }
        this.observed = { ...current, at: now };
      }
      const { holderIdentity, leaseDurationSeconds } = current.record;
      const valid = this.observed.at + leaseDurationSeconds * 1000 > now;
      if (holderIdentity && holderIdentity !== this.identity && valid) return false;
      const record = mine(current.record);
      this.observed = {
        record,
        version: await this.lock.update(record, current.version, signal),
        at: Date.now(),
      };
      return true;
    } catch (err) {
      this.hooks.attemptFailed?.(err);
      return false;
    }
  }

  /** Hands the lease back: no holder, valid for one second. */
  private async release(): Promise<ElectionEnd> {
    const observed = this.observed;
    this.leading = false;
    if (!observed || observed.record.holderIdentity !== this.identity) return 'stopped';
    const now = Date.now();
    try {
      await this.lock.update(
        {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: observed.record.leaseTransitions,
        },
        observed.version,
        AbortSignal.timeout(this.timing.renewDeadlineMs),
      );
      return 'released';
    } catch (err) {
      this.hooks.attemptFailed?.(err);
      return 'stopped';
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
