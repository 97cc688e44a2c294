import { describe, expect, it } from 'vitest';
import { Expectations } from './expectations.ts';

describe('Expectations', () => {
  const clock = () => {
    const c = { t: 0, now: () => c.t };
    return c;
  };

  it('leaves an object alone from its write until an event for it is seen', () => {
    const e = new Expectations(60_000, clock().now);
    expect(e.snapshot('ns')).toEqual(new Map());
    e.expect('ns', 'a');
    expect(e.snapshot('ns')).toEqual(new Map([['a', 60_000]]));
    expect(e.snapshot('other')).toEqual(new Map());
    e.observed('ns', 'a');
    expect(e.snapshot('ns')).toEqual(new Map());
  });

  it('stops waiting at the deadline when no event comes', () => {
    const c = clock();
    const e = new Expectations(60_000, c.now);
    e.expect('ns', 'a');
    c.t = 59_000;
    expect(e.snapshot('ns').get('a')).toBe(1_000);
    c.t = 60_000;
    expect(e.snapshot('ns').has('a')).toBe(false);
    c.t = 0; // gone for good, not pending again
    expect(e.snapshot('ns').has('a')).toBe(false);
  });

  it('hands out a snapshot that an event arriving later does not change', () => {
    const e = new Expectations(60_000, clock().now);
    e.expect('ns', 'a');
    const taken = e.snapshot('ns');
    e.observed('ns', 'a');
    expect(taken.has('a')).toBe(true);
    expect(e.snapshot('ns').has('a')).toBe(false);
  });
});
