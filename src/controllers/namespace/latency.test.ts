import { describe, expect, it } from 'vitest';
import { EnforcementClock } from './latency.ts';

function clock() {
  let now = 0;
  const seen: number[] = [];
  const c = new EnforcementClock(
    () => now,
    (s) => seen.push(s),
  );
  return { c, seen, at: (ms: number) => (now = ms) };
}

describe('EnforcementClock', () => {
  it('measures from the label seen to the last policy seen, once', () => {
    const { c, seen, at } = clock();
    at(1_000);
    c.update('a', 'strict', false);
    at(1_200);
    c.update('a', 'strict', false); // one policy of three: still waiting
    expect(c.waiting('a')).toBe(true);
    at(1_450);
    c.update('a', 'strict', true);
    at(2_000);
    c.update('a', 'strict', true); // already enforced: nothing more
    expect(seen).toEqual([0.45]);
    expect(c.waiting('a')).toBe(false);
  });

  it('restarts on a profile change and forgets a namespace no longer selected', () => {
    const { c, seen, at } = clock();
    c.update('a', 'strict', false);
    at(5_000);
    c.update('a', 'default-deny-ingress', false);
    at(5_100);
    c.update('a', 'default-deny-ingress', true);
    c.update('b', 'strict', false);
    c.update('b', undefined, false);
    c.update('b', 'strict', true); // seen complete at once: nothing to measure
    expect(seen).toEqual([0.1]);
  });
});
