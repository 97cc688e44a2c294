import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { covers, render } from './index.ts';
import { loadConfig, parseConfig, policyConfig } from '../config.ts';

describe('render', () => {
  it('prints the same bytes with the shipped file as with the built-in defaults', () => {
    const file = policyConfig(loadConfig(join(import.meta.dirname, '..', '..', 'config', 'controller.yaml')));
    const builtIn = policyConfig(parseConfig({}, 'built-in defaults'));
    for (const profile of Object.keys(builtIn.profiles)) {
      expect(render(file, 'team-a', profile)).toBe(render(builtIn, 'team-a', profile));
    }
  });

  it("fills in the namespace's name, and refuses a policy that reads a label it cannot know", () => {
    const config = (value: string) =>
      policyConfig(
        parseConfig(
          {
            profiles: { p: ['siblings'] },
            policies: {
              siblings: {
                podSelector: {},
                ingress: [{ from: [{ namespaceSelector: { matchLabels: { x: value } } }] }],
              },
            },
          },
          'test',
        ),
      );
    expect(render(config('$(namespace.name)-mon'), 'team-a', 'p')).toContain('x: team-a-mon');
    expect(() => render(config('$(namespace.labels.team)'), 'team-a', 'p')).toThrow(
      'render: siblings: the namespace has no label team; check --namespace shows it for a live namespace',
    );
  });

  it('prints keys in one order whatever order the configuration wrote them in', () => {
    const spec = (egress: object) =>
      policyConfig(
        parseConfig(
          {
            profiles: { p: ['x'] },
            policies: { x: { podSelector: {}, egress: [egress] } },
          },
          'test',
        ),
      );
    const a = spec({
      ports: [{ port: 53, protocol: 'UDP' }],
      to: [{ podSelector: {}, namespaceSelector: {} }],
    });
    const b = spec({
      to: [{ namespaceSelector: {}, podSelector: {} }],
      ports: [{ protocol: 'UDP', port: 53 }],
    });
    expect(render(a, 'team-a', 'p')).toBe(render(b, 'team-a', 'p'));
  });
});

describe('covers', () => {
  it('holds when the live object has everything rendered, defaults besides', () => {
    expect(covers({ a: [{ b: 1 }], c: 'x' }, { a: [{ b: 1, scope: '*' }], c: 'x', d: true })).toBe(true);
    expect(covers({ a: [{ b: 1 }] }, { a: [{ b: 2 }] })).toBe(false);
    expect(covers({ a: [1, 2] }, { a: [1] })).toBe(false);
    expect(covers({ a: { b: 1 } }, {})).toBe(false);
  });
});
