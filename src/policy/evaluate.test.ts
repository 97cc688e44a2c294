import { describe, expect, it } from 'vitest';
import { type Allowed, describeOpening, evaluate, severityOf } from './evaluate.ts';
import type { NamespaceLookup } from './selectors.ts';
import { defaultPolicyConfig as config } from './profiles.ts';
import { sanctionedPolicies } from './presets.ts';
import { matches } from './selectors.ts';
import type { LabelSelector, NetworkPolicySpec } from './types.ts';

const NAMESPACES: Record<string, Record<string, string>> = {
  'team-a': { 'kubernetes.io/metadata.name': 'team-a', isolation: 'strict', team: 'a' },
  'team-b': { 'kubernetes.io/metadata.name': 'team-b', team: 'b' },
  monitoring: { 'kubernetes.io/metadata.name': 'monitoring', purpose: 'monitoring' },
  'kube-system': { 'kubernetes.io/metadata.name': 'kube-system' },
};
const lookup: NamespaceLookup = {
  select(selector: LabelSelector) {
    const names = Object.keys(NAMESPACES).filter((n) => matches(selector, NAMESPACES[n]!));
    return { all: names.length === Object.keys(NAMESPACES).length, names };
  },
};
const strict = { specs: config.profiles.strict!.map((p) => config.policies[p]!) };
const lines = (spec: NetworkPolicySpec, allowed: Allowed = strict) =>
  evaluate('team-a', [{ name: 't', spec }], allowed, lookup).openings.map(describeOpening);
const verdict = (spec: NetworkPolicySpec, allowed: Allowed = strict) =>
  severityOf(evaluate('team-a', [{ name: 't', spec }], allowed, lookup).openings);
const all = {};

