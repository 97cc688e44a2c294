import { describe, expect, it } from 'vitest';
import { Expectations } from './expectations.ts';

describe('Expectations', () => {
  const clock = () => {
    const c = { t: 0, now: () => c.t };
    return c;
  };

  it('leaves a key alone from its write until an event for it is seen', () => {
    const e = new Expectations(60_000, clock().now);
    expect(e.waitMs('ns/a')).toBe(0);
    e.expect('ns/a');
    expect(e.waitMs('ns/a')).toBe(60_000);
    expect(e.waitMs('ns/b')).toBe(0);
    e.observed('ns/a');
    expect(e.waitMs('ns/a')).toBe(0);
  });

  it('stops waiting at the deadline when no event comes', () => {
    const c = clock();
    const e = new Expectations(60_000, c.now);
    e.expect('ns/a');
    c.t = 59_000;
    expect(e.waitMs('ns/a')).toBe(1_000);
    c.t = 60_000;
    expect(e.waitMs('ns/a')).toBe(0);
    c.t = 0; // gone for good, not pending again
    expect(e.waitMs('ns/a')).toBe(0);
  });
});
