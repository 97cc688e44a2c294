import { describe, expect, it } from 'vitest';
import { type AllowedRule, covered } from './namedopenings.ts';

const all = {};
const web = { matchLabels: { app: 'web' } };
const monitoring = { namespaceSelector: { matchLabels: { purpose: 'monitoring' } } };
const allowed: AllowedRule[] = [
  { pods: all, peers: [{ podSelector: all }] }, // allow-same-namespace
  { pods: all, peers: [monitoring], ports: [{ port: 9090 }] },
  {
    pods: all,
    peers: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.9.0.0/16'] } }],
    ports: [{ port: 8000, endPort: 8100 }],
  },
  {
    pods: web,
    peers: [{ namespaceSelector: { matchLabels: { purpose: 'edge' } } }],
    ports: [{ port: 8080 }],
  },
];

describe('covered: a named peer within the profile’s own rules', () => {
  it('takes pods of its own namespace, and the sanctioned peer on its port and protocol only', () => {
    expect(covered(allowed, all, undefined, { podSelector: web })).toBe(true);
    expect(covered(allowed, all, [{ port: 9090 }], monitoring)).toBe(true);
    expect(covered(allowed, all, [{ protocol: 'UDP', port: 9090 }], monitoring)).toBe(false);
    expect(covered(allowed, all, undefined, monitoring)).toBe(false);
    expect(covered(allowed, all, [{ port: 'metrics' }], monitoring)).toBe(false);
    // The peer's pods narrow it: still within "every pod of those namespaces".
    expect(covered(allowed, all, [{ port: 9090 }], { ...monitoring, podSelector: web })).toBe(true);
  });

  it('compares blocks and port ranges by what they hold, excepts included', () => {
    const to = (cidr: string, except?: string[]) => ({ ipBlock: { cidr, ...(except && { except }) } });
    expect(covered(allowed, all, [{ port: 8080, endPort: 8090 }], to('10.1.0.0/16'))).toBe(true);
    expect(covered(allowed, all, [{ port: 8050, endPort: 8200 }], to('10.1.0.0/16'))).toBe(false);
    expect(covered(allowed, all, [{ port: 8080 }], to('10.9.1.0/24'))).toBe(false);
    expect(covered(allowed, all, [{ port: 8050 }], to('10.0.0.0/8', ['10.9.0.0/16']))).toBe(true);
    expect(covered(allowed, all, [{ port: 8050 }], to('10.0.0.0/8'))).toBe(false);
    expect(covered(allowed, all, [{ port: 8050 }], to('fd00::/8'))).toBe(false);
  });

  it('takes an opening sanctioned for some pods only for a policy on the same pods, as written', () => {
    const edge = { namespaceSelector: { matchLabels: { purpose: 'edge' } } };
    expect(covered(allowed, web, [{ port: 8080 }], edge)).toBe(true);
    expect(covered(allowed, { matchLabels: { app: 'api' } }, [{ port: 8080 }], edge)).toBe(false);
    expect(covered(allowed, all, [{ port: 8080 }], edge)).toBe(false);
    // The same selector written another way is not recognised (refused; documented).
    const inWeb = { matchExpressions: [{ key: 'app', operator: 'In' as const, values: ['web'] }] };
    expect(covered(allowed, inWeb, [{ port: 8080 }], edge)).toBe(false);
  });
});
