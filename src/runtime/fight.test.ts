import { describe, expect, it } from 'vitest';
import { fightBudget, FightTracker } from './fight.ts';

function tracker(maxDelayMs = 8_000) {
  let now = 0;
  const t = new FightTracker({ windowMs: 60_000, freeRepairs: 2, baseDelayMs: 1_000, maxDelayMs }, () => now);
  return { t, at: (ms: number) => (now = ms) };
}

/**
 * Another writer undoes every write of ours `undoMs` after it (or at once, when 0) for `forMs`;
 * the controller writes as soon as the tracker lets it. Returns the times of its writes, marking
 * where a fight was declared and the wait it announced.
 */
function fight(t: FightTracker, at: (ms: number) => void, forMs: number, undoMs = 0): string[] {
  const writes: string[] = [];
  let seenAt = 0;
  let mark = '';
  for (let ms = 0; ms <= forMs; ms += 100) {
    at(ms);
    if (ms < seenAt) continue;
    const declared = t.declare('ns/p', seenAt);
    if (declared) mark = ` (fight after ${declared.writes}, waits ${declared.waitMs})`;
    if (t.wait('ns/p', seenAt) > 0) continue;
    t.wrote('ns/p', seenAt);
    writes.push(`${ms}${mark}`);
    mark = '';
    seenAt = ms + undoMs;
  }
  return writes;
}

describe('FightTracker', () => {
  it('repairs occasional drift at once, however often it happens over time', () => {
    const { t, at } = tracker();
    for (let i = 0; i < 10; i++) {
      at(i * 60_000);
      expect(t.wait('ns/p')).toBe(0);
      t.wrote('ns/p');
    }
    expect(t.declare('ns/p')).toBeUndefined();
  });

  it('backs off from the third write within the window, doubling up to the ceiling', () => {
    const { t, at } = tracker();
    // Free, free, then 1 s, 2 s, 4 s and 8 s (the ceiling) apart.
    expect(fight(t, at, 40_000, 200)).toEqual([
      '0',
      '200',
      '1200 (fight after 2, waits 1000)',
      '3200',
      '7200',
      '15200',
      '23200',
      '31200',
      '39200',
    ]);
  });

  it('declares a fight once, at the first undo after the free writes, announcing the wait between writes', () => {
    const { t, at } = tracker();
    t.wrote('ns/p');
    t.wrote('ns/p');
    at(300);
    expect(t.wait('ns/p')).toBe(700);
    expect(t.declare('ns/p')).toEqual({ writes: 2, waitMs: 1_000, maxWaitMs: 8_000 });
    expect(t.declare('ns/p')).toBeUndefined();
    expect(t.wait('other/p')).toBe(0);
    // A slow writer: the wait has run out when its undo comes, yet the fight is declared as it is.
    t.wrote('slow/p');
    t.wrote('slow/p');
    at(5_000);
    expect(t.wait('slow/p')).toBe(0);
    expect(t.declare('slow/p')).toEqual({ writes: 2, waitMs: 1_000, maxWaitMs: 8_000 });
  });

  it('keeps a fight whose waits reach the window: one write a minute, never a fresh start', () => {
    const { t, at } = tracker(60_000);
    const writes = fight(t, at, 300_000).map((w) => Number.parseInt(w, 10));
    // 0, 0 (free), then 1, 3, 7, 15, 31 s, then 60 s apart: ≤ 7 in the first minute, 1 a minute after.
    expect(writes).toEqual([0, 100, 1100, 3100, 7100, 15100, 31100, 63100, 123100, 183100, 243100]);
  });

  it('states the budget a fight can cost, which the worst writer reaches and never exceeds', () => {
    const options = { windowMs: 60_000, freeRepairs: 2, baseDelayMs: 1_000, maxDelayMs: 60_000 };
    expect([20_000, 60_000, 120_000].map((ms) => fightBudget(options, ms))).toEqual([6, 7, 8]);
    for (const undoMs of [0, 100, 900, 5_000]) {
      const { t, at } = tracker(60_000);
      expect(fight(t, at, 20_000, undoMs).length).toBeLessThanOrEqual(fightBudget(options, 20_000));
    }
    const { t, at } = tracker(60_000);
    expect(fight(t, at, 20_000)).toHaveLength(6);
  });

  it('counts only writes that went through: attempts that failed do not make a fight', () => {
    const { t, at } = tracker();
    for (let ms = 0; ms <= 10_000; ms += 100) {
      at(ms);
      expect(t.wait('ns/p')).toBe(0); // every attempt fails, so none is recorded
    }
  });

  it('starts afresh when the undo comes a whole window after our last write, and prunes', () => {
    const { t, at } = tracker();
    t.wrote('ns/p');
    t.wrote('ns/p');
    at(60_000);
    expect(t.wait('ns/p', 59_999)).toBe(0); // seen within the window: 0 because the 1 s wait is over
    at(60_001);
    expect(t.wait('ns/p', 60_000)).toBe(0);
    t.wrote('ns/p', 60_000);
    t.wrote('ns/p', 60_001);
    at(60_002);
    expect(t.wait('ns/p')).toBe(999); // a fresh fight: two free writes, then 1 s
    t.wrote('gone/p');
    t.wrote('gone/p');
    t.prune((key) => key.startsWith('gone/'));
    expect(t.wait('gone/p')).toBe(0);
    expect(t.wait('ns/p')).toBe(999);
  });
});
