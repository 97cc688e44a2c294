import { describe, expect, it } from 'vitest';
import { FightTracker } from './fight.ts';

function tracker() {
  let now = 0;
  const t = new FightTracker(
    { windowMs: 60_000, freeRepairs: 2, baseDelayMs: 1_000, maxDelayMs: 8_000 },
    () => now,
  );
  return { t, at: (ms: number) => (now = ms) };
}

describe('FightTracker', () => {
  it('repairs occasional drift at once, however often it happens over time', () => {
    const { t, at } = tracker();
    for (let i = 0; i < 10; i++) {
      at(i * 60_000);
      expect(t.wait('ns/p')).toBe(0);
      expect(t.repaired('ns/p')).toEqual({ repairs: 1, fightStarted: false });
    }
  });

  it('backs off from the third repair within the window, doubling up to the ceiling, and says when it starts', () => {
    const { t, at } = tracker();
    const repairs: string[] = [];
    // Someone rewrites the object every 200 ms for 40 s; the controller looks each time.
    for (let ms = 0; ms <= 40_000; ms += 200) {
      at(ms);
      if (t.wait('ns/p') > 0) continue;
      repairs.push(`${ms}${t.repaired('ns/p').fightStarted ? ' fight' : ''}`);
    }
    // Free, free, then 1 s, 2 s, 4 s and 8 s (the ceiling) apart.
    expect(repairs).toEqual(['0', '200', '1200 fight', '3200', '7200', '15200', '23200', '31200', '39200']);
  });

  it('counts only repairs written: attempts that failed do not make a fight', () => {
    const { t, at } = tracker();
    for (let ms = 0; ms <= 10_000; ms += 100) {
      at(ms);
      expect(t.wait('ns/p')).toBe(0); // every attempt fails, so none is recorded
    }
    expect(t.repaired('ns/p')).toEqual({ repairs: 1, fightStarted: false });
  });

  it('tells how long to wait, and keeps other keys free', () => {
    const { t, at } = tracker();
    t.repaired('ns/p');
    t.repaired('ns/p');
    at(300);
    expect(t.wait('ns/p')).toBe(700);
    expect(t.wait('other/p')).toBe(0);
  });

  it('starts afresh after a quiet window, and prunes what is quiet or gone', () => {
    const { t, at } = tracker();
    t.repaired('ns/p');
    t.repaired('ns/p');
    at(1_000);
    t.repaired('ns/p');
    t.repaired('gone/p');
    at(61_000);
    expect(t.wait('ns/p')).toBe(0);
    expect(t.repaired('ns/p')).toEqual({ repairs: 1, fightStarted: false });
    t.prune((key) => key.startsWith('gone/'));
    expect(t.repaired('gone/p')).toEqual({ repairs: 1, fightStarted: false });
  });
});
