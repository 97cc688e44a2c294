import { describe, expect, it } from 'vitest';
import { canonicalSpec, driftOf } from './compare.ts';
import { desiredPolicies } from './desired.ts';
import { defaultPolicyConfig } from './profiles.ts';
import type { NetworkPolicy, NetworkPolicySpec } from './types.ts';

const [deny, dns, same] = desiredPolicies('team-a', 'strict', defaultPolicyConfig) as [
  NetworkPolicy,
  NetworkPolicy,
  NetworkPolicy,
];

/** The policy as the API server returns it: defaults filled in, extra metadata. */
function asServed(p: NetworkPolicy, spec: NetworkPolicySpec = p.spec): NetworkPolicy {
  return {
    ...structuredClone(p),
    metadata: {
      ...p.metadata,
      labels: { ...p.metadata.labels, 'team.example/owner': 'a' },
      annotations: { note: 'x' },
    },
    spec: structuredClone(spec),
  };
}

describe('driftOf', () => {
  it('sees no drift in a policy the server returns with defaults and extra labels', () => {
    expect(driftOf(dns, asServed(dns))).toBeUndefined();
    expect(driftOf(deny, asServed(deny))).toBeUndefined();
  });

  it('calls a missing policy deleted', () => {
    expect(driftOf(same, undefined)).toBe('deleted');
  });

  it('calls a changed spec modified', () => {
    expect(driftOf(deny, asServed(deny, { podSelector: {}, policyTypes: ['Ingress'] }))).toBe('modified');
    const widened = structuredClone(dns.spec);
    widened.egress![0]!.ports!.push({ protocol: 'TCP', port: 443 });
    expect(driftOf(dns, asServed(dns, widened))).toBe('modified');
    const narrowed = structuredClone(same.spec);
    narrowed.podSelector = { matchLabels: { app: 'web' } };
    expect(driftOf(same, asServed(same, narrowed))).toBe('modified');
  });

  it('calls stripped or changed labels labels', () => {
    const stripped = asServed(dns);
    stripped.metadata.labels = {};
    expect(driftOf(dns, stripped)).toBe('labels');
    const otherProfile = asServed(dns);
    otherProfile.metadata.labels!['namespace-isolation-controller/profile'] = 'lenient';
    expect(driftOf(dns, otherProfile)).toBe('labels');
  });
});

describe('canonicalSpec', () => {
  it('fills in the protocol the server defaults to TCP', () => {
    expect(canonicalSpec({ podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] })).toBe(
      canonicalSpec({ podSelector: {}, ingress: [{ ports: [{ port: 80, protocol: 'TCP' }] }] }),
    );
  });

  it('derives policyTypes the way the server does when they are omitted', () => {
    expect(canonicalSpec({ podSelector: {} })).toBe(
      canonicalSpec({ podSelector: {}, policyTypes: ['Ingress'] }),
    );
    expect(canonicalSpec({ podSelector: {}, egress: [{}] })).toBe(
      canonicalSpec({ podSelector: {}, policyTypes: ['Ingress', 'Egress'], egress: [{}] }),
    );
  });

  it('treats empty and absent lists and selectors alike', () => {
    expect(canonicalSpec({ podSelector: {}, policyTypes: ['Ingress'], ingress: [] })).toBe(
      canonicalSpec({ podSelector: { matchLabels: {} }, policyTypes: ['Ingress'] }),
    );
  });

  it('ignores the order of rules, peers, ports, labels and policy types', () => {
    const a: NetworkPolicySpec = {
      podSelector: { matchLabels: { a: '1', b: '2' } },
      policyTypes: ['Egress', 'Ingress'],
      egress: [{ ports: [{ port: 53, protocol: 'UDP' }, { port: 53 }] }, { to: [{ podSelector: {} }] }],
    };
    const b: NetworkPolicySpec = {
      podSelector: { matchLabels: { b: '2', a: '1' } },
      policyTypes: ['Ingress', 'Egress'],
      egress: [
        { to: [{ podSelector: {} }] },
        {
          ports: [
            { port: 53, protocol: 'TCP' },
            { port: 53, protocol: 'UDP' },
          ],
        },
      ],
    };
    expect(canonicalSpec(a)).toBe(canonicalSpec(b));
  });

  it('keeps the difference between a peer with both selectors and two peers with one each', () => {
    const both: NetworkPolicySpec = {
      podSelector: {},
      ingress: [{ from: [{ podSelector: { matchLabels: { a: '1' } }, namespaceSelector: {} }] }],
    };
    const either: NetworkPolicySpec = {
      podSelector: {},
      ingress: [{ from: [{ podSelector: { matchLabels: { a: '1' } } }, { namespaceSelector: {} }] }],
    };
    expect(canonicalSpec(both)).not.toBe(canonicalSpec(either));
  });
});
