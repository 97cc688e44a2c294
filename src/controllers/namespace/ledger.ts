// The repair ledger: for a planned write and a clock, write it now or wait N ms, and whether it is
// a creation, a repair, an update or a release. It owns what that decision needs: when each drift
// was seen, writes not yet seen back in the cache (expectations), namespaces whose first creation
// failed, rollouts not yet reconciled, and fights with other writers: a repair or a release that
// another writer keeps undoing backs off alike. Pure: no I/O, the clock is injected.
import { Expectations } from '../../runtime/expectations.ts';
import { type Declared, type FightOptions, FightTracker } from '../../runtime/fight.ts';

export interface LedgerOptions {
  fight: FightOptions;
  /** How long a write not seen back leaves its policy alone (then the cache is trusted again). */
  expectationTtlMs: number;
  /** Under --dry-run nothing is changed: no event comes back, and nothing can be undone. */
  dryRun: boolean;
}

/**
 * A namespace's first policies are created; a drift is repaired; a change of what is wanted (the
 * configuration, the API server's endpoints, the namespace's profile) is rolled out as an update;
 * a policy no longer wanted is released.
 */
export type WriteKind = 'create' | 'repair' | 'update' | 'release';

/** What was wanted before a rollout, and why it changed: what tells an update from a repair. */
export interface Rollout<Before = unknown> {
  before: Before;
  cause: string;
}

/** `declared` when another writer's undo of the policy just made a fight (said once per fight). */
export type Verdict =
  | { write: true; as: WriteKind; declared?: Declared }
  /** `unseen`: our last write to it is not in the cache yet; `fight`: writes of it back off. */
  | { write: false; waitMs: number; reason: 'unseen' | 'fight'; declared?: Declared };

export interface Written {
  /** A repair to count, with the time since its drift was seen (when it was). */
  repair?: { sinceChangeMs: number | undefined };
}

export class RepairLedger {
  /** Per namespace, when a change or deletion of each of our policies was first seen. */
  private readonly changedAt = new Map<string, Map<string, number>>();
  /** Namespaces whose first policies are not all written yet (a first attempt failed). */
  private readonly creating = new Set<string>();
  /** Per namespace, the rollout its next round carries out. */
  private readonly rollouts = new Map<string, Rollout>();
  private readonly expectations: Expectations;
  private readonly fights: FightTracker;
  private readonly options: LedgerOptions;
  private readonly now: () => number;

  constructor(options: LedgerOptions, now: () => number) {
    this.options = options;
    this.now = now;
    this.expectations = new Expectations(options.expectationTtlMs, now);
    this.fights = new FightTracker(options.fight, now);
  }

  /** Any watch event for one of our policies: our last write to it is in the cache now. */
  observed(namespace: string, policy: string): void {
    this.expectations.observed(namespace, policy);
  }

  /** A change or deletion of one of our policies: a repair is timed from the first one not yet repaired. */
  changed(namespace: string, policy: string, at = this.now()): void {
    let times = this.changedAt.get(namespace);
    if (!times) this.changedAt.set(namespace, (times = new Map<string, number>()));
    const known = times.get(policy);
    if (known === undefined || known > at) times.set(policy, at);
  }

  /**
   * What `namespace` wanted changed: its next round tells updates from repairs by `before`. A
   * rollout not yet carried out is kept: the cluster still holds what the earlier one replaces.
   */
  rolledOut(namespace: string, rollout: Rollout): void {
    if (!this.rollouts.has(namespace)) this.rollouts.set(namespace, rollout);
  }

  /**
   * Starts a reconcile of `namespace`. Call it before reading the caches: what it holds of writes
   * not yet seen is taken now, so that an event arriving during the reconcile cannot clear an
   * expectation and let a write go out from a cache read before that event.
   */
  begin(namespace: string): Round {
    const changedAt = this.changedAt.get(namespace) ?? new Map<string, number>();
    this.changedAt.delete(namespace);
    const rollout = this.rollouts.get(namespace);
    this.rollouts.delete(namespace);
    return new Round({
      namespace,
      rollout,
      unseen: this.expectations.snapshot(namespace),
      changedAt,
      options: this.options,
      now: this.now,
      creating: this.creating,
      expectations: this.expectations,
      fights: this.fights,
      remember: (policy, at) => this.changed(namespace, policy, at),
      retry: (r) => this.rolledOut(namespace, r),
    });
  }

  /** The namespace is gone: nothing of it is kept. */
  forget(namespace: string): void {
    this.changedAt.delete(namespace);
    this.creating.delete(namespace);
    this.rollouts.delete(namespace);
    this.expectations.forget(namespace);
    this.fights.prune((key) => key.startsWith(`${namespace}/`));
  }
}

