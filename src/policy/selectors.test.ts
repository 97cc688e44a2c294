import { describe, expect, it } from 'vitest';
import { contains, coverFamily, parseCidr } from './cidr.ts';
import { coverEveryNamespace, describe as text, matches, namespaceLookup, satisfiable } from './selectors.ts';
import type { LabelSelector } from './types.ts';

describe('label selectors', () => {
  it.each<[LabelSelector, Record<string, string>, boolean]>([
    [{}, {}, true],
    [{ matchLabels: { a: 'x' } }, { a: 'x', b: 'y' }, true],
    [{ matchLabels: { a: 'x' } }, { a: 'y' }, false],
    [{ matchExpressions: [{ key: 'a', operator: 'In', values: ['x', 'y'] }] }, { a: 'y' }, true],
    [{ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['x'] }] }, {}, true],
    [{ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['x'] }] }, { a: 'x' }, false],
    [{ matchExpressions: [{ key: 'a', operator: 'Exists' }] }, {}, false],
    [{ matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, { a: '' }, false],
  ])('%j matches %j: %s', (selector, labels, expected) => {
    expect(matches(selector, labels)).toBe(expected);
  });

  it.each<[LabelSelector, boolean]>([
    [{}, true],
    [{ matchLabels: { a: 'x' }, matchExpressions: [{ key: 'a', operator: 'In', values: ['x', 'y'] }] }, true],
    [{ matchLabels: { a: 'x' }, matchExpressions: [{ key: 'a', operator: 'In', values: ['y'] }] }, false],
    [{ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }, false],
    [{ matchLabels: { a: 'x' }, matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['x'] }] }, false],
    [{ matchLabels: { a: 'x' }, matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, false],
    [
      {
        matchExpressions: [
          { key: 'a', operator: 'NotIn', values: ['x'] },
          { key: 'a', operator: 'DoesNotExist' },
        ],
      },
      true,
    ],
  ])('%j can match something: %s', (selector, expected) => {
    expect(satisfiable(selector)).toBe(expected);
  });

  it('reads as people write it', () => {
    expect(
      text({
        matchLabels: { app: 'web' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['b', 'a'] },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('!legacy, app=web, tier in (a, b)');
  });
});

describe('CIDRs', () => {
  it('parses both families and ignores host bits', () => {
    expect(parseCidr('10.1.2.3/8')).toEqual({ family: 4, start: 10n << 24n, prefix: 8 });
    expect(parseCidr('::/0')).toEqual({ family: 6, start: 0n, prefix: 0 });
    expect(parseCidr('fd16:9254:7127:1337:ffff:ffff:ffff:ffff/128')?.family).toBe(6);
    expect(parseCidr('::ffff:10.0.0.1/128')?.start).toBe((0xffffn << 32n) | (10n << 24n) | 1n);
    for (const bad of ['10.0.0.0', '10.0.0.256/8', '10.0.0.0/33', '1::2::3/64', 'x/1'])
      expect(parseCidr(bad)).toBeUndefined();
  });

  it('contains what lies inside, of its own family only', () => {
    const c = (s: string) => parseCidr(s)!;
    expect(contains(c('10.0.0.0/8'), c('10.9.0.0/16'))).toBe(true);
    expect(contains(c('10.9.0.0/16'), c('10.0.0.0/8'))).toBe(false);
    expect(contains(c('0.0.0.0/0'), c('fd00::/8'))).toBe(false);
    expect(contains(c('fd00::/8'), c('fd16::/16'))).toBe(true);
  });
});

describe('namespaceLookup', () => {
  const all = ['a', 'b', 'c'].map((name) => ({
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name, team: name === 'c' ? 'y' : 'x' } },
  }));
  const lookup = namespaceLookup(
    (name) => all.find((n) => n.metadata.name === name),
    () => all,
  );

  it('resolves a selector against every namespace; matching them all is all namespaces', () => {
    expect(lookup.select({ matchLabels: { team: 'x' } })).toEqual({ all: false, names: ['a', 'b'] });
    expect(lookup.select({ matchExpressions: [{ key: 'team', operator: 'Exists' }] })).toEqual({
      all: true,
      names: ['a', 'b', 'c'],
    });
  });

  it('looks namespaces named by kubernetes.io/metadata.name up, and never calls them all', () => {
    const key = 'kubernetes.io/metadata.name';
    expect(lookup.select({ matchLabels: { [key]: 'c', team: 'y' } })).toEqual({ all: false, names: ['c'] });
    expect(
      lookup.select({ matchExpressions: [{ key, operator: 'In', values: ['a', 'b', 'c', 'gone'] }] }),
    ).toEqual({ all: false, names: ['a', 'b', 'c'] });
  });
});

describe('coverEveryNamespace', () => {
  const e = (key: string, operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist', values?: string[]) => ({
    matchExpressions: [{ key, operator, ...(values && { values }) }],
  });
  it('is true for selectors that leave no label set out', () => {
    expect(coverEveryNamespace([{}])).toBe(true);
    expect(coverEveryNamespace([e('a', 'In', ['x', 'y']), e('a', 'NotIn', ['x', 'y'])])).toBe(true);
    expect(coverEveryNamespace([e('a', 'Exists'), e('a', 'DoesNotExist')])).toBe(true);
    expect(coverEveryNamespace([{ matchLabels: { a: 'x' } }, e('a', 'NotIn', ['x'])])).toBe(true);
    // the name label is never absent
    expect(coverEveryNamespace([e('kubernetes.io/metadata.name', 'Exists')])).toBe(true);
  });
  it('is false where some namespace could be left out', () => {
    expect(coverEveryNamespace([e('a', 'In', ['x']), e('a', 'NotIn', ['x', 'y'])])).toBe(false);
    expect(coverEveryNamespace([e('a', 'Exists'), e('b', 'DoesNotExist')])).toBe(false);
    expect(coverEveryNamespace([{ matchLabels: { a: 'x', b: 'y' } }, e('a', 'NotIn', ['x'])])).toBe(false);
  });
});

describe('coverFamily', () => {
  const blocks = (...t: string[]) => t.map((c) => parseCidr(c)!);
  it('holds a family when the blocks leave no gap', () => {
    expect(coverFamily(blocks('0.0.0.0/1', '128.0.0.0/1'), 4)).toBe(true);
    expect(coverFamily(blocks('128.0.0.0/1', '0.0.0.0/2', '64.0.0.0/2', '10.0.0.0/8'), 4)).toBe(true);
    expect(coverFamily(blocks('::/1', '8000::/1'), 6)).toBe(true);
  });
  it('not with a gap, nor across families', () => {
    expect(coverFamily(blocks('0.0.0.0/1', '128.0.0.0/2'), 4)).toBe(false);
    expect(coverFamily(blocks('0.0.0.0/1', '128.0.0.0/1'), 6)).toBe(false);
    expect(coverFamily(blocks('1.0.0.0/8', '0.0.0.0/1', '128.0.0.0/1').slice(0, 1), 4)).toBe(false);
  });
});
