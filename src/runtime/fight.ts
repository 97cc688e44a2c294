// Repairs of one object that keep coming back: someone else is writing it too. The first repairs
// are immediate (drift is repaired within moments); from the third within a window on, each waits
// twice as long as the one before, up to a ceiling, so that two writers never hot-loop each other.
// A repair after a quiet window starts afresh.

export interface FightOptions {
  /** Repairs closer together than this belong to one fight. */
  windowMs: number;
  /** Immediate repairs before backing off (a fight is declared when this many have not helped). */
  freeRepairs: number;
  /** The first delay; doubled with each further repair. */
  baseDelayMs: number;
  maxDelayMs: number;
}

interface State {
  repairs: number;
  last: number;
}

export class FightTracker {
  private readonly states = new Map<string, State>();
  private readonly options: FightOptions;
  private readonly now: () => number;

  constructor(options: FightOptions, now: () => number) {
    this.options = options;
    this.now = now;
  }

  /** How long a repair of the key that has had `repairs` repairs in a row waits after the last. */
  delay(repairs: number): number {
    const { freeRepairs, baseDelayMs, maxDelayMs } = this.options;
    if (repairs < freeRepairs) return 0;
    return Math.min(maxDelayMs, baseDelayMs * 2 ** (repairs - freeRepairs));
  }

  /** How long a repair of `key` must still wait; 0: it may be written now. */
  wait(key: string): number {
    const state = this.current(key);
    if (!state) return 0;
    return Math.max(0, Math.ceil(state.last + this.delay(state.repairs) - this.now()));
  }

  /**
   * A repair of `key` was written (only those count: a write that failed was not undone by anyone).
   * `fightStarted` the first time its repairs begin to back off.
   */
  repaired(key: string): { repairs: number; fightStarted: boolean } {
    const repairs = (this.current(key)?.repairs ?? 0) + 1;
    this.states.set(key, { repairs, last: this.now() });
    return { repairs, fightStarted: repairs === this.options.freeRepairs + 1 };
  }

  /** Forgets keys (a namespace gone) and those quiet for a whole window. */
  prune(isGone: (key: string) => boolean): void {
    for (const key of this.states.keys()) {
      if (isGone(key) || !this.current(key)) this.states.delete(key);
    }
  }

  /** The key's state while its last repair is within the window. */
  private current(key: string): State | undefined {
    const state = this.states.get(key);
    return state && this.now() - state.last < this.options.windowMs ? state : undefined;
  }
}