describe('evaluate: what a namespace allows beyond its profile', () => {
  it.each<[string, NetworkPolicySpec, string[]]>([
    [
      'an empty `from` lets everyone in',
      { podSelector: all, ingress: [{}] },
      ['t: ingress to all pods from everyone (every pod of every namespace and every address) on all ports'],
    ],
    [
      'an empty `to` lets everything out (with policyTypes Egress)',
      { podSelector: all, policyTypes: ['Egress'], egress: [{ ports: [{ port: 443 }] }] },
      ['t: egress from all pods to everyone (every pod of every namespace and every address) on TCP 443'],
    ],
    [
      'namespaceSelector {} is every namespace',
      { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ namespaceSelector: {} }] }] },
      ['t: ingress to pods app=web from all namespaces on all ports'],
    ],
    [
      'namespaceSelector and podSelector in one peer: the pods of those namespaces (AND)',
      {
        podSelector: all,
        ingress: [
          {
            from: [
              {
                namespaceSelector: { matchLabels: { team: 'b' } },
                podSelector: { matchLabels: { app: 'x' } },
              },
            ],
          },
        ],
      },
      ['t: ingress to all pods from namespace team-b (pods app=x) on all ports'],
    ],
    [
      'separate peers add up (OR)',
      {
        podSelector: all,
        ingress: [
          {
            from: [
              { namespaceSelector: { matchLabels: { team: 'b' } } },
              { podSelector: { matchLabels: { app: 'x' } } },
            ],
            ports: [{ port: 8080 }],
          },
        ],
      },
      // The second peer is this namespace's pods, which the profile already lets in.
      ['t: ingress to all pods from namespace team-b on TCP 8080'],
    ],
    [
      'ipBlock with except, and a named port',
      {
        podSelector: all,
        policyTypes: ['Egress'],
        egress: [
          { to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }], ports: [{ port: 'https' }] },
        ],
      },
      [
        't: egress from all pods to 10.0.0.0/8 except 10.1.0.0/16 on TCP port "https" (named: each pod says which)',
      ],
    ],
    [
      'endPort is a range; protocols are kept apart',
      {
        podSelector: all,
        policyTypes: ['Egress'],
        egress: [
          {
            to: [{ ipBlock: { cidr: '192.168.0.0/24' } }],
            ports: [{ protocol: 'UDP', port: 5000, endPort: 5100 }, { protocol: 'SCTP' }],
          },
        ],
      },
      ['t: egress from all pods to 192.168.0.0/24 on UDP 5000-5100, all SCTP ports'],
    ],
    [
      '0.0.0.0/0 is every address',
      {
        podSelector: all,
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }] }],
      },
      ['t: egress from all pods to every address 0.0.0.0/0 except 10.0.0.0/8 on all ports'],
    ],
  ])('%s', (_name, spec, expected) => {
    expect(lines(spec)).toEqual(expected);
  });

  it.each<[string, NetworkPolicySpec]>([
    [
      'traffic within the namespace, which the profile allows',
      { podSelector: all, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'db' } } }] }] },
    ],
    [
      'DNS as the profile allows it, on fewer ports',
      {
        podSelector: { matchLabels: { app: 'web' } },
        policyTypes: ['Egress'],
        egress: [
          {
            to: [
              {
                namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
                podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
              },
            ],
            ports: [{ protocol: 'UDP', port: 53 }],
          },
        ],
      },
    ],
    ['a deny-all of its own', { podSelector: all, policyTypes: ['Ingress', 'Egress'] }],
    [
      'egress rules without Egress in policyTypes do nothing',
      { podSelector: all, policyTypes: ['Ingress'], egress: [{}] },
    ],
    ['egress rules are ignored by the default policyTypes only when empty', { podSelector: all, egress: [] }],
    [
      'a policy whose pods cannot exist (app=a and app=b)',
      {
        podSelector: {
          matchLabels: { app: 'a' },
          matchExpressions: [{ key: 'app', operator: 'In', values: ['b'] }],
        },
        ingress: [{}],
      },
    ],
    [
      'a peer whose pods cannot exist (Exists and DoesNotExist)',
      {
        podSelector: all,
        ingress: [
          {
            from: [
              {
                namespaceSelector: {},
                podSelector: {
                  matchExpressions: [
                    { key: 'x', operator: 'Exists' },
                    { key: 'x', operator: 'DoesNotExist' },
                  ],
                },
              },
            ],
          },
        ],
      },
    ],
    [
      'a namespaceSelector that selects no namespace',
      { podSelector: all, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'z' } } }] }] },
    ],
  ])('opens nothing: %s', (_name, spec) => {
    expect(lines(spec)).toEqual([]);
    expect(verdict(spec)).toBe('pass');
  });

  it('a selector matching every namespace is all namespaces', () => {
    const spec: NetworkPolicySpec = {
      podSelector: all,
      ingress: [
        {
          from: [
            {
              namespaceSelector: {
                matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'Exists' }],
              },
            },
          ],
        },
      ],
    };
    expect(lines(spec)).toEqual(['t: ingress to all pods from all namespaces on all ports']);
  });

  it('fails on everyone, all namespaces and every address; warns on the specific', () => {
    expect(verdict({ podSelector: all, ingress: [{}] })).toBe('fail');
    expect(verdict({ podSelector: all, ingress: [{ from: [{ namespaceSelector: {} }] }] })).toBe('fail');
    expect(
      verdict({
        podSelector: all,
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '::/0' } }] }],
      }),
    ).toBe('fail');
    expect(
      verdict({
        podSelector: all,
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }] }],
      }),
    ).toBe('warn');
    expect(
      verdict({
        podSelector: all,
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }],
      }),
    ).toBe('warn');
  });

  it('a direction the profile leaves open cannot be opened further', () => {
    const ingressOnly = { specs: [config.policies['default-deny-ingress']!] };
    expect(verdict({ podSelector: all, policyTypes: ['Egress'], egress: [{}] }, ingressOnly)).toBe('pass');
    expect(verdict({ podSelector: all, ingress: [{}] }, ingressOnly)).toBe('fail');
    // The same-namespace profile lets this namespace in, and nothing else.
    const sameNs = { specs: [config.policies['deny-from-other-namespaces']!] };
    expect(lines({ podSelector: all, ingress: [{ from: [{ podSelector: all }] }] }, sameNs)).toEqual([]);
  });

  it('traffic within the namespace is an opening where the profile denies it', () => {
    expect(
      lines(
        { podSelector: all, ingress: [{ from: [{ podSelector: all }] }] },
        {
          specs: [config.policies['default-deny-ingress']!],
        },
      ),
    ).toEqual(['t: ingress to all pods from namespace team-a on all ports']);
  });

  it('sanctioned openings count as the profile: only what lies beyond them is reported', () => {
    const sanctioned = {
      ingress: [
        {
          from: [{ namespaceSelector: { matchLabels: { purpose: 'monitoring' } } }],
          ports: [{ port: 9090 }],
        },
      ],
    };
    const spec: NetworkPolicySpec = {
      podSelector: { matchLabels: { app: 'web' } },
      ingress: [
        {
          from: [
            {
              namespaceSelector: {
                matchExpressions: [
                  { key: 'kubernetes.io/metadata.name', operator: 'In', values: ['monitoring', 'team-b'] },
                ],
              },
            },
          ],
          ports: [{ port: 9090 }, { port: 9091 }],
        },
      ],
    };
    expect(
      lines(spec, { specs: [...strict.specs, ...Object.values(sanctionedPolicies(sanctioned))] }),
    ).toEqual([
      't: ingress to pods app=web from namespace team-b on TCP 9090',
      't: ingress to pods app=web from namespaces monitoring, team-b on TCP 9091',
    ]);
  });

  it('an opening sanctioned for some pods covers those pods only', () => {
    const fromMonitoring = {
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
      ports: [{ port: 8080 }],
    };
    const specs = [
      ...strict.specs,
      ...Object.values(
        sanctionedPolicies({
          pods: { web: { podSelector: { matchLabels: { app: 'web' } }, ingress: [fromMonitoring] } },
        }),
      ),
    ];
    const tenant = (pods: NetworkPolicySpec['podSelector']): NetworkPolicySpec => ({
      podSelector: pods,
      ingress: [fromMonitoring],
    });
    expect(verdict(tenant({ matchLabels: { app: 'web' } }), { specs })).toBe('pass');
    expect(lines(tenant({}), { specs })).toEqual([
      't: ingress to all pods from namespace monitoring on TCP 8080',
    ]);
    expect(lines(tenant({ matchLabels: { app: 'api' } }), { specs })).toEqual([
      't: ingress to pods app=api from namespace monitoring on TCP 8080',
    ]);
  });

  it('CIDRs: contained and left out as the profile leaves them out', () => {
    const profile: NetworkPolicySpec = {
      podSelector: all,
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.9.0.0/16'] } }] }],
    };
    const to = (cidr: string, except?: string[]): NetworkPolicySpec => ({
      podSelector: all,
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr, ...(except && { except }) } }] }],
    });
    expect(verdict(to('10.1.0.0/16'), { specs: [profile] })).toBe('pass');
    expect(verdict(to('10.9.1.0/24'), { specs: [profile] })).toBe('warn'); // in the except
    expect(verdict(to('10.0.0.0/8', ['10.9.0.0/16']), { specs: [profile] })).toBe('pass');
    expect(verdict(to('10.0.0.0/8'), { specs: [profile] })).toBe('warn');
    expect(verdict(to('11.0.0.0/8'), { specs: [profile] })).toBe('warn');
    expect(verdict(to('fd00::/8'), { specs: [profile] })).toBe('warn');
  });

  it('records the namespace selectors it read', () => {
    const { namespaceSelectors } = evaluate(
      'team-a',
      [
        {
          name: 't',
          spec: {
            podSelector: all,
            ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }] }],
          },
        },
      ],
      { specs: [] },
      lookup,
    );
    expect(namespaceSelectors).toContainEqual({ matchLabels: { team: 'b' } });
  });
});

