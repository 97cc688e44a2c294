import { describe, expect, it } from 'vitest';
import { parseExpectations } from './expect.ts';

describe('parseExpectations', () => {
  it('reads what check --probe passes', () => {
    const one = {
      id: 'dns',
      kind: 'resolve',
      target: 'kubernetes.default.svc',
      protocol: 'udp',
      want: 'through',
    };
    expect(parseExpectations(JSON.stringify([one]))).toEqual([one]);
  });

  it('names what is wrong', () => {
    expect(() => parseExpectations('{')).toThrow(/^not JSON/);
    expect(() => parseExpectations('[]')).toThrow('want a non-empty JSON array of checks');
    expect(() => parseExpectations('[{"id":"x","kind":"ping"}]')).toThrow(
      /^\[0\]: want \{id, kind: connect\|resolve/,
    );
  });
});
