import { describe, expect, it } from 'vitest';
import { desiredPolicies, renderProfile } from './desired.ts';
import { dnsPolicy, istioAmbientPolicy, kubeApiserverPolicy } from './presets.ts';
import { defaultPolicySettings, expand } from './profiles.ts';
import { renderSpec } from './template.ts';

const dns = (preset: Parameters<typeof dnsPolicy>[0]['preset']) =>
  dnsPolicy({ preset, nodeLocalAddress: '169.254.20.10' }).egress;
const both = (port: number) => [
  { protocol: 'UDP', port },
  { protocol: 'TCP', port },
];
const kubeDns = {
  to: [
    {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
      podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
    },
  ],
  ports: both(53),
};

describe('DNS presets', () => {
  it.each([
    ['kube-dns', [kubeDns]],
    [
      'openshift',
      [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'openshift-dns' } },
              podSelector: { matchLabels: { 'dns.operator.openshift.io/daemonset-dns': 'default' } },
            },
          ],
          ports: both(5353),
        },
      ],
    ],
    ['node-local-dns', [{ to: [{ ipBlock: { cidr: '169.254.20.10/32' } }], ports: both(53) }, kubeDns]],
    ['gke-cloud-dns', [{ to: [{ ipBlock: { cidr: '169.254.169.254/32' } }], ports: both(53) }]],
  ] as const)('%s: UDP and TCP to where that platform answers', (preset, rules) => {
    expect(dns(preset)).toEqual(rules);
  });
});

describe('Istio ambient', () => {
  it('allows HBONE within the namespace both ways and the probe addresses in', () => {
    expect(istioAmbientPolicy()).toEqual({
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        { from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: 15008 }] },
        {
          from: [
            { ipBlock: { cidr: '169.254.7.127/32' } },
            { ipBlock: { cidr: 'fd16:9254:7127:1337:ffff:ffff:ffff:ffff/128' } },
          ],
        },
      ],
      egress: [{ to: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: 15008 }] }],
    });
  });
});

describe('allow-kube-apiserver', () => {
  it('allows the ready endpoints on the endpoint port, per address family, and nothing without one', () => {
    const spec = kubeApiserverPolicy([
      {
        addressType: 'IPv4',
        endpoints: [
          { addresses: ['10.0.0.2'] },
          { addresses: ['10.0.0.1'], conditions: { ready: true } },
          { addresses: ['10.0.0.9'], conditions: { ready: false } },
        ],
        ports: [{ port: 6443, protocol: 'TCP' }],
      },
      { addressType: 'IPv6', endpoints: [{ addresses: ['fd00::1'] }], ports: [{ port: 6443 }] },
      { addressType: 'FQDN', endpoints: [{ addresses: ['api.example.com'] }], ports: [{ port: 6443 }] },
    ]);
    expect(spec.egress).toEqual([
      {
        to: [
          { ipBlock: { cidr: '10.0.0.1/32' } },
          { ipBlock: { cidr: '10.0.0.2/32' } },
          { ipBlock: { cidr: 'fd00::1/128' } },
        ],
        ports: [{ protocol: 'TCP', port: 6443 }],
      },
    ]);
    // An empty `to` would allow every address: no endpoint means no rule at all.
    expect(kubeApiserverPolicy([])).toEqual({ podSelector: {}, policyTypes: ['Egress'] });
    expect(
      kubeApiserverPolicy([{ addressType: 'IPv4', endpoints: [], ports: [{ port: 6443 }] }]).egress,
    ).toBeUndefined();
  });
});

describe('per-namespace values', () => {
  const spec = {
    podSelector: {},
    ingress: [
      {
        from: [
          {
            namespaceSelector: {
              matchLabels: { 'kubernetes.io/metadata.name': '$(namespace.name)-monitoring' },
              matchExpressions: [
                { key: 'team', operator: 'In' as const, values: ['$(namespace.labels.team)'] },
              ],
            },
          },
        ],
      },
    ],
  };

  it("fills in the namespace's name and labels", () => {
    expect(renderSpec(spec, { name: 'shop', labels: { team: 'red' } }).ingress![0]!.from![0]).toEqual({
      namespaceSelector: {
        matchLabels: { 'kubernetes.io/metadata.name': 'shop-monitoring' },
        matchExpressions: [{ key: 'team', operator: 'In', values: ['red'] }],
      },
    });
    expect(spec.ingress[0]!.from[0]!.namespaceSelector.matchLabels['kubernetes.io/metadata.name']).toBe(
      '$(namespace.name)-monitoring',
    );
  });

  it('leaves a policy out, with the reason, when a label it reads is missing or the value is too long', () => {
    const config = expand({
      ...defaultPolicySettings,
      profiles: { strict: ['default-deny-all', 'siblings'] },
      policies: { ...defaultPolicySettings.policies, siblings: spec },
    });
    const d = renderProfile({ name: 'shop', labels: {} }, 'strict', config);
    expect(d.policies.map((p) => p.metadata.name)).toEqual(['default-deny-all']);
    expect([...d.unrenderable]).toEqual([['siblings', 'the namespace has no label team']]);
    const long = renderProfile({ name: 'x'.repeat(60), labels: { team: 'red' } }, 'strict', config);
    expect(long.unrenderable.get('siblings')).toMatch(/not a valid label value/);
    expect(desiredPolicies({ name: 'shop', labels: { team: 'red' } }, 'strict', config)).toHaveLength(2);
  });
});
