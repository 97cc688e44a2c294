// Writes of one object that another writer keeps undoing: someone else is writing it too. The
// first writes are immediate (drift is repaired within moments); from the third within a window
// on, each waits twice as long as the one before, up to a ceiling, so that two writers never
// hot-loop each other. An undo that comes a whole window after our last write starts afresh.
//
// The window is measured from our last write to the undo that follows it (when it was seen), not
// to our next write: a wait as long as the window must not forget the fight it belongs to.

export interface FightOptions {
  /** An undo seen within this long of our last write belongs to the same fight. */
  windowMs: number;
  /** Immediate writes before backing off (a fight is declared when this many have not helped). */
  freeRepairs: number;
  /** The first delay; doubled with each further write. */
  baseDelayMs: number;
  maxDelayMs: number;
}

interface State {
  writes: number;
  last: number;
  declared: boolean;
}

/** A fight just declared: its writes so far, the wait it now imposes, and the ceiling. */
export interface Declared {
  writes: number;
  waitMs: number;
  maxWaitMs: number;
}

/**
 * The most writes of one object a fight can cost within `durationMs` of its first write, whatever
 * the other writer does: it undoes each write the moment it lands, and every wait runs out.
 */
export function fightBudget(options: FightOptions, durationMs: number): number {
  let writes = 0;
  for (let t = 0; t <= durationMs; t += delayAfter(options, writes)) writes++;
  return writes;
}

/** How long a write that follows `writes` writes in a row waits after the last. */
function delayAfter(options: FightOptions, writes: number): number {
  const { freeRepairs, baseDelayMs, maxDelayMs } = options;
  if (writes < freeRepairs) return 0;
  return Math.min(maxDelayMs, baseDelayMs * 2 ** (writes - freeRepairs));
}

export class FightTracker {
  private readonly states = new Map<string, State>();
  private readonly options: FightOptions;
  private readonly now: () => number;

  constructor(options: FightOptions, now: () => number) {
    this.options = options;
    this.now = now;
  }

  /** How long a write of `key` answering an undo seen at `seenAt` must still wait; 0: now. */
  wait(key: string, seenAt = this.now()): number {
    const state = this.fighting(key, seenAt);
    if (!state) return 0;
    return Math.max(0, Math.ceil(state.last + delayAfter(this.options, state.writes) - this.now()));
  }

  /**
   * An undo of `key` seen at `seenAt` after the free writes: the fight is declared (once), with
   * what an Event and a metric say of it, whether or not the wait has already run out.
   */
  declare(key: string, seenAt = this.now()): Declared | undefined {
    const state = this.fighting(key, seenAt);
    if (!state || state.declared) return undefined;
    const waitMs = delayAfter(this.options, state.writes);
    if (waitMs === 0) return undefined; // still within the free writes
    state.declared = true;
    return { writes: state.writes, waitMs, maxWaitMs: this.options.maxDelayMs };
  }

  /**
   * A write of `key` answering an undo seen at `seenAt` went through (only those count: a write
   * that failed was not undone by anyone).
   */
  wrote(key: string, seenAt = this.now()): void {
    const state = this.fighting(key, seenAt);
    this.states.set(key, {
      writes: (state?.writes ?? 0) + 1,
      last: this.now(),
      declared: state?.declared ?? false,
    });
  }

  /** Forgets keys (a namespace gone) and those no undo can join any more. */
  prune(isGone: (key: string) => boolean): void {
    const { windowMs, maxDelayMs } = this.options;
    for (const [key, state] of this.states) {
      if (isGone(key) || this.now() - state.last >= windowMs + maxDelayMs) this.states.delete(key);
    }
  }

  /** The key's fight, when the undo seen at `seenAt` came within the window of our last write. */
  private fighting(key: string, seenAt: number): State | undefined {
    const state = this.states.get(key);
    return state && seenAt - state.last < this.options.windowMs ? state : undefined;
  }
}