describe('evaluate: peers that reach everyone only together', () => {
  const egressTo = (...cidrs: string[]): NetworkPolicySpec => ({
    podSelector: all,
    policyTypes: ['Egress'],
    egress: [{ to: cidrs.map((cidr) => ({ ipBlock: { cidr } })) }],
  });
  const ingressFrom = (...namespaceSelectors: (LabelSelector | undefined)[]): NetworkPolicySpec => ({
    podSelector: all,
    ingress: [
      {
        from: namespaceSelectors.map((s) =>
          s ? { namespaceSelector: s } : { podSelector: { matchLabels: { app: 'x' } } },
        ),
      },
    ],
  });
  const expr = (key: string, operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist', values?: string[]) => ({
    matchExpressions: [{ key, operator, ...(values && { values }) }],
  });

  it.each<[string, NetworkPolicySpec, string[]]>([
    [
      'two halves of IPv4 are every IPv4 address',
      egressTo('0.0.0.0/1', '128.0.0.0/1'),
      ['t: egress from all pods to every IPv4 address, together (0.0.0.0/1, 128.0.0.0/1) on all ports'],
    ],
    [
      'and of IPv6 every IPv6 address, beside a narrow IPv4 block that stays a warning',
      egressTo('::/1', '8000::/1', '10.0.0.0/8'),
      [
        't: egress from all pods to every IPv6 address, together (::/1, 8000::/1) on all ports',
        't: egress from all pods to 10.0.0.0/8 on all ports',
      ],
    ],
    [
      'a selector and its negation are every namespace, created later included',
      ingressFrom(expr('team', 'In', ['a']), expr('team', 'NotIn', ['a'])),
      ['t: ingress to all pods from all namespaces, together (team in (a); team notin (a)) on all ports'],
    ],
    [
      'a key and its absence too',
      ingressFrom(expr('team', 'Exists'), expr('team', 'DoesNotExist')),
      ['t: ingress to all pods from all namespaces, together (team; !team) on all ports'],
    ],
    [
      'this namespace and every other by name',
      {
        podSelector: all,
        ingress: [
          {
            from: [
              { podSelector: {} },
              { namespaceSelector: expr('kubernetes.io/metadata.name', 'NotIn', ['team-a']) },
            ],
          },
        ],
      },
      [
        't: ingress to all pods from all namespaces, together (this namespace; kubernetes.io/metadata.name notin (team-a)) on all ports',
      ],
    ],
    [
      'selectors that together hold every namespace there is now',
      ingressFrom(
        expr('team', 'Exists'),
        expr('kubernetes.io/metadata.name', 'In', ['monitoring', 'kube-system']),
      ),
      [
        't: ingress to all pods from all namespaces, together (team; kubernetes.io/metadata.name in (kube-system, monitoring)) on all ports',
      ],
    ],
  ])('%s: fail', (_, spec, want) => {
    expect(lines(spec)).toEqual(want);
    expect(verdict(spec)).toBe('fail');
  });

  it.each<[string, NetworkPolicySpec]>([
    ['two blocks with a gap between them', egressTo('0.0.0.0/1', '128.0.0.0/2')],
    ['private ranges', egressTo('10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16')],
    [
      'two selectors leaving namespaces out',
      ingressFrom({ matchLabels: { team: 'b' } }, { matchLabels: { purpose: 'monitoring' } }),
    ],
    [
      'a selector and its negation, but for different pods',
      {
        podSelector: all,
        ingress: [
          {
            from: [
              { namespaceSelector: expr('team', 'In', ['a']), podSelector: { matchLabels: { app: 'x' } } },
              { namespaceSelector: expr('team', 'NotIn', ['a']), podSelector: { matchLabels: { app: 'y' } } },
            ],
          },
        ],
      },
    ],
  ])('%s: warn, not fail', (_, spec) => {
    expect(verdict(spec)).toBe('warn');
  });

  it('a union the profile allows anyway opens nothing more', () => {
    const open = { specs: [{ podSelector: all, policyTypes: ['Ingress' as const], ingress: [{}] }] };
    expect(lines(ingressFrom(expr('team', 'In', ['a']), expr('team', 'NotIn', ['a'])), open)).toEqual([]);
  });
});