/** What a round sees of its ledger. */
interface RoundContext {
  namespace: string;
  /** The rollout this round carries out, if any. */
  rollout: Rollout | undefined;
  /** Writes not yet seen back when the round began: policy → ms still to wait at most. */
  unseen: Map<string, number>;
  /** Drifts seen since the last round: policy → when. */
  changedAt: Map<string, number>;
  options: LedgerOptions;
  now: () => number;
  creating: Set<string>;
  expectations: Expectations;
  fights: FightTracker;
  remember(policy: string, at: number): void;
  /** A failed round's rollout is carried out by the next (unless a newer one came meanwhile). */
  retry(rollout: Rollout): void;
}

/** One reconcile of one namespace: a verdict per planned write, then what became of it. */
export class Round {
  private readonly c: RoundContext;
  private requeueAfterMs: number | undefined;
  private failures = 0;
  private first = false;
  /** An update of the rollout had to wait: the next round carries the rollout on. */
  private updateWaited = false;

  constructor(context: RoundContext) {
    this.c = context;
  }

  /** The rollout this round carries out: its policies' changes are updates, not repairs. */
  get rollout(): Rollout | undefined {
    return this.c.rollout;
  }

  /**
   * Write `policy` now, or wait. `first` when the cache holds none of the namespace's policies:
   * its first policies are created, not repaired (no repair counted, no fight). `update` when the
   * change is the round's rollout, not drift: no repair counted, no fight. A verdict to write
   * records the expectation at once, before the request goes out (its event may beat the answer).
   */
  decide(kind: 'apply' | 'update' | 'release', policy: string, first: boolean): Verdict {
    const { options, creating, expectations, fights, namespace, changedAt } = this.c;
    this.first ||= first;
    const unseenMs = this.c.unseen.get(policy);
    this.updateWaited ||= kind === 'update' && unseenMs !== undefined;
    if (unseenMs !== undefined) return this.wait(policy, unseenMs, 'unseen');
    let as: WriteKind = 'release';
    if (kind !== 'release') {
      const created = (first || creating.has(namespace)) && !changedAt.has(policy);
      as = created ? 'create' : kind === 'update' ? 'update' : 'repair';
    }
    // Repairs, re-creations and releases answer another writer's undo; creations and updates do not.
    let declared: Declared | undefined;
    if (as !== 'create' && as !== 'update' && !options.dryRun) {
      const [key, seenAt] = [this.key(policy), this.seenAt(policy)];
      declared = fights.declare(key, seenAt);
      const fightMs = fights.wait(key, seenAt);
      if (fightMs > 0) return { ...this.wait(policy, fightMs, 'fight'), ...(declared && { declared }) };
    }
    if (!options.dryRun) expectations.expect(namespace, policy);
    return { write: true, as, ...(declared && { declared }) };
  }

  /** The write of `policy` succeeded. */
  wrote(policy: string, as: WriteKind): Written {
    const { options, now, fights } = this.c;
    if (as === 'create' || as === 'update' || options.dryRun) return {};
    fights.wrote(this.key(policy), this.seenAt(policy));
    if (as === 'release') return {};
    const since = this.c.changedAt.get(policy);
    return { repair: { sinceChangeMs: since === undefined ? undefined : now() - since } };
  }

  /** The write of `policy` failed: nothing to wait for, and its drift stays timed from when it was seen. */
  failed(policy: string): void {
    this.c.expectations.observed(this.c.namespace, policy);
    this.remember(policy);
    this.failures++;
  }

  /** Ends the round: when to look again, if a write had to wait. */
  end(): number | undefined {
    const { creating, namespace, rollout } = this.c;
    if (this.failures === 0) creating.delete(namespace);
    else if (this.first) creating.add(namespace);
    if ((this.failures > 0 || this.updateWaited) && rollout) this.c.retry(rollout);
    return this.requeueAfterMs;
  }

  private wait(policy: string, waitMs: number, reason: 'unseen' | 'fight'): Verdict & { write: false } {
    this.remember(policy);
    this.requeueAfterMs = Math.min(this.requeueAfterMs ?? Infinity, waitMs);
    return { write: false, waitMs, reason };
  }

  /** When the undo a write answers was seen: its event, or now (a resync, a re-labelled policy). */
  private seenAt(policy: string): number {
    return this.c.changedAt.get(policy) ?? this.c.now();
  }

  /** A change not written now stays timed from when it was seen. */
  private remember(policy: string): void {
    const since = this.c.changedAt.get(policy);
    if (since !== undefined) this.c.remember(policy, since);
  }

  private key(policy: string): string {
    return `${this.c.namespace}/${policy}`;
  }
}
